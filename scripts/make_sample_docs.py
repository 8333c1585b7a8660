"""Generate the bilingual sample documents in ``sample_docs/``.

Usage: ``python scripts/make_sample_docs.py [OUT_DIR]`` (default: ``sample_docs/`` in the repo).

The output is deterministic: reportlab runs with ``invariant=1`` and DOCX files get fixed core
properties and fixed ZIP timestamps, so re-running the script produces identical bytes.
Each PDF topic starts on its own page; ``tests/data/eval/sample_docs_gold.jsonl`` relies on
the page numbers, so keep one topic per page when editing the text.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import BaseDocTemplate, Flowable

FIXED_DATE = dt.datetime(2024, 1, 15, 9, 0, 0)
ZIP_DATE = (2024, 1, 15, 9, 0, 0)
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "sample_docs"

Section = tuple[str, list[str]]

TRACING_TITLE = "Beacon Distributed Tracing Handbook"
TRACING_SECTIONS: list[Section] = [
    (
        "1. What a trace is",
        [
            "This handbook describes how distributed tracing works on the Beacon observability "
            "platform, which is operated by the Platform Reliability team at Northwind Logistics.",
            "A trace is the complete record of one request as it travels through a distributed "
            "system. It starts when the request enters the first service and ends when the last "
            "piece of work caused by that request has finished.",
            "Every trace is identified by a trace ID of 16 bytes, written as 32 lowercase "
            "hexadecimal characters. A trace ID made only of zeros is invalid and is rejected by "
            "the collector.",
            "At Northwind Logistics the median trace contains 42 spans and touches 7 services. "
            "Traces answer questions that logs and metrics cannot answer alone: which service "
            "made a request slow, and in what order the services were called.",
        ],
    ),
    (
        "2. Spans",
        [
            "A span is a single named and timed operation inside a trace, for example one HTTP "
            "handler, one database query or one call to a message broker.",
            "Each span has a span ID of 8 bytes, written as 16 hexadecimal characters, together "
            "with a start timestamp, an end timestamp, a status and a set of key-value attributes.",
            "Beacon recognises five span kinds: SERVER, CLIENT, PRODUCER, CONSUMER and INTERNAL. "
            "A CLIENT span in the caller is normally paired with a SERVER span in the callee.",
            "Beacon accepts at most 128 attributes per span. Extra attributes are dropped, and "
            "the number of dropped attributes is counted in the metric "
            "beacon_dropped_attributes_total.",
            "Span names should be low-cardinality: use GET /orders/{id} rather than a name that "
            "contains the order number itself.",
        ],
    ),
    (
        "3. Trace trees",
        [
            "A trace tree is the tree formed by all spans of a single request, linked by "
            "parent/child relationships. The trace tree shows which operation caused which.",
            "The root span is the only span in the tree without a parent. It usually represents "
            "the entry point of the request, for example the API gateway receiving the call.",
            "Every other span records the span ID of its parent in the field parent_span_id. A "
            "span can have many children but exactly one parent.",
            "Spans that share the same parent are siblings. Siblings whose time ranges overlap "
            "were executed in parallel; siblings that follow one another ran sequentially.",
            "The Beacon UI draws the trace tree as a waterfall view, one row per span, indented by "
            "depth. The collector rejects trace trees that are deeper than 256 levels.",
        ],
    ),
    (
        "4. Sampling",
        [
            "Recording every request is expensive, so Beacon keeps only a sample of traces.",
            "Head sampling makes the keep-or-drop decision at the root span, before the request "
            "is processed. The default head sampling rate in Beacon is 10 percent, which means "
            "one request in ten is traced.",
            "Tail sampling makes the decision after the trace is complete, inside the collector. "
            "The collector buffers the spans of each trace for a decision wait of 30 seconds "
            "before it applies the tail sampling policies.",
            "The default tail sampling policy keeps 100 percent of traces that contain an error "
            "and every trace whose root span lasts longer than 2 seconds.",
            "Head sampling is cheap but blind to the outcome of the request; tail sampling sees "
            "the outcome but needs memory in the collector for the buffered spans.",
        ],
    ),
    (
        "5. Context propagation",
        [
            "Context propagation carries the trace ID and the current span ID from one service "
            "to the next, so that the spans of all services join the same trace.",
            "Beacon uses the W3C Trace Context standard. Its traceparent header has four fields "
            "separated by dashes: version-traceid-parentid-traceflags.",
            "Example: traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "The version is 00. The trace flags value 01 means that the trace is sampled, and 00 "
            "means that it is not. The parent ID is the span ID of the calling span.",
            "The companion tracestate header carries vendor-specific data and may hold up to 32 "
            "list-members. For message queues, the same headers travel in the message metadata.",
            "Legacy B3 headers such as X-B3-TraceId are still accepted at the edge, but Beacon "
            "converts them to traceparent before forwarding the request.",
        ],
    ),
    (
        "6. Storage and retention",
        [
            "Finished spans are exported to the Beacon store, which writes them as columnar "
            "Parquet files partitioned by hour.",
            "The default retention period is 14 days. Older traces are deleted by the nightly "
            "compaction job, which starts at 02:00 UTC.",
            "Traces that contain an error can be copied to cold storage, where they are kept for "
            "90 days.",
            "After compression an average span takes about 180 bytes on disk. The store indexes "
            "the service name, the operation name, the duration and the trace ID.",
        ],
    ),
    (
        "7. Troubleshooting",
        [
            "Broken traces: if one request shows up as several traces with several root spans, a "
            "service in the middle is not forwarding the traceparent header.",
            "Clock skew: if a child span appears to start before its parent, the hosts' clocks "
            "disagree. Beacon corrects clock skew of up to 500 milliseconds automatically.",
            "Missing spans: the exporter holds finished spans in a queue of 4096 spans. When the "
            "queue is full, new spans are dropped and beacon_exporter_dropped_spans_total grows.",
            "Collector not reachable: the collector listens on port 4317 for OTLP over gRPC and "
            "on port 4318 for OTLP over HTTP. Check the firewall rules for both ports.",
        ],
    ),
]

RAG_ZH_TITLE = "检索增强生成（RAG）入门"
RAG_ZH_SECTIONS: list[Section] = [
    (
        "一、什么是检索增强生成",
        [
            "检索增强生成（RAG）先从本地资料中检索相关片段，再把片段交给大语言模型生成答案。"
            "这样模型可以回答训练数据中没有的问题，并且能够给出答案的出处。",
            "一个完整的检索增强生成流程包括四个步骤：加载、切分、向量化与存储、检索与生成。",
            "第一步是加载：读取 PDF、Word、Markdown 等文件，并提取其中的文字和页码。",
            "第二步是切分：把长文档切成较短的文本块。本教程建议每块约五百个字，"
            "相邻文本块之间重叠五十个字，以免一句话被切断后丢失含义。",
            "第三步是向量化与存储：用嵌入模型把每个文本块转换成向量，并把向量和原文一起存入向量数据库。",
            "第四步是检索与生成：把问题也转换成向量，找出最相似的四个文本块，"
            "再把它们和问题一起放进提示词，交给模型生成回答。",
        ],
    ),
    (
        "二、上下文窗口与采样参数",
        [
            "上下文窗口（n_ctx）是模型一次能够处理的词元总数。",
            "输入的词元数加上输出的词元数不能超过 n_ctx。",
            "例如，当 n_ctx 为 2048 时，如果为回答预留 512 个词元，"
            "那么系统提示词、检索片段和问题加在一起最多只能占用 1536 个词元。",
            "如果检索到的片段太多，超出上下文窗口，就必须丢弃相关性最低的片段，而不是截断问题。",
            "温度控制输出的随机程度。温度越低，输出越确定；温度为零时，模型每一步都选择概率最高的词元。",
            "top-p 又叫核采样：模型只在累计概率达到 p 的候选词元中抽样。"
            "做知识问答时，建议把温度设在 0.1 到 0.3 之间。",
        ],
    ),
    (
        "三、量化模型与 GGUF 格式",
        [
            "GGUF 是 llama.cpp 使用的模型文件格式。"
            "一个 GGUF 文件同时包含模型权重、分词器和对话模板。",
            "量化把原本十六位的权重压缩成四位或五位，从而减少内存占用并提高在 CPU 上的推理速度。",
            "以七十亿参数的模型为例，FP16 版本约占 14 GB，而 Q4_K_M 量化版本只占约 4.1 GB。",
            "量化会带来少量精度损失。对于本地知识库问答，Q4_K_M 通常是速度和质量之间较好的折中。",
        ],
    ),
]


def _build_pdf(
    path: Path, title: str, sections: list[Section], *, font: str, bold: str, cjk: bool
) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import cm
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer

    wrap = "CJK" if cjk else None
    body = ParagraphStyle(
        "body", fontName=font, fontSize=11, leading=17, spaceAfter=8, wordWrap=wrap
    )
    heading = ParagraphStyle(
        "heading", fontName=bold, fontSize=16, leading=22, spaceAfter=12, wordWrap=wrap
    )
    title_style = ParagraphStyle(
        "title", fontName=bold, fontSize=20, leading=26, spaceAfter=18, wordWrap=wrap
    )

    def footer(canvas: Canvas, doc: BaseDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(font, 9)
        canvas.drawCentredString(A4[0] / 2, 1.2 * cm, f"- {doc.page} -")
        canvas.restoreState()

    story: list[Flowable] = [Paragraph(title, title_style)]
    for index, (head, paragraphs) in enumerate(sections):
        if index:
            story.append(PageBreak())
        story.append(Paragraph(head, heading))
        story.extend(Paragraph(text, body) for text in paragraphs)
        story.append(Spacer(1, 6))
    doc = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        title=title,
        author="ragkb sample generator",
        invariant=1,
        leftMargin=2.5 * cm,
        rightMargin=2.5 * cm,
    )
    doc.build(story, onFirstPage=footer, onLaterPages=footer)


def make_tracing_pdf(path: Path) -> None:
    _build_pdf(
        path,
        TRACING_TITLE,
        TRACING_SECTIONS,
        font="Helvetica",
        bold="Helvetica-Bold",
        cjk=False,
    )


def make_rag_zh_pdf(path: Path) -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    _build_pdf(
        path, RAG_ZH_TITLE, RAG_ZH_SECTIONS, font="STSong-Light", bold="STSong-Light", cjk=True
    )


def _save_docx(document: DocxDocument, path: Path, title: str) -> None:
    """Save with fixed core properties and ZIP timestamps so the bytes are reproducible."""
    props = document.core_properties
    props.author = "ragkb sample generator"
    props.last_modified_by = "ragkb sample generator"
    props.title = title
    props.created = FIXED_DATE
    props.modified = FIXED_DATE
    props.last_printed = FIXED_DATE
    props.revision = 1
    buffer = io.BytesIO()
    document.save(buffer)
    buffer.seek(0)
    with (
        zipfile.ZipFile(buffer) as src,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for item in src.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, src.read(item.filename))


def _add_table(document: DocxDocument, rows: list[tuple[str, ...]]) -> None:
    table = document.add_table(rows=len(rows), cols=len(rows[0]))
    table.style = "Table Grid"
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.cell(r, c).text = text


def make_vector_docx(path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_heading("Vector Search Guide", level=0)
    d.add_paragraph(
        "This guide explains how text embeddings and vector indexes work together in a local "
        "semantic search system."
    )
    d.add_heading("Embeddings", level=1)
    d.add_heading("What an embedding is", level=2)
    d.add_paragraph(
        "An embedding maps a piece of text to a fixed-length vector of floating-point numbers. "
        "Texts with similar meaning end up close to each other in the vector space, even when "
        "they share no words."
    )
    d.add_heading("Choosing a model", level=2)
    d.add_paragraph(
        "The table below compares three embedding models that run on a laptop CPU. A larger "
        "dimension usually improves quality but needs more memory per stored vector."
    )
    _add_table(
        d,
        [
            ("Model", "Dimensions", "Max input tokens", "Languages"),
            ("all-MiniLM-L6-v2", "384", "256", "English"),
            ("multilingual-e5-small", "384", "512", "About 100 languages"),
            ("bge-m3", "1024", "8192", "Over 100 languages"),
        ],
    )
    d.add_heading("Similarity metrics", level=1)
    d.add_heading("Cosine similarity", level=2)
    d.add_paragraph(
        "Cosine similarity measures the angle between two vectors and ignores their length. It "
        "ranges from -1 to 1, and a higher value means the texts are more similar."
    )
    d.add_heading("Euclidean (L2) distance", level=2)
    d.add_paragraph(
        "Euclidean distance, also called L2 distance, measures the straight-line distance "
        "between two vectors. It is 0 for identical vectors, and a lower value means closer."
    )
    d.add_heading("Normalized vectors", level=2)
    d.add_paragraph(
        "When every vector is normalized to unit length, the squared L2 distance equals 2 minus "
        "2 times the cosine similarity. Because of this identity, cosine similarity and L2 "
        "distance rank the results identically on normalized vectors."
    )
    _add_table(
        d,
        [
            ("Metric", "Range", "Closer means", "Chroma space name"),
            ("Cosine distance", "0 to 2", "lower", "cosine"),
            ("Squared L2 distance", "0 to infinity", "lower", "l2"),
            ("Inner product", "any real number", "higher", "ip"),
        ],
    )
    d.add_heading("HNSW index", level=1)
    d.add_paragraph(
        "HNSW (Hierarchical Navigable Small World) is a graph index for approximate nearest "
        "neighbour search. Our default parameters are M = 16, ef_construction = 200 and "
        "ef_search = 64."
    )
    d.add_paragraph(
        "M is the number of links each node keeps per layer. ef_construction is the size of the "
        "candidate list while the graph is built; ef_search is the size of the candidate list "
        "at query time."
    )
    d.add_paragraph(
        "In our benchmark with 1 million vectors, raising ef_search from 64 to 128 improved "
        "recall@10 from 0.95 to 0.99, while the median query latency rose from 1.2 ms to 2.1 ms."
    )
    d.add_heading("Chunking", level=1)
    d.add_heading("Chunk size and overlap", level=2)
    d.add_paragraph(
        "Documents are split into chunks before they are embedded. We recommend chunks of 400 "
        "tokens with an overlap of 60 tokens between neighbouring chunks."
    )
    d.add_paragraph(
        "Chunks that are too large dilute the embedding with unrelated content; chunks that are "
        "too small lose the context needed to answer a question."
    )
    d.add_heading("Keeping metadata", level=2)
    d.add_paragraph(
        "Every chunk should keep its file name, page number and heading so that an answer can "
        "cite where its information came from."
    )
    _save_docx(d, path, "Vector Search Guide")


def make_settings_zh_docx(path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_heading("模型设置说明", level=0)
    d.add_paragraph("本文说明本地问答助手中常用的模型设置，以及每个设置的默认值。")
    d.add_heading("生成参数", level=1)
    d.add_paragraph("生成参数决定模型如何从候选词元中选择下一个词元。下表列出了默认值。")
    _add_table(
        d,
        [
            ("参数", "默认值", "说明"),
            ("temperature", "0.2", "数值越大，回答越多样"),
            ("top_k", "40", "只在概率最高的前 40 个词元中抽样"),
            ("top_p", "0.95", "只在累计概率达到 0.95 的词元中抽样"),
            ("max_tokens", "768", "单次回答最多生成的词元数"),
        ],
    )
    d.add_heading("系统提示词", level=1)
    d.add_paragraph(
        "系统提示词放在每次对话的最前面，用来规定助手的角色和回答规则。"
        "默认的系统提示词要求模型只根据提供的资料回答。"
    )
    d.add_paragraph(
        "当资料中没有答案时，模型应当回答“资料中未找到相关内容”。系统提示词建议不超过三百个字。"
    )
    d.add_heading("对话记忆", level=1)
    d.add_paragraph(
        "对话记忆让模型记住前面的问答。默认保留最近五轮对话，超出时最早的一轮会被丢弃。"
    )
    d.add_paragraph("输入 /reset 命令可以清空对话记忆，重新开始一段新的对话。")
    d.add_heading("CPU 与 GPU", level=1)
    d.add_paragraph(
        "参数 n_gpu_layers 决定把多少层模型放到显卡上运行。"
        "设为 -1 表示把全部层都放到 GPU 上，设为 0 表示只使用 CPU。"
    )
    d.add_paragraph(
        "一个 Q4_K_M 量化的七十亿参数模型全部放到 GPU 上大约需要 5 GB 显存。"
        "只用 CPU 时，在八核处理器上每秒大约生成 9 个词元。"
    )
    _save_docx(d, path, "模型设置说明")


FAQ_MD = """\
# Ferrylog FAQ

Ferrylog is a small command-line tool that keeps a searchable journal of your terminal sessions.

## Installation

### Which Python versions are supported?

Ferrylog 3.2 supports Python 3.9 to 3.12. Python 3.8 is no longer supported.

### How do I install Ferrylog?

Run `pip install ferrylog`. The package has no compiled dependencies, so no C compiler is needed.

## Offline use

### Can I install Ferrylog on a machine without internet access?

Yes. Download the wheelhouse bundle `ferrylog-wheelhouse-3.2.tar.gz` (about 85 MB) on a connected
machine, copy it over, unpack it and run
`pip install --no-index --find-links ./wheelhouse ferrylog`.

### How do I make sure Ferrylog never uses the network?

Set the environment variable `FERRYLOG_OFFLINE=1`. In offline mode the update check is skipped and
any command that would need the network fails with exit code 7.

## Data and privacy

### Where does Ferrylog store its data?

The journal lives in `~/.local/share/ferrylog/journal.db` on Linux. Use `--data-dir` to move it.

### Does Ferrylog send telemetry?

No. Telemetry does not exist in Ferrylog; the only network access is the optional update check,
which runs at most once every 7 days.

### Under which license is Ferrylog released?

Ferrylog is released under the Apache-2.0 license.
"""

RELEASE_NOTES = """\
Ferrylog release notes
======================

3.2.0 (2024-05-14)
- New command: ferrylog doctor checks the journal database for corruption.
- Journal sync is now 40 percent faster on large journals.
- Dropped support for Python 3.8.

3.1.2 (2024-03-02)
- Fixed a crash when the terminal width was reported as 0 columns.
- The offline wheelhouse bundle now includes the optional color extra.

3.1.0 (2024-01-20)
- Added the --data-dir option.
- Search results are now highlighted in the terminal.
"""


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    make_tracing_pdf(out / "tracing-handbook.pdf")
    make_rag_zh_pdf(out / "rag-intro-zh.pdf")
    make_vector_docx(out / "vector-search-guide.docx")
    make_settings_zh_docx(out / "model-settings-zh.docx")
    (out / "faq.md").write_text(FAQ_MD, encoding="utf-8")
    (out / "release-notes.txt").write_text(RELEASE_NOTES, encoding="utf-8")
    sys.stderr.write(f"wrote 6 sample documents to {out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
