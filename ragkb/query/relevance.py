"""Whether the retrieved chunks can answer a question: one policy, one verdict with its reason."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from ragkb.language import has_han
from ragkb.types import Hit

# Weight of keyword coverage in a chunk's relevance (similarity + weight x coverage), and the
# coverage a keyword-mode hit needs (it has no similarity); both calibrated with `ragkb eval`
# on bench/data/external and tests/data/eval (bench/README.md).
COVERAGE_WEIGHT = 0.75
KEYWORD_MODE_MIN_COVERAGE = 0.25

_INFLECTION = re.compile(r"(?:ing|ed|es|s)$")
# Zipf 3 = once per million words: wordfreq's small English list holds exactly these.
_EVERYDAY_ZIPF = 3.0


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


def judge(
    hits: Sequence[Hit],
    *,
    mode: str,
    coverage: Mapping[str, float],
    unknown_terms: Sequence[str] = (),
    min_score: float,
    min_relevance: float,
) -> Verdict:
    """Decide which HITS are relevant enough to answer from.

    A hit counts when its similarity reaches MIN_SCORE and its similarity plus
    COVERAGE_WEIGHT x keyword coverage (COVERAGE, by chunk id) reaches MIN_RELEVANCE (0 turns
    that rule off). A keyword-mode hit has no similarity: it needs KEYWORD_MODE_MIN_COVERAGE
    unless MIN_RELEVANCE is 0. A question naming something no document mentions
    (UNKNOWN_TERMS) gets nothing, whatever the scores.
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
        relevant = tuple(
            h
            for h in hits
            if h.score >= min_score
            and (
                not min_relevance
                or h.score + COVERAGE_WEIGHT * coverage.get(h.chunk_id, 0.0) >= min_relevance
            )
        )
        rule = f"min_score {min_score}, min_relevance {min_relevance}"
    if relevant:
        return Verdict(relevant)
    return Verdict((), f"no retrieved passage passed the relevance threshold ({rule})")


def weighted_coverage(
    query_tokens: Collection[str], chunk_keywords: str, idf: Callable[[str], float]
) -> float:
    """Return the IDF-weighted share of the query's keywords that occur in a chunk.

    A rare word counts for more than a common one, and a word the corpus never contains
    (the specific thing asked about) counts most: missing it is the best sign that the
    documents do not hold the answer.
    """
    total = sum(idf(t) for t in query_tokens)
    if total <= 0:
        return 0.0
    present = set(chunk_keywords.split())
    return sum(idf(t) for t in query_tokens if t in present) / total


def is_everyday_word(word: str) -> bool:
    """Return whether WORD is an everyday English word (wordfreq, loaded on first use)."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en", wordlist="small") >= _EVERYDAY_ZIPF


def unknown_terms(
    query_tokens: Iterable[str],
    vocabulary: Collection[str],
    is_common_word: Callable[[str], bool],
) -> list[str]:
    """Return the names in a question that the documents never use, in question order.

    A name (a command, product, format or acronym: timedatectl, WireGuard, XER) cannot be
    paraphrased, so documents that never contain it cannot be about it. A term counts when
    no chunk holds it, it is not a common word (IS_COMMON_WORD, e.g. one token of the
    embedder's vocabulary, which spells ordinary words whole and splits rare names, nor an
    everyday English word by wordfreq), and it is not a form of a word the documents do use
    ("reconfigures" when they say "reconfigure"). Chinese words are left out: jieba's
    segmentation of a question rarely matches a rare name, and paraphrase is the norm.
    """
    unknown = []
    for token in dict.fromkeys(query_tokens):
        if token in vocabulary or has_han(token) or is_common_word(token):
            continue
        if is_everyday_word(token):
            continue
        stem = _INFLECTION.sub("", token)
        if len(stem) >= 4 and any(word.startswith(stem) for word in vocabulary):
            continue
        unknown.append(token)
    return unknown
