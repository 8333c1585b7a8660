"""Tests for ragkb.documents: real PDF, DOCX, TXT and Markdown files in, Sections out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ragkb.errors import DocumentError
from ragkb.ingest.documents import SUPPORTED_SUFFIXES, load_document
from ragkb.ingest.documents.cleaning import clean_pdf_text as _clean_pdf_text
from ragkb.ingest.documents.reasons import (
    CORRUPT_DOCX,
    CORRUPT_PDF,
    EMPTY,
    ENCRYPTED,
    GLYPH_NAMES,
    NO_TEXT_EVEN_OCR,
    NO_TEXT_OCR_OFF,
    NOT_FOUND,
)
from ragkb.ingest.documents.scans import OcrOptions, page_ranges

OCR_OFF = OcrOptions(mode="off")

if TYPE_CHECKING:
    from collections.abc import Callable

    MakeFile = Callable[..., Path]

CJK_LINE = "检索增强生成先从本地资料中检索相关片段再把片段交给模型"  # a full wrapped line
CHINESE = "余弦相似度是通过计算两个向量夹角的余弦值来评估它们的相似程度、常用于语义检索。"


def load_error(path: Path, ocr: OcrOptions = OCR_OFF) -> DocumentError:
    """Load a file that must fail and return the DocumentError."""
    with pytest.raises(DocumentError) as info:
        load_document(path, ocr=ocr)
    assert info.value.path == str(path)
    assert str(info.value) == f"{path}: {info.value.reason}"
    return info.value


def test_supported_suffixes() -> None:
    documents = {".pdf", ".docx", ".txt", ".md", ".markdown"}
    images = {".png", ".jpg", ".jpeg", ".tif", ".tiff"}
    assert documents | images == SUPPORTED_SUFFIXES


def test_importing_documents_does_not_import_parsers() -> None:
    code = (
        "import sys, ragkb.ingest.documents\n"
        "heavy = {'pypdf', 'docx', 'charset_normalizer', 'lxml'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


# --- PDF -----------------------------------------------------------------------------------------


def test_pdf_pages_are_numbered_from_one_with_their_own_text(make_pdf: MakeFile) -> None:
    path = make_pdf("three.pdf", ["Alpha apples.", "Bravo bananas.", "Charlie cherries."])

    doc = load_document(path)

    assert doc.kind == "pdf"
    assert doc.path == str(path)
    assert doc.pages == 3
    assert [s.page for s in doc.sections] == [1, 2, 3]
    assert [s.text for s in doc.sections] == [
        "Alpha apples.",
        "Bravo bananas.",
        "Charlie cherries.",
    ]
    assert all(s.heading is None and not s.is_table for s in doc.sections)
    assert doc.warnings == ()


def test_display_path_is_used_in_document_and_errors(
    make_pdf: MakeFile, make_empty_file: MakeFile
) -> None:
    assert (
        load_document(make_pdf("a.pdf", ["Text."]), display_path="docs/a.pdf").path == "docs/a.pdf"
    )
    with pytest.raises(DocumentError) as info:
        load_document(make_empty_file("e.txt"), display_path="docs/e.txt")
    assert str(info.value) == "docs/e.txt: empty file"


def test_pdf_keeps_wrapped_paragraph_words_and_skips_blank_pages(make_pdf: MakeFile) -> None:
    long_paragraph = "Retrieval augmented generation grounds answers in documents. " * 12
    path = make_pdf("wrap.pdf", [long_paragraph + "\n\nSecond paragraph.", "", "Last page."])

    doc = load_document(path)

    assert doc.pages == 3
    assert [s.page for s in doc.sections] == [1, 3]
    first = doc.sections[0].text
    assert first.replace("\n", " ") == long_paragraph + "Second paragraph."
    assert first.endswith(".\nSecond paragraph.")


def test_pdf_page_number_lines_are_dropped(make_pdf: MakeFile) -> None:
    path = make_pdf("numbered.pdf", ["- 1 -\n\nIntro text.\n\n7", "Body text.\n\nPage 2 of 2"])

    doc = load_document(path)

    assert [s.text for s in doc.sections] == ["Intro text.\n7", "Body text."]


def test_chinese_pdf_text_extracts_without_layout_line_breaks(make_pdf: MakeFile) -> None:
    path = make_pdf("zh.pdf", [CHINESE * 3, "第二页。向量数据库。"], chinese=True)

    doc = load_document(path)

    assert [s.page for s in doc.sections] == [1, 2]
    # reportlab wraps this long line; the wraps inside sentences must not split words.
    assert doc.sections[0].text.replace("\n", "") == CHINESE * 3
    assert CHINESE in doc.sections[0].text
    assert doc.sections[1].text == "第二页。向量数据库。"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("distri-\nbuted systems", "distributed systems"),
        ("Jean-\nPaul Sartre", "Jean-\nPaul Sartre"),
        ("a  lot   of    spaces \n  indented", "a lot of spaces\nindented"),
        ("one\r\ntwo\rthree", "one\ntwo\nthree"),
        ("nul\x00byte and\x1b[31m escape\x07", "nulbyte and[31m escape"),
        ("para one\n\n\n\npara two", "para one\n\npara two"),
        ("\ufb01nd the e\ufb00ect", "find the effect"),
        (f"{CJK_LINE}\n{CJK_LINE}\n结束。\n下一段", f"{CJK_LINE * 2}结束。\n下一段"),
        (f"一、标题\n{CJK_LINE}。\n二、标题", f"一、标题\n{CJK_LINE}。\n二、标题"),
        ("苹果\n香蕉\n橘子", "苹果\n香蕉\n橘子"),
        ("Contents\n1 Install . . . . 3\n2.1 Usage ...... 12\nIntro.", "Contents\nIntro."),
        ("T\nthreads . . . . . . . . . . 4\nxi", "T\nthreads … 4\nxi"),  # one line: content
        ("1 Intro . . . . 1\n2 Install ..... 3\n3 Use ..... 7\nText.", "Text."),
        ("iii Preface .... ii\n1 Start .... 1\nA Appendix ..... 9\nText.", "Text."),
        (  # a datasheet keeps its values
            "Maximum operating voltage .......... 240 V\nCurrent ..... 5\nWeight .... 2",
            "Maximum operating voltage … 240 V\nCurrent … 5\nWeight … 2",
        ),
        (
            "Price list\nApples ........ 3.20\nPears ........ 2.80",
            "Price list\nApples … 3.20\nPears … 2.80",
        ),
        ("Version 1.2.3.4 is out.\nSee p. 4.", "Version 1.2.3.4 is out.\nSee p. 4."),
    ],
)
def test_pdf_text_cleaning(raw: str, clean: str) -> None:
    assert _clean_pdf_text(raw, pages=20) == clean


def test_encrypted_pdf_needs_a_password(make_encrypted_pdf: MakeFile) -> None:
    error = load_error(make_encrypted_pdf("locked.pdf", ["Secret plans."], password="hunter2"))
    assert error.reason == ENCRYPTED
    assert error.reason.startswith("encrypted")


def test_pdf_with_empty_user_password_loads(make_empty_password_pdf: MakeFile) -> None:
    doc = load_document(make_empty_password_pdf("open.pdf", ["Readable without a password."]))
    assert [(s.page, s.text) for s in doc.sections] == [(1, "Readable without a password.")]


def test_truncated_pdf_is_corrupt(make_truncated_pdf: MakeFile) -> None:
    from pypdf.errors import PdfReadError

    error = load_error(make_truncated_pdf("cut.pdf"))
    assert error.reason == CORRUPT_PDF
    assert isinstance(error.__cause__, PdfReadError)


def test_file_that_is_not_a_pdf_is_corrupt(make_text_file: MakeFile) -> None:
    error = load_error(make_text_file("page.pdf", "<html><body>not a pdf</body></html>"))
    assert error.reason == CORRUPT_PDF
    assert error.__cause__ is not None


def test_image_only_pdf_without_ocr_has_no_extractable_text(make_image_only_pdf: MakeFile) -> None:
    error = load_error(make_image_only_pdf("scan.pdf", pages=2))
    assert error.reason == NO_TEXT_OCR_OFF
    assert "ocr = auto" in error.reason


@pytest.mark.slow
def test_pdf_of_pictures_without_writing_is_no_text_even_by_ocr(
    make_image_only_pdf: MakeFile,
) -> None:
    error = load_error(make_image_only_pdf("scan.pdf", pages=2), ocr=OcrOptions())
    assert error.reason == NO_TEXT_EVEN_OCR


def test_glyph_name_page_is_skipped_with_a_warning(make_glyph_name_pdf: MakeFile) -> None:
    path = make_glyph_name_pdf(
        "mixed.pdf", ["Real text one.", "Junk text two.", "Real text three."], junk_pages={2}
    )

    doc = load_document(path, ocr=OCR_OFF)

    assert doc.pages == 3
    assert [(s.page, s.text) for s in doc.sections] == [
        (1, "Real text one."),
        (3, "Real text three."),
    ]
    assert doc.warnings == ("page 2: glyph names instead of text; skipped",)


def test_warnings_about_many_pages_fold_into_one_line(make_glyph_name_pdf: MakeFile) -> None:
    texts = [f"Page {n} text." for n in range(1, 9)]
    doc = load_document(make_glyph_name_pdf("m.pdf", texts, {2, 3, 4, 5, 7}), ocr=OCR_OFF)

    assert [s.page for s in doc.sections] == [1, 6, 8]
    assert doc.warnings == ("pages 2-5, 7: glyph names instead of text; skipped",)


def test_page_ranges() -> None:
    assert page_ranges([4]) == "page 4"
    assert page_ranges([3, 2, 4, 9, 11, 12]) == "pages 2-4, 9, 11-12"


def test_pdf_of_only_glyph_names_is_an_error(make_glyph_name_pdf: MakeFile) -> None:
    error = load_error(make_glyph_name_pdf("junk.pdf", ["Junk one.", "Junk two."], {1, 2}))
    assert error.reason == GLYPH_NAMES


def test_pdf_page_that_fails_is_skipped_and_the_rest_kept(
    make_pdf: MakeFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pypdf import PageObject

    original = PageObject.extract_text

    def flaky(page: PageObject, *args: object, **kwargs: object) -> str:
        text = original(page, *args, **kwargs)
        if "Broken" in text:
            raise KeyError("/Font")
        return text

    monkeypatch.setattr(PageObject, "extract_text", flaky)
    doc = load_document(
        make_pdf("flaky.pdf", ["Fine one.", "Broken two.", "Fine three."]), ocr=OCR_OFF
    )

    assert [s.page for s in doc.sections] == [1, 3]
    assert doc.warnings == ("page 2: text extraction failed (KeyError); skipped",)


def test_pages_failing_with_different_errors_are_one_warning(
    make_pdf: MakeFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pypdf import PageObject

    original = PageObject.extract_text
    errors = {"Two": KeyError("/Font"), "Three": ValueError("bad"), "Five": KeyError("/W")}

    def flaky(page: PageObject, *args: object, **kwargs: object) -> str:
        text = original(page, *args, **kwargs)
        for word, error in errors.items():
            if word in text:
                raise error
        return text

    monkeypatch.setattr(PageObject, "extract_text", flaky)
    words = ["One", "Two", "Three", "Four", "Five"]
    path = make_pdf("flaky.pdf", [f"Page {w} has enough text to be kept." for w in words])

    doc = load_document(path, ocr=OCR_OFF)

    assert [s.page for s in doc.sections] == [1, 4]
    assert doc.warnings == ("pages 2-3, 5: text extraction failed (KeyError, ValueError); skipped",)


def ruled_table_pdf(path: Path, *, grid: bool = True) -> Path:
    """A page of prose, a ruled price table of 30 rows, and a closing line (reportlab)."""
    from reportlab.lib import colors
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    styles = getSampleStyleSheet()
    rows = [["Part", "SKU", "Unit price (EUR)"]]
    rows += [
        [f"M{3 + n // 6} part {n}", f"FX-{1000 + n}", f"{0.05 + 0.07 * n:.2f}"] for n in range(30)
    ]
    table = Table(rows)
    if grid:
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black)]))
    story = [
        Paragraph(
            "The price list below is valid from 1 March for every customer.", styles["Normal"]
        ),
        table,
        Paragraph("Prices exclude shipping, which is charged by weight.", styles["Normal"]),
    ]
    SimpleDocTemplate(str(path), invariant=True).build(story)
    return path


def test_ruled_pdf_table_is_a_table_section_between_the_pages_text(tmp_path: Path) -> None:
    doc = load_document(ruled_table_pdf(tmp_path / "prices.pdf"), ocr=OCR_OFF)

    kinds = [(s.page, s.is_table) for s in doc.sections]
    assert kinds == [(1, False), (1, True), (1, False)]
    before, table, after = (s.text for s in doc.sections)
    assert before == "The price list below is valid from 1 March for every customer."
    assert after == "Prices exclude shipping, which is charged by weight."
    rows = table.split("\n")
    assert rows[0] == "| Part | SKU | Unit price (EUR) |"
    assert rows[8] == "| M4 part 7 | FX-1007 | 0.54 |"
    assert len(rows) == 31


def test_unruled_pdf_table_stays_page_text(tmp_path: Path) -> None:
    doc = load_document(ruled_table_pdf(tmp_path / "plain.pdf", grid=False), ocr=OCR_OFF)

    # Without ruling lines nothing marks it as a table: pypdf's text, a cell per line.
    assert [s.is_table for s in doc.sections] == [False]
    assert "M4 part 7\nFX-1007\n0.54" in doc.sections[0].text


# --- DOCX ----------------------------------------------------------------------------------------


def test_docx_headings_become_heading_trails(make_docx: MakeFile) -> None:
    path = make_docx(
        "guide.docx",
        [
            ("p", "Preface before any heading."),
            ("title", "User Guide"),
            ("h1", "Install"),
            ("p", "Run pip install."),
            ("h2", "GPU"),
            ("p", "Set n_gpu_layers."),
            ("p", "Check the driver."),
            ("h1", "Usage"),
            ("p", "Ask a question."),
        ],
    )

    doc = load_document(path)

    assert doc.kind == "docx"
    assert doc.pages is None
    assert [(s.heading, s.text) for s in doc.sections] == [
        (None, "Preface before any heading."),
        ("User Guide > Install", "Run pip install."),
        ("User Guide > Install > GPU", "Set n_gpu_layers.\n\nCheck the driver."),
        ("User Guide > Usage", "Ask a question."),
    ]
    assert all(s.page is None and not s.is_table for s in doc.sections)


def test_docx_tables_are_sections_in_document_order(make_docx: MakeFile) -> None:
    path = make_docx(
        "report.docx",
        [
            ("h1", "Results"),
            ("p", "Before the table."),
            ("table", [["Model", "Score"], ["MiniLM", "0.81"], ["", ""]]),
            ("p", "After the table."),
        ],
    )

    doc = load_document(path)

    assert [(s.heading, s.is_table, s.text) for s in doc.sections] == [
        ("Results", False, "Before the table."),
        ("Results", True, "| Model | Score |\n| MiniLM | 0.81 |"),
        ("Results", False, "After the table."),
    ]


def test_docx_merged_cells_appear_once(make_docx: MakeFile) -> None:
    import docx

    path = make_docx("merged.docx", [("table", [["Span", "", "C"], ["a", "b", "c"]])])
    document = docx.Document(str(path))
    table = document.tables[0]
    table.cell(0, 0).merge(table.cell(0, 1))
    document.save(str(path))

    (section,) = load_document(path).sections

    assert section.is_table
    assert section.text == "| Span | C |\n| a | b | c |"


def test_docx_without_text_is_empty(make_docx: MakeFile) -> None:
    error = load_error(make_docx("blank.docx", [("p", "   ")]))
    assert error.reason.startswith(EMPTY)


def test_zip_renamed_to_docx_is_corrupt(make_fake_docx: MakeFile) -> None:
    error = load_error(make_fake_docx("fake.docx"))
    assert error.reason == CORRUPT_DOCX
    assert isinstance(error.__cause__, KeyError)


def test_non_zip_docx_is_corrupt(make_text_file: MakeFile) -> None:
    error = load_error(make_text_file("notes.docx", "plain text pretending to be Word"))
    assert error.reason == CORRUPT_DOCX
    assert error.__cause__ is not None


def test_password_protected_docx_is_encrypted(make_text_file: MakeFile) -> None:
    # Word saves a protected DOCX as an OLE2 container with an EncryptedPackage stream.
    ole = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64 + "EncryptedPackage".encode("utf-16-le")
    )
    error = load_error(make_text_file("protected.docx", ole))
    assert error.reason == ENCRYPTED


# --- TXT / MD ------------------------------------------------------------------------------------


def test_gbk_text_is_decoded(make_gbk_txt: MakeFile) -> None:
    path = make_gbk_txt("gbk.txt", CHINESE * 2)
    assert path.read_bytes() != (CHINESE * 2).encode("utf-8")

    doc = load_document(path)

    assert doc.kind == "txt"
    assert [(s.heading, s.page, s.text) for s in doc.sections] == [(None, None, CHINESE * 2)]
    assert doc.warnings == ()


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("機器學習模型會將文件切分成段落、再轉換為向量並儲存在資料庫中、以便日後檢索。", "big5"),
        ("Le café était fermé; à côté, l'hôtel proposait des crêpes très appréciées.", "latin-1"),
        ("Un été à Paris", "latin-1"),
        ("向量数据库", "gbk"),
        ("Grüße aus München: Straßenbahn, Öl und Ärger über Bücher.", "cp1252"),
        ("UTF-8 with a BOM: naïve café", "utf-8-sig"),
        ("UTF-16 with a BOM: 向量", "utf-16"),
    ],
)
def test_text_encodings_are_detected(make_text_file: MakeFile, text: str, encoding: str) -> None:
    doc = load_document(make_text_file("enc.txt", text, encoding=encoding))
    assert doc.sections[0].text == text


def test_nul_and_control_characters_are_removed(make_text_file: MakeFile) -> None:
    path = make_text_file("ctl.txt", b"Hel\x00lo\x00 world\x1b[2J\r\nline\ttwo\x7f\r\n")
    assert load_document(path).sections[0].text == "Hello world[2J\nline\ttwo"


def test_whitespace_only_text_is_empty(make_text_file: MakeFile) -> None:
    error = load_error(make_text_file("blank.txt", " \n\t\r\n\x00 "))
    assert error.reason.startswith(EMPTY)


@pytest.mark.parametrize("name", ["e.pdf", "e.docx", "e.txt", "e.md", "e.markdown"])
def test_zero_byte_file_is_empty(make_empty_file: MakeFile, name: str) -> None:
    assert load_error(make_empty_file(name)).reason == EMPTY


def test_a_heading_that_repeats_the_title_is_shown_once(make_docx: MakeFile) -> None:
    # pandoc writes a document's title both as Title and as Heading 1.
    path = make_docx(
        "chapter.docx",
        [
            ("title", "Chapter 5. Network setup"),
            ("h1", "Chapter 5. Network setup"),
            ("h2", "5.1. The hostname"),
            ("p", "The hostname is in /etc/hostname."),
        ],
    )
    (section,) = load_document(path).sections
    assert section.heading == "Chapter 5. Network setup > 5.1. The hostname"


def test_markdown_headings_split_sections(make_text_file: MakeFile) -> None:
    text = (
        "Intro line.\n\n"
        "# Install\n\nUse pip.\n\n"
        "## GPU ##\n\nSet layers.\n\n```bash\n# not a heading\npip install x\n```\n\n"
        "### Empty\n\n"
        "# Usage\nAsk.\n"
        "#hashtag is not a heading\n"
    )
    doc = load_document(make_text_file("readme.markdown", text))

    assert doc.kind == "md"
    assert [(s.heading, s.text) for s in doc.sections] == [
        (None, "Intro line."),
        ("Install", "Use pip."),
        ("Install > GPU", "Set layers.\n\n```bash\n# not a heading\npip install x\n```"),
        ("Usage", "Ask.\n#hashtag is not a heading"),
    ]


def test_txt_is_one_section_even_with_hash_lines(make_text_file: MakeFile) -> None:
    doc = load_document(make_text_file("notes.txt", "# not split\nbody\n"))
    assert [(s.heading, s.text) for s in doc.sections] == [(None, "# not split\nbody")]


# --- paths ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "suffix"), [("data.xyz", ".xyz"), ("Makefile", "no extension")])
def test_unsupported_suffix(make_text_file: MakeFile, name: str, suffix: str) -> None:
    error = load_error(make_text_file(name, "text"))
    assert error.reason == f"unsupported file type ({suffix})"


def test_suffix_match_ignores_case(make_text_file: MakeFile) -> None:
    assert load_document(make_text_file("UPPER.TXT", "shout")).sections[0].text == "shout"


def test_missing_file_and_directory_are_not_found(tmp_path: Path) -> None:
    assert load_error(tmp_path / "missing.pdf").reason == NOT_FOUND
    folder = tmp_path / "folder.md"
    folder.mkdir()
    assert load_error(folder).reason.startswith(NOT_FOUND)


def test_lone_surrogates_from_broken_pdfs_are_removed() -> None:
    from ragkb.ingest.documents.cleaning import clean_text as _clean_text

    assert _clean_text("ok\ud876 text") == "ok text"
    assert "\ud876" not in _clean_text("a\ud876b")


def test_words_run_together_is_detected_not_guessed() -> None:
    from ragkb.ingest.documents.cleaning import runs_words_together as _runs_words_together

    glued = "Thepackagewillnotbeinstalleduntilallthepackagesitconflictswithhavebeenremoved. " * 4
    spaced = "The package will not be installed until all the packages it conflicts with. " * 6
    assert _runs_words_together(glued + spaced)
    assert not _runs_words_together(spaced * 2)
    assert not _runs_words_together("Pneumonoultramicroscopicsilicovolcanoconiosis is long.")


def test_pdf_words_placed_by_position_are_spaced_again(tmp_path: Path) -> None:
    # Words set with small TJ moves instead of spaces, as dblatex does: pypdf runs them
    # together ("Thepackagewillnot..."); ragkb re-reads such pages with pdfminer.six.
    from pypdf import PdfReader
    from reportlab.pdfgen import canvas

    words = [
        "The",
        "package",
        "will",
        "not",
        "be",
        "installed",
        "until",
        "all",
        "the",
        "packages",
        "it",
        "conflicts",
        "with",
    ]
    target = tmp_path / "positioned.pdf"
    pdf = canvas.Canvas(str(target))
    pdf.setFont("Helvetica", 10)
    pdf.drawString(40, 820, "Positioned words")  # registers the font on the page
    font = pdf._doc.getInternalFontName(pdf._fontname)
    for line in range(15):
        moves = " -120 ".join(f"({w})" for w in words)
        pdf._code.append(f"BT {font} 10 Tf 40 {800 - 14 * line} Td [{moves}] TJ ET")
    pdf.save()
    assert "Thepackagewillnot" in PdfReader(str(target)).pages[0].extract_text()
    doc = load_document(target)
    assert doc.warnings == ()
    assert " ".join(words) in doc.sections[0].text


def test_pypdf_robustness_messages_do_not_reach_stderr(docs_dir: Path) -> None:
    """A font with an encoding pypdf does not implement makes it log at ERROR level."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import DictionaryObject, NameObject
    from reportlab.pdfgen import canvas

    plain = docs_dir / "plain.pdf"
    drawing = canvas.Canvas(str(plain), invariant=True)
    drawing.setFont("Helvetica", 12)
    drawing.drawString(72, 720, "Odd encodings still give their text.")
    drawing.save()
    writer = PdfWriter(clone_from=PdfReader(plain))
    for page in writer.pages:
        for key in page["/Resources"]["/Font"]:
            font = page["/Resources"]["/Font"][key].get_object()
            font[NameObject("/Encoding")] = DictionaryObject(
                {NameObject("/BaseEncoding"): NameObject("/NoSuchEncoding")}
            )
    target = docs_dir / "odd.pdf"
    with target.open("wb") as handle:
        writer.write(handle)
    # In a fresh interpreter, as in the parse child: no logging handler but Python's last resort.
    code = (
        "import sys\nfrom ragkb.ingest.documents import load_document\n"
        "print(load_document(sys.argv[1]).sections[0].text)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(target)], capture_output=True, text=True, check=True
    )
    assert "encodings" in done.stdout
    assert done.stderr == ""


def test_a_table_reading_that_loses_text_is_not_used() -> None:
    from ragkb.ingest.documents.pdf_tables import _keeps
    from ragkb.types import Section

    layer = "imap2 143 imaps 993\npop3 110 pop3s 995"
    shifted = [Section("| 143 | imaps |\n| 110 | pop3s |", is_table=True)]  # columns lost
    whole = [Section("| imap2 | 143 | imaps | 993 |\n| pop3 | 110 | pop3s | 995 |", is_table=True)]

    assert not _keeps(layer, shifted)
    assert _keeps(layer, whole)
