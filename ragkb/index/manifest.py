"""Does this knowledge base match the settings? One fingerprint, one check, one error.

The fingerprint records what made the stored vectors and chunks: the embedder, its prefixes,
the vector size, the metric, and the chunking. It lives in the catalog's meta table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ragkb.errors import StoreMismatchError

# Keys that change the vectors: a difference means the knowledge base must be rebuilt.
HARD_KEYS = ("embedder", "dimension", "normalized", "passage_prefix", "query_prefix", "metric")
# Keys that change only the chunking: a difference means the next ingest re-chunks every file.
SOFT_KEYS = ("chunk_tokens", "overlap_tokens", "chunker_version")

Fingerprint = dict[str, Any]


def fingerprint(
    *,
    embedder: str,
    query_prefix: str,
    passage_prefix: str,
    metric: str,
    chunk_tokens: int,
    overlap_tokens: int,
    chunker_version: int,
    dimension: int | None = None,
) -> Fingerprint:
    """Return the fingerprint of these settings; DIMENSION once the embedder has loaded."""
    current: Fingerprint = {
        "embedder": embedder,
        "normalized": True,
        "query_prefix": query_prefix,
        "passage_prefix": passage_prefix,
        "metric": metric,
        "chunk_tokens": chunk_tokens,
        "overlap_tokens": overlap_tokens,
        "chunker_version": chunker_version,
    }
    if dimension is not None:
        current["dimension"] = dimension
    return current


def check_fingerprint(
    stored: Mapping[str, Any] | None, current: Mapping[str, Any], *, kb: str
) -> bool:
    """Raise StoreMismatchError naming every vector-changing difference; else return whether
    the chunking changed (then every file is re-chunked).

    A vector key missing on either side (no dimension before the embedder loads, an older
    fingerprint) is not a difference; a chunking key missing from an older fingerprint is
    (re-chunking is cheap, and the chunks may differ).
    """
    if not stored:
        return False
    differ = [k for k in HARD_KEYS if k in current and k in stored and current[k] != stored[k]]
    if differ:
        detail = "; ".join(f"{k}: stored {stored[k]!r}, now {current[k]!r}" for k in differ)
        hint = (
            "the metric is fixed at creation: drop --metric, or "
            if differ == ["metric"]
            else "vectors from different settings cannot be mixed: "
        )
        raise StoreMismatchError(
            f"knowledge base '{kb}' was built with other settings ({detail}); {hint}"
            f"rebuild with `ragkb reset --kb {kb}` then ingest again, or use a new --kb"
        )
    return any(k in current and stored.get(k) != current[k] for k in SOFT_KEYS)


def effective_metric(stored: Mapping[str, Any] | None, configured: str, *, explicit: bool) -> str:
    """Return the metric to open the store with.

    A knowledge base keeps the metric it was created with; only a metric the user set
    (flag, environment or config file) can disagree with it, and then the fingerprint check
    names the mismatch.
    """
    if stored and stored.get("metric") and not explicit:
        return str(stored["metric"])
    return configured
