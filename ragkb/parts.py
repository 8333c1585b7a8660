"""The seams of the pipeline: what each stage needs from the components, as Protocols.

`Parts` holds one knowledge base's components. `ragkb.build.build_parts` makes the real ones
from settings; tests pass fakes that satisfy the same Protocols.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ragkb.index.catalog import Catalog
    from ragkb.types import Calibration, Delta, Message, Sampling, VectorMatch


class VectorStore(Protocol):
    """Chunk vectors with their source metadata (Chroma, or an in-memory fake)."""

    metric: str

    def count(self) -> int: ...
    def upsert(
        self,
        ids: Sequence[str],
        embeddings: Sequence[Sequence[float]],
        metadatas: Sequence[dict[str, Any]],
        documents: Sequence[str],
    ) -> None: ...
    def delete_source(self, source: str) -> None: ...
    def all_ids(self) -> list[str]: ...
    def delete_ids(self, ids: Sequence[str]) -> None: ...
    def query(
        self, embedding: Sequence[float], n: int, sources: Sequence[str] | None = None
    ) -> list[VectorMatch]: ...  # SOURCES: only chunks of these files
    def embeddings(self, ids: Sequence[str]) -> dict[str, list[float]]: ...
    def drop(self) -> None: ...
    def close(self) -> None: ...


class KeywordSearch(Protocol):
    """BM25 over the catalog's chunk keywords."""

    def search(
        self, catalog: Catalog, query: str, n: int, paths: Sequence[str] | None = None
    ) -> list[tuple[str, float]]: ...  # PATHS: only chunks of these files
    def search_alternatives(
        self,
        catalog: Catalog,
        groups: Sequence[Sequence[str]],
        n: int,
        paths: Sequence[str] | None = None,
    ) -> list[tuple[str, float]]: ...  # each group: alternative tokens for one word
    def idf(self, catalog: Catalog) -> Any: ...  # Callable[[str], float]
    def vocabulary(self, catalog: Catalog) -> Any: ...  # names.Vocabulary, None without index
    def is_current(self, catalog: Catalog) -> bool: ...  # False: the writer catches up
    def catch_up(self, catalog: Catalog) -> int: ...  # writers only, under the lock
    def rebuild(self, catalog: Catalog) -> None: ...  # writers only, under the lock


class Embedder(Protocol):
    """Turns chunks into normalised vectors and sizes them with its own tokenizer (ingest)."""

    name: str  # the identity recorded in the knowledge base's fingerprint
    query_prefix: str  # what the model puts before a question and a chunk (fingerprinted)
    passage_prefix: str

    @property
    def max_tokens(self) -> int: ...  # content tokens per input, prefix excluded
    @property
    def dimension(self) -> int: ...
    def count_tokens(self, text: str) -> int: ...
    def token_offsets(self, text: str) -> list[tuple[int, int]]: ...
    def unknown_token_ratio(self, text: str) -> float: ...
    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]: ...


class QueryEncoder(Protocol):
    """Encodes questions (and evidence sentences) at search time."""

    calibration: Calibration  # its similarity scale and relevance thresholds

    def embed_query(self, text: str) -> list[float]: ...
    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]: ...
    def is_common_word(self, word: str) -> bool: ...
    def prepare(self, samples: Sequence[str]) -> None: ...  # after ingest: build what speeds it


class Generator(Protocol):
    """A chat model that streams its answer."""

    name: str
    n_ctx: int

    @property
    def parameters(self) -> int | None: ...  # weights in the model; None when unknown
    def count_tokens(self, messages: list[Message]) -> int: ...
    def special_tokens(self) -> tuple[str, ...]: ...  # control-token strings of its vocabulary
    def stream(self, messages: list[Message], sampling: Sampling) -> Iterator[Delta]: ...


class Reranker(Protocol):
    """Scores (question, passage) pairs; higher is more relevant."""

    def scores(self, query: str, passages: Sequence[str]) -> list[float]: ...


class Translator(Protocol):
    """Gives a word's equivalents in the other language (Chinese <-> English)."""

    def translations(self, word: str) -> tuple[str, ...]: ...  # each as keyword tokens; ()
    def prepare(self) -> None: ...  # build what speeds look-ups (an ingest calls it)


@dataclass(frozen=True, slots=True)
class Parts:
    """One knowledge base's components; each loads its weights or opens its files on first use."""

    catalog: Catalog
    vectors: VectorStore
    keywords: KeywordSearch
    embedder: Embedder
    query_encoder: QueryEncoder
    generator: Generator
    reranker: Reranker | None = None
    translator: Translator | None = None  # cross-lingual keyword search; None = off
