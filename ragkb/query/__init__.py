"""Answering: rank candidates, judge relevance, pack the prompt, stream, quote evidence, chat."""
