"""The JSON contract as the README ("For scripts") documents it: the keys of each object.

Shared by the tests of the renderers (tests/test_render.py) and of the CLI (tests/test_fast_cli.py).
"""

HIT_KEYS = {"rank", "source", "page", "section", "score", "distance", "text", "chunk_id", "ocr"}
SEARCH_KEYS = {
    "query",
    "kb",
    "metric",
    "mode",
    "filter",
    "unknown_terms",
    "refusal_reason",
    "results",
}
ANSWER_KEYS = {
    "question",
    "standalone_query",
    "kb",
    "filter",
    "answer",
    "refused",
    "unknown_terms",
    "refusal_reason",
    "nearest",
    "finish_reason",
    "lead",
    "sentences",
    "language_match",
    "language_retry",
    "sources",
    "evidence",
    "invalid_citations",
    "usage",
    "seconds",
    "timings",
}
EVIDENCE_KEYS = {"source", "page", "section", "chunk_id", "quote", "start", "end", "ocr"}
USAGE_KEYS = {
    "prompt_tokens",
    "completion_tokens",
    "n_ctx",
    "max_tokens",
    "dropped_chunks",
    "trimmed_turns",
}
INGEST_KEYS = {
    "kb",
    "dry_run",
    "added",
    "updated",
    "unchanged",
    "removed",
    "failed",
    "counts",
    "chunks_added",
    "chunks_removed",
    "warnings",
    "seconds",
}
# `files --json` is not spelled out in the README; these are the keys ragkb returns today.
FILE_KEYS = {
    "path",
    "status",
    "reason",
    "chunks",
    "pages",
    "size_bytes",
    "file_hash",
    "ingested_at",
    "modified_at",
    "tags",
    "ocr_pages",
    "warnings",
}
RESULT_KEYS = {*HIT_KEYS, "relevant"}
INFO_KEYS = {
    "name",
    "metric",
    "embedder",
    "files",
    "failed_files",
    "chunks",
    "size_bytes",
    "path",
    "fingerprint",
}
