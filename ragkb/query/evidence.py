"""Pick the sentences of the retrieved chunks that best support an answer, verbatim."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

from ragkb.language import keyword_tokens, split_sentences
from ragkb.models.embedders import similarity
from ragkb.query.relevance import weighted_coverage
from ragkb.types import Evidence, Hit

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
_CITATION = re.compile(r"\[(\d{1,3})\]")
_SPACED_CITATION = re.compile(r"[ \t]*\[(\d{1,3})\]")
_MIN_SENTENCE_CHARS = 8

EmbedMany = Callable[[Sequence[str]], list[list[float]]]


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
    """Return up to MAX_QUOTES exact quotes from SOURCES supporting ANSWER to QUESTION.

    Sentences of cited sources come first. Each is scored by its embedding similarity to
    the question and to the answer (when an embedder is given) plus keyword overlap.
    """
    candidates = _sentences(sources)
    if not candidates:
        return ()
    texts = [hit.text[s:e] for _, hit, s, e in candidates]
    scores = _scores(question, answer, texts, embed=embed, idf=idf)
    cited = set(cited_numbers(answer))
    order = sorted(
        range(len(candidates)),
        key=lambda i: (candidates[i][0] not in cited if cited else False, -scores[i]),
    )
    return _quotes([candidates[i] for i in order], max_quotes)


_Sentence = tuple[int, Hit, int, int]  # (source number, hit, start, end)


def _sentences(sources: Sequence[Hit]) -> list[_Sentence]:
    return [
        (number, hit, start, end)
        for number, hit in enumerate(sources, 1)
        for start, end in split_sentences(hit.text)
        if end - start >= _MIN_SENTENCE_CHARS
    ]


def _scores(
    question: str,
    answer: str,
    texts: Sequence[str],
    *,
    embed: EmbedMany | None,
    idf: Callable[[str], float] | None,
) -> list[float]:
    scores = [0.0] * len(texts)
    asked = set(keyword_tokens(question))
    wanted = asked | set(keyword_tokens(_CITATION.sub(" ", answer)))
    for i, text in enumerate(texts):
        words = set(keyword_tokens(text))
        if words and wanted:
            scores[i] += KEYWORD_WEIGHT * len(words & wanted) / math.sqrt(len(words) * len(wanted))
        if idf is not None and asked:
            # The question's rare words ("overlap", "top_k") mark the sentence that answers it;
            # an introduction shares only its common words ("guide", "search").
            scores[i] += IDF_WEIGHT * weighted_coverage(asked, " ".join(words), idf)
    if embed is not None:
        vectors = embed([question, _CITATION.sub(" ", answer) or question, *texts])
        q_vec, a_vec, sentence_vecs = vectors[0], vectors[1], vectors[2:]
        for i, vec in enumerate(sentence_vecs):
            scores[i] += QUESTION_WEIGHT * similarity(vec, q_vec)
            scores[i] += ANSWER_WEIGHT * similarity(vec, a_vec)
    return scores


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
