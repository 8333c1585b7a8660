"""Load PDF, DOCX, TXT and Markdown files into Documents of text Sections."""

from __future__ import annotations

import codecs
import io
import logging
import re
import unicodedata
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from ragkb.errors import DocumentError
from ragkb.types import Document, Section

if TYPE_CHECKING:
    from collections.abc import Iterator

    from docx.document import Document as DocxDocument
    from docx.table import Table
    from docx.text.paragraph import Paragraph
    from pypdf import PdfReader

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".pdf", ".docx", ".txt", ".md", ".markdown"})

EMPTY = "empty file"
NOT_FOUND = "not found"
ENCRYPTED = "encrypted (password needed)"
NO_TEXT = "no extractable text (scanned image? OCR is not done)"
CORRUPT_PDF = "corrupt or truncated PDF"
CORRUPT_DOCX = "corrupt or not a real DOCX file"
GLYPH_NAMES = "glyph names instead of text (font without a Unicode map)"

# C0 controls except \t and \n (\r is normalised first), DEL and C1 controls.
# Control characters, and lone surrogates (broken PDFs yield them; tokenizers reject them).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# Glyph names or CIDs that PDF text extraction emits when a font has no Unicode map.
_GLYPH_TOKEN_RE = re.compile(
    r"/(?:uni[0-9A-Fa-f]{4,6}|u[0-9A-Fa-f]{4,6}|g(?:id)?\d+|G\d+|glyph\d+|c\d+)|\(cid:\d+\)"
)
_HYPHEN_BREAK_RE = re.compile(r"([^\W\d_])-\n(?=([^\W\d_]))")
_LIGATURE_RE = re.compile("[\ufb00-\ufb06]")
# A CJK line that ends without a full stop and fills the column was wrapped by the layout;
# its line break is dropped. Shorter lines (headings, list items) keep theirs.
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_CJK_WRAP_END_RE = re.compile(rf"[{_CJK}\uff0c\u3001\uff08\u300a\u201c\u2018]$")
_CJK_WRAP_START_RE = re.compile(
    rf"^[{_CJK}\uff0c\u3001\u3002\uff08\uff09\u300a\u300b\u201c\u201d\u2018\u2019]"
)
_FULL_LINE_SHARE = 0.85  # of the page's widest line
_MIN_WRAPPED_WIDTH = 30  # display columns; a CJK character takes two
_SPACES_RE = re.compile(r"[ \t]*\n[ \t]*|  +")
_BLANK_LINES_RE = re.compile(r"\n{3,}")
# A table-of-contents or index line: text, a dot leader, a page number ("Threads . . . 4").
# Such lines match every query's words and outrank the page they point to, so they go.
_LEADER_LINE_RE = re.compile(r"^[^\n]*?(?:\.[ \t]?){4,}[ \t]*[\divxlcIVXLC]+[ \t]*$\n?", re.M)
_ATX_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_DOCX_HEADING_RE = re.compile(r"^Heading ([1-9])$")
# An encrypted DOCX is an OLE2 container holding an "EncryptedPackage" stream.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
_GLYPH_SHARE = 0.5
# Latin letters in "words" this long mean the PDF places words by position without spaces
# and pypdf ran them together ("Thepackagewillnotbeinstalled").
_RUN_TOGETHER_RE = re.compile(r"[A-Za-z]{25,}")
_RUN_TOGETHER_SHARE = 0.3
# charset_normalizer's names, most common first: breaks ties between equally good decodings.
_COMMON_ENCODINGS = ("utf_8", "gb18030", "cp1252", "big5", "shift_jis", "euc_kr", "cp1251")
_ENCODING_RANK = {name: rank for rank, name in enumerate(_COMMON_ENCODINGS)}
# pypdf raises plain ValueError, KeyError, ... as well as PyPdfError on malformed files.
_MALFORMED_PDF_ERRORS = (
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    RecursionError,
)
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
_CHAOS_MARGIN = 0.05


def load_document(path: str | Path, *, display_path: str | None = None) -> Document:
    """Read one supported file into a Document, or raise DocumentError saying why not."""
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
    if suffix == ".pdf":
        return _load_pdf(data, shown)
    if suffix == ".docx":
        return _load_docx(data, shown)
    return _load_text(data, shown, markdown=suffix != ".txt")


def _clean_text(text: str) -> str:
    """Normalise line ends and drop control characters, keeping newlines and tabs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    return _CONTROL_RE.sub("", text)


def _clean_pdf_text(text: str) -> str:
    """Undo PDF layout artefacts: hyphenated breaks, ligatures, CJK wraps, space runs, and
    drop table-of-contents and index lines."""
    text = _LEADER_LINE_RE.sub("", _clean_text(text))
    text = _LIGATURE_RE.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    text = _SPACES_RE.sub(lambda m: "\n" if "\n" in m.group() else " ", text)
    # "distri-\nbuted" is one word; "Jean-\nPaul" keeps its hyphen.
    text = _HYPHEN_BREAK_RE.sub(lambda m: m[1] if m[2].islower() else m[0], text)
    text = _join_cjk_wraps(text)
    return _BLANK_LINES_RE.sub("\n\n", text).strip()


def _strip_page_number(text: str, number: int) -> str:
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


def _is_glyph_junk(text: str) -> bool:
    """Tell whether most of a page's visible characters are glyph names or CIDs."""
    visible = sum(not ch.isspace() for ch in text)
    junk = sum(len(m.group()) for m in _GLYPH_TOKEN_RE.finditer(text))
    return visible > 0 and junk / visible >= _GLYPH_SHARE


def _runs_words_together(text: str) -> bool:
    """Tell whether much of a page's Latin text lost the spaces between its words."""
    letters = sum(ch.isascii() and ch.isalpha() for ch in text)
    glued = sum(len(m.group()) for m in _RUN_TOGETHER_RE.finditer(text))
    return letters >= 200 and glued / letters >= _RUN_TOGETHER_SHARE


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
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    out: dict[int, str] = {}
    try:
        pages = extract_pages(io.BytesIO(data), page_numbers=[n - 1 for n in numbers])
        for number, layout in zip(sorted(numbers), pages, strict=False):
            out[number] = "".join(
                element.get_text() for element in layout if isinstance(element, LTTextContainer)
            )
    except Exception:  # a second opinion only: pypdf's text stays when this fails
        pass
    return out


def _load_pdf(data: bytes, shown: str) -> Document:
    """Read a PDF into one Section per page that has real text."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PyPdfError

    # pypdf logs font-parsing advice ("fontTools is required...") that means nothing to a user;
    # what matters about a page is reported as a warning below.
    logging.getLogger("pypdf").setLevel(logging.ERROR)

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
        text = _strip_page_number(_clean_pdf_text(raw or ""), number)
        if not text:
            continue
        if _is_glyph_junk(text):
            junk_pages += 1
            warnings.append(f"page {number}: glyph names instead of text; skipped")
            continue
        if _runs_words_together(text):
            glued_pages.append(number)
        sections.append(Section(text=text, page=number))

    if glued_pages:
        reread = _reread_with_pdfminer(data, glued_pages)
        fixed = 0
        for index, section in enumerate(sections):
            text = reread.get(section.page or 0)
            if text is None:
                continue
            text = _strip_page_number(_clean_pdf_text(text), section.page or 0)
            if text and not _runs_words_together(text):
                sections[index] = Section(text=text, page=section.page)
                fixed += 1
        if fixed < len(glued_pages):
            warnings.append(
                f"{len(glued_pages) - fixed} page(s) lost the spaces between words "
                f"(first: page {glued_pages[0]}); the PDF positions words instead of spacing "
                "them, so search on those pages is weak"
            )
    if not sections:
        if failures and len(failures) == len(pages):
            raise DocumentError(shown, CORRUPT_PDF) from failures[0]
        raise DocumentError(shown, GLYPH_NAMES if junk_pages else NO_TEXT)
    return Document(
        path=shown, kind="pdf", sections=tuple(sections), pages=len(pages), warnings=tuple(warnings)
    )


def _decrypt_with_empty_password(reader: PdfReader, shown: str) -> None:
    """Open a PDF whose user password is empty; raise the encrypted error otherwise."""
    from pypdf import PasswordType

    try:
        result = reader.decrypt("")
    except NotImplementedError as exc:  # an encryption algorithm pypdf does not implement
        raise DocumentError(shown, f"{ENCRYPTED} ({exc})") from exc
    if result == PasswordType.NOT_DECRYPTED:
        raise DocumentError(shown, ENCRYPTED)


def _load_docx(data: bytes, shown: str) -> Document:
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

    trail = _HeadingTrail()
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
        text = _clean_text(block.text).strip()
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
    """Render each table row as one line, merged cells once, cells joined by ' | '."""
    lines: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if cell._tc is previous:  # a horizontally merged cell is repeated per grid column
                continue
            previous = cell._tc
            cells.append(" ".join(_clean_text(cell.text).split()))
        if any(cells):
            lines.append(" | ".join(cells))
    return lines


def _load_text(data: bytes, shown: str, *, markdown: bool) -> Document:
    """Decode a text file and split Markdown into sections at its ATX headings."""
    text, warnings = _decode(data)
    text = _clean_text(text)
    if not text.strip():
        raise DocumentError(shown, f"{EMPTY} (only whitespace)")
    if not markdown:
        return Document(
            path=shown,
            kind="txt",
            sections=(Section(text=text.strip()),),
            warnings=warnings,
        )
    sections = _markdown_sections(text)
    if not sections:
        raise DocumentError(shown, f"{EMPTY} (only headings)")
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
    trail = _HeadingTrail()
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


class _HeadingTrail:
    """The open headings above the current position, outermost first."""

    def __init__(self) -> None:
        self._open: list[tuple[int, str]] = []

    def open(self, level: int, title: str) -> None:
        """Close headings at this level or deeper, then open this one."""
        while self._open and self._open[-1][0] >= level:
            self._open.pop()
        self._open.append((level, title))

    @property
    def text(self) -> str | None:
        """Return the trail joined with ' > ', or None before the first heading.

        A heading that repeats the one above it (pandoc writes a DOCX title both as Title
        and as Heading 1) is shown once.
        """
        titles: list[str] = []
        for _, title in self._open:
            if not titles or titles[-1] != title:
                titles.append(title)
        return " > ".join(titles) or None
