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
    """Feed it the streamed text; it says when the answer has begun to repeat itself.

    Each word run is checked as it forms (the newest RUN_WORDS words against all before
    them), so a streamed answer is stopped where `repeats` would find the repeat in the end.
    """

    def __init__(self) -> None:
        self._text = ""

    def feed(self, piece: str) -> bool:
        """Add PIECE; return True once the text repeats a sentence or a run of words."""
        self._text += piece
        words = _words(self._text)
        return _repeats_a_sentence(self._text) or _ends_in_a_seen_run(words)


def repeats(text: str) -> bool:
    """Return whether TEXT repeats one of its sentences or any run of RUN_WORDS words."""
    words = _words(text)
    return _repeats_a_sentence(text) or any(
        _ends_in_a_seen_run(words[:end]) for end in range(2 * RUN_WORDS, len(words) + 1)
    )


def _repeats_a_sentence(text: str) -> bool:
    parts = _SENTENCE_END.split(text)
    seen: set[tuple[str, ...]] = set()
    for part in parts[:-1]:  # the last part is still being written
        sentence = tuple(_words(part))
        if len(sentence) >= MIN_SENTENCE_WORDS:
            if sentence in seen:
                return True
            seen.add(sentence)
    return False


def _ends_in_a_seen_run(words: list[str]) -> bool:
    """Return whether the last RUN_WORDS words occurred before, without overlapping them."""
    if len(words) < 2 * RUN_WORDS:
        return False
    last = tuple(words[-RUN_WORDS:])
    earlier = words[:-RUN_WORDS]
    return any(
        tuple(earlier[i : i + RUN_WORDS]) == last for i in range(len(earlier) - RUN_WORDS + 1)
    )
