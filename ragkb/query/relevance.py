"""Whether the retrieved chunks can answer a question: one policy, one verdict with its reason."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ragkb.language import keyword_tokens, split_sentences
from ragkb.types import Calibration, Hit

if TYPE_CHECKING:
    from ragkb.settings import RetrievalSettings

# Weight of keyword coverage in a chunk's relevance (similarity + weight x coverage), and the
# coverage a keyword-mode hit needs (it has no similarity); both calibrated with `ragkb eval`
# on bench/data/external and tests/data/eval (bench/README.md).
COVERAGE_WEIGHT = 0.75
KEYWORD_MODE_MIN_COVERAGE = 0.25

# What a question asks for when it wants a value, and the shape of that value in a sentence
# that answers it: a version, a port, a year or date, any quantity, or a person (English and
# Chinese forms only: a question in another language is never refused here).
# A Chinese numeral counts before a measure word ("三个", "两天") or as a run ("二十");
# alone it is part of a word (第三方, 两者). 一 and "one" are left out: "一个"/"one of" are
# everywhere, so counting them would let almost every near miss through.
_NUMBER = re.compile(
    r"(?<!第)(?<!第 )\d+(?:\.\d+)*"  # 第 2 步 is an ordinal, no quantity
    r"|(?<!第)[二两三四五六七八九十百千万亿]+(?=[个种次年天条位项秒分时行倍月周日号台块层级名份字岁轮遍"
    r"张本篇段句组批页章节帧步点度元米克升人件片根套场回期届代])"
    r"|[二两三四五六七八九十百千万亿]{2,}"
    r"|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|hundred"
    r"|thousand|million|billion|once|twice|half|dozen)\b"
    # How long or how often is answered by a frequency: 每周 (weekly), 每隔三天, "every day".
    r"|每(?:隔)?\s*(?:[二两三四五六七八九十\d]+\s*)?个?(?:天|日|晚|周|星期|礼拜|月|年|季度|小时|分钟|秒)"
    r"|\b(?:hourly|daily|nightly|weekly|fortnightly|monthly|quarterly|yearly|annually)\b"
    r"|\bevery\s+(?:other\s+)?(?:second|minute|hour|day|night|week|month|year)\b"
    # How long or how fast is answered by a complexity: "in linear time", O(log n), 常数时间.
    r"|\b(?:constant|linear|logarithmic|quadratic|cubic|exponential|polynomial)\s+time\b"
    r"|\bO\([^()]{1,20}\)|(?:常数|线性|对数|平方|指数|多项式)(?:级)?时间",
    re.IGNORECASE,
)
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
# "which version", "in which SQLite version did", "what TCP port number", "what is the default
# port?"; the noun must end its phrase: "what does port forwarding do?" and "which type does
# this version handle?" ask for no value.
_ASKED_NOUN = (
    r"(?:\b(?:which|what)\s+(?:(?!(?:is|are|was|were|does|do)\b)[\w.-]+\s+){{0,2}}?"
    r"|\bwhat(?:'s|\s+is|\s+are)\s+the\s+(?:[\w.-]+\s+){{0,2}}?){}(?:\s+numbers?)?"
    r"(?=\s*(?:\?|$)|\s+(?:does|do|is|are|was|were|did|should|will|can|has|have|of|for|on"
    r"|in|by|to|that|at|from|with|after|before|since|first|added|introduced|removed|dropped"
    r"|shipped|supports?|requires?)\b)"
)
_DIGITS = re.compile(r"\d+(?:\.\d+)*")
# A version: digits, but not a timestamp's ("Last updated 2024-05-31 00:35:55", a page's
# footer, is no release).
_VERSION = re.compile(
    r"(?<![\d.:])(?<!\d{4}-)(?<!\d{4}-\d\d-)(?!(?:1[89]|20)\d\d-\d\d-\d\d)\d+(?:\.\d+)*"
    r"(?![\d.]*:\d)"
)
# Between 哪个 and the noun a Chinese question may name the product: 哪个 Linux 内核版本.
_ZH_WHICH = r"哪[个一]?\s*(?:[A-Za-z][\w.+-]*\s*|内核\s*|系统\s*|软件\s*){{0,3}}{}"
# Who someone is: a personal name (two capitalised words, "Larry Hastings", "A.M. Kuchling"),
# an e-mail address, or a Chinese credits line (作者 / 译者 / 由 某某 编写).
_PERSON = re.compile(
    r"\b[A-Z][a-z]*\.?(?:\s*[A-Z]\.)*\s+(?:(?:van|von|de|der|da|le)\s+)?[A-Z][\w'’-]+"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|作者|译者|翻译|维护者|开发者|由\s?[\u4e00-\u9fff]{2,4}\s?(?:编写|开发|设计|维护|撰写|翻译|创建)"
)
_ASKED_VALUES: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    (
        re.compile(
            _ASKED_NOUN.format("(?:version|release)s?")
            + "|"
            + _ZH_WHICH.format("版本")
            + r"|哪一?版|什么版本",
            re.I,
        ),
        _VERSION,  # "SSH 2", "Python 3", "3.16.0"
    ),
    (
        re.compile(
            _ASKED_NOUN.format("ports?") + "|" + _ZH_WHICH.format("端口") + "|什么端口", re.I
        ),
        re.compile(r"(?<![\d.])\d{2,5}(?![\d.]*\d)"),
    ),
    (
        re.compile(
            _ASKED_NOUN.format("(?:year|date)") + r"|\bwhen (?:was|were|did)\b"
            r"|哪一?年|哪一天|(?:什么时候|何时)[^？?]{0,8}?(?:发布|推出|引入|加入|发行|成立|建立|出现)",
            re.I,
        ),
        re.compile(
            r"(?<![\d.])(?:1[89]|20)\d\d(?![\d.]*\d)|\d+\s*[年月日]"
            rf"|\b{_MONTH}\b\.?\s+\d|\b\d{{1,2}}\s+{_MONTH}\b",
            re.I,
        ),
    ),
    (
        re.compile(
            r"\bhow (?:many|much|long|large|big|old|fast|far)\b"
            r"|\b(?:what|which)\b[^?]{0,30}\b(?:maximum|minimum)\b|"
            + _ASKED_NOUN.format("percentage")
            + r"|\bin (?:milli)?seconds\b|\bin (?:bytes|minutes|days)\b"
            r"|多少|(?<![哪好这那前后头])几[个种次年天条位项版秒分行]|多大|多长|多久",
            re.I,
        ),
        _NUMBER,
    ),
    (
        # "who wrote ...?", "who is the maintainer of ...?", "作者是谁？", "由谁开发？": a person
        # (not "who can read the journal?", which asks for a group or a role).
        re.compile(
            r"\bwho\s+(?:originally\s+|first\s+)?(?:wrote|designed|created|invented|developed"
            r"|maintains|authored|founded|translated)\b"
            r"|\bwho\s+(?:is|was|are|were)\s+the\s+(?:[\w.-]+\s+)?(?:author|maintainer|creator"
            r"|designer|developer|inventor|founder|translator)s?\b"
            r"|作者是谁|谁(?:写|编写|设计|开发|创建"
            r"|维护|发明|翻译)",
            re.I,
        ),
        _PERSON,
    ),
)
# A list item's or a section's number at the start of a line ("2. ", "10.weekday", "9.4.8.",
# "(9) ", "3) ") is no value; a version at the start of a line ("3.16 added ...") is one.
_LINE_NUMBER = re.compile(r"(?m)^[ \t]*(?:\d+(?:\.\d+)*\.(?!\d)|\(\d+\)|\d+\))")
# A manual page's section ("journalctl(1)", "sshd(8)", "ssl(3ssl)") is no value either.
_MAN_SECTION = re.compile(r"(?<=[\w.+-])\([1-9][a-z]{0,6}\)")
# How many of the best-ranked sentences are read, each with the sentence after it; one that
# states the asked-for value is enough (bench/calibrate.py).
KIND_BEST_SENTENCES = 2
# The IDF-weighted share of the question's words the best sentence must hold for the check to
# read the passages at all: below it a paraphrased question's sentences are ranked by chance.
KIND_MIN_COVERAGE = 0.2


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
    refuse_missing_numbers: bool = True,
    idf: Callable[[str], float] | None = None,
    equivalents: Mapping[str, Collection[str]] | None = None,
) -> Verdict:
    """Decide which HITS are relevant enough to answer from.

    Similarities are first put on the calibrated scale (`calibrated`, from SIMILARITY_FLOOR).
    A hit counts when that reaches MIN_SCORE and, plus COVERAGE_WEIGHT x keyword coverage
    (COVERAGE, by chunk id), reaches MIN_RELEVANCE (0 turns that rule off). A keyword-mode
    hit has no similarity: it needs KEYWORD_MODE_MIN_COVERAGE unless MIN_RELEVANCE is 0, and
    unless it is 0 some hit must hold one of QUERY_TOKENS (or an equivalent) at all. A
    question naming something no document mentions (UNKNOWN_TERMS) gets nothing, whatever
    the scores; with REFUSE_MISSING_NUMBERS, so does a QUESTION asking for a value (a number,
    version, date, port or person) that the relevant hits' best sentences do not state
    (`answer_kind_missing`, which ranks them by the IDF-weighted share of QUERY_TOKENS or their
    EQUIVALENTS they hold).
    """
    if unknown_terms:
        terms = ", ".join(unknown_terms)
        return Verdict((), f"the documents never mention: {terms}", tuple(unknown_terms))
    if not hits:
        return Verdict((), "nothing in the knowledge base matches the question")
    if min_relevance and query_tokens and not any(coverage.get(h.chunk_id) for h in hits):
        # Similarity alone carries such a question ("hello", 你好): the bundled
        # embedder puts any two texts of a language close (bench/README.md, "Refusal").
        return Verdict((), "no retrieved passage holds any of the question's words")
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
    if refuse_missing_numbers and answer_kind_missing(
        question, query_tokens, passages, idf=idf, equivalents=equivalents
    ):
        return Verdict(
            (),
            "the passages found discuss the question's terms, but their best sentences state "
            "no value of the kind asked for",
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
    *,
    idf: Callable[[str], float] | None = None,
    equivalents: Mapping[str, Collection[str]] | None = None,
    best: int = KIND_BEST_SENTENCES,
) -> bool:
    """Return whether QUESTION asks for a value that the passages' best sentences do not state.

    A near miss ("which port does it listen on by default?") matches documents that discuss
    the topic at length: similarity and coverage cannot tell it from an answerable question,
    but the kind of its answer can. The sentences of PASSAGES are ranked by the IDF-weighted
    share of the question's words (QUERY_TOKENS, or their EQUIVALENTS in the other language)
    they hold, the lead line's keyword score (adding its embedder similarity did no better on
    the tuning corpora, and search embeds no sentences); the BEST of them, each read with the
    sentence after it (the value often follows the sentence that names the thing), must state
    a value of the asked shape (`asked_value`) that the question does not already hold.
    When no sentence holds KIND_MIN_COVERAGE of the question's words, the ranking says
    nothing and the check does not refuse.
    """
    wanted = set(query_tokens)
    value = asked_value(question)
    if not wanted or value is None:
        return False
    weight = idf or (lambda token: 1.0)
    ranked: list[tuple[float, str]] = []
    for text in passages:
        spans = split_sentences(text)
        for i, (start, end) in enumerate(spans):
            words = " ".join(keyword_tokens(text[start:end]))
            following = spans[i + 1][1] if i + 1 < len(spans) else end
            ranked.append(
                (weighted_coverage(wanted, words, weight, equivalents), text[start:following])
            )
    ranked.sort(key=lambda pair: -pair[0])  # stable: ties keep the passages' order
    if not ranked or ranked[0][0] < KIND_MIN_COVERAGE:
        return False  # no sentence is about the question's words: nothing to read it in
    given = _given_numbers(question)
    return not any(
        value.search(given.sub(" ", _MAN_SECTION.sub(" ", _LINE_NUMBER.sub(" ", window))))
        for _, window in ranked[:best]
    )


def _given_numbers(question: str) -> re.Pattern[str]:
    """Return a pattern for the numbers QUESTION already holds ("since kernel 5.6"): a
    sentence that repeats one of them does not state the value asked for."""
    numbers = sorted(set(_DIGITS.findall(question)), key=len, reverse=True)
    if not numbers:
        return re.compile(r"(?!)")  # matches nothing
    alternatives = "|".join(re.escape(n) for n in numbers)
    return re.compile(rf"(?<![\d.])(?:{alternatives})(?![\d.]*\d)")


def asked_value(question: str) -> re.Pattern[str] | None:
    """Return the shape of the value QUESTION asks for (a version, a port, a date, a
    quantity, a person), or None when it asks for none."""
    return next((value for asks, value in _ASKED_VALUES if asks.search(question)), None)


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
