"""Reranking: the cross-encoder's configuration, and the step that reorders candidates."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from fakes import FakeEmbedder, InMemoryVectorStore

from ragkb.build import build_parts
from ragkb.config import load_settings
from ragkb.errors import EXIT_CONFIG, ConfigError
from ragkb.index.catalog import Catalog, ChunkRecord, FileRecord
from ragkb.index.keywords import KeywordIndex
from ragkb.language import keyword_tokens
from ragkb.models.reranker import CrossEncoderReranker
from ragkb.query.candidates import rank_candidates

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

# BM25 ranks the chunk that repeats "cosine" first; only one chunk says "angle".
TEXTS = {
    "c-repeat": "Cosine cosine cosine: the cosine score, cosine again.",
    "c-angle": "The cosine of the angle between two vectors measures their similarity.",
    "c-plain": "A cosine distance is one minus the cosine similarity of two vectors.",
    "c-other": "Chunking splits documents into overlapping pieces of text.",
}


class WordReranker:
    """A Reranker that scores a passage 1 when it contains WORD, else 0 (and records calls)."""

    def __init__(self, word: str) -> None:
        self.word = word
        self.calls: list[tuple[str, list[str]]] = []

    def scores(self, query: str, passages: Sequence[str]) -> list[float]:
        self.calls.append((query, list(passages)))
        return [1.0 if self.word in p.lower() else 0.0 for p in passages]


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    catalog = Catalog(tmp_path / "kb")
    chunks = [
        ChunkRecord(cid, "/docs/guide.txt", i, None, None, text, " ".join(keyword_tokens(text)))
        for i, (cid, text) in enumerate(TEXTS.items())
    ]
    catalog.record_file(FileRecord("/docs/guide.txt", "h", 1, len(chunks), None, 1.0, "ok"), chunks)
    return catalog


@pytest.fixture
def keywords(catalog: Catalog, tmp_path: Path) -> KeywordIndex:
    index = KeywordIndex(tmp_path / "kb")
    index.rebuild(catalog)
    return index


def keyword_ranking(catalog, keywords, reranker=None, *, k=3, rerank_candidates=20):
    return rank_candidates(
        "cosine",
        k=k,
        mode="keyword",
        mmr=False,
        catalog=catalog,
        vectors=None,
        keywords=keywords,
        encoder=None,
        reranker=reranker,
        rerank_candidates=rerank_candidates,
    )


def test_empty_model_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="rerank_model") as caught:
        CrossEncoderReranker("")

    assert caught.value.exit_code == EXIT_CONFIG


def test_no_passages_need_no_model() -> None:
    # The model is loaded on first use; with nothing to score it is never loaded.
    assert CrossEncoderReranker("no/such-model").scores("question", []) == []


def test_rerank_on_without_a_model_fails_when_parts_are_built() -> None:
    with pytest.raises(ConfigError, match="rerank_model"):
        build_parts(load_settings({"rerank": True}))


def test_without_reranker_bm25_order_stands(catalog: Catalog, keywords: KeywordIndex) -> None:
    hits = keyword_ranking(catalog, keywords).hits

    assert hits[0].chunk_id == "c-repeat"
    assert "c-other" not in [h.chunk_id for h in hits]


def test_reranker_reorders_the_hits(catalog: Catalog, keywords: KeywordIndex) -> None:
    plain = keyword_ranking(catalog, keywords).hits
    reranker = WordReranker("angle")

    hits = keyword_ranking(catalog, keywords, reranker).hits

    assert hits[0].chunk_id == "c-angle"
    assert plain[0].chunk_id != "c-angle"
    assert [h.rank for h in hits] == [1, 2, 3]
    assert {h.chunk_id for h in hits} == {h.chunk_id for h in plain}
    # Keyword mode keeps each hit's BM25 score: reranking changes the order, not the scale.
    bm25 = {h.chunk_id: h.score for h in plain}
    assert all(h.score == bm25[h.chunk_id] for h in hits)
    # The reranker read the question with the chunks' stored texts.
    [(query, passages)] = reranker.calls
    assert query == "cosine"
    assert sorted(passages) == sorted(TEXTS[h.chunk_id] for h in plain)


def test_reranker_sees_only_the_top_candidates(catalog: Catalog, keywords: KeywordIndex) -> None:
    reranker = WordReranker("angle")

    hits = keyword_ranking(catalog, keywords, reranker, k=1, rerank_candidates=2).hits

    [(_, passages)] = reranker.calls
    assert len(passages) == 2
    assert len(hits) == 1


def test_reranker_reorders_vector_hits(catalog: Catalog, tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    vectors = InMemoryVectorStore("cosine")
    ids = list(TEXTS)
    vectors.upsert(
        ids,
        embedder.embed_passages([TEXTS[i] for i in ids]),
        [{"source": "/docs/guide.txt"}] * len(ids),
        [TEXTS[i] for i in ids],
    )

    def ranking(reranker):
        return rank_candidates(
            "chunking documents",
            k=4,
            mode="vector",
            mmr=False,
            catalog=catalog,
            vectors=vectors,
            keywords=None,
            encoder=embedder,
            reranker=reranker,
        ).hits

    plain = ranking(None)
    reranked = ranking(WordReranker("angle"))

    assert plain[0].chunk_id == "c-other"
    assert reranked[0].chunk_id == "c-angle"
    similarity = {h.chunk_id: h.score for h in plain}
    assert all(h.score == similarity[h.chunk_id] for h in reranked)
