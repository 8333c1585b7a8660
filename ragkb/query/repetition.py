"""Notice while streaming when a small model starts to loop, so the answer can stop there.

SmolLM2-135M often repeats a whole sentence, or drifts into a run of words it already wrote,
until max_tokens. Two signs, checked on the text so far:
- a finished sentence (of at least MIN_SENTENCE_WORDS words) that equals an earlier one;
- a run of RUN_WORDS words that already occurred earlier in the answer.
Words are lowercase, citation markers and punctuation dropped; a Chinese character counts as
a word, and every number is the same word: a model that lists the same headings over and over
numbers them 1, 2, 3, then 4, 5, 6.
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
    return [_word(w) for w in _WORD.findall(_CITATION.sub(" ", text.lower()))]


def _word(word: str) -> str:
    return "#" if word.isdigit() else word


def _repeat_start(text: str) -> int | None:
    """Return where TEXT first repeats itself (the start of the repeated sentence or run of
    words), or None. A sentence still being written (after the last full stop) is not judged.
    """
    cut: int | None = None
    # A finished sentence that equals an earlier one: it starts the repeat.
    position = 0
    seen: set[tuple[str, ...]] = set()
    for match in _SENTENCE_END.finditer(text):
        sentence = tuple(_words(text[position : match.start()]))
        if len(sentence) >= MIN_SENTENCE_WORDS and sentence in seen:
            cut = position
            break
        seen.add(sentence)
        position = match.end()
    # A run of RUN_WORDS words seen before, not overlapping it: its second occurrence starts it.
    # Citations are blanked to spaces of their own length, so offsets stay those of TEXT.
    blanked = _CITATION.sub(lambda m: " " * len(m.group()), text.lower())
    matches = list(_WORD.finditer(blanked))
    words = [_word(m.group()) for m in matches]
    first: dict[tuple[str, ...], int] = {}
    for i in range(len(words) - RUN_WORDS + 1):
        run = tuple(words[i : i + RUN_WORDS])
        if run in first and first[run] + RUN_WORDS <= i:
            start = matches[i].start()
            return start if cut is None else min(cut, start)
        first.setdefault(run, i)
    return cut


def repeats(text: str) -> bool:
    """Return whether TEXT repeats one of its sentences or any run of RUN_WORDS words."""
    return _repeat_start(text) is not None


def cut_repetition(text: str) -> str:
    """Return TEXT up to where it first repeats a sentence or a run of words (else all of it).

    The streamed answer showed the repeat as it came; the answer kept and printed as JSON is
    the text before it.
    """
    start = _repeat_start(text)
    return text[: len(text) if start is None else start].rstrip()


class RepetitionGuard:
    """Feed it the streamed text; it says when the answer has begun to repeat itself.

    It judges the whole text so far on every piece (linear in its length), so a streamed
    answer stops on the piece that completes the first repeat `repeats` would find.
    """

    def __init__(self) -> None:
        self._text = ""

    def feed(self, piece: str) -> bool:
        """Add PIECE; return True once the text repeats a sentence or a run of words."""
        self._text += piece
        return repeats(self._text)
