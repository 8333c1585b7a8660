"""Control characters out of everything ragkb writes for a person (no rich: logs use it too).

Document text, file and folder names and model output can hold escape sequences (cursor moves,
OSC 52 clipboard writes); none of them may reach a terminal.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, and C1 controls (rich strips only a few of these).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def without_controls(text: str) -> str:
    """Return TEXT without control characters; newline and tab stay."""
    return _CONTROL.sub("", text)


# A name is one line: a newline in a file name would forge an output line (a fake hit or table
# row), so line breaks and tabs are written as JSON writes them.
_LINE_BREAKS = str.maketrans(
    {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def one_line(name: str) -> str:
    """Return NAME (a path, a heading) on one line: line breaks and tabs escaped."""
    return name.translate(_LINE_BREAKS)
