"""Page images to text: render PDF pages (pypdfium2), read image files (Pillow), OCR them."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ragkb.errors import DocumentError
from ragkb.ingest.documents.cleaning import clean_pdf_text, strip_page_number
from ragkb.ingest.documents.ocr import MAX_SIDE_PX, OcrEngine, OcrUnavailable, OnPage, ocr_engine
from ragkb.ingest.documents.reasons import CORRUPT_IMAGE, NO_TEXT_EVEN_OCR, OCR_OFF
from ragkb.types import Document, Section

if TYPE_CHECKING:
    from PIL.Image import Image

IMAGE_SUFFIXES: frozenset[str] = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff"})
# A page whose text layer holds fewer visible characters than this is read by OCR under
# ocr = "auto": a scan often carries a stamp, a page number or a scanner's name as text.
MIN_LAYER_CHARS = 20
# Images past this many pixels are refused before decoding: a few kilobytes of PNG can
# claim gigabytes of pixels (a decompression bomb). Pillow's own check stops at twice this.
MAX_IMAGE_PIXELS = 200_000_000
# A scan coarser than this is still rendered at this resolution: small text needs the pixels.
MIN_SCAN_PPI = 120


@dataclass(frozen=True, slots=True)
class OcrOptions:
    """Whether and how pages without a usable text layer are read by OCR."""

    mode: str = "auto"  # auto: only pages without usable text; force: every page; off
    engine: str = "rapidocr"
    dpi: int = 200
    threads: int = 0  # 0: the engine's default (all cores for RapidOCR, one for Tesseract)

    @property
    def enabled(self) -> bool:
        return self.mode != "off"


def needs_ocr(text: str) -> bool:
    """Tell whether a page's text layer is too thin to stand for the page."""
    return sum(not ch.isspace() for ch in text) < MIN_LAYER_CHARS


def ocr_pdf_pages(
    data: bytes, numbers: Sequence[int], options: OcrOptions, *, pages: int, on_page: OnPage | None
) -> Iterator[tuple[int, str]]:
    """Yield (page number, text) for each 1-based page in NUMBERS, rendered and recognised."""
    import pypdfium2 as pdfium

    engine = ocr_engine(options.engine, threads=options.threads)  # OcrUnavailable: caller's
    pdf = pdfium.PdfDocument(data)
    try:
        for done, number in enumerate(numbers):
            if on_page is not None:
                on_page(done, len(numbers))
            page = pdf[number - 1]
            try:
                width, height = page.get_size()  # in points, 1/72 inch
                dpi = min(options.dpi, _scan_ppi(page, width * height) or options.dpi)
                scale = min(dpi / 72, MAX_SIDE_PX / max(width, height, 1.0))
                image = page.render(scale=scale, grayscale=True).to_pil()
            finally:
                page.close()
            yield number, _page_text(engine.read(image), number, pages)
        if on_page is not None:
            on_page(len(numbers), len(numbers))
    finally:
        pdf.close()


def _scan_ppi(page: Any, area: float) -> float | None:
    """Return the resolution of the scan that covers PAGE (an image over half its AREA, in
    square points), or None. Rendering a scan finer than it was made only blurs it, and
    RapidOCR then drops spaces between words ("MargaretOkafor" at 200 dpi from a 150 ppi scan,
    "Margaret Okafor" at 150: a new-user trial)."""
    import pypdfium2.raw as pdfium_c

    best = None
    for image in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=2):
        left, bottom, right, top = image.get_bounds()
        if (right - left) * (top - bottom) < area / 2 or right <= left:
            continue
        # The longer sides match whether or not the scan was placed turned by 90 degrees.
        ppi = max(image.get_px_size()) / (max(right - left, top - bottom) / 72)
        best = max(best or 0.0, ppi)
    return max(best, MIN_SCAN_PPI) if best else None


def load_image(data: bytes, shown: str, options: OcrOptions, on_page: OnPage | None) -> Document:
    """Read an image file (each frame of a TIFF a page) into OCR text Sections."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

    if not options.enabled:
        raise DocumentError(shown, OCR_OFF)
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS  # its warning is below the refusal
    frames: list[Image.Image] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(data))  # reads the header only
        for frame in ImageSequence.Iterator(picture):
            if frame.width * frame.height > MAX_IMAGE_PIXELS:  # check before decoding
                raise DocumentError(
                    shown,
                    f"image too large ({frame.width} x {frame.height} pixels; "
                    f"limit {MAX_IMAGE_PIXELS // 1_000_000} million)",
                )
            frames.append(_fit(frame.copy()))
    except Image.DecompressionBombError as exc:
        raise DocumentError(shown, f"image too large ({exc})") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise DocumentError(shown, CORRUPT_IMAGE) from exc
    engine = engine_for(options, shown)
    sections: list[Section] = []
    paged = len(frames) > 1
    for index, frame in enumerate(frames):
        if on_page is not None:
            on_page(index, len(frames))
        number = index + 1 if paged else None
        text = _page_text(engine.read(frame), number or 0, len(frames))
        if text:
            sections.append(Section(text=text, page=number, ocr=True))
    if on_page is not None:
        on_page(len(frames), len(frames))
    if not sections:
        raise DocumentError(shown, NO_TEXT_EVEN_OCR)
    return Document(
        path=shown,
        kind="image",
        sections=tuple(sections),
        pages=len(frames) if paged else None,
        ocr_pages=len(frames),
    )


def engine_for(options: OcrOptions, shown: str) -> OcrEngine:
    """Return the configured engine, or raise DocumentError saying why it cannot run."""
    try:
        return ocr_engine(options.engine, threads=options.threads)
    except OcrUnavailable as exc:
        raise DocumentError(shown, f"cannot run OCR: {exc}") from exc


def _fit(image: Image) -> Image:
    """Shrink IMAGE to at most MAX_SIDE_PX on its longest side."""
    longest = max(image.size)
    if longest <= MAX_SIDE_PX:
        return image
    scale = MAX_SIDE_PX / longest
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))


def _page_text(text: str, number: int, pages: int) -> str:
    return strip_page_number(clean_pdf_text(text, pages=max(pages, 1)), number)


def page_ranges(numbers: Sequence[int]) -> str:
    """Say which pages: "page 4", "pages 2-22", "pages 2-5, 9, 11-12"."""
    ordered = sorted(set(numbers))
    runs: list[str] = []
    start = previous = ordered[0]
    for number in [*ordered[1:], None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        runs.append(str(start) if start == previous else f"{start}-{previous}")
        if number is not None:
            start = previous = number
    return ("page " if len(ordered) == 1 else "pages ") + ", ".join(runs)
