"""Retrieve for a question: rank the candidates, then judge whether they can answer it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ragkb.errors import UsageError
from ragkb.language import keyword_tokens
from ragkb.query.candidates import rank_candidates
from ragkb.query.filters import matching_paths
from ragkb.query.names import unknown_terms
from ragkb.query.relevance import (
    Verdict,
    effective_calibration,
    judge,
    weighted_coverage,
)

if TYPE_CHECKING:
    from ragkb.parts import Parts
    from ragkb.settings import RetrievalSettings
    from ragkb.types import Filter, Hit


@dataclass(frozen=True, slots=True)
class Retrieval:
    """Ranked hits and the verdict on them."""

    hits: tuple[Hit, ...]
    verdict: Verdict
    # The query's words in the other language, looked up once for ranking and the answer.
    equivalents: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def relevant(self) -> tuple[Hit, ...]:
        """Return the hits an answer may use (empty when ask must refuse)."""
        return self.verdict.relevant

    @property
    def unknown_terms(self) -> tuple[str, ...]:
        """Return the names in the question that no document uses."""
        return self.verdict.unknown_terms


# A question longer than this is a document: the embedder reads its first 512 tokens anyway,
# and segmenting and ranking 100 KB of text held a server's other searches for 45 s.
MAX_QUERY_CHARS = 4000


def retrieve(
    query: str,
    *,
    parts: Parts,
    settings: RetrievalSettings,
    k: int,
    mode: str,
    user_words: str | None = None,
    scope: Filter | None = None,
) -> Retrieval:
    """Return the top K chunks for QUERY and which of them may answer it.

    USER_WORDS, when QUERY is a model's rewrite of a follow-up, are the words checked for
    names no document uses: a rewrite may add words the user never said. SCOPE limits the
    search to the files it lets through.
    """
    if not query.strip():
        raise UsageError("the question is empty")
    if len(query) > MAX_QUERY_CHARS:
        raise UsageError(
            f"the question is {len(query):,} characters long; at most {MAX_QUERY_CHARS:,} are read"
        )
    catalog, keywords = parts.catalog, parts.keywords
    sources = None if scope is None or scope.is_empty() else matching_paths(catalog, scope)
    vector = mode in ("vector", "hybrid")
    ranking = rank_candidates(
        query,
        k=k,
        mode=mode,
        mmr=settings.mmr,
        catalog=catalog,
        vectors=parts.vectors if vector else None,
        keywords=keywords,
        encoder=parts.query_encoder if vector else None,
        reranker=parts.reranker,
        rerank_candidates=settings.rerank_candidates,
        sources=sources,
        translator=parts.translator,
    )
    query_tokens = list(ranking.tokens)  # in question order: a stable unknown-terms report
    wanted = set(query_tokens)
    idf = keywords.idf(catalog)
    others = ranking.equivalents
    coverage = {
        h.chunk_id: weighted_coverage(wanted, ranking.records[h.chunk_id].keywords, idf, others)
        for h in ranking.hits
    }
    unknown: list[str] = []
    asked_tokens = keyword_tokens(user_words) if user_words else query_tokens
    vocabulary = keywords.vocabulary(catalog) if settings.refuse_unknown_terms else None
    if vocabulary is not None:  # without a keyword index nothing is known to be absent
        unknown = unknown_terms(
            asked_tokens,
            vocabulary,
            parts.query_encoder.is_common_word,
            question=user_words or query,
        )
    calibration = effective_calibration(settings, parts.query_encoder.calibration)
    verdict = judge(
        ranking.hits,
        mode=mode,
        coverage=coverage,
        unknown_terms=unknown,
        min_score=calibration.min_score,
        min_relevance=calibration.min_relevance,
        similarity_floor=calibration.similarity_floor,
        question=user_words or query,  # what the user asked decides the kind of answer
        query_tokens=query_tokens,  # the query ranks the sentences, as it ranked the chunks
        refuse_missing_numbers=settings.refuse_missing_numbers,
        idf=idf,
        equivalents=others,
    )
    return Retrieval(ranking.hits, verdict, ranking.equivalents)
