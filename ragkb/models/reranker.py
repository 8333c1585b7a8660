"""Optional cross-encoder reranking: reads the question and each candidate chunk together.

A cross-encoder (e.g. a bge-reranker or an ms-marco MiniLM) scores (question, passage) pairs
more precisely than vector similarity, at the price of one model pass per candidate, so it only
reorders the top candidates of the first-stage search. Nothing is loaded unless
`rerank = true`.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ragkb.errors import ConfigError, ModelError

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

log = logging.getLogger(__name__)


class CrossEncoderReranker:
    """A sentence-transformers CrossEncoder, loaded on first use."""

    def __init__(self, model: str, *, device: str = "cpu") -> None:
        if not model:
            raise ConfigError(
                "rerank = true needs rerank_model (a cross-encoder name or local folder)"
            )
        self.model_name = model
        self._device = device

    def scores(self, query: str, passages: Sequence[str]) -> list[float]:
        """Return one relevance score per passage (higher is more relevant)."""
        if not passages:
            return []
        model = _load(self.model_name, self._device)
        return [float(s) for s in model.predict([(query, p) for p in passages])]


@functools.cache
def _load(model: str, device: str) -> CrossEncoder:
    if Path(model).expanduser().is_dir():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from sentence_transformers import CrossEncoder
    except ImportError as exc:
        raise ModelError("sentence-transformers is not installed: pip install ragkb") from exc
    started = time.monotonic()
    try:
        loaded = CrossEncoder(model, device=None if device == "auto" else device)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"reranker {model}: cannot load ({exc})") from exc
    log.info("loaded reranker %s in %.2f s", model, time.monotonic() - started)
    return loaded
