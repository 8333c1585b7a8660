"""Load PDF, DOCX, TXT, Markdown and image files into Documents of text Sections."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from ragkb.errors import DocumentError
from ragkb.ingest.documents.docx import load_docx
from ragkb.ingest.documents.ocr import OnPage
from ragkb.ingest.documents.pdf import load_pdf
from ragkb.ingest.documents.reasons import EMPTY, NOT_FOUND
from ragkb.ingest.documents.scans import IMAGE_SUFFIXES, OcrOptions, load_image
from ragkb.ingest.documents.text import load_text
from ragkb.types import Document

SUPPORTED_SUFFIXES: frozenset[str] = (
    frozenset({".pdf", ".docx", ".txt", ".md", ".markdown"}) | IMAGE_SUFFIXES
)
# The version of each kind's reader. Bump one when reading or chunking that kind changes:
# its files are read again by the next ingest, and re-embedded only where their chunks came
# out different. 2 for PDF: OCR of pages without a usable text layer, ruled tables as tables;
# 2 for DOCX: tables as Markdown rows with the header repeated in each chunk.
READERS: dict[str, int] = {".pdf": 2, ".docx": 2}


def reader_version(path: str | Path) -> int:
    """Return the version of the reader for PATH's kind (1 for kinds never changed)."""
    return READERS.get(Path(path).suffix.lower(), 1)


def load_document(
    path: str | Path,
    *,
    display_path: str | None = None,
    ocr: OcrOptions | None = None,
    on_page: OnPage | None = None,
) -> Document:
    """Read one supported file into a Document, or raise DocumentError saying why not.

    OCR (see OcrOptions) reads image files and PDF pages without a usable text layer;
    ON_PAGE(done, total) is called as it goes, since it takes seconds a page.
    """
    file = Path(path)
    shown = display_path or str(path)
    suffix = file.suffix.lower()
    if not file.exists():
        raise DocumentError(shown, NOT_FOUND)
    if not file.is_file():
        raise DocumentError(shown, f"{NOT_FOUND} (a directory, not a file)")
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(shown, f"unsupported file type ({suffix or 'no extension'})")
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise DocumentError(shown, f"cannot read ({exc.strerror or exc})") from exc
    if not data:
        raise DocumentError(shown, EMPTY)
    ocr = ocr or OcrOptions()
    if suffix == ".pdf":
        document = load_pdf(data, shown, ocr, on_page)
    elif suffix in IMAGE_SUFFIXES:
        document = load_image(data, shown, ocr, on_page)
    elif suffix == ".docx":
        document = load_docx(data, shown)
    else:
        document = load_text(data, shown, markdown=suffix != ".txt")
    return replace(document, sha256=hashlib.sha256(data).hexdigest(), size=len(data))
