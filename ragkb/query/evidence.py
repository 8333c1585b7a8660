"""The sentences of the retrieved chunks, ranked once: the lead line, the focused prompt's
passages, verbatim evidence quotes and the support check of a generated answer."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence

from ragkb.language import keyword_tokens, split_sentences
from ragkb.models.embedders import similarity
from ragkb.query.names import name_like_words
from ragkb.query.relevance import weighted_coverage
from ragkb.types import AnswerSentence, Evidence, Hit

MAX_QUOTES = 3
MAX_QUOTE_CHARS = 320
# A sentence's score: similarity to the question and to the answer, keyword overlap, and the
# IDF-weighted share of the question's words it holds. The question weighs most because a
# small model's answer is often wrong. Calibrated with `ragkb eval --answers` on
# tests/data/eval/sample_docs_gold.jsonl (bench/README.md).
QUESTION_WEIGHT = 0.7
ANSWER_WEIGHT = 0.3
KEYWORD_WEIGHT = 0.5
IDF_WEIGHT = 0.5
# For the question alone (the lead line, the focused prompt's sentences): (keyword, IDF)
# weights. The share of the question's rare words a sentence holds picks the sentence that
# answers better than plain overlap: the lead held the expected fact in 64 of 106 questions of
# the tuning corpora against 59 with the evidence weights (bench/README.md, "Answers").
LEAD_WEIGHTS = (0.0, 1.0)
# For the question alone, a sentence of the n-th retrieved passage also loses this x (n - 1):
# retrieval read whole passages and its order is evidence too. Chosen on the tuning corpora
# and corpus_b..d (the fact in the lead or the next three sentences for 196 of 269 answerable
# questions, from 191), then held out on corpus_e..i: the fact shown for 161 of 240, from 146
# (bench/README.md, "The search's order in the lead line's ranking").
SOURCE_RANK_WEIGHT = 0.05
# "What is a trace tree?", "GGUF 是什么？", 什么是 conffile？ ask for a definition, and a definition
# begins with the term ("A trace tree is the tree formed by ...", "GGUF 是 llama.cpp 使用的模型
# 文件格式"): for the question alone, such a sentence gains this. The quick start's own question
# led with "The trace tree shows which operation caused which." before it (a new-user trial);
# only three gold questions of the eleven corpora ask this way, too few to tune it on.
DEFINITION_WEIGHT = 0.3
_DEFINED = (
    re.compile(
        r"^\s*what\s+(?:is|are)\s+(?:an?\s+)?(?!(?:the|it|this|that)\b)([^?]{1,40}?)\s*\??\s*$",
        re.I,
    ),
    re.compile(r"^\s*(?:什么是|何为|何谓)\s*([^？?的]{1,20}?)\s*[？?]?\s*$"),
    re.compile(r"^\s*([^？?的]{1,20}?)\s*(?:是什么|是指什么|指什么|是啥)\s*[？?]?\s*$"),
)
# An answer sentence is supported when this share of its words occurs in the passages, or a
# passage sentence is this similar to it on the embedder's calibrated scale (bench/README.md,
# "Answers": chosen on the tuning corpora).
SUPPORT_COVERAGE = 0.6
SUPPORT_SIMILARITY = 0.6
_CITATION = re.compile(r"\[(\d{1,3})\]")
# A number with the unit letters written onto it ("10M", "64KB", "3rd") is that quantity: an
# answer's "10M" is not backed by a passage's "10 files". A passage may put a space between.
_QUANTITY = re.compile(r"(\d+(?:[.,]\d+)*)([A-Za-z%]+)?")
_STATED_QUANTITY = re.compile(r"(\d+(?:[.,]\d+)*)(?:\s?([A-Za-z%]+))?")
_SPACED_CITATION = re.compile(r"[ \t]*\[(\d{1,3})\]")
_MIN_SENTENCE_CHARS = 8

EmbedMany = Callable[[Sequence[str]], list[list[float]]]


def _definition_of(question: str) -> re.Pattern[str] | None:
    """Return the shape of a sentence that defines what QUESTION asks to have defined (the
    term, an optional article or parenthesis, then "is"/"are"/"means"/是/指), or None when it
    asks for no definition."""
    for asks in _DEFINED:
        found = asks.match(question)
        if found:
            term = re.escape(found.group(1).strip())
            # At the start of a line: a PDF's heading line often comes first ("Trace trees\n").
            return re.compile(
                rf"^\W*(?:(?:an?|the)\s+)?{term}s?\s*(?:[(（][^)）]{{0,80}}[)）]\s*)?"
                r"(?:(?:is|are|means|refers\s+to|stands\s+for)\b|是|指|即)",
                re.I | re.M,
            )
    return None


def cited_numbers(answer: str) -> list[int]:
    """Return the [n] numbers an answer cites, in order of first appearance."""
    return list(dict.fromkeys(int(m) for m in _CITATION.findall(answer)))


def drop_invalid_citations(answer: str, n_sources: int) -> tuple[str, tuple[int, ...]]:
    """Remove [n] markers that point to no source; return the text and the removed numbers."""
    invalid = tuple(n for n in cited_numbers(answer) if not 1 <= n <= n_sources)
    if not invalid:
        return answer, ()
    bad = set(invalid)
    # The space before a removed marker goes with it: "see [9]." becomes "see.".
    cleaned = _SPACED_CITATION.sub(lambda m: "" if int(m.group(1)) in bad else m.group(0), answer)
    return re.sub(r"[ \t]{2,}", " ", cleaned).strip(), invalid


def select_evidence(
    question: str,
    answer: str,
    sources: Sequence[Hit],
    *,
    embed: EmbedMany | None,
    max_quotes: int = MAX_QUOTES,
    idf: Callable[[str], float] | None = None,
) -> tuple[Evidence, ...]:
    """Return up to MAX_QUOTES exact quotes from SOURCES supporting ANSWER to QUESTION."""
    return SentencePool(question, sources, embed=embed, idf=idf).quotes(answer, max_quotes)


_Sentence = tuple[int, Hit, int, int]  # (source number, hit, start, end)


class SentencePool:
    """The sentences of the retrieved passages, scored against a question and an answer.

    Each sentence is embedded once (when an embedder is given): the extractive lead line, the
    focused prompt's passages, the evidence quotes and the support check all rank the same
    sentences. A sentence's score is its similarity to the question and to the answer,
    keyword overlap, and the IDF-weighted share of the question's words it holds (or of their
    EQUIVALENTS in the other language, so a sentence in either language can lead).
    """

    def __init__(
        self,
        question: str,
        sources: Sequence[Hit],
        *,
        embed: EmbedMany | None,
        idf: Callable[[str], float] | None = None,
        equivalents: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        self.question = question
        self.sources = tuple(sources)
        self.sentences: list[_Sentence] = [
            (number, hit, start, end)
            for number, hit in enumerate(sources, 1)
            for start, end in split_sentences(hit.text)
            if end - start >= _MIN_SENTENCE_CHARS
        ]
        self.texts = [hit.text[s:e] for _, hit, s, e in self.sentences]
        self.words = [set(keyword_tokens(t)) for t in self.texts]
        self._embed = embed
        self._asked = set(keyword_tokens(question))
        self._idf_known = idf is not None
        self._coverage = [
            weighted_coverage(self._asked, " ".join(w), idf, equivalents)
            if idf is not None and self._asked
            else 0.0
            for w in self.words
        ]
        self._vectors: list[list[float]] | None = None
        self._defines = _definition_of(question)  # what a defining sentence looks like, if asked

    def _sentence_vectors(self) -> list[list[float]] | None:
        """Return [question vector, sentence vectors...], embedded on first use."""
        if self._embed is None or not self.texts:
            return None
        if self._vectors is None:
            self._vectors = self._embed([self.question, *self.texts])
        return self._vectors

    def scores(self, answer: str = "") -> list[float]:
        """Score every sentence against the question and ANSWER (the question alone if empty)."""
        answer = _CITATION.sub(" ", answer).strip()
        wanted = self._asked | set(keyword_tokens(answer))
        lead = not answer and self._idf_known
        keyword_weight, idf_weight = LEAD_WEIGHTS if lead else (KEYWORD_WEIGHT, IDF_WEIGHT)
        scores = [idf_weight * c for c in self._coverage]
        if lead:
            for i, (number, *_) in enumerate(self.sentences):
                scores[i] -= SOURCE_RANK_WEIGHT * (number - 1)
                if self._defines is not None and self._defines.search(self.texts[i]):
                    scores[i] += DEFINITION_WEIGHT
        for i, words in enumerate(self.words):
            if words and wanted and keyword_weight:
                overlap = len(words & wanted) / math.sqrt(len(words) * len(wanted))
                scores[i] += keyword_weight * overlap
        vectors = self._sentence_vectors()
        if vectors is not None:
            q_vec, sentence_vecs = vectors[0], vectors[1:]
            a_vec = self._embed([answer])[0] if answer and self._embed else q_vec
            for i, vec in enumerate(sentence_vecs):
                scores[i] += QUESTION_WEIGHT * similarity(vec, q_vec)
                scores[i] += ANSWER_WEIGHT * similarity(vec, a_vec)
        return scores

    def _numbers(self, shown: Sequence[Hit] | None) -> list[int]:
        """Return the pool's source numbers of SHOWN (the hits the model read, in its order)."""
        if shown is None:
            return list(range(1, len(self.sources) + 1))
        number_of = {hit.chunk_id: n for n, hit in enumerate(self.sources, 1)}
        return [number_of[hit.chunk_id] for hit in shown]

    def ranked(self, answer: str = "", shown: Sequence[Hit] | None = None) -> list[int]:
        """Return indices of SHOWN sources' sentences, best first; the sentences of sources
        the ANSWER cites ([n] numbers SHOWN) come first."""
        numbers = self._numbers(shown)
        allowed = set(numbers)
        cited = {numbers[n - 1] for n in cited_numbers(answer) if 1 <= n <= len(numbers)}
        scores = self.scores(answer)
        return sorted(
            (i for i, sentence in enumerate(self.sentences) if sentence[0] in allowed),
            key=lambda i: (self.sentences[i][0] not in cited if cited else False, -scores[i]),
        )

    def quotes(
        self, answer: str, max_quotes: int = MAX_QUOTES, *, shown: Sequence[Hit] | None = None
    ) -> tuple[Evidence, ...]:
        """Return up to MAX_QUOTES verbatim quotes supporting ANSWER to the question, from
        the SHOWN sources (all by default)."""
        return _quotes([self.sentences[i] for i in self.ranked(answer, shown)], max_quotes)

    def lead(self) -> Evidence | None:
        """Return the sentence that best answers the question, with the sentence after it in
        its passage when the two fit in one quote, or None.

        The best sentence often restates the question and the fact follows it ("... move into
        testing after a fixed number of days." "Assume it is 5 days."): on the tuning corpora
        the next sentence put the fact in the lead for 6 more of 97 questions (external) and 1
        more of 33 (sample_docs) (bench/README.md, "Answers").
        """
        ranked = self.ranked()
        if not ranked:
            return None
        best = ranked[0]
        number, hit, start, end = self.sentences[best]
        after = best + 1
        if (
            after < len(self.sentences)
            and self.sentences[after][0] == number
            and self.sentences[after][3] - start <= MAX_QUOTE_CHARS
        ):
            end = self.sentences[after][3]
        return _quotes([(number, hit, start, end)], 1)[0]

    def windows(self, best: int, around: int = 1) -> list[tuple[Hit, str]]:
        """Return the sources that hold the BEST top sentences, in rank order, each as those
        sentences with AROUND neighbours on either side.

        What a small model reads instead of whole chunks; left-out text is marked by an
        ellipsis. With no sentence to pick (a chunk of fragments), the best chunk whole.
        """
        picked: dict[int, set[int]] = {}
        for i in self.ranked()[:best]:
            number = self.sentences[i][0]
            for j in range(i - around, i + around + 1):
                if 0 <= j < len(self.sentences) and self.sentences[j][0] == number:
                    picked.setdefault(number, set()).add(j)
        if not picked:
            return [(self.sources[0], self.sources[0].text)] if self.sources else []
        out: list[tuple[Hit, str]] = []
        for number in sorted(picked):
            indices = sorted(picked[number])
            parts: list[str] = []
            for position, i in enumerate(indices):
                if position and indices[position - 1] != i - 1:
                    parts.append("…")
                parts.append(" ".join(self.texts[i].split()))
            out.append((self.sources[number - 1], " ".join(parts)))
        return out

    def support(
        self, answer: str, *, floor: float, shown: Sequence[Hit] | None = None
    ) -> tuple[tuple[AnswerSentence, ...], set[str]]:
        """Judge each sentence of ANSWER against the sentences of the SHOWN sources (all by
        default).

        A sentence is supported when one passage sentence backs it: it holds SUPPORT_COVERAGE
        of the sentence's words, or says nearly the same (similarity, calibrated above the
        embedder's FLOOR, of at least SUPPORT_SIMILARITY); and every number and every name
        (`name_like_words`) it states occurs in the passages (a small model's typical slip is
        a number or a company nobody wrote). Returns the sentences and the passage sentences
        that back at least one of them.
        """
        allowed = set(self._numbers(shown))
        mine = [i for i, s in enumerate(self.sentences) if s[0] in allowed]
        # A list marker ("1.") or a lone citation is no claim to check.
        texts = [
            answer[s:e]
            for s, e in split_sentences(answer)
            if any(ch.isalpha() for ch in _CITATION.sub(" ", answer[s:e]))
        ]
        if not texts:
            return (), set()
        stated = {q for hit in (shown or self.sources) for q in _stated_quantities(hit.text)}
        passages = " ".join(hit.text for hit in (shown or self.sources)).lower()
        vectors = self._sentence_vectors()
        plain = [_CITATION.sub(" ", t) for t in texts]
        answer_vecs = self._embed(plain) if vectors is not None and self._embed else None
        judged: list[AnswerSentence] = []
        supporting: set[str] = set()
        for n, text in enumerate(plain):
            words = set(keyword_tokens(text))
            backers = []
            for i in mine:
                shared = len(words & self.words[i]) / len(words) if words else 1.0
                close = 0.0
                if answer_vecs is not None and vectors is not None:
                    raw = similarity(answer_vecs[n], vectors[1 + i])
                    close = (raw - floor) / (1 - floor) if floor < 1 else raw
                if shared >= SUPPORT_COVERAGE or close >= SUPPORT_SIMILARITY:
                    backers.append(i)
            numbers_stated = {(n + unit).lower() for n, unit in _QUANTITY.findall(text)} <= stated
            names = name_like_words(text, english=True, chinese=False)
            # A quantity ("64MB") is the number check's, which allows "64 MB".
            names_stated = all(n in passages for n in names if not n[0].isdigit())
            supported = bool(backers) and numbers_stated and names_stated
            judged.append(AnswerSentence(text=texts[n], supported=supported))
            if supported:
                supporting.update(self.texts[i] for i in backers)
        return tuple(judged), supporting


def _stated_quantities(text: str) -> set[str]:
    """Return the numbers TEXT states, each bare and with the unit letters after it."""
    found: set[str] = set()
    for number, unit in _STATED_QUANTITY.findall(text):
        found.update((number, (number + unit).lower()))
    return found


def _quotes(ranked: Sequence[_Sentence], max_quotes: int) -> tuple[Evidence, ...]:
    """Turn the best sentences into quotes, each once, long ones shortened."""
    picked: list[Evidence] = []
    seen: set[str] = set()
    for _, hit, start, sentence_end in ranked:
        start, end = _fit(hit.text, start, sentence_end)
        quote = hit.text[start:end].rstrip()
        end = start + len(quote)
        if quote in seen:
            continue
        seen.add(quote)
        picked.append(
            Evidence(
                source=hit.source,
                page=hit.page,
                section=hit.heading,
                chunk_id=hit.chunk_id,
                quote=quote,
                start=start,
                end=end,
                trimmed=end < sentence_end,
                ocr=hit.ocr,
            )
        )
        if len(picked) >= max_quotes:
            break
    return tuple(picked)


def _fit(text: str, start: int, end: int) -> tuple[int, int]:
    """Shorten an over-long sentence at a space or after CJK/Western clause punctuation."""
    if end - start <= MAX_QUOTE_CHARS:
        return start, end
    for pos in range(start + MAX_QUOTE_CHARS, start + MAX_QUOTE_CHARS // 3, -1):
        if text[pos].isspace() or text[pos - 1] in "，、；：,;:":
            return start, pos
    return start, start + MAX_QUOTE_CHARS  # one unbroken token: cut, marked by the ellipsis
