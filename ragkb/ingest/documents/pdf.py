"""PDF files: one Section per page with real text (pypdf, pdfminer.six for glued words)."""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

from ragkb.errors import DocumentError
from ragkb.ingest.documents.cleaning import (
    clean_pdf_text,
    is_glyph_junk,
    runs_words_together,
    strip_page_number,
)
from ragkb.ingest.documents.reasons import CORRUPT_PDF, ENCRYPTED, GLYPH_NAMES, NO_TEXT
from ragkb.types import Document, Section

if TYPE_CHECKING:
    from pypdf import PdfReader

log = logging.getLogger(__name__)

# pypdf raises plain ValueError, KeyError, ... as well as PyPdfError on malformed files.
_MALFORMED_PDF_ERRORS = (
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    RecursionError,
)


def load_pdf(data: bytes, shown: str) -> Document:
    """Read a PDF into one Section per page that has real text."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PyPdfError

    # pypdf logs font-parsing advice ("fontTools is required...") and, at ERROR, the
    # robustness fixes it applied ("Advanced encoding ... not implemented yet"): none of it
    # means anything to a user, and what matters about a page is reported as a warning below.
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            _decrypt_with_empty_password(reader, shown)
        pages = list(reader.pages)
    except DependencyError as exc:
        raise DocumentError(shown, "encrypted (AES needs the 'cryptography' package)") from exc
    except (PyPdfError, *_MALFORMED_PDF_ERRORS) as exc:
        raise DocumentError(shown, CORRUPT_PDF) from exc

    sections: list[Section] = []
    warnings: list[str] = []
    failures: list[Exception] = []
    junk_pages = 0
    glued_pages: list[int] = []
    for number, page in enumerate(pages, start=1):
        try:
            raw = page.extract_text()
        except Exception as exc:  # one bad page must not lose the rest of the file
            failures.append(exc)
            warnings.append(
                f"page {number}: text extraction failed ({type(exc).__name__}); skipped"
            )
            continue
        text = strip_page_number(clean_pdf_text(raw or "", pages=len(pages)), number)
        if not text:
            continue
        if is_glyph_junk(text):
            junk_pages += 1
            warnings.append(f"page {number}: glyph names instead of text; skipped")
            continue
        if runs_words_together(text):
            glued_pages.append(number)
        sections.append(Section(text=text, page=number))

    if glued_pages:
        warnings.extend(_respace_pages(data, sections, glued_pages, pages=len(pages)))
    if not sections:
        if failures and len(failures) == len(pages):
            raise DocumentError(shown, CORRUPT_PDF) from failures[0]
        raise DocumentError(shown, GLYPH_NAMES if junk_pages else NO_TEXT)
    return Document(
        path=shown, kind="pdf", sections=tuple(sections), pages=len(pages), warnings=tuple(warnings)
    )


def _reread_with_pdfminer(data: bytes, numbers: list[int]) -> dict[int, str]:
    """Re-extract the given 1-based pages with pdfminer.six, which spaces words by position.

    pypdf runs together the words of PDFs that place each word instead of writing spaces
    (LaTeX's dblatex output, for one); pdfminer rebuilds them from the glyph positions. It is
    slower, so only those pages go through it. Returns what it could read.
    """
    try:
        from pdfminer.high_level import extract_pages
        from pdfminer.layout import LTTextContainer
    except ImportError:
        return {}
    logging.getLogger("pdfminer").setLevel(logging.CRITICAL)
    out: dict[int, str] = {}
    try:
        pages = extract_pages(io.BytesIO(data), page_numbers=[n - 1 for n in numbers])
        for number, layout in zip(sorted(numbers), pages, strict=False):
            out[number] = "".join(
                element.get_text() for element in layout if isinstance(element, LTTextContainer)
            )
    except Exception as exc:  # a second opinion only: pypdf's text stays when this fails
        log.info("pdfminer could not re-read pages %s: %s", numbers, exc)
    return out


def _decrypt_with_empty_password(reader: PdfReader, shown: str) -> None:
    """Open a PDF whose user password is empty; raise the encrypted error otherwise."""
    from pypdf import PasswordType

    try:
        result = reader.decrypt("")
    except NotImplementedError as exc:  # an encryption algorithm pypdf does not implement
        raise DocumentError(shown, f"{ENCRYPTED} ({exc})") from exc
    if result == PasswordType.NOT_DECRYPTED:
        raise DocumentError(shown, ENCRYPTED)


def _respace_pages(
    data: bytes, sections: list[Section], glued_pages: list[int], *, pages: int
) -> list[str]:
    """Replace, in place, pages whose words pypdf ran together by pdfminer's reading.

    Returns a warning when some pages could not be fixed.
    """
    reread = _reread_with_pdfminer(data, glued_pages)
    fixed = 0
    for index, section in enumerate(sections):
        text = reread.get(section.page or 0)
        if text is None:
            continue
        text = strip_page_number(clean_pdf_text(text, pages=pages), section.page or 0)
        if text and not runs_words_together(text):
            sections[index] = Section(text=text, page=section.page)
            fixed += 1
    if fixed == len(glued_pages):
        return []
    return [
        f"{len(glued_pages) - fixed} page(s) lost the spaces between words "
        f"(first: page {glued_pages[0]}); the PDF positions words instead of spacing "
        "them, so search on those pages is weak"
    ]
