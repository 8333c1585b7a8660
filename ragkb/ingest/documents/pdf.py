"""PDF files: a Section per page (pypdf; pdfminer.six for glued words; OCR for scans), ruled
tables apart (pdfplumber)."""

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
from ragkb.ingest.documents.ocr import OcrUnavailable, OnPage
from ragkb.ingest.documents.pdf_tables import may_hold_table, table_sections
from ragkb.ingest.documents.reasons import (
    CORRUPT_PDF,
    ENCRYPTED,
    GLYPH_NAMES,
    NO_TEXT,
    NO_TEXT_EVEN_OCR,
    NO_TEXT_OCR_OFF,
)
from ragkb.ingest.documents.scans import OcrOptions, needs_ocr, ocr_pdf_pages, page_ranges
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


def load_pdf(
    data: bytes, shown: str, ocr: OcrOptions | None = None, on_page: OnPage | None = None
) -> Document:
    """Read a PDF into one Section per page that has text: its text layer, or OCR's reading
    of its image where the layer is missing, too thin or glyph names (see OcrOptions)."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PyPdfError

    ocr = ocr or OcrOptions()
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

    by_page: dict[int, Section] = {}
    skipped = _SkippedPages()
    failures: list[Exception] = []
    glued_pages: list[int] = []
    ruled_pages: list[int] = []  # pages that draw enough lines to hold a table
    for number, page in enumerate(pages, start=1):
        if ocr.mode == "force":
            skipped.add(_FOR_OCR, number)
            continue
        try:
            raw = page.extract_text()
        except Exception as exc:  # one bad page must not lose the rest of the file
            failures.append(exc)
            skipped.add(_FAILED_PAGE, number, type(exc).__name__)
            continue
        text = strip_page_number(clean_pdf_text(raw or "", pages=len(pages)), number)
        if is_glyph_junk(text):
            skipped.add(_GLYPH_PAGE, number)
            continue
        if needs_ocr(text):
            skipped.add(_NO_LAYER, number)
            if text:
                by_page[number] = Section(text=text, page=number)  # unless OCR reads more
            continue
        if runs_words_together(text):
            glued_pages.append(number)
        if may_hold_table(page):
            ruled_pages.append(number)
        by_page[number] = Section(text=text, page=number)

    warnings: list[str] = []
    if glued_pages:
        warnings.extend(_respace_pages(data, by_page, glued_pages, pages=len(pages)))
    ocr_pages, ocr_failure = 0, None
    if ocr.enabled and skipped.pages:
        ocr_pages, ocr_failure = _read_by_ocr(
            data, skipped, by_page, ocr, pages=len(pages), on_page=on_page
        )
    warnings.extend(skipped.warnings(ocr_ran=ocr_pages > 0, ocr_failure=ocr_failure, kept=by_page))
    layers = {n: by_page[n].text for n in ruled_pages if n in by_page and not by_page[n].ocr}
    tables = table_sections(data, layers, pages=len(pages))
    sections = [s for n in sorted(by_page) for s in tables.get(n, [by_page[n]])]
    if not sections:
        if failures and len(failures) == len(pages):
            raise DocumentError(shown, CORRUPT_PDF) from failures[0]
        if ocr_failure:
            raise DocumentError(shown, f"{NO_TEXT} ({ocr_failure})")
        if ocr_pages:
            raise DocumentError(shown, NO_TEXT_EVEN_OCR)
        if _GLYPH_PAGE in skipped.by_reason:
            raise DocumentError(shown, GLYPH_NAMES)
        raise DocumentError(shown, NO_TEXT if ocr.enabled else NO_TEXT_OCR_OFF)
    return Document(
        path=shown,
        kind="pdf",
        sections=tuple(sections),
        pages=len(pages),
        warnings=tuple(warnings),
        ocr_pages=ocr_pages,
    )


_GLYPH_PAGE = "glyph names instead of text"
_FAILED_PAGE = "text extraction failed"
_NO_LAYER = "no text layer"
_FOR_OCR = "read by OCR (ocr = force)"


class _SkippedPages:
    """Pages whose text layer could not be used, by reason: the pages OCR reads, and then
    one warning per reason for those it could not ("pages 2-22: glyph names instead of
    text; skipped"), not one per page."""

    def __init__(self) -> None:
        self.by_reason: dict[str, list[int]] = {}
        self.details: dict[str, dict[str, None]] = {}  # e.g. the errors pages failed with

    def add(self, reason: str, number: int, detail: str = "") -> None:
        self.by_reason.setdefault(reason, []).append(number)
        if detail:
            self.details.setdefault(reason, {})[detail] = None

    @property
    def pages(self) -> list[int]:
        return sorted({n for numbers in self.by_reason.values() for n in numbers})

    def warnings(
        self, *, ocr_ran: bool, ocr_failure: str | None, kept: dict[int, Section]
    ) -> list[str]:
        """One line per reason, naming the pages that were lost (not in KEPT: neither their
        text layer nor OCR's reading was kept)."""
        out = []
        for reason, numbers in self.by_reason.items():
            lost = [n for n in numbers if n not in kept]
            if not lost or (ocr_ran and reason in (_NO_LAYER, _FOR_OCR)):
                continue  # pages that OCR found blank lose nothing
            if ocr_failure:
                tail = f"not read ({ocr_failure})"
            elif reason == _NO_LAYER:
                tail = "skipped (scanned? ocr = off)"
            elif ocr_ran:
                tail = "OCR found no text there either; skipped"
            else:
                tail = "skipped"
            details = ", ".join(self.details.get(reason, ()))
            said = f"{reason} ({details})" if details else reason
            out.append(f"{page_ranges(lost)}: {said}; {tail}")
        return out


def _read_by_ocr(
    data: bytes,
    skipped: _SkippedPages,
    by_page: dict[int, Section],
    ocr: OcrOptions,
    *,
    pages: int,
    on_page: OnPage | None,
) -> tuple[int, str | None]:
    """OCR the skipped pages into BY_PAGE where OCR reads more than the text layer had.

    Returns how many pages were recognised, and why OCR could not run (None when it ran).
    """
    numbers = skipped.pages
    try:
        for number, text in ocr_pdf_pages(data, numbers, ocr, pages=pages, on_page=on_page):
            layer = by_page.get(number)
            if text and (layer is None or len(text) > len(layer.text)):
                by_page[number] = Section(text=text, page=number, ocr=True)
    except OcrUnavailable as exc:
        return 0, f"cannot run OCR: {exc}"
    except MemoryError:
        raise
    except Exception as exc:  # pdfium failing on a page pypdf could open: keep the layer
        log.info("OCR failed: %s", exc)
        return 0, f"OCR failed: {type(exc).__name__}"
    return len(numbers), None


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
    data: bytes, by_page: dict[int, Section], glued_pages: list[int], *, pages: int
) -> list[str]:
    """Replace, in place, pages whose words pypdf ran together by pdfminer's reading.

    Returns a warning when some pages could not be fixed.
    """
    reread = _reread_with_pdfminer(data, glued_pages)
    fixed = 0
    for number, text in reread.items():
        if number not in by_page:
            continue
        text = strip_page_number(clean_pdf_text(text, pages=pages), number)
        if text and not runs_words_together(text):
            by_page[number] = Section(text=text, page=number)
            fixed += 1
    if fixed == len(glued_pages):
        return []
    return [
        f"{len(glued_pages) - fixed} page(s) lost the spaces between words "
        f"(first: page {glued_pages[0]}); the PDF positions words instead of spacing "
        "them, so search on those pages is weak"
    ]
