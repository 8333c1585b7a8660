"""Ruled tables in PDF pages: found by pdfplumber, kept as Markdown rows beside the page's text.

pypdf reads a table as lines of words, its columns run together and its header only at the
top. pdfplumber's table finder follows the table's ruling lines; the page is then read as its
text around the tables, in order, and each table as a Section of rows (the chunker repeats
its header row in every chunk). Only pages that draw enough lines to hold a ruled table are
opened with pdfplumber, which is far slower than pypdf.
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from ragkb.ingest.documents.cleaning import clean_pdf_text, clean_text, strip_page_number
from ragkb.types import Section

if TYPE_CHECKING:
    from pypdf import PageObject

log = logging.getLogger(__name__)

# Path operators in a page's content stream: "re" (rectangle), "l" (line to). A ruled table of
# two rows and two columns draws at least this many; prose pages draw almost none.
MIN_RULING_OPS = 8
_RULING_OP_RE = re.compile(rb"\s(?:re|l)\s")
MIN_ROWS = 2
MIN_COLUMNS = 2
# Share of the text layer's characters the table reading must keep. pdfplumber follows the
# lines that are drawn: a table ruled only in part comes out with columns dropped or shifted
# (measured on a Debian manual: "imap2 143 imaps 993" read as "| 143 | imaps |", a whole
# second table lost). Such a page keeps pypdf's text.
MIN_KEPT = 0.99


def may_hold_table(page: PageObject) -> bool:
    """Tell, from its content stream alone, whether PAGE draws enough lines for a table."""
    try:
        contents = page.get_contents()
        data = contents.get_data() if contents is not None else b""
    except Exception:  # an unreadable stream: pypdf's text stands
        return False
    return len(_RULING_OP_RE.findall(data)) >= MIN_RULING_OPS


def table_sections(data: bytes, layers: dict[int, str], *, pages: int) -> dict[int, list[Section]]:
    """Return, for each page of LAYERS (page number -> its text layer) that holds a ruled
    table, its Sections in reading order: the text above, the table, the text below (and so
    on). Pages without a table, that pdfplumber cannot read, or whose reading loses any of
    the text layer (see MIN_KEPT) are left out: their pypdf text stands."""
    numbers = sorted(layers)
    if not numbers:
        return {}
    try:
        import pdfplumber
    except ImportError:
        return {}
    logging.getLogger("pdfminer").setLevel(logging.CRITICAL)
    out: dict[int, list[Section]] = {}
    try:
        with pdfplumber.open(io.BytesIO(data), pages=numbers) as pdf:
            for page in pdf.pages:
                sections = _page_sections(page, pages=pages)
                if sections and _keeps(layers[page.page_number], sections):
                    out[page.page_number] = sections
                page.close()
    except Exception as exc:  # a second reader only: pypdf's text stays when this fails
        log.info("pdfplumber could not read tables: %s", exc)
    return out


def _keeps(layer: str, sections: list[Section]) -> bool:
    """Tell whether SECTIONS hold (nearly) every character of the page's text layer."""
    wanted = Counter(ch for ch in layer if not ch.isspace())
    found = Counter(ch for s in sections for ch in s.text if not ch.isspace())
    kept = sum((wanted & found).values())
    return kept >= MIN_KEPT * max(sum(wanted.values()), 1)


def _page_sections(page: Any, *, pages: int) -> list[Section]:
    tables = [t for t in page.find_tables() if _is_table(t)]
    if not tables:
        return []
    tables.sort(key=lambda t: t.bbox[1])
    boxes = [t.bbox for t in tables]

    def outside_tables(obj: dict[str, Any]) -> bool:
        middle_x = (obj["x0"] + obj["x1"]) / 2
        middle_y = (obj["top"] + obj["bottom"]) / 2
        return not any(
            x0 <= middle_x <= x1 and top <= middle_y <= bottom for x0, top, x1, bottom in boxes
        )

    number = page.page_number
    prose = page.filter(outside_tables)
    sections: list[Section] = []
    top = 0.0
    for table in tables:
        sections.extend(_text_between(prose, top, table.bbox[1], number, pages))
        rows = _rows(table)
        if rows:
            sections.append(Section(text="\n".join(rows), page=number, is_table=True))
        top = table.bbox[3]
    sections.extend(_text_between(prose, top, float(page.height), number, pages))
    return sections


def _is_table(table: Any) -> bool:
    rows = table.extract()
    filled = [row for row in rows if sum(bool(cell and cell.strip()) for cell in row) >= 1]
    return len(filled) >= MIN_ROWS and max((len(row) for row in rows), default=0) >= MIN_COLUMNS


def _text_between(prose: Any, top: float, bottom: float, number: int, pages: int) -> list[Section]:
    if bottom - top < 1:
        return []
    band = prose.crop((0, top, float(prose.width), bottom), relative=False, strict=False)
    text = strip_page_number(clean_pdf_text(band.extract_text() or "", pages=pages), number)
    return [Section(text=text, page=number)] if text else []


def _rows(table: Any) -> list[str]:
    """Each row as one Markdown-style line; a cell's own line breaks become spaces."""
    lines = []
    for row in table.extract():
        cells = [" ".join(clean_text(cell or "").split()) for cell in row]
        if any(cells):
            lines.append("| " + " | ".join(cells) + " |")
    return lines
