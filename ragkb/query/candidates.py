"""Rank the chunks for a query: vector, keyword or both fused by rank, then rerank or MMR."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ragkb.index.vectors import distance_to_score, score_to_distance
from ragkb.language import keyword_tokens, language_of
from ragkb.models.embedders import similarity
from ragkb.query.bilingual import (
    equivalents,
    make_room_for_the_other_language,
    other_language_hits,
)
from ragkb.types import Hit

if TYPE_CHECKING:
    from ragkb.index.catalog import Catalog, ChunkRecord
    from ragkb.parts import KeywordSearch, QueryEncoder, Reranker, Translator, VectorStore

RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al., 2009)
MMR_LAMBDA = 0.7  # relevance vs diversity in maximal marginal relevance
CANDIDATE_FACTOR = 4
# Deep lists let a chunk ranked high by one method and low by the other still surface in the
# fusion, and one depth for every k up to 20 makes the top 5 the first 5 of the top 20
# (bench/README.md, "Fusion depth": against 40, it neither gains nor loses on the eleven
# corpora, 2 answerable questions found at 5 and 3 lost).
MIN_CANDIDATES = 80


@dataclass(frozen=True, slots=True)
class Ranking:
    """The top hits for a query and the catalog records behind them."""

    hits: tuple[Hit, ...]
    records: dict[str, ChunkRecord]
    tokens: tuple[str, ...] = ()  # the query's keyword tokens, in its order
    # The query's words in the other language (bilingual.equivalents); empty without one.
    equivalents: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(slots=True)
class _Scores:
    """What the first stage found: one ranking per method, and scores by chunk id."""

    rankings: list[list[str]]
    similarity: dict[str, float]
    distance: dict[str, float]
    bm25: dict[str, float]


def rank_candidates(
    query: str,
    *,
    k: int,
    mode: str,
    mmr: bool,
    catalog: Catalog,
    vectors: VectorStore | None,
    keywords: KeywordSearch | None,
    encoder: QueryEncoder | None,
    reranker: Reranker | None = None,
    rerank_candidates: int = 20,
    sources: Sequence[str] | None = None,
    translator: Translator | None = None,
) -> Ranking:
    """Return the top K chunks for QUERY, best first.

    In vector and hybrid mode every hit's score is its cosine similarity to the query
    (keyword-only hits are scored against their stored vector), so one threshold means the
    same thing whatever found the chunk. In keyword mode the score is the BM25 score. With a
    TRANSLATOR, the keyword index is searched a second time with the query's words in the
    other language: that ranking of the other language's passages joins the fusion, and its
    best may take the last of the top K places (query/bilingual.py).
    """
    n = max(k * CANDIDATE_FACTOR, MIN_CANDIDATES)
    scores = _Scores([], {}, {}, {})
    tokens = keyword_tokens(query)
    others = equivalents(tokens, translator)
    other: list[str] = []  # passages in the other language, found by the translated words
    query_vector: list[float] | None = None
    if mode in ("vector", "hybrid"):
        assert encoder is not None and vectors is not None
        query_vector = encoder.embed_query(query)
        for match in vectors.query(query_vector, n, sources):
            scores.similarity[match.chunk_id] = distance_to_score(match.distance, vectors.metric)
            scores.distance[match.chunk_id] = match.distance
        scores.rankings.append(list(scores.similarity))
    if mode in ("keyword", "hybrid"):
        assert keywords is not None
        found = keywords.search(catalog, query, n, sources)
        scores.bm25 = dict(found)
        scores.rankings.append([cid for cid, _ in found])
        if translator is not None:
            found = other_language_hits(
                tokens, language_of(query), n, sources, catalog, keywords, translator
            )
            for cid, score in found:
                scores.bm25.setdefault(cid, score)
            other = [cid for cid, _ in found]
            scores.rankings.append(other)

    ids = list(fuse_rankings(scores.rankings))
    if other and keywords is not None:
        ids = make_room_for_the_other_language(
            ids, other[0], k=k, tokens=tokens, equivalents=others, catalog=catalog,
            keywords=keywords,
        )  # fmt: skip
    if mode == "hybrid" and query_vector is not None and vectors is not None:
        _score_keyword_only_hits(ids, query_vector, vectors, scores)
    if reranker is not None and len(ids) > 1:
        ids = _rerank(query, ids[: max(k, rerank_candidates)], catalog, reranker)
    if mmr and query_vector is not None and vectors is not None and len(ids) > k:
        ids = _mmr(ids[:n], query_vector, vectors, scores.similarity, k)
    # Every fused candidate is looked up, not the first k x CANDIDATE_FACTOR: copies of a file
    # hold the same chunks, and eight copies left 3 distinct passages in the first 20.
    records = catalog.chunks_by_id(ids)
    hits = _distinct_hits(ids, records, scores, keyword_mode=mode == "keyword", k=k)
    return Ranking(hits, records, tuple(tokens), others)


def fuse_rankings(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> dict[str, float]:
    """Merge ranked id lists by reciprocal rank fusion; best first."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, cid in enumerate(ranking, start=1):
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (k + rank)
    return dict(sorted(scores.items(), key=lambda item: -item[1]))


def _score_keyword_only_hits(
    ids: Sequence[str], query_vector: Sequence[float], vectors: VectorStore, scores: _Scores
) -> None:
    """Give chunks that only the keyword search found their similarity to the query."""
    missing = [cid for cid in ids if cid not in scores.similarity]
    for cid, vector in vectors.embeddings(missing).items():
        sim = similarity(query_vector, vector)
        scores.similarity[cid] = sim
        scores.distance[cid] = score_to_distance(sim, vectors.metric)


def _rerank(query: str, candidates: list[str], catalog: Catalog, reranker: Reranker) -> list[str]:
    """Reorder CANDIDATES by the cross-encoder, which reads question and chunk together."""
    texts = catalog.chunks_by_id(candidates)
    present = [cid for cid in candidates if cid in texts]
    scores = reranker.scores(query, [texts[cid].text for cid in present])
    order = sorted(range(len(present)), key=lambda i: -scores[i])
    return [present[i] for i in order]


def _mmr(
    ids: list[str],
    query_vector: Sequence[float],
    vectors: VectorStore,
    relevance: dict[str, float],
    k: int,
) -> list[str]:
    """Pick K ids balancing relevance to the query against similarity to those picked."""
    stored = vectors.embeddings(ids)
    pool = [cid for cid in ids if cid in stored]
    chosen: list[str] = []
    while pool and len(chosen) < k:

        def gain(cid: str) -> float:
            rel = relevance.get(cid, similarity(query_vector, stored[cid]))
            red = max((similarity(stored[cid], stored[c]) for c in chosen), default=0.0)
            return MMR_LAMBDA * rel - (1 - MMR_LAMBDA) * red

        best = max(pool, key=gain)
        chosen.append(best)
        pool.remove(best)
    return chosen


def _distinct_hits(
    ids: Sequence[str],
    records: dict[str, ChunkRecord],
    scores: _Scores,
    *,
    keyword_mode: bool,
    k: int,
) -> tuple[Hit, ...]:
    """Build up to K hits in order, one per distinct text.

    Copies of a file (report.pdf and "report (1).pdf") hold identical chunks: the first copy
    stands for all, so the K hits are K different passages. A vector whose file is not yet
    recorded (an ingest in progress) is skipped.
    """
    hits: list[Hit] = []
    seen_texts: set[str] = set()
    for cid in ids:
        record = records.get(cid)
        if record is None or record.text in seen_texts:
            continue
        if len(hits) == k:
            break
        seen_texts.add(record.text)
        score = scores.bm25.get(cid, 0.0) if keyword_mode else scores.similarity.get(cid, 0.0)
        distance = None if keyword_mode else scores.distance.get(cid)
        hits.append(
            Hit(
                chunk_id=cid,
                text=record.text,
                source=record.path,
                page=record.page,
                heading=record.heading,
                score=round(score, 6),
                distance=None if distance is None else round(distance, 6),
                rank=len(hits) + 1,
                ocr=record.ocr,
            )
        )
    return tuple(hits)
