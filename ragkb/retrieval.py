"""Find the chunks that answer a question: vector, keyword or both fused by rank."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ragkb.embedding import similarity
from ragkb.lexical import keyword_tokens, unknown_terms, weighted_coverage
from ragkb.store import distance_to_score
from ragkb.types import Hit

if TYPE_CHECKING:
    from ragkb.catalog import Catalog
    from ragkb.embedding import Embedder
    from ragkb.lexical import KeywordIndex
    from ragkb.store import ChromaStore

# (question, passages) -> one relevance score per passage
Rerank = Callable[[str, Sequence[str]], Sequence[float]]

RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al., 2009)
MMR_LAMBDA = 0.7  # relevance vs diversity in maximal marginal relevance
_CANDIDATE_FACTOR = 4
# Weight of keyword coverage in a chunk's relevance (similarity + weight x coverage), and the
# coverage a keyword-mode hit needs (it has no similarity); both calibrated with `ragkb eval`
# on bench/data/external and tests/data/eval (bench/README.md).
COVERAGE_WEIGHT = 0.75
KEYWORD_MODE_MIN_COVERAGE = 0.25


@dataclass(frozen=True, slots=True)
class Retrieval:
    """Ranked hits and whether any of them is relevant enough to answer from."""

    hits: tuple[Hit, ...]
    relevant: tuple[Hit, ...]  # hits at or above the threshold (all hits in keyword mode)
    query_vector: tuple[float, ...] | None
    unknown_terms: tuple[str, ...] = ()  # names in the question no document uses (refused)


def retrieve(
    query: str,
    *,
    k: int,
    mode: str,
    min_score: float,
    mmr: bool,
    min_relevance: float = 0.0,
    rerank: Rerank | None = None,
    rerank_candidates: int = 20,
    is_common_word: Callable[[str], bool] | None = None,
    user_words: str | None = None,
    catalog: Catalog,
    store: ChromaStore | None,
    keyword_index: KeywordIndex | None,
    embedder: Embedder | None,
) -> Retrieval:
    """Return the top K chunks for QUERY.

    In vector and hybrid mode every hit's score is its cosine similarity to the query
    (keyword-only hits are scored against their stored vector), so one threshold means the
    same thing whatever found the chunk. In keyword mode the score is the BM25 score.
    With IS_COMMON_WORD given, a question naming a term that no chunk contains and that is
    not a common word gets no relevant hit (see lexical.unknown_terms). Only USER_WORDS are
    checked when given: a model's rewrite of a follow-up may add words the user never said.
    """
    # Deep lists let a chunk ranked high by one method and low by the other still surface in
    # the fusion (bench/README.md: 40 deep found one more English question than 20; 80 = 40).
    n = max(k * _CANDIDATE_FACTOR, 40)
    vector_scores: dict[str, float] = {}
    distances: dict[str, float] = {}
    rankings: list[list[str]] = []
    query_vector: list[float] | None = None
    if mode in ("vector", "hybrid"):
        assert embedder is not None and store is not None
        query_vector = embedder.embed_query(query)
        matches = store.query(query_vector, n)
        for m in matches:
            distances[m.chunk_id] = m.distance
            vector_scores[m.chunk_id] = distance_to_score(m.distance, store.metric)
        rankings.append([m.chunk_id for m in matches])
    keyword_scores: dict[str, float] = {}
    if mode in ("keyword", "hybrid"):
        assert keyword_index is not None
        found = keyword_index.search(catalog, query, n)
        keyword_scores = dict(found)
        rankings.append([cid for cid, _ in found])

    fused = fuse_rankings(rankings)
    ids = list(fused)
    if mode == "hybrid" and query_vector is not None and store is not None:
        missing = [cid for cid in ids if cid not in vector_scores]
        for cid, vector in store.embeddings(missing).items():
            sim = similarity(query_vector, vector)
            vector_scores[cid] = sim
            distances[cid] = 1.0 - sim if store.metric == "cosine" else 2.0 - 2.0 * sim

    if rerank is not None and len(ids) > 1:
        # The cross-encoder reads question and chunk together; it only reorders.
        candidates = ids[: max(k, rerank_candidates)]
        texts = catalog.chunks_by_id(candidates)
        present = [cid for cid in candidates if cid in texts]
        scores = rerank(query, [texts[cid].text for cid in present])
        order = sorted(range(len(present)), key=lambda i: -scores[i])
        ids = [present[i] for i in order]
    if mmr and query_vector is not None and store is not None and len(ids) > k:
        ids = _mmr(ids[:n], query_vector, store, vector_scores, k)
    # Copies of a file (report.pdf and "report (1).pdf") hold identical chunks: the first copy
    # stands for all, so the K hits are K different passages.
    ids = ids[: k * _CANDIDATE_FACTOR]
    records = catalog.chunks_by_id(ids)
    hits: list[Hit] = []
    seen_texts: set[str] = set()
    for cid in ids:
        record = records.get(cid)
        if record is None:  # vector stored but file not yet recorded (ingest in progress)
            continue
        if record.text in seen_texts:
            continue
        if len(hits) == k:
            break
        seen_texts.add(record.text)
        score = keyword_scores.get(cid, 0.0) if mode == "keyword" else vector_scores.get(cid, 0.0)
        hits.append(
            Hit(
                chunk_id=cid,
                text=record.text,
                source=record.path,
                page=record.page,
                heading=record.heading,
                score=round(score, 6),
                distance=None if mode == "keyword" else _round(distances.get(cid)),
                rank=len(hits) + 1,
            )
        )
    query_tokens = keyword_tokens(query)  # in question order: a stable unknown-terms report
    wanted = set(query_tokens)
    idf = keyword_index.idf(catalog) if keyword_index is not None else lambda _: 1.0

    def coverage(hit: Hit) -> float:
        return weighted_coverage(wanted, records[hit.chunk_id].keywords, idf)

    if mode == "keyword":
        floor = KEYWORD_MODE_MIN_COVERAGE if min_relevance else 0.0
        relevant = [h for h in hits if coverage(h) >= floor]
    else:
        relevant = [
            h
            for h in hits
            if h.score >= min_score
            and (not min_relevance or h.score + COVERAGE_WEIGHT * coverage(h) >= min_relevance)
        ]
    unknown: list[str] = []
    if is_common_word is not None and keyword_index is not None:
        ordered = keyword_tokens(user_words) if user_words else query_tokens
        unknown = unknown_terms(ordered, keyword_index.vocabulary(catalog), is_common_word)
        if unknown:
            relevant = []
    return Retrieval(
        tuple(hits),
        tuple(relevant),
        tuple(query_vector) if query_vector is not None else None,
        tuple(unknown),
    )


def fuse_rankings(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> dict[str, float]:
    """Merge ranked id lists by reciprocal rank fusion; best first."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, cid in enumerate(ranking, start=1):
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (k + rank)
    return dict(sorted(scores.items(), key=lambda item: -item[1]))


def _mmr(
    ids: list[str],
    query_vector: Sequence[float],
    store: ChromaStore,
    relevance: dict[str, float],
    k: int,
) -> list[str]:
    """Pick K ids balancing relevance to the query against similarity to those picked."""
    vectors = store.embeddings(ids)
    pool = [cid for cid in ids if cid in vectors]
    chosen: list[str] = []
    while pool and len(chosen) < k:

        def gain(cid: str) -> float:
            rel = relevance.get(cid, similarity(query_vector, vectors[cid]))
            red = max((similarity(vectors[cid], vectors[c]) for c in chosen), default=0.0)
            return MMR_LAMBDA * rel - (1 - MMR_LAMBDA) * red

        best = max(pool, key=gain)
        chosen.append(best)
        pool.remove(best)
    return chosen


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)
