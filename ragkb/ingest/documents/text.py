"""Plain text and Markdown: decoded by BOM, UTF-8 or detection; Markdown split at headings."""

from __future__ import annotations

import codecs
import re

from ragkb.errors import DocumentError
from ragkb.ingest.documents.cleaning import clean_text
from ragkb.ingest.documents.headings import HeadingTrail
from ragkb.ingest.documents.reasons import EMPTY
from ragkb.types import Document, Section

_ATX_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# charset_normalizer's names, most common first: breaks ties between equally good decodings.
_COMMON_ENCODINGS = ("utf_8", "gb18030", "cp1252", "big5", "shift_jis", "euc_kr", "cp1251")
_ENCODING_RANK = {name: rank for rank, name in enumerate(_COMMON_ENCODINGS)}
_CHAOS_MARGIN = 0.05


def load_text(data: bytes, shown: str, *, markdown: bool) -> Document:
    """Decode a text file and split Markdown into sections at its ATX headings."""
    text, warnings = _decode(data)
    text = clean_text(text)
    if not text.strip():
        raise DocumentError(shown, f"{EMPTY} (only whitespace)")
    if not markdown:
        return Document(
            path=shown,
            kind="txt",
            sections=(Section(text=text.strip()),),
            warnings=warnings,
        )
    # An outline (only headings) is content too: then its lines are the text.
    sections = _markdown_sections(text) or [Section(text=text.strip())]
    return Document(path=shown, kind="md", sections=tuple(sections), warnings=warnings)


def _decode(data: bytes) -> tuple[str, tuple[str, ...]]:
    """Decode bytes as UTF-8 (or a BOM's encoding), else as the detected encoding."""
    from charset_normalizer import from_bytes

    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), ()
    if data.count(0) <= len(data) // 4:  # many NULs: UTF-16 without a BOM, let detection decide
        try:
            return data.decode("utf-8-sig"), ()
        except UnicodeDecodeError:
            pass
    matches = list(from_bytes(data))
    if matches:
        # Short texts fit many code pages about equally well; among the least chaotic
        # decodings take the most coherent one, then the most common encoding.
        least = min(match.chaos for match in matches)
        close = [match for match in matches if match.chaos <= least + _CHAOS_MARGIN]
        best = min(
            close,
            key=lambda match: (
                -match.coherence,
                _ENCODING_RANK.get(match.encoding, len(_ENCODING_RANK)),
            ),
        )
        return str(best), ()
    warning = "encoding not recognised; undecodable bytes were replaced"
    return data.decode("utf-8", errors="replace"), (warning,)


def _markdown_sections(text: str) -> list[Section]:
    """Split Markdown at ATX headings outside code fences, tracking the heading trail."""
    trail = HeadingTrail()
    sections: list[Section] = []
    lines: list[str] = []
    fence: str | None = None

    def flush() -> None:
        body = "\n".join(lines).strip("\n")
        if body.strip():
            sections.append(Section(text=body, heading=trail.text))
        lines.clear()

    for line in text.split("\n"):
        fence_match = _FENCE_RE.match(line)
        if fence_match:
            marker = fence_match.group(1)
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence):
                fence = None
        heading = None if fence or fence_match else _ATX_HEADING_RE.match(line)
        if heading and (heading.group(2) or "").strip():
            flush()
            trail.open(len(heading.group(1)), heading.group(2).strip())
        else:
            lines.append(line.rstrip())
    flush()
    return sections
