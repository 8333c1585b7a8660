"""Notice while streaming when a small model starts to loop, so the answer can stop there.

SmolLM2-135M often repeats a whole sentence, or drifts into a run of words it already wrote,
until max_tokens. Two signs, checked on the text so far:
- a finished sentence (of at least MIN_SENTENCE_WORDS words) that equals an earlier one;
- a run of RUN_WORDS words that already occurred earlier in the answer.
Words are lowercase, citation markers and punctuation dropped; a Chinese character counts as
a word.
"""

from __future__ import annotations

import re

from ragkb.language import HAN

MIN_SENTENCE_WORDS = 4
RUN_WORDS = 10
_WORD = re.compile(rf"[{HAN}]|[^\W_{HAN}]+", re.UNICODE)
_CITATION = re.compile(r"\[\d{1,3}\]")
_SENTENCE_END = re.compile(r"[.!?。！？]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(_CITATION.sub(" ", text.lower()))


def cut_repetition(text: str) -> str:
    """Return TEXT up to where it first repeats a sentence or a run of words (else all of it).

    The streamed answer showed the repeat as it came; the answer kept and printed as JSON is
    the text before it.
    """
    spans = [
        (m.start(), m.group())
        for m in _WORD.finditer(_CITATION.sub(lambda m: " " * len(m.group()), text.lower()))
    ]
    words = [w for _, w in spans]
    starts = [start for start, _ in spans]
    cut = len(text)
    # A sentence that equals an earlier one: cut where it starts.
    position = 0
    seen: set[tuple[str, ...]] = set()
    for match in _SENTENCE_END.finditer(text):
        sentence = tuple(_words(text[position : match.start()]))
        if len(sentence) >= MIN_SENTENCE_WORDS and sentence in seen:
            cut = min(cut, position)
            break
        seen.add(sentence)
        position = match.end()
    # A run of RUN_WORDS words seen before: cut where its second occurrence starts.
    first: dict[tuple[str, ...], int] = {}
    for i in range(len(words) - RUN_WORDS + 1):
        run = tuple(words[i : i + RUN_WORDS])
        if run in first and first[run] + RUN_WORDS <= i:
            cut = min(cut, starts[i])
            break
        first.setdefault(run, i)
    return text[:cut].rstrip()


class RepetitionGuard:
    """Feed it the streamed text; it says when the answer has begun to repeat itself."""

    def __init__(self) -> None:
        self._text = ""

    def feed(self, piece: str) -> bool:
        """Add PIECE; return True once the text repeats a sentence or a run of words."""
        self._text += piece
        return repeats(self._text)


def repeats(text: str) -> bool:
    """Return whether TEXT repeats one of its sentences or a run of RUN_WORDS words."""
    parts = _SENTENCE_END.split(text)
    finished = [tuple(_words(p)) for p in parts[:-1]]  # the last part is still being written
    seen: set[tuple[str, ...]] = set()
    for sentence in finished:
        if len(sentence) >= MIN_SENTENCE_WORDS:
            if sentence in seen:
                return True
            seen.add(sentence)
    words = _words(text)
    if len(words) < 2 * RUN_WORDS:
        return False
    last = tuple(words[-RUN_WORDS:])
    earlier = words[:-RUN_WORDS]
    return any(
        tuple(earlier[i : i + RUN_WORDS]) == last for i in range(len(earlier) - RUN_WORDS + 1)
    )
