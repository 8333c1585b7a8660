"""Word files: heading-trail Sections, each table a Section of its own rows."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from typing import TYPE_CHECKING

from ragkb.errors import DocumentError
from ragkb.ingest.documents.cleaning import clean_text
from ragkb.ingest.documents.headings import HeadingTrail
from ragkb.ingest.documents.reasons import CORRUPT_DOCX, EMPTY, ENCRYPTED
from ragkb.types import Document, Section

if TYPE_CHECKING:
    from collections.abc import Iterator

    from docx.document import Document as DocxDocument
    from docx.table import Table
    from docx.text.paragraph import Paragraph

_DOCX_HEADING_RE = re.compile(r"^Heading ([1-9])$")
# An encrypted DOCX is an OLE2 container holding an "EncryptedPackage" stream.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
# Besides OpcError: a broken zip, a zip compression method Python lacks, a package that is not
# Word (KeyError), bad XML (lxml's XMLSyntaxError subclasses SyntaxError).
_MALFORMED_DOCX_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    KeyError,
    ValueError,
    SyntaxError,
    EOFError,
)


def load_docx(data: bytes, shown: str) -> Document:
    """Read a DOCX into heading-trail Sections, tables kept as their own Sections."""
    import docx
    from docx.opc.exceptions import OpcError

    if data.startswith(_OLE_MAGIC):
        reason = ENCRYPTED if _OLE_ENCRYPTED in data else f"{CORRUPT_DOCX} (old .doc format?)"
        raise DocumentError(shown, reason)
    try:
        doc = docx.Document(io.BytesIO(data))
        sections = _docx_sections(doc)
    except (OpcError, *_MALFORMED_DOCX_ERRORS) as exc:
        raise DocumentError(shown, CORRUPT_DOCX) from exc
    if not sections:
        raise DocumentError(shown, f"{EMPTY} (no text in the document)")
    return Document(path=shown, kind="docx", sections=tuple(sections))


def _docx_sections(doc: DocxDocument) -> list[Section]:
    """Walk the DOCX body in order, grouping paragraphs under their heading trail."""
    from docx.table import Table

    trail = HeadingTrail()
    sections: list[Section] = []
    paragraphs: list[str] = []

    def flush() -> None:
        if paragraphs:
            sections.append(Section(text="\n\n".join(paragraphs), heading=trail.text))
            paragraphs.clear()

    for block in _docx_blocks(doc):
        if isinstance(block, Table):
            flush()
            rows = _table_rows(block)
            if rows:
                sections.append(Section(text="\n".join(rows), heading=trail.text, is_table=True))
            continue
        text = clean_text(block.text).strip()
        level = _docx_heading_level(block)
        if level is not None and text:
            flush()
            trail.open(level, " ".join(text.split()))
        elif text:
            paragraphs.append(text)
    flush()
    return sections


def _docx_blocks(doc: DocxDocument) -> Iterator[Paragraph | Table]:
    """Yield body paragraphs and tables in document order, looking inside content controls."""
    from docx.oxml.ns import qn
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    body = doc.element.body
    stack = list(reversed(body))
    while stack:
        element = stack.pop()
        if element.tag == qn("w:p"):
            yield Paragraph(element, doc)
        elif element.tag == qn("w:tbl"):
            yield Table(element, doc)
        elif element.tag == qn("w:sdt"):
            content = element.find(qn("w:sdtContent"))
            if content is not None:
                stack.extend(reversed(content))


def _docx_heading_level(paragraph: Paragraph) -> int | None:
    """Return 0 for Title, N for Heading N, None for any other style."""
    style = paragraph.style
    name = style.name if style is not None else None
    if name == "Title":
        return 0
    match = _DOCX_HEADING_RE.match(name or "")
    return int(match.group(1)) if match else None


def _table_rows(table: Table) -> list[str]:
    """Render each table row as one Markdown-style line ("| a | b |"), merged cells once."""
    lines: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if cell._tc is previous:  # a horizontally merged cell is repeated per grid column
                continue
            previous = cell._tc
            cells.append(" ".join(clean_text(cell.text).split()))
        if any(cells):
            lines.append("| " + " | ".join(cells) + " |")
    return lines
