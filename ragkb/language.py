"""What the pipeline knows about scripts and words: CJK ranges, keyword tokens, language.

The one place that says which characters are Chinese, which are wide CJK text, and how
text becomes the lowercase keyword tokens that the keyword index and the relevance rules
compare (jieba segments Chinese runs; it loads on first use).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

# Han ideographs (unified, extension A, compatibility): what jieba segments and what makes a
# question Chinese.
HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Every script written without spaces between words: Han, kana and Hangul syllables.
CJK = rf"\u3040-\u30ff{HAN}\uac00-\ud7af"

_RUNS = re.compile(rf"[{HAN}]+|[^\W_{HAN}]+", re.UNICODE)
_IS_HAN = re.compile(rf"[{HAN}]")
_OTHER_WORD = re.compile(rf"[^\W\d_{HAN}]+", re.UNICODE)  # a run of letters of other scripts
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
# A sentence ends after Western punctuation followed by space, or after CJK punctuation
# (which needs no space), in both cases with any closing quotes or brackets.
_SENTENCE_END = re.compile(
    r"(?:[.!?]+[\"'”’)\]]*(?=\s)|[。！？；…]+[”’」』）)]*|[\n](?=\s*[-•*·]\s))"
)

STOPWORDS = frozenset(
    """
    a an and are as at be but by can do does for from has have how i if in into is it its of
    on or so such that the their then there these they this to was were what when where which
    who why will with you your
    的 了 是 在 和 与 及 或 也 就 都 而 吗 呢 吧 啊
    什么 怎么 如何 哪些 为什么 一个 我们 你们 他们 这个 那个 有 能 哪 里 如果 应该 怎样
    到 多 大 多少 起来 之前 之后 大概 哪个 哪支 可以 需要 时候
    """.split()  # noqa: SIM905 - a word list reads best as text
)


def has_han(text: str) -> bool:
    """Return whether TEXT holds a Chinese character."""
    return _IS_HAN.search(text) is not None


def language_of(text: str) -> str:
    """Return "zh" when TEXT has more Han characters than words in other scripts, else "en".

    Words, not letters: "journald.conf 中 RateLimitBurst= 的默认值是多少？" is a Chinese question
    with more Latin letters than Han characters, and a Chinese package table is full of names.
    A Han character counts as a word, although a Chinese word is one to three of them, so an
    English sentence quoting a Chinese term stays English.
    """
    han = len(_IS_HAN.findall(text))
    return "zh" if han > len(_OTHER_WORD.findall(text)) else "en"


def written_in(text: str, language: str, *, min_letters: int = 12) -> bool | None:
    """Return whether TEXT reads as LANGUAGE ("zh" or "en"); None while it holds fewer than
    MIN_LETTERS letters, too few to tell (an answer may open with a name or a number)."""
    if sum(ch.isalpha() for ch in text) < min_letters:
        return None
    return language_of(text) == language


def keyword_tokens(text: str) -> list[str]:
    """Return lowercase keyword tokens of TEXT: words, and jieba words for Chinese runs."""
    tokens: list[str] = []
    for match in _RUNS.finditer(text.lower()):
        run = match.group()
        if _IS_HAN.match(run):
            tokens.extend(
                w for w in _jieba().lcut_for_search(run) if w.strip() and w not in STOPWORDS
            )
        elif run not in STOPWORDS:
            tokens.append(run)
    return tokens


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return (start, end) spans of the sentences of TEXT, whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    for p_start, p_end in _paragraph_spans(text):
        pos = p_start
        for match in _SENTENCE_END.finditer(text, p_start, p_end):
            spans.extend(trimmed_span(text, pos, match.end()))
            pos = match.end()
        spans.extend(trimmed_span(text, pos, p_end))
    return spans


def _paragraph_spans(text: str) -> Iterator[tuple[int, int]]:
    pos = 0
    for match in _PARAGRAPH_BREAK.finditer(text):
        yield pos, match.start()
        pos = match.end()
    yield pos, len(text)


def trimmed_span(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Return [(start, end)] with surrounding whitespace cut off, or [] if nothing is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return [(start, end)] if end > start else []


def warm_up_segmenter() -> None:
    """Load jieba's dictionary now (about 0.6 s) rather than on the first Chinese text."""
    keyword_tokens("预热")


def word_frequency(word: str) -> int:
    """Return how often jieba's dictionary counts the Chinese WORD (0 when unknown)."""
    jieba = _jieba()
    jieba.initialize()
    return int(jieba.get_FREQ(word) or 0)


@functools.cache
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(60)  # jieba logs its dictionary loading at INFO on stderr
    return jieba
