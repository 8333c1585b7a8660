"""The search-time encoder: the verified ONNX twin of the embedder when there is one.

A cold search then needs onnxruntime, not torch. The twin is built once per embedder, after
the first ingest that stored chunks, and checked against the embedder on real text; a failed
build leaves a marker so that it is not tried again, and searches keep the embedder.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ragkb.errors import ModelError
from ragkb.types import RAW_COSINE

if TYPE_CHECKING:
    from ragkb.models.embedders import SentenceTransformerEmbedder, TokenizedEmbedder

log = logging.getLogger(__name__)


class TwinQueryEncoder:
    """Encodes queries with the ONNX twin in TWIN_DIR when it is verified, else the embedder."""

    calibration = RAW_COSINE  # calibrated on all-MiniLM-L6-v2 (bench/README.md)

    def __init__(self, embedder: SentenceTransformerEmbedder, *, twin_dir: Path | None) -> None:
        self._embedder = embedder
        self._twin_dir = (
            twin_dir  # None: always the embedder (query_encoder = sentence-transformers)
        )
        self._active: TokenizedEmbedder | None = None

    @property
    def active(self) -> TokenizedEmbedder:
        """Return the encoder in use, chosen on first use."""
        if self._active is None:
            self._active = self._choose()
        return self._active

    def _choose(self) -> TokenizedEmbedder:
        if self._twin_dir is not None:
            from ragkb.models.onnx_twin import OnnxEmbedder, read_manifest

            if read_manifest(self._twin_dir) is not None:
                log.info("query encoder: onnxruntime (%s)", self._twin_dir)
                return OnnxEmbedder(
                    self._twin_dir,
                    query_prefix=self._embedder.query_prefix,
                    passage_prefix=self._embedder.passage_prefix,
                )
            log.info("query encoder: sentence-transformers (no verified ONNX export yet)")
        return self._embedder

    def embed_query(self, text: str) -> list[float]:
        """Embed a question for search."""
        return self.active.embed_query(text)

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed sentences (evidence) the way chunks were embedded."""
        return self.active.embed_passages(texts)

    def is_common_word(self, word: str) -> bool:
        """Return whether WORD is one known token of the encoder's vocabulary."""
        return self.active.is_common_word(word)

    def prepare(self, samples: Sequence[str]) -> None:
        """Build the twin once, checked on SAMPLES (stored chunks); on failure, keep torch."""
        folder = self._twin_dir
        if folder is None or not samples:
            return
        from ragkb.models.onnx_twin import build, read_manifest

        failed = folder.with_suffix(".failed")
        if read_manifest(folder) is not None or failed.exists():
            return
        log.info("building the ONNX query encoder for %s (once per embedder)", self._embedder.name)
        try:
            manifest = build(self._embedder, folder, samples)
        except ModelError as exc:
            failed.parent.mkdir(parents=True, exist_ok=True)
            failed.write_text(json.dumps({"reason": str(exc)}), encoding="utf-8")
            log.warning("searches will use sentence-transformers: %s", exc)
            return
        self._active = None  # the next query uses the twin
        log.info(
            "ONNX query encoder ready in %.1f s (lowest cosine to sentence-transformers %.6f)",
            manifest["build_seconds"],
            manifest["min_cosine"],
        )
