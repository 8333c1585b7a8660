"""Whether the retrieved chunks can answer a question: one policy, one verdict with its reason."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ragkb.language import keyword_tokens, language_of, split_sentences
from ragkb.types import Calibration, Hit

if TYPE_CHECKING:
    from ragkb.settings import RetrievalSettings

# Weight of keyword coverage in a chunk's relevance (similarity + weight x coverage), and the
# coverage a keyword-mode hit needs (it has no similarity); both calibrated with `ragkb eval`
# on bench/data/external and tests/data/eval (bench/README.md).
COVERAGE_WEIGHT = 0.75
KEYWORD_MODE_MIN_COVERAGE = 0.25

# A question that asks for a quantity, a date or a version (English and Chinese forms; in
# other languages the check does not apply, so it never refuses them).
_ASKS_FOR_NUMBER = re.compile(
    r"\bhow (?:many|much|long|large|big|old|fast|far)\b"
    r"|\b(?:what|which)\b[^?]*\b(?:year|version|release|percentage|port|date)\b"
    r"|\bwhen (?:was|were|did|is|will|does)\b|\b(?:maximum|minimum)\b"
    r"|\bin (?:milli)?seconds\b|\bin (?:bytes|minutes|days)\b"
    r"|多少|几[个种次年天条位项版秒分行]|多大|多长|多久|哪一?年|哪个版本|哪一?版|哪个端口"
    r"|什么时候|何时|哪一天",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"\d|[二两三四五六七八九十百千万亿]"
    r"|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|hundred"
    r"|thousand|million|billion|once|twice|half|dozen)\b",
    re.IGNORECASE,
)
# The share of the question's keywords a sentence stating a number must hold to answer it
# (the middle of the range bench/calibrate.py tries; the check is off by default).
KIND_MIN_SHARE = 0.3


@dataclass(frozen=True, slots=True)
class Verdict:
    """The hits an answer may use, and why there are none when there are none."""

    relevant: tuple[Hit, ...]
    reason: str | None = None  # set exactly when nothing is relevant: why ask refuses
    unknown_terms: tuple[str, ...] = ()  # names in the question that no document uses

    @property
    def refused(self) -> bool:
        """Return whether ask must refuse (no hit may be used)."""
        return not self.relevant


def effective_calibration(settings: RetrievalSettings, own: Calibration) -> Calibration:
    """Return the thresholds in force: each setting the user gave (>= 0), else the embedder's
    own calibrated value (OWN)."""
    return Calibration(
        similarity_floor=settings.similarity_floor
        if settings.similarity_floor >= 0
        else own.similarity_floor,
        min_score=settings.min_score if settings.min_score >= 0 else own.min_score,
        min_relevance=settings.min_relevance if settings.min_relevance >= 0 else own.min_relevance,
    )


def judge(
    hits: Sequence[Hit],
    *,
    mode: str,
    coverage: Mapping[str, float],
    unknown_terms: Sequence[str] = (),
    min_score: float,
    min_relevance: float,
    similarity_floor: float = 0.0,
    question: str = "",
    query_tokens: Sequence[str] = (),
    refuse_missing_numbers: bool = False,
) -> Verdict:
    """Decide which HITS are relevant enough to answer from.

    Similarities are first put on the calibrated scale (`calibrated`, from SIMILARITY_FLOOR).
    A hit counts when that reaches MIN_SCORE and, plus COVERAGE_WEIGHT x keyword coverage
    (COVERAGE, by chunk id), reaches MIN_RELEVANCE (0 turns that rule off). A keyword-mode
    hit has no similarity: it needs KEYWORD_MODE_MIN_COVERAGE unless MIN_RELEVANCE is 0. A
    question naming something no document mentions (UNKNOWN_TERMS) gets nothing, whatever
    the scores; with REFUSE_MISSING_NUMBERS, so does a QUESTION asking for a number that no
    relevant hit states near its terms (`answer_kind_missing`).
    """
    if unknown_terms:
        terms = ", ".join(unknown_terms)
        return Verdict((), f"the documents never mention: {terms}", tuple(unknown_terms))
    if not hits:
        return Verdict((), "nothing in the knowledge base matches the question")
    if mode == "keyword":
        floor = KEYWORD_MODE_MIN_COVERAGE if min_relevance else 0.0
        relevant = tuple(h for h in hits if coverage.get(h.chunk_id, 0.0) >= floor)
        rule = f"keyword coverage {floor}"
    else:

        def passes(h: Hit) -> bool:
            score = calibrated(h.score, similarity_floor)
            relevance = score + COVERAGE_WEIGHT * coverage.get(h.chunk_id, 0.0)
            return score >= min_score and (not min_relevance or relevance >= min_relevance)

        relevant = tuple(h for h in hits if passes(h))
        rule = f"min_score {min_score}, min_relevance {min_relevance}"
    if not relevant:
        return Verdict((), f"no retrieved passage passed the relevance threshold ({rule})")
    passages = [h.text for h in relevant]
    if refuse_missing_numbers and answer_kind_missing(question, query_tokens, passages):
        return Verdict(
            (), "the passages found discuss the question's terms but state no number for them"
        )
    return Verdict(relevant)


def calibrated(score: float, floor: float) -> float:
    """Return a cosine similarity on a scale where FLOOR (unrelated texts) maps to 0.

    Embedders differ in where unrelated texts land (about 0 for all-MiniLM-L6-v2, 0.77 for
    multilingual-e5-small), so the thresholds are set on this scale, not on raw cosine.
    """
    return (score - floor) / (1.0 - floor) if floor < 1.0 else score


def answer_kind_missing(
    question: str,
    query_tokens: Sequence[str],
    passages: Sequence[str],
    min_share: float = KIND_MIN_SHARE,
) -> bool:
    """Return whether QUESTION asks for a number that no relevant passage states near its terms.

    A near miss ("how many workers does it start by default?") matches documents that discuss
    the topic at length: similarity and coverage cannot tell it from an answerable question,
    but the answer's kind can. A sentence answers when it holds a number and MIN_SHARE of the
    question's keywords (QUERY_TOKENS). Only sentences in the question's language are read:
    across languages keywords do not match, so a cross-lingual question is never refused here.
    """
    wanted = set(query_tokens)
    if not wanted or not _ASKS_FOR_NUMBER.search(question):
        return False
    language = language_of(question)
    readable = False
    for text in passages:
        for start, end in split_sentences(text):
            sentence = text[start:end]
            if language_of(sentence) != language:
                continue
            readable = True
            shared = len(wanted & set(keyword_tokens(sentence)))
            if _NUMBER.search(sentence) and shared >= min_share * len(wanted):
                return False
    return readable


def weighted_coverage(
    query_tokens: Collection[str],
    chunk_keywords: str,
    idf: Callable[[str], float],
    equivalents: Mapping[str, Collection[str]] | None = None,
) -> float:
    """Return the IDF-weighted share of the query's keywords that occur in a chunk.

    A rare word counts for more than a common one, and a word the corpus never contains
    (the specific thing asked about) counts most: missing it is the best sign that the
    documents do not hold the answer. A word also counts as present when one of its
    EQUIVALENTS in the other language is (`bilingual.equivalents`); its weight stays its own.
    """
    total = sum(idf(t) for t in query_tokens)
    if total <= 0:
        return 0.0
    present = set(chunk_keywords.split())
    others = equivalents or {}

    def found(token: str) -> bool:
        return token in present or not present.isdisjoint(others.get(token, ()))

    return sum(idf(t) for t in query_tokens if found(t)) / total
