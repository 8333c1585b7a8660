"""Clean extracted text: control characters, PDF layout artefacts, glyph junk."""

from __future__ import annotations

import itertools
import re
import unicodedata

from ragkb.language import CJK

# C0 controls except \t and \n (\r is normalised first), DEL and C1 controls.
# Control characters, and lone surrogates (broken PDFs yield them; tokenizers reject them).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# Glyph names or CIDs that PDF text extraction emits when a font has no Unicode map.
_GLYPH_TOKEN_RE = re.compile(
    r"/(?:uni[0-9A-Fa-f]{4,6}|u[0-9A-Fa-f]{4,6}|g(?:id)?\d+|G\d+|glyph\d+|c\d+)|\(cid:\d+\)"
)
_HYPHEN_BREAK_RE = re.compile(r"([^\W\d_])-\n(?=([^\W\d_]))")
_LIGATURE_RE = re.compile("[\ufb00-\ufb06]")
_CJK_WRAP_END_RE = re.compile(rf"[{CJK}\uff0c\u3001\uff08\u300a\u201c\u2018]$")
_CJK_WRAP_START_RE = re.compile(
    rf"^[{CJK}\uff0c\u3001\u3002\uff08\uff09\u300a\u300b\u201c\u201d\u2018\u2019]"
)
_FULL_LINE_SHARE = 0.85  # of the page's widest line
_MIN_WRAPPED_WIDTH = 30  # display columns; a CJK character takes two
_SPACES_RE = re.compile(r"[ \t]*\n[ \t]*|  +")
_BLANK_LINES_RE = re.compile(r"\n{3,}")
# A line with a dot leader: "Threads . . . . 4" (a contents entry) or "Maximum operating
# voltage .......... 240 V" (a datasheet value).
_LEADER_LINE_RE = re.compile(
    r"^(?P<label>[^\n]*?\S)[ \t]*(?:\.[ \t]?){4,}[ \t]*(?P<value>[^\s.][^\n]*?)[ \t]*$(?P<end>\n?)",
    re.M,
)
_PAGE_NUMBER_RE = re.compile(r"\d{1,4}|[ivxlc]{1,8}", re.I)
_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}
# Contents entries come in runs: this many leader lines ending in page numbers, in order,
# or any number of them under a "Contents" heading.
_MIN_CONTENTS_ENTRIES = 3
_CONTENTS_HEADING_RE = re.compile(
    r"^[ \t]*(?:table of contents|contents|目录|目次|index|索引)[ \t]*$", re.I | re.M
)
_GLYPH_SHARE = 0.5
# Latin letters in "words" this long mean the PDF places words by position without spaces
# and pypdf ran them together ("Thepackagewillnotbeinstalled").
_RUN_TOGETHER_RE = re.compile(r"[A-Za-z]{25,}")
_RUN_TOGETHER_SHARE = 0.3


def clean_text(text: str) -> str:
    """Normalise line ends and drop control characters, keeping newlines and tabs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    return _CONTROL_RE.sub("", text)


def clean_pdf_text(text: str, *, pages: int) -> str:
    """Undo PDF layout artefacts: hyphenated breaks, ligatures, CJK wraps, space runs, and
    dot leaders (contents entries go; other leader lines keep their content)."""
    text = drop_contents_and_leaders(clean_text(text), pages=pages)
    text = _LIGATURE_RE.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    text = _SPACES_RE.sub(lambda m: "\n" if "\n" in m.group() else " ", text)
    # "distri-\nbuted" is one word; "Jean-\nPaul" keeps its hyphen.
    text = _HYPHEN_BREAK_RE.sub(lambda m: m[1] if m[2].islower() else m[0], text)
    text = _join_cjk_wraps(text)
    return _BLANK_LINES_RE.sub("\n\n", text).strip()


def strip_page_number(text: str, number: int) -> str:
    """Drop a first or last line that is only this page's number, as in "- 3 -" or "Page 3"."""
    pattern = re.compile(rf"[\W_]*(?:page\s*)?{number}(?:\s*(?:/|of)\s*\d+)?[\W_]*", re.I)
    lines = text.split("\n")
    if lines and pattern.fullmatch(lines[-1]):
        lines.pop()
    if lines and pattern.fullmatch(lines[0]):
        lines.pop(0)
    return "\n".join(lines).strip()


def _join_cjk_wraps(text: str) -> str:
    """Join CJK lines that the layout wrapped mid-sentence, keeping short lines apart."""
    lines = text.split("\n")
    widest = max(_display_width(line) for line in lines)
    full = max(widest * _FULL_LINE_SHARE, _MIN_WRAPPED_WIDTH)
    joined: list[str] = []
    previous = ""
    for line in lines:
        wrapped = (
            _display_width(previous) >= full
            and _CJK_WRAP_END_RE.search(previous) is not None
            and _CJK_WRAP_START_RE.match(line) is not None
        )
        if joined and wrapped:
            joined[-1] += line
        else:
            joined.append(line)
        previous = line
    return "\n".join(joined)


def _display_width(line: str) -> int:
    """Count terminal columns: two for wide (CJK) characters, one for the rest."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def is_glyph_junk(text: str) -> bool:
    """Tell whether most of a page's visible characters are glyph names or CIDs."""
    visible = sum(not ch.isspace() for ch in text)
    junk = sum(len(m.group()) for m in _GLYPH_TOKEN_RE.finditer(text))
    return visible > 0 and junk / visible >= _GLYPH_SHARE


def runs_words_together(text: str) -> bool:
    """Tell whether much of a page's Latin text lost the spaces between its words."""
    letters = sum(ch.isascii() and ch.isalpha() for ch in text)
    glued = sum(len(m.group()) for m in _RUN_TOGETHER_RE.finditer(text))
    return letters >= 200 and glued / letters >= _RUN_TOGETHER_SHARE


def drop_contents_and_leaders(text: str, *, pages: int) -> str:
    """Drop a page's table of contents; collapse every other dot leader to " … ".

    A contents entry points to a page: the page's leader lines are contents when at least
    _MIN_CONTENTS_ENTRIES of them (or any, under a "Contents" heading) end in a page number
    (arabic or roman, within the PAGES of the document) and those numbers never decrease,
    as a contents list runs. Such lines
    match every query's words and outrank the page they point to, so they go. Any other
    leader line ("Maximum operating voltage .......... 240") is content: only its dots go.
    """
    lines = list(_LEADER_LINE_RE.finditer(text))
    entries = [(m, n) for m in lines if (n := _page_number(m.group("value"), pages))]
    numbers = [n for _, n in entries]
    # Front matter is numbered in roman numerals, then arabic numbering starts again at 1.
    arabic = [n for m, n in entries if m.group("value").isdigit()]
    roman = [n for m, n in entries if not m.group("value").isdigit()]
    in_order = all(b >= a for run in (arabic, roman) for a, b in itertools.pairwise(run))
    enough = len(numbers) >= _MIN_CONTENTS_ENTRIES or (
        numbers and _CONTENTS_HEADING_RE.search(text) is not None
    )
    is_contents = in_order and bool(enough)

    def replace(match: re.Match[str]) -> str:
        if is_contents and _page_number(match.group("value"), pages):
            return ""
        return f"{match.group('label')} … {match.group('value')}{match.group('end')}"

    return _LEADER_LINE_RE.sub(replace, text)


def _page_number(value: str, pages: int) -> int:
    """Return VALUE as a page number of a PAGES-page document, or 0 when it is none."""
    if not _PAGE_NUMBER_RE.fullmatch(value):
        return 0
    if value.isdigit():
        number = int(value)
    else:
        digits = [_ROMAN[c] for c in value.lower()]
        number = sum(-d if d < n else d for d, n in zip(digits, [*digits[1:], 0], strict=True))
    return number if 0 < number <= pages else 0
