"""Deterministic fakes of the seams in ragkb.parts: no model, no Chroma, no GPU.

They test logic only (STYLE.md: "Fakes test logic only"); every feature also has a slow
test on the real components.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ragkb.index.catalog import Catalog, kb_dir
from ragkb.index.keywords import KeywordIndex
from ragkb.index.manifest import effective_metric
from ragkb.language import HAN, STOPWORDS
from ragkb.parts import Parts
from ragkb.types import Calibration, Delta, Message, Sampling, VectorMatch

if TYPE_CHECKING:
    from ragkb.config import Settings

FAKE_EMBEDDER_NAME = "fake-hash-64"
FAKE_DIMENSION = 64
FAKE_MAX_TOKENS = 256
FAKE_N_CTX = 2048
# The hashing embedder's own scale: the fast tests' refusal cases are set on these values.
FAKE_CALIBRATION = Calibration(similarity_floor=0.0, min_score=0.3, min_relevance=0.62)

# One token per run of letters/digits, and one per Han character.
_TOKEN = re.compile(rf"[{HAN}]|[^\W_{HAN}]+", re.UNICODE)
# The fake's "embedder vocabulary": is_common_word is True exactly for these words (so a
# question naming anything else relies on the corpus and wordfreq, as with a real one).
COMMON_WORDS = frozenset(
    "about also default does get how make much set setting settings use used value what".split()  # noqa: SIM905 - a word list reads best as text
)

# A list of replies consumed in order, or messages -> reply.
Replies = list[str] | Callable[[list[Message]], str]


def _tokens(text: str) -> list[re.Match[str]]:
    return list(_TOKEN.finditer(text.lower()))


def _bucket(token: str) -> tuple[int, float]:
    """Return the dimension and sign a token hashes to (sha256: stable across runs)."""
    digest = hashlib.sha256(token.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % FAKE_DIMENSION, 1.0 if digest[4] & 1 else -1.0


class FakeEmbedder:
    """A hashing bag-of-words embedder; also serves as the QueryEncoder.

    Stopwords are left out of the vector (so a shared "the" makes nothing similar), but
    every word and Han character counts as one token.
    """

    def __init__(self, name: str = FAKE_EMBEDDER_NAME) -> None:
        self.name = name
        self.calibration = FAKE_CALIBRATION
        self.query_prefix = ""
        self.passage_prefix = ""
        self.prepared: list[list[str]] = []  # the samples of every prepare() call
        self.embedded_passages = 0
        self.embedded_texts: list[str] = []  # every passage text embedded, in order

    @property
    def max_tokens(self) -> int:
        """Return the content tokens per input."""
        return FAKE_MAX_TOKENS

    @property
    def dimension(self) -> int:
        """Return the vector size."""
        return FAKE_DIMENSION

    def count_tokens(self, text: str) -> int:
        """Return one token per word and per Han character."""
        return len(_tokens(text))

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        """Return the character span of each token."""
        return [m.span() for m in _tokens(text)]

    def unknown_token_ratio(self, text: str) -> float:
        """Return 0: the fake represents every token."""
        return 0.0

    def _embed(self, text: str) -> list[float]:
        vector = [0.0] * FAKE_DIMENSION
        for match in _tokens(text):
            token = match.group()
            if token in STOPWORDS:
                continue
            dim, sign = _bucket(token)
            vector[dim] += sign
        norm = math.sqrt(math.fsum(x * x for x in vector))
        if norm == 0:
            vector[0] = 1.0  # an all-stopword text still gets a unit vector
            return vector
        return [x / norm for x in vector]

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        """Return one unit vector per text."""
        self.embedded_passages += len(texts)
        self.embedded_texts.extend(texts)
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """Return the unit vector of a question (no prefix: the same space as passages)."""
        return self._embed(text)

    def is_common_word(self, word: str) -> bool:
        """Return whether WORD is in the fixed COMMON_WORDS list."""
        return word in COMMON_WORDS

    def prepare(self, samples: Sequence[str]) -> None:
        """Record the samples; there is nothing to build."""
        self.prepared.append(list(samples))


@dataclass(slots=True)
class _Record:
    vector: list[float]
    metadata: dict[str, Any]
    document: str


class InMemoryVectorStore:
    """A dict of vectors with Chroma's distances: cosine 1 - dot, l2 squared L2.

    RECORDS may be shared by several stores, as several processes open one Chroma folder.
    """

    def __init__(self, metric: str = "cosine", *, records: dict[str, Any] | None = None) -> None:
        if metric not in ("cosine", "l2"):
            raise ValueError(f"unknown metric {metric!r}")
        self.metric = metric
        self.records: dict[str, _Record] = {} if records is None else records
        self.dropped = False

    def count(self) -> int:
        """Return the number of vectors."""
        return len(self.records)

    def upsert(
        self,
        ids: Sequence[str],
        embeddings: Sequence[Sequence[float]],
        metadatas: Sequence[dict[str, Any]],
        documents: Sequence[str],
    ) -> None:
        """Insert or replace vectors."""
        if not len(ids) == len(embeddings) == len(metadatas) == len(documents):
            raise ValueError("upsert: ids, embeddings, metadatas and documents differ in length")
        for cid, vector, meta, doc in zip(ids, embeddings, metadatas, documents, strict=True):
            self.records[cid] = _Record(list(vector), dict(meta), doc)

    def delete_source(self, source: str) -> None:
        """Delete every vector whose metadata names SOURCE."""
        for cid in [c for c, r in self.records.items() if r.metadata.get("source") == source]:
            del self.records[cid]

    def all_ids(self) -> list[str]:
        """Return every id."""
        return list(self.records)

    def delete_ids(self, ids: Sequence[str]) -> None:
        """Delete vectors by id."""
        for cid in ids:
            self.records.pop(cid, None)

    def _distance(self, a: Sequence[float], b: Sequence[float]) -> float:
        if self.metric == "cosine":
            return 1.0 - math.fsum(x * y for x, y in zip(a, b, strict=True))
        return math.fsum((x - y) ** 2 for x, y in zip(a, b, strict=True))

    def query(
        self, embedding: Sequence[float], n: int, sources: Sequence[str] | None = None
    ) -> list[VectorMatch]:
        """Return the N nearest vectors, nearest first (ties by id, so the order is stable);
        only those of SOURCES when given."""
        allowed = None if sources is None else set(sources)
        matches = [
            VectorMatch(cid, self._distance(embedding, r.vector))
            for cid, r in self.records.items()
            if allowed is None or r.metadata.get("source") in allowed
        ]
        matches.sort(key=lambda m: (m.distance, m.chunk_id))
        return matches[:n]

    def embeddings(self, ids: Sequence[str]) -> dict[str, list[float]]:
        """Return the stored vectors of those IDS that exist."""
        return {cid: list(self.records[cid].vector) for cid in ids if cid in self.records}

    def drop(self) -> None:
        """Delete every vector."""
        self.records.clear()
        self.dropped = True

    def close(self) -> None:
        """Forget the vectors, as a deleted embedded store would."""
        self.closed = True


def count_words(text: str) -> int:
    """Return the whitespace-separated words of TEXT plus its Han characters."""
    return len(text.split()) + len(re.findall(rf"[{HAN}]", text))


@dataclass(slots=True)
class ScriptedGenerator:
    """A chat model that streams scripted replies and records every prompt it got.

    REPLIES is a list consumed in order (running out fails the test) or a callable
    messages -> reply.
    """

    replies: Replies = field(default_factory=list)
    n_ctx: int = FAKE_N_CTX
    name: str = "scripted"
    parameters: int | None = None  # unknown, as a server's: the full prompt style
    control_tokens: tuple[str, ...] = ("<|im_start|>", "<|im_end|>")
    calls: list[list[Message]] = field(default_factory=list)
    samplings: list[Sampling] = field(default_factory=list)

    def count_tokens(self, messages: list[Message]) -> int:
        """Return words plus Han characters plus 4 per message."""
        return sum(count_words(m["content"]) + 4 for m in messages)

    def special_tokens(self) -> tuple[str, ...]:
        """Return the control-token strings of the fake's vocabulary."""
        return self.control_tokens

    def _next_reply(self, messages: list[Message]) -> str:
        if callable(self.replies):
            return self.replies(messages)
        if not self.replies:
            raise AssertionError(f"ScriptedGenerator: no reply left for call {len(self.calls)}")
        return self.replies.pop(0)

    def stream(self, messages: list[Message], sampling: Sampling) -> Iterator[Delta]:
        """Yield the next reply word by word, then the completion token count."""
        self.calls.append([dict(m) for m in messages])
        self.samplings.append(sampling)
        reply = self._next_reply(messages)
        pieces = re.findall(r"\s*\S+", reply)
        for piece in pieces:
            yield Delta(piece)
        yield Delta("", completion_tokens=len(pieces))


class DictionaryTranslator:
    """A Translator over a fixed word list (both directions), counting its look-ups."""

    def __init__(self, pairs: dict[str, tuple[str, ...]]) -> None:
        self.pairs = pairs
        self.looked_up: list[str] = []

    def translations(self, word: str) -> tuple[str, ...]:
        self.looked_up.append(word)
        return self.pairs.get(word, ())

    def prepare(self) -> None:
        pass


def make_fake_parts(
    settings: Settings,
    *,
    replies: Replies | None = None,
    metric: str | None = None,
    embedder_name: str = FAKE_EMBEDDER_NAME,
    records: dict[str, Any] | None = None,
    translator: DictionaryTranslator | None = None,
) -> Parts:
    """Return Parts with the real catalog and keyword index of SETTINGS' kb, and fakes.

    The metric is chosen as build_parts chooses it (the stored one unless set explicitly),
    unless METRIC is given. RECORDS shares the fake store's vectors across Parts.
    """
    directory = kb_dir(settings.home, settings.store.kb)
    catalog = Catalog(directory)
    if metric is None:
        metric = effective_metric(
            catalog.get_meta("fingerprint"),
            settings.store.metric,
            explicit=settings.sources.get("metric", "default") != "default",
        )
    embedder = FakeEmbedder(embedder_name)
    return Parts(
        catalog=catalog,
        vectors=InMemoryVectorStore(metric, records=records),
        keywords=KeywordIndex(directory),
        embedder=embedder,
        query_encoder=embedder,
        generator=ScriptedGenerator(
            replies=replies if callable(replies) else list(replies or ()),
            n_ctx=settings.generation.n_ctx,
        ),
        translator=translator,
    )
