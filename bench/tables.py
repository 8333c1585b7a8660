"""Cell look-ups in tables: is the row found, and does the chunk that holds it name its columns?

Usage: python bench/tables.py [--json OUT]

Writes three DOCX tables (a price list of 60 parts, a spec sheet, a bilingual glossary of
settings) and the same price list as two PDF tables (reportlab; one ruled, one not), ingests
them with the default settings and asks one templated cell look-up per row ("What is the unit
price of the M4 hex nut, zinc?"). The questions are templates over the tables' own cells, not
written by a helper: this measures the table handling, not retrieval in general.

"before" is the previous table handling, run in the same process: DOCX rows as "a | b" lines
packed with the usual overlap and no header repeated, PDF tables as pypdf's page text.
"after" is today's (pdfplumber finds a ruled PDF table; an unruled one is still page text).
Each file is ingested alone (the price list's three copies would compete for the same top 5).
Reported per table: hit@5 (a top-5 chunk holds the row), and "row with header"
(the best hit holding the row also holds the header, so the value can be told from the other
columns).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MATERIALS = ("stainless", "zinc", "brass", "nylon", "black oxide")
PARTS = ("hex bolt", "hex nut", "washer", "socket screw", "wing nut", "rivet")
SPEC_HEADER = ("Parameter", "Min", "Typical", "Max", "Unit")
SPECS = (
    ("Supply voltage", "3.0", "3.3", "3.6", "V"),
    ("Operating temperature", "-40", "25", "85", "°C"),
    ("Standby current", "", "1.8", "4.0", "µA"),
    ("Active current", "", "12", "18", "mA"),
    ("Clock frequency", "1", "16", "48", "MHz"),
    ("Flash endurance", "10000", "100000", "", "cycles"),
    ("Output drive strength", "", "8", "20", "mA"),
    ("Wake-up time from sleep", "", "6", "10", "µs"),
    ("ADC resolution", "", "12", "", "bits"),
    ("ADC sampling rate", "", "", "1", "Msps"),
    ("UART baud rate", "1200", "115200", "3000000", "baud"),
    ("Storage temperature", "-55", "", "125", "°C"),
)
GLOSSARY_HEADER = ("Setting", "设置项", "Default", "说明")
GLOSSARY = (
    ("chunk_tokens", "分块大小", "200", "每个文本块的最大词元数"),
    ("overlap_tokens", "重叠大小", "32", "相邻文本块之间重复的词元数"),
    ("batch_chunks", "批大小", "512", "每批嵌入并写入的文本块数"),
    ("file_timeout_s", "文件超时", "120", "解析一个文件的时间上限（秒）"),
    ("max_file_mb", "文件大小上限", "100", "超过此大小的文件会被跳过（MB）"),
    ("ocr_dpi", "识别分辨率", "200", "渲染 PDF 页面用于文字识别的分辨率"),
    ("n_ctx", "上下文长度", "2048", "模型一次能读入的词元数"),
    ("max_tokens", "回答长度上限", "256", "一个回答最多生成的词元数"),
    ("temperature", "温度", "0.2", "采样的随机程度"),
    ("k", "检索数量", "5", "每个问题检索的文本块数"),
)


def price_rows() -> list[tuple[str, str, str, str]]:
    rows = []
    for n in range(60):
        part = PARTS[n % len(PARTS)]
        material = MATERIALS[(n // len(PARTS)) % len(MATERIALS)]
        size = 3 + n // (len(PARTS) * len(MATERIALS))
        name = f"M{size} {part}, {material}"
        rows.append((name, f"FX-{1000 + 37 * n}", f"{0.05 + 0.07 * n:.2f}", str(40 + 13 * n % 900)))
    return rows


PRICE_HEADER = ("Part", "SKU", "Unit price (EUR)", "Stock")


def write_docx(
    path: Path, title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]
) -> None:
    import docx

    document = docx.Document()
    document.add_heading(title, level=1)
    document.add_paragraph(f"The {title.lower()} below is valid from 1 March.")
    table = document.add_table(rows=len(rows) + 1, cols=len(header))
    for row, values in zip(table.rows, [header, *rows], strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.save(str(path))


def write_pdf(
    path: Path, title: str, header: tuple[str, ...], rows: list[tuple[str, ...]], *, ruled: bool
) -> None:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    styles = getSampleStyleSheet()
    table = Table([header, *rows], repeatRows=1)
    if ruled:
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black)]))
    story = [Paragraph(title, styles["Heading1"]), table]
    SimpleDocTemplate(str(path), pagesize=A4, invariant=True).build(story)


def questions() -> list[dict[str, Any]]:
    """One look-up per row: (file, question, the row's key cell, the asked-for value)."""
    out = []
    for name, sku, price, _ in price_rows():
        for file in ("price-list.docx", "price-list.pdf", "price-list-unruled.pdf"):
            out.append(
                {
                    "table": file,
                    "q": f"What is the unit price of the {name}?",
                    "key": sku,
                    "value": price,
                    "header": "Unit price",
                }
            )
    for parameter, _, typical, maximum, _unit in SPECS:
        value = typical or maximum
        out.append(
            {
                "table": "spec-sheet.docx",
                "q": f"What is the typical {parameter.lower()}?",
                "key": parameter,
                "value": value,
                "header": "Typical",
            }
        )
    for setting, chinese, default, _ in GLOSSARY:
        out.append(
            {
                "table": "settings-glossary.docx",
                "q": f"{chinese}（{setting}）的默认值是多少？",
                "key": setting,
                "value": default,
                "header": "Default",
            }
        )
    return out


@contextmanager
def previous_table_handling() -> Iterator[None]:
    """Chunk tables as before: "a | b" rows, the usual overlap, no header repeated."""
    from ragkb.ingest import chunking
    from ragkb.ingest.documents import docx as docx_reader
    from ragkb.ingest.documents import pdf as pdf_reader

    chunk_table, table_rows = chunking._chunk_table, docx_reader._table_rows
    table_sections = pdf_reader.table_sections

    def old_chunk_table(
        text: str, count_tokens: Any, token_offsets: Any, limit: int
    ) -> Iterator[tuple[str, int]]:
        spans = chunking._row_spans(text)
        return chunking._chunk_spans(text, spans, count_tokens, token_offsets, limit, 32)

    def old_rows(table: Any) -> list[str]:
        return [line[2:-2] for line in table_rows(table)]  # "| a | b |" -> "a | b"

    chunking._chunk_table = old_chunk_table
    docx_reader._table_rows = old_rows
    pdf_reader.table_sections = lambda *args, **kwargs: {}  # PDF tables were page text
    try:
        yield
    finally:
        chunking._chunk_table, docx_reader._table_rows = chunk_table, table_rows
        pdf_reader.table_sections = table_sections


def measure(docs: Path, home: Path) -> dict[str, dict[str, float]]:
    """Ingest each table file into a knowledge base of its own (the price list's three copies
    would otherwise compete for the same top 5) and score its questions there."""
    from ragkb.config import load_settings
    from ragkb.kb import KnowledgeBase

    figures: dict[str, dict[str, float]] = {}
    for file in sorted(docs.iterdir()):
        kb = KnowledgeBase(load_settings({}, environ={"RAGKB_HOME": str(home / file.stem)}))
        kb.ingest([str(file)])
        marks = []
        for item in (q for q in questions() if q["table"] == file.name):
            hits = kb.search(item["q"], k=5)
            holding = [h for h in hits if item["key"] in h.text and item["value"] in h.text]
            marks.append((bool(holding), bool(holding) and item["header"] in holding[0].text))
        figures[file.name] = {
            "questions": len(marks),
            "hit@5": sum(f for f, _ in marks) / len(marks),
            "row with header": sum(n for _, n in marks) / len(marks),
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        docs.mkdir()
        write_docx(docs / "price-list.docx", "Price list", PRICE_HEADER, price_rows())
        write_pdf(docs / "price-list.pdf", "Price list", PRICE_HEADER, price_rows(), ruled=True)
        write_pdf(
            docs / "price-list-unruled.pdf", "Price list", PRICE_HEADER, price_rows(), ruled=False
        )
        write_docx(docs / "spec-sheet.docx", "Electrical characteristics", SPEC_HEADER, list(SPECS))
        write_docx(
            docs / "settings-glossary.docx", "设置说明 Settings", GLOSSARY_HEADER, list(GLOSSARY)
        )
        with previous_table_handling():
            before = measure(docs, Path(tmp) / "before")
        after = measure(docs, Path(tmp) / "after")
    print("| table | questions | hit@5 before | hit@5 after | row with header before | after |")
    print("|---|---|---|---|---|---|")
    for table in after:
        b, a = before[table], after[table]
        print(
            f"| {table} | {a['questions']} | {b['hit@5']:.2f} | {a['hit@5']:.2f} | "
            f"{b['row with header']:.2f} | {a['row with header']:.2f} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"before": before, "after": after}, indent=2))


if __name__ == "__main__":
    main()
