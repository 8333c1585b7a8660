"""A labelled fast stand-in for the embedder, for the scale benchmark only.

It hashes words (and Han characters) into a 384-dimensional bag-of-words vector, the size of
the bundled multilingual-e5-small, so the vector store holds and searches vectors of the real
size while the embedding step costs microseconds instead of the real model's ~50 ms a chunk.
Its rankings mean nothing; what it lets the benchmark measure is the store, the catalog and
the keyword index at sizes the real model would take days to embed on two cores.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

from ragkb.language import HAN
from ragkb.types import Calibration

STANDIN_NAME = "bench-standin-hash-384"  # recorded in the fingerprint: never mistaken for e5
DIMENSION = 384
MAX_TOKENS = 510
_TOKEN = re.compile(rf"[{HAN}]|[^\W_{HAN}]+", re.UNICODE)


class HashEmbedder:
    """Embedder and QueryEncoder at once: one token per word and per Han character."""

    def __init__(self) -> None:
        self.name = STANDIN_NAME
        self.query_prefix = ""
        self.passage_prefix = ""
        self.calibration = Calibration(similarity_floor=0.0, min_score=0.0, min_relevance=0.0)

    @property
    def max_tokens(self) -> int:
        """Return the content tokens per input."""
        return MAX_TOKENS

    @property
    def dimension(self) -> int:
        """Return the vector size."""
        return DIMENSION

    def count_tokens(self, text: str) -> int:
        """Return one token per word and per Han character."""
        return sum(1 for _ in _TOKEN.finditer(text))

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        """Return the character span of each token."""
        return [m.span() for m in _TOKEN.finditer(text)]

    def unknown_token_ratio(self, text: str) -> float:
        """Return 0: every token hashes somewhere."""
        return 0.0

    def _embed(self, text: str) -> list[float]:
        import numpy as np

        hashes = np.fromiter(
            (zlib.crc32(m.group().lower().encode()) for m in _TOKEN.finditer(text)), np.uint32
        )
        vector = np.zeros(DIMENSION, np.float32)
        if hashes.size:
            signs = np.where(hashes & 1024, 1.0, -1.0).astype(np.float32)
            np.add.at(vector, hashes % DIMENSION, signs)
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            vector[0] = 1.0
            return vector.tolist()
        return (vector / norm).tolist()

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        """Return one unit vector per text."""
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """Return the unit vector of a question."""
        return self._embed(text)

    def is_common_word(self, word: str) -> bool:
        """Return False: the stand-in has no vocabulary of its own."""
        return False

    def prepare(self, samples: Sequence[str]) -> None:
        """Nothing to build."""
