"""Shared fixtures: an isolated environment and factories that write real document files."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from pathlib import Path

    # ("title" | "h1".."h9" | "p", text) or ("table", rows of cell texts)
    DocxBlock = tuple[str, str] | tuple[str, Sequence[Sequence[str]]]


@pytest.fixture(scope="session", autouse=True)
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One cache folder for the session (session-scoped fixtures use it too): the ONNX query
    encoder is built once, by the first test that ingests, and reused by the others, as it is
    across a user's knowledge bases. No test touches the real cache."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAGKB_CACHE", str(folder))
        yield folder


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point RAGKB_HOME at a temp dir and turn colour off, so no test touches the real home."""
    monkeypatch.setenv("RAGKB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NO_COLOR", "1")


# ---------------------------------------------------------------------------------------------
# Document file factories. Each fixture returns a function that writes a real file into
# tmp_path/docs and returns its path.
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def docs_dir(tmp_path: Path) -> Path:
    """Return the folder the file factories write into."""
    folder = tmp_path / "docs"
    folder.mkdir(exist_ok=True)
    return folder


def _write_pdf(target: Path, pages: Sequence[str], *, chinese: bool) -> Path:
    """Render one page per item with reportlab; blank lines in an item separate paragraphs."""
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    if chinese:
        # A standard CID font: not embedded, and pypdf maps it back to Unicode cleanly.
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
        style = ParagraphStyle(
            "body", fontName="STSong-Light", fontSize=11, leading=16, wordWrap="CJK"
        )
    else:
        style = ParagraphStyle("body", fontName="Helvetica", fontSize=11, leading=15)
    story: list[object] = []
    for index, page in enumerate(pages):
        if index:
            story.append(PageBreak())
        story.extend(Paragraph(escape(part), style) for part in page.split("\n\n") if part)
    SimpleDocTemplate(str(target), pagesize=A4, invariant=True).build(story)
    return target


@pytest.fixture
def make_pdf(docs_dir: Path) -> Callable[..., Path]:
    """Return make_pdf(name, pages, *, chinese=False): one text page per item."""

    def make(name: str, pages: Sequence[str], *, chinese: bool = False) -> Path:
        return _write_pdf(docs_dir / name, pages, chinese=chinese)

    return make


@pytest.fixture
def make_docx(docs_dir: Path) -> Callable[..., Path]:
    """Return make_docx(name, blocks) writing headings, paragraphs and tables in order."""

    def make(name: str, blocks: Sequence[DocxBlock]) -> Path:
        import docx

        document = docx.Document()
        for kind, content in blocks:
            if kind == "table":
                rows = [list(row) for row in content]
                table = document.add_table(rows=len(rows), cols=max(len(r) for r in rows))
                for row, values in zip(table.rows, rows, strict=False):
                    for cell, value in zip(row.cells, values, strict=False):
                        cell.text = value
            elif kind == "title":
                document.add_heading(str(content), level=0)
            elif kind.startswith("h"):
                document.add_heading(str(content), level=int(kind[1:]))
            elif kind == "p":
                document.add_paragraph(str(content))
            else:
                raise ValueError(f"unknown block kind {kind!r}")
        target = docs_dir / name
        document.save(str(target))
        return target

    return make


def _encrypt_pdf(source: Path, target: Path, *, user_password: str) -> Path:
    """Copy a PDF with AES-256 encryption and the given user password."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-256")
    with target.open("wb") as handle:
        writer.write(handle)
    return target


@pytest.fixture
def make_encrypted_pdf(docs_dir: Path, tmp_path: Path) -> Callable[..., Path]:
    """Return make_encrypted_pdf(name, pages, *, password="secret"): AES-256, password needed."""

    def make(
        name: str = "locked.pdf",
        pages: Sequence[str] = ("Secret text.",),
        *,
        password: str = "secret",
    ) -> Path:
        plain = _write_pdf(tmp_path / f"plain-{name}", pages, chinese=False)
        return _encrypt_pdf(plain, docs_dir / name, user_password=password)

    return make


@pytest.fixture
def make_empty_password_pdf(docs_dir: Path, tmp_path: Path) -> Callable[..., Path]:
    """Return make_empty_password_pdf(name, pages): encrypted, but the user password is empty."""

    def make(name: str = "open.pdf", pages: Sequence[str] = ("Open text.",)) -> Path:
        plain = _write_pdf(tmp_path / f"plain-{name}", pages, chinese=False)
        return _encrypt_pdf(plain, docs_dir / name, user_password="")

    return make


@pytest.fixture
def make_truncated_pdf(docs_dir: Path) -> Callable[..., Path]:
    """Return make_truncated_pdf(name): a real PDF cut in half, as an interrupted download."""

    def make(name: str = "truncated.pdf") -> Path:
        target = _write_pdf(docs_dir / name, ["Some text. " * 50, "More text."], chinese=False)
        data = target.read_bytes()
        target.write_bytes(data[: len(data) // 2])
        return target

    return make


@pytest.fixture
def make_image_only_pdf(docs_dir: Path) -> Callable[..., Path]:
    """Return make_image_only_pdf(name, pages=1): pages with only a filled rectangle, no text."""

    def make(name: str = "scan.pdf", pages: int = 1) -> Path:
        from reportlab.pdfgen import canvas

        target = docs_dir / name
        drawing = canvas.Canvas(str(target), invariant=True)
        for _ in range(pages):
            drawing.rect(100, 100, 300, 400, fill=1)
            drawing.showPage()
        drawing.save()
        return target

    return make


@pytest.fixture
def make_glyph_name_pdf(docs_dir: Path) -> Callable[..., Path]:
    """Return make_glyph_name_pdf(name, pages, junk_pages): junk pages extract as /gNN names.

    The junk pages use a font whose /Differences encoding names glyphs /g32../g126 and has no
    ToUnicode map, which is how subset fonts from some PDF producers come out of pypdf.
    """

    def make(name: str, pages: Sequence[str], junk_pages: set[int]) -> Path:
        from pypdf import PdfReader, PdfWriter
        from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject
        from reportlab.pdfgen import canvas

        plain = docs_dir / f"plain-{name}"
        drawing = canvas.Canvas(str(plain), invariant=True)
        for number, text in enumerate(pages, start=1):
            drawing.setFont("Courier" if number in junk_pages else "Helvetica", 12)
            drawing.drawString(72, 720, text)
            drawing.showPage()
        drawing.save()

        writer = PdfWriter(clone_from=PdfReader(plain))
        names = [NameObject(f"/g{code}") for code in range(32, 127)]
        encoding = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Encoding"),
                NameObject("/Differences"): ArrayObject([NumberObject(32), *names]),
            }
        )
        for page in writer.pages:
            fonts = page["/Resources"]["/Font"]
            for key in fonts:
                font = fonts[key].get_object()
                if font["/BaseFont"] == "/Courier":
                    font[NameObject("/Encoding")] = encoding
        target = docs_dir / name
        with target.open("wb") as handle:
            writer.write(handle)
        plain.unlink()
        return target

    return make


@pytest.fixture
def make_fake_docx(docs_dir: Path) -> Callable[..., Path]:
    """Return make_fake_docx(name): a valid zip holding no Word document, named .docx."""

    def make(name: str = "fake.docx") -> Path:
        import zipfile

        target = docs_dir / name
        with zipfile.ZipFile(target, "w") as archive:
            archive.writestr("notes.txt", "this zip is not a Word document")
        return target

    return make


@pytest.fixture
def make_empty_file(docs_dir: Path) -> Callable[..., Path]:
    """Return make_empty_file(name): a zero-byte file."""

    def make(name: str) -> Path:
        target = docs_dir / name
        target.write_bytes(b"")
        return target

    return make


@pytest.fixture
def make_text_file(docs_dir: Path) -> Callable[..., Path]:
    """Return make_text_file(name, content, *, encoding="utf-8"); bytes are written as given."""

    def make(name: str, content: str | bytes, *, encoding: str = "utf-8") -> Path:
        target = docs_dir / name
        data = content if isinstance(content, bytes) else content.encode(encoding)
        target.write_bytes(data)
        return target

    return make


GBK_SAMPLE = (
    "余弦相似度是通过计算两个向量夹角的余弦值来评估它们的相似程度。"
    "在检索增强生成系统中、文档被切分成片段、再用嵌入模型转换为向量并存入向量数据库。"
)


@pytest.fixture
def make_gbk_txt(make_text_file: Callable[..., Path]) -> Callable[..., Path]:
    """Return make_gbk_txt(name, text=GBK_SAMPLE): Chinese text encoded as GBK, not UTF-8."""

    def make(name: str = "gbk.txt", text: str = GBK_SAMPLE) -> Path:
        return make_text_file(name, text, encoding="gbk")

    return make
