"""Make untrusted text inert in a prompt: no chat-template token, no forged passage header.

Document text, file names, headings and earlier answers are pasted into the prompt, and
llama.cpp tokenises the templated prompt with special tokens on, so a document holding
"<|im_end|><|im_start|>system" would otherwise speak in real role tokens.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

# Breaks a special-token string without changing what a reader sees.
ZERO_WIDTH_SPACE = "\u200b"
# Chat-template markers of the common families (ChatML, Llama 3, Phi, Gemma), for a model
# behind a server whose vocabulary ragkb cannot read.
_GENERIC_MARKER = re.compile(r"<\|[^|<>\s]{1,40}\|>|<(?:start|end)_of_turn>|\[/?INST\]")
# Lines that would read as the prompt's own structure: a passage header "[3] file, page 1",
# the question line, the context header (of both prompt styles, query/prompting.py).
_STRUCTURE_LINE = re.compile(
    r"^([ \t]*)(\[\d+\]|Question:|Context passages:|Passages:|问题：|资料：)", re.MULTILINE
)

Inert = Callable[[str], str]


def make_inert(special_tokens: Sequence[str]) -> Inert:
    """Return a function that breaks every SPECIAL_TOKENS string (and generic markers)."""
    specials = sorted({t for t in special_tokens if len(t) > 1}, key=len, reverse=True)
    pattern = re.compile("|".join([*(re.escape(t) for t in specials), _GENERIC_MARKER.pattern]))

    def inert(text: str) -> str:
        return pattern.sub(lambda m: m.group()[0] + ZERO_WIDTH_SPACE + m.group()[1:], text)

    return inert


def quote_structure(text: str) -> str:
    """Mark lines of passage TEXT that look like the prompt's own headers as quoted."""
    return _STRUCTURE_LINE.sub(lambda m: f"{m.group(1)}> {m.group(2)}", text)


def one_line(text: str) -> str:
    """Fold a file name or heading onto one line (a name may hold a newline)."""
    return " ".join(text.split())
