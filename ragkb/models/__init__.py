"""The models: embedders and their ONNX twin, generators (llama.cpp, OpenAI API), reranker."""
