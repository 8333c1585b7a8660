"""OCR: scans made from real PDFs (rendered, rotated, speckled), read back by the real engine."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ragkb.errors import DocumentError
from ragkb.ingest.documents import load_document
from ragkb.ingest.documents.ocr import TextBox, layout_text, upright_boxes
from ragkb.ingest.documents.reasons import CORRUPT_IMAGE, OCR_OFF
from ragkb.ingest.documents.scans import OcrOptions

if TYPE_CHECKING:
    from collections.abc import Callable

    from PIL.Image import Image

    MakeFile = Callable[..., Path]

SAMPLES = Path(__file__).resolve().parent.parent / "sample_docs"


def scan_pages(
    source: Path, *, dpi: int = 150, angle: float = 0.0, noise: float = 0.0
) -> list[Image]:
    """Render SOURCE's pages as a scanner would: grey, slightly turned, with specks."""
    import pypdfium2 as pdfium

    if "zh" in source.name:
        _need_a_chinese_font()
    rng = random.Random(0)
    pdf = pdfium.PdfDocument(source)
    pages = []
    for page in pdf:
        image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
        if angle:
            image = image.rotate(angle, expand=True, fillcolor=255)
        if noise:
            pixels = image.load()
            for _ in range(int(image.width * image.height * noise)):
                x, y = rng.randrange(image.width), rng.randrange(image.height)
                pixels[x, y] = rng.choice((0, 255))
        pages.append(image.convert("RGB"))
    pdf.close()
    return pages


def _need_a_chinese_font() -> None:
    """Skip unless the system has a Chinese font: the Chinese sample PDF names a standard CJK
    font without embedding it (reportlab's STSong-Light), so PDFium draws its characters
    with a system font or not at all, and a scan without them tests nothing. .ci/run
    installs fonts-wqy-microhei."""
    import shutil
    import subprocess

    listed = ""
    if shutil.which("fc-list"):
        listed = subprocess.run(
            ["fc-list", ":lang=zh"], capture_output=True, text=True, check=False
        ).stdout
    if not listed.strip():
        pytest.skip("no Chinese font to render the scan with (apt-get install fonts-wqy-microhei)")


def image_pdf(pages: list[Image], target: Path) -> Path:
    """Wrap page images as an image-only PDF: no text layer at all."""
    pages[0].save(target, save_all=True, append_images=pages[1:], resolution=150)
    return target


def text_layer(source: Path) -> dict[int, str]:
    doc = load_document(source, ocr=OcrOptions(mode="off"))
    return {s.page or 0: s.text for s in doc.sections}


def error_rate(reference: str, read: str) -> float:
    """Character error rate: edit distance over the reference's length, spaces ignored."""
    a = "".join(reference.split())
    b = "".join(read.split())
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1] / max(len(a), 1)


# --- layout (no engine) ----------------------------------------------------------------


def test_boxes_join_into_lines_and_paragraphs() -> None:
    boxes = [
        TextBox("world.", 120, 10, 200, 30),
        TextBox("Hello", 10, 12, 100, 31),
        TextBox("Second line", 10, 40, 200, 60),
        TextBox("New paragraph", 10, 100, 200, 120),
    ]
    assert layout_text(boxes) == "Hello world.\nSecond line\n\nNew paragraph"


def test_lines_of_a_turned_page_stay_apart() -> None:
    import math

    slope = math.tan(math.radians(2))  # a scan turned 2 degrees

    def line(text: str, top: float) -> tuple[str, list[tuple[float, float]]]:
        corners = [(0, top), (1000, top + 1000 * slope)]
        return text, [*corners, (1000, top + 1000 * slope + 20), (0, top + 20)]

    lines = [line("first line of the page", 0), line("second line below it", 25)]
    upright = "first line of the page\nsecond line below it"

    assert layout_text(upright_boxes(lines)) == upright
    # Without undoing the skew their rectangles overlap and the two lines merge into one.
    flat = [TextBox(t, 0, min(y for _, y in c), 1000, max(y for _, y in c)) for t, c in lines]
    assert layout_text(flat) != upright


def test_cjk_boxes_of_one_line_join_without_a_space() -> None:
    boxes = [TextBox("检索增强", 10, 10, 100, 30), TextBox("生成", 110, 10, 150, 30)]
    assert layout_text(boxes) == "检索增强生成"


def test_two_columns_are_read_one_after_the_other() -> None:
    left = [TextBox(f"left {n}", 10, 10 + 25 * n, 190, 30 + 25 * n) for n in range(4)]
    right = [TextBox(f"right {n}", 310, 10 + 25 * n, 490, 30 + 25 * n) for n in range(4)]
    text = layout_text(left + right)
    assert text == "left 0\nleft 1\nleft 2\nleft 3\n\nright 0\nright 1\nright 2\nright 3"


# --- images that cannot be read (no engine) ----------------------------------------------


def test_image_with_ocr_off_says_so(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "photo.png"
    Image.new("RGB", (50, 50), "white").save(path)
    with pytest.raises(DocumentError) as info:
        load_document(path, ocr=OcrOptions(mode="off"))
    assert info.value.reason == OCR_OFF


def test_corrupt_image_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    with pytest.raises(DocumentError) as info:
        load_document(path)
    assert info.value.reason == CORRUPT_IMAGE


def test_decompression_bomb_is_refused_not_decoded(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "bomb.png"
    Image.new("1", (20_000, 20_000), 1).save(path)  # 400 M pixels in a few kilobytes
    assert path.stat().st_size < 1_000_000
    with pytest.raises(DocumentError) as info:
        load_document(path)
    assert info.value.reason.startswith("image too large")


# --- the real engine on real scans -------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tracing-handbook.pdf", "rag-intro-zh.pdf"])
def test_scanned_pdf_reads_back_close_to_the_original(name: str, tmp_path: Path) -> None:
    source = SAMPLES / name
    scan = image_pdf(scan_pages(source, angle=1.5, noise=0.002), tmp_path / f"scan-{name}")
    assert text_layer_is_empty(scan)
    seen: list[tuple[int, int]] = []

    doc = load_document(scan, on_page=lambda done, total: seen.append((done, total)))

    original = text_layer(source)
    assert doc.pages == len(original)
    assert doc.ocr_pages == doc.pages
    assert [s.page for s in doc.sections] == sorted(original)
    assert all(s.ocr for s in doc.sections)
    assert seen[0] == (0, doc.pages) and seen[-1] == (doc.pages, doc.pages)
    for section in doc.sections:
        assert error_rate(original[section.page or 0], section.text) < 0.05, section.page


def text_layer_is_empty(path: Path) -> bool:
    with pytest.raises(DocumentError):
        load_document(path, ocr=OcrOptions(mode="off"))
    return True


@pytest.mark.slow
def test_png_and_multipage_tiff_are_documents(tmp_path: Path) -> None:
    pages = scan_pages(SAMPLES / "rag-intro-zh.pdf")
    png = tmp_path / "page.png"
    pages[0].save(png)
    tiff = tmp_path / "pages.tiff"
    pages[0].copy().save(tiff, save_all=True, append_images=[p.copy() for p in pages[1:]])

    single = load_document(png)
    multi = load_document(tiff)

    assert (single.kind, single.pages, [s.page for s in single.sections]) == ("image", None, [None])
    assert "每块约五百个字" in single.sections[0].text
    assert multi.kind == "image" and multi.pages == len(pages) == multi.ocr_pages
    assert [s.page for s in multi.sections] == list(range(1, len(pages) + 1))


@pytest.mark.slow
def test_only_pages_without_text_are_read_by_ocr(make_pdf: MakeFile, tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    typed = make_pdf("typed.pdf", ["This first page has a real text layer of its own."])
    scanned = image_pdf(scan_pages(SAMPLES / "tracing-handbook.pdf")[:1], tmp_path / "s.pdf")
    writer = PdfWriter()
    for part in (typed, scanned):
        for page in PdfReader(part).pages:
            writer.add_page(page)
    mixed = tmp_path / "mixed.pdf"
    with mixed.open("wb") as handle:
        writer.write(handle)

    doc = load_document(mixed)
    forced = load_document(mixed, ocr=OcrOptions(mode="force"))

    assert [(s.page, s.ocr) for s in doc.sections] == [(1, False), (2, True)]
    assert doc.ocr_pages == 1
    assert "32 lowercase hexadecimal" in doc.sections[1].text
    assert [(s.page, s.ocr) for s in forced.sections] == [(1, True), (2, True)]
    assert forced.ocr_pages == 2


@pytest.mark.slow
def test_glyph_name_page_goes_to_ocr_and_says_what_it_found(make_glyph_name_pdf: MakeFile) -> None:
    # pdfium draws nothing for this fixture's unembedded /gNN glyphs, so OCR sees a blank
    # page: the warning says OCR was tried (real glyph-name PDFs embed their glyphs).
    path = make_glyph_name_pdf(
        "mixed.pdf", ["Real text on the first page.", "Junk", "Junk"], {2, 3}
    )

    doc = load_document(path)

    assert [(s.page, s.ocr) for s in doc.sections] == [(1, False)]
    assert doc.ocr_pages == 2
    assert doc.warnings == (
        "pages 2-3: glyph names instead of text; OCR found no text there either; skipped",
    )


@pytest.mark.slow
def test_tesseract_reads_the_same_scan_when_installed(tmp_path: Path) -> None:
    import shutil

    if shutil.which("tesseract") is None:
        pytest.skip("tesseract is not installed (apt-get install tesseract-ocr)")
    png = tmp_path / "page.png"
    scan_pages(SAMPLES / "tracing-handbook.pdf")[0].save(png)

    doc = load_document(png, ocr=OcrOptions(engine="tesseract"))

    assert error_rate(text_layer(SAMPLES / "tracing-handbook.pdf")[1], doc.sections[0].text) < 0.05


def test_missing_engine_is_a_reason_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    from ragkb.ingest.documents.ocr import ocr_engine

    monkeypatch.setenv("PATH", str(tmp_path))  # no tesseract on it
    ocr_engine.cache_clear()  # an earlier test may have loaded it
    path = tmp_path / "page.png"
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), "white").save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    with pytest.raises(DocumentError) as info:
        load_document(path, ocr=OcrOptions(engine="tesseract"))
    assert info.value.reason.startswith("cannot run OCR: tesseract is not installed")


# --- through ingest and search ------------------------------------------------------------


@pytest.mark.slow
def test_scans_are_ingested_searched_and_marked_as_ocr(tmp_path: Path) -> None:
    from fakes import make_fake_parts

    from ragkb.config import load_settings
    from ragkb.kb import KnowledgeBase

    docs = tmp_path / "docs"
    docs.mkdir()
    pages = scan_pages(SAMPLES / "rag-intro-zh.pdf")
    image_pdf(pages, docs / "rag-scan.pdf")
    pages[0].save(docs / "page-one.png")
    (docs / "notes.txt").write_text("Plain notes about gardening and tomatoes.\n")
    settings = load_settings({})
    kb = KnowledgeBase(settings, parts=make_fake_parts(settings))
    events = []

    report = kb.ingest([str(docs)], progress=events.append)

    assert report.failed == ()
    assert len(report.added) == 3
    stages = [e.stage for e in events]
    assert stages[0] == "parse" and events[0].files_total == 3
    assert "load" in stages and stages.index("load") < stages.index("embed")
    embedding = [e.chunks_done for e in events if e.stage == "embed"]
    assert embedding == sorted(embedding) and embedding[-1] == report.chunks_added
    assert [e.files_done for e in events if e.stage == "parse"][-1] == 3  # read, before embedding
    ocr = [(e.path, e.pages_done, e.pages_total) for e in events if e.stage == "ocr"]
    assert (str(docs / "rag-scan.pdf"), 0, 3) in ocr and (str(docs / "page-one.png"), 0, 1) in ocr
    files = {r.path: r for r in kb.files()}
    assert files[str(docs / "rag-scan.pdf")].ocr_pages == 3
    assert files[str(docs / "page-one.png")].ocr_pages == 1
    assert files[str(docs / "notes.txt")].ocr_pages == 0
    hits = kb.search("每块约五百个字 相邻文本块之间重叠五十个字", mode="keyword")
    assert hits and hits[0].ocr
    # The PNG is page 1 of the scan: one of the two stands for both (same text, one hit).
    assert hits[0].source in {str(docs / "rag-scan.pdf"), str(docs / "page-one.png")}
    assert hits[0].page in (1, None)
    garden = kb.search("gardening tomatoes", mode="keyword")
    assert garden[0].source == str(docs / "notes.txt") and not garden[0].ocr


def test_a_scan_is_rendered_no_finer_than_it_was_made(tmp_path: Path) -> None:
    # A new-user trial: a 150 ppi scan rendered at ocr_dpi 200 read "MargaretOkafor"; at its
    # own 150 ppi RapidOCR keeps the space.
    import pypdfium2 as pdfium
    from PIL import Image as PILImage

    from ragkb.ingest.documents.scans import MIN_SCAN_PPI, _scan_ppi

    scans = {
        "fine.pdf": (PILImage.new("L", (1400, 364), 255), 150),  # 150 ppi as image_pdf saves
        "coarse.pdf": (PILImage.new("L", (700, 182), 255), 150),  # 75 ppi over the same page
    }
    found = {}
    for name, (picture, resolution) in scans.items():
        picture.save(tmp_path / name, resolution=resolution * picture.width / 1400)
        pdf = pdfium.PdfDocument(tmp_path / name)
        width, height = pdf[0].get_size()
        found[name] = _scan_ppi(pdf[0], width * height)
        pdf.close()
    assert found["fine.pdf"] == pytest.approx(150)
    assert found["coarse.pdf"] == MIN_SCAN_PPI  # not below: small text needs the pixels
