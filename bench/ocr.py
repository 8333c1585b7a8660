"""OCR figures: character error rate, speed and memory of each engine, and retrieval on scans.

Usage: python bench/ocr.py [--engines rapidocr tesseract] [--pages N] [--threads N]
                           [--skip-engines] [--skip-retrieval] [--json OUT]

OCR engines: the first N pages (default 3) of each PDF of corpus_c are rendered (pypdfium2,
grey) at 150 and 300 dpi, each as a clean image and as a "scan" (turned 2 degrees, 0.2 %
salt-and-pepper specks), saved as PNG and read back with load_document. The character error
rate is the edit distance to the page's text layer (read with OCR off) over the reference's
length, whitespace dropped from both; "order ignored" counts only the characters missed or
added, so the gap to the CER is text put in the wrong order. Each engine runs alone in a
child process of this script, so its peak RSS is its own; seconds per page exclude the
engine's one-off load, reported apart. --threads is OcrOptions.threads (0, the default:
the engine's own choice, as ingest has it).

Retrieval on scans: corpus_c as it is, and a copy whose PDFs are image-only (pages rendered
at 200 dpi, turned 1 degree, 0.1 % specks; DOCX files unchanged), each ingested into a fresh
knowledge base with the default settings (OCR auto, rapidocr) in a child process of its own,
then scored on the gold questions (hit@1, hit@5, MRR as `ragkb eval` counts them).

Markdown tables go to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from statistics import mean
from typing import TYPE_CHECKING, Any

from corpora import CORPORA

if TYPE_CHECKING:
    from PIL.Image import Image

ENGINES = ("rapidocr", "tesseract")
CORPUS = "corpus_c"
ENGINE_DPIS = (150, 300)
ENGINE_SCAN = {"angle": 2.0, "noise": 0.002}
RETRIEVAL_DPI = 200
RETRIEVAL_SCAN = {"angle": 1.0, "noise": 0.001}
MIB = 1024  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engines", nargs="*", default=list(ENGINES), choices=ENGINES)
    parser.add_argument("--pages", type=int, default=3, help="pages per PDF for the engines")
    parser.add_argument(
        "--threads", type=int, default=0, help="OCR threads for the engines (0: their own choice)"
    )
    parser.add_argument("--skip-engines", action="store_true")
    parser.add_argument("--skip-retrieval", action="store_true")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)  # a job file: see _work
    args = parser.parse_args()
    if args.worker:
        _work(args.worker)
        return
    started = time.perf_counter()
    report: dict[str, Any] = {"corpus": CORPUS}
    with tempfile.TemporaryDirectory(prefix="ragkb-bench-ocr-") as tmp:
        if not args.skip_engines:
            engines = bench_engines(args.engines, args.pages, args.threads, Path(tmp) / "engines")
            report["engines"] = engines
        if not args.skip_retrieval:
            report["retrieval"] = bench_retrieval(Path(tmp) / "retrieval")
    report["wall_seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    if "engines" in report:
        print_engines(report["engines"])
    if "retrieval" in report:
        print_retrieval(report["retrieval"])
    _progress(f"done in {report['wall_seconds']} s")


# --- scans ---------------------------------------------------------------------------------


def render_pages(source: Path, dpi: int, count: int | None = None) -> Iterator[Image]:
    """Yield SOURCE's first COUNT pages (all by default) as grey images at DPI."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(source)
    try:
        for index in range(len(pdf) if count is None else min(count, len(pdf))):
            page = pdf[index]
            try:
                yield page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            finally:
                page.close()
    finally:
        pdf.close()


def as_scan(image: Image, *, angle: float, noise: float) -> Image:
    """Turn IMAGE by ANGLE degrees (white corners) and speckle a NOISE share of its pixels."""
    # A fresh generator per page: a page's scan is the same whatever else the run makes.
    rng = random.Random(0)
    image = image.rotate(angle, expand=True, fillcolor=255)
    pixels = image.load()
    assert pixels is not None
    for _ in range(int(image.width * image.height * noise)):
        pixels[rng.randrange(image.width), rng.randrange(image.height)] = rng.choice((0, 255))
    return image


def reference_pages(source: Path) -> dict[int, str]:
    """Return SOURCE's text layer per page, as ragkb reads it with OCR off."""
    from ragkb.ingest.documents import load_document
    from ragkb.ingest.documents.scans import OcrOptions

    document = load_document(source, ocr=OcrOptions(mode="off"))
    return {section.page or 0: section.text for section in document.sections}


def image_only_pdf(source: Path, target: Path) -> int:
    """Write SOURCE as TARGET, a PDF of scanned page images without a text layer; return pages."""
    pages = [
        as_scan(image, **RETRIEVAL_SCAN) for image in render_pages(source, RETRIEVAL_DPI, None)
    ]
    pages[0].save(target, save_all=True, append_images=pages[1:], resolution=RETRIEVAL_DPI)
    return len(pages)


# --- character error rate ------------------------------------------------------------------


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, one row of the DP table at a time in numpy.

    Insertions chain along a row (cur[j] <= cur[j-1] + 1), which is a running minimum of
    cur[j] - j: so each row is a few vector operations instead of a Python loop over B.
    """
    import numpy as np

    if not a or not b:
        return len(a) + len(b)
    codes = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    offsets = np.arange(len(b) + 1, dtype=np.int64)
    previous = offsets.copy()
    current = np.empty_like(previous)
    for i, char in enumerate(a, 1):
        current[0] = i
        np.minimum(previous[1:] + 1, previous[:-1] + (codes != ord(char)), out=current[1:])
        previous = np.minimum.accumulate(current - offsets) + offsets
    return int(previous[-1])


def error_rate(reference: str, read: str) -> float:
    """Character error rate: edit distance over the reference's length, whitespace dropped."""
    a = "".join(reference.split())
    b = "".join(read.split())
    return edit_distance(a, b) / max(len(a), 1)


def order_free_error_rate(reference: str, read: str) -> float:
    """The characters missed or added, their order ignored, over the reference's length.

    Each edit changes at most one character either way, so this is a lower bound of the CER;
    the gap between the two is text read right but put in the wrong order (lines merged).
    """
    a = Counter("".join(reference.split()))
    b = Counter("".join(read.split()))
    return max((a - b).total(), (b - a).total()) / max(a.total(), 1)


# --- the engines ---------------------------------------------------------------------------


def bench_engines(engines: list[str], pages: int, threads: int, tmp: Path) -> dict[str, Any]:
    """Make the page variants, read them with each engine in turn, and score the readings."""
    docs = CORPORA[CORPUS][0]
    tmp.mkdir(parents=True)
    items: list[dict[str, Any]] = []
    for source in sorted(docs.glob("*.pdf")):
        references = reference_pages(source)
        lang = source.name.split("-", 1)[0]
        for dpi in ENGINE_DPIS:
            for number, image in enumerate(render_pages(source, dpi, pages), 1):
                for variant in ("clean", "scanned"):
                    picture = image if variant == "clean" else as_scan(image, **ENGINE_SCAN)
                    png = tmp / f"{source.stem}-p{number}-{dpi}-{variant}.png"
                    picture.save(png)
                    items.append(
                        {
                            "file": source.name,
                            "page": number,
                            "lang": lang,
                            "dpi": dpi,
                            "variant": variant,
                            "png": str(png),
                            "size": list(picture.size),
                            "reference": references.get(number, ""),
                        }
                    )
    _progress(f"engines: {len(items)} page images made under {tmp}")
    out: dict[str, Any] = {
        "pages_per_pdf": pages,
        "threads": threads,
        "scan": ENGINE_SCAN,
        "runs": {},
        "skipped": {},
    }
    for engine in engines:
        if engine == "tesseract" and shutil.which("tesseract") is None:
            out["skipped"][engine] = "tesseract is not on PATH"
            _progress("engines: tesseract skipped (not on PATH)")
            continue
        # One engine at a time, each in its own process: two cores, and RSS of its own.
        job = {"kind": "engine", "engine": engine, "threads": threads}
        run = _run_worker({**job, "pages": [item["png"] for item in items]}, tmp)
        rows = []
        for item, read in zip(items, run.pop("pages"), strict=True):
            row = {k: v for k, v in item.items() if k not in ("png", "reference")}
            row["reference_chars"] = len("".join(item["reference"].split()))
            row["read_chars"] = len("".join(read["text"].split()))
            row["cer"] = round(error_rate(item["reference"], read["text"]), 4)
            row["order_free_cer"] = round(order_free_error_rate(item["reference"], read["text"]), 4)
            row.update(read)
            rows.append(row)
        run["pages"] = rows
        out["runs"][engine] = run
        _progress(f"engines: {engine} mean CER {mean(r['cer'] for r in rows):.3f}")
    return out


def _engine_work(job: dict[str, Any]) -> dict[str, Any]:
    """In the child: load ENGINE once, then read each page image through load_document."""
    from ragkb.errors import DocumentError
    from ragkb.ingest.documents import load_document
    from ragkb.ingest.documents.ocr import ocr_engine
    from ragkb.ingest.documents.scans import OcrOptions

    name, threads = job["engine"], job["threads"]
    before = _max_rss(resource.RUSAGE_SELF)
    started = time.perf_counter()
    engine = ocr_engine(name, threads=threads)  # cached: load_document below finds it loaded
    load_seconds = time.perf_counter() - started
    pages = []
    for number, png in enumerate(job["pages"], 1):
        error = None
        started = time.perf_counter()
        try:
            document = load_document(png, ocr=OcrOptions(engine=name, threads=threads))
            text = "\n\n".join(section.text for section in document.sections)
        except DocumentError as exc:  # nothing read on the page: scored as read empty
            text, error = "", exc.reason
        seconds = time.perf_counter() - started
        pages.append({"seconds": round(seconds, 3), "text": text, "error": error})
        _progress(f"  {name} {number}/{len(job['pages'])} {Path(png).name}: {seconds:.1f} s")
    return {
        "engine": name,
        "describe": engine.describe(),
        "load_seconds": round(load_seconds, 3),
        "rss_before_load_mib": round(before / MIB, 1),
        "peak_rss_mib": round(_max_rss(resource.RUSAGE_SELF) / MIB, 1),
        # Tesseract runs as a program per page: its memory is a child's, not this process's.
        "peak_child_rss_mib": round(_max_rss(resource.RUSAGE_CHILDREN) / MIB, 1),
        "pages": pages,
    }


# --- retrieval on scans --------------------------------------------------------------------


def bench_retrieval(tmp: Path) -> dict[str, Any]:
    """Ingest corpus_c and its scanned copy into fresh knowledge bases; score both."""
    docs, golds = CORPORA[CORPUS]
    (gold,) = golds
    scans = tmp / "scanned-docs"
    scans.mkdir(parents=True)
    scanned_pages = 0
    for source in sorted(docs.iterdir()):
        if source.suffix.lower() == ".pdf":
            started = time.perf_counter()
            pages = image_only_pdf(source, scans / source.name)
            scanned_pages += pages
            seconds = time.perf_counter() - started
            _progress(f"retrieval: {source.name} scanned, {pages} pages, {seconds:.1f} s")
        else:
            shutil.copy2(source, scans / source.name)
    sources = {}
    for line in gold.read_text(encoding="utf-8").splitlines():
        if line.strip():
            question = json.loads(line)
            sources[question["id"]] = question.get("source")
    out: dict[str, Any] = {
        "dpi": RETRIEVAL_DPI,
        "scan": RETRIEVAL_SCAN,
        "scanned_pdf_pages": scanned_pages,
        "sources": sources,
        "copies": {},
    }
    for copy, folder in (("original", docs), ("scanned", scans)):
        _progress(f"retrieval: ingesting the {copy} copy")
        job = {"kind": "retrieval", "docs": str(folder), "gold": str(gold)}
        job["home"] = str(tmp / f"home-{copy}")
        out["copies"][copy] = _run_worker(job, tmp)
    return out


def _retrieval_work(job: dict[str, Any]) -> dict[str, Any]:
    """In the child: ingest DOCS into a knowledge base at HOME, default settings, and eval."""
    from ragkb.config import load_settings
    from ragkb.evaluation import evaluate
    from ragkb.kb import KnowledgeBase
    from ragkb.types import ProgressEvent

    def progress(event: ProgressEvent) -> None:
        if event.stage == "ocr" and event.pages_total and event.pages_done == event.pages_total:
            _progress(f"  ocr: {Path(event.path).name}, {event.pages_total} pages")

    settings = load_settings({}, environ={"RAGKB_HOME": job["home"]})
    started = time.perf_counter()
    report = KnowledgeBase(settings).ingest([job["docs"]], progress=progress)
    seconds = time.perf_counter() - started
    kb = KnowledgeBase(settings)
    files = kb.files()
    _progress(f"  ingested in {seconds:.1f} s; scoring")
    return {
        "ingest_seconds": round(seconds, 1),
        "files": len(report.added),
        "failed": [[f.path, f.reason] for f in report.failed],
        "chunks": report.chunks_added,
        "ocr_pages": sum(record.ocr_pages for record in files),
        "ocr_pages_by_file": {Path(r.path).name: r.ocr_pages for r in files},
        "settings": {
            "ocr": settings.ingest.ocr,
            "ocr_engine": settings.ingest.ocr_engine,
            "ocr_dpi": settings.ingest.ocr_dpi,
            "mode": settings.retrieval.mode,
        },
        "eval": evaluate(kb, Path(job["gold"])),
        "peak_rss_mib": round(_max_rss(resource.RUSAGE_SELF) / MIB, 1),
        "peak_child_rss_mib": round(_max_rss(resource.RUSAGE_CHILDREN) / MIB, 1),
    }


def question_groups(
    retrieval: dict[str, Any], rows: list[dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """Split eval's per-question rows by the kind of file the gold answer is in.

    The language is the document's (its name's prefix): some questions ask in the other one.
    """
    sources = {k: str(v or "") for k, v in retrieval["sources"].items()}
    pdf = [r for r in rows if sources[r["id"]].endswith(".pdf")]
    docx = [r for r in rows if sources[r["id"]].endswith(".docx")]
    return {
        "PDF sources, en-*.pdf": [r for r in pdf if sources[r["id"]].startswith("en-")],
        "PDF sources, zh-*.pdf": [r for r in pdf if sources[r["id"]].startswith("zh-")],
        "PDF sources": pdf,
        "DOCX sources": docx,
        "all questions": rows,
    }


# --- the worker processes ------------------------------------------------------------------


def _run_worker(job: dict[str, Any], tmp: Path) -> dict[str, Any]:
    """Run JOB in a fresh `python bench/ocr.py --worker` process and return what it wrote."""
    job_file = tmp / f"job-{job['kind']}-{time.monotonic_ns()}.json"
    job["out"] = str(job_file.with_suffix(".out.json"))
    job_file.write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--worker", str(job_file)], check=True)
    result = json.loads(Path(job["out"]).read_text(encoding="utf-8"))
    result["process_seconds"] = round(time.perf_counter() - started, 1)
    return result


def _work(job_file: Path) -> None:
    job = json.loads(job_file.read_text(encoding="utf-8"))
    result = _engine_work(job) if job["kind"] == "engine" else _retrieval_work(job)
    Path(job["out"]).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")


def _max_rss(who: int) -> int:
    return resource.getrusage(who).ru_maxrss


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- tables --------------------------------------------------------------------------------


def print_engines(engines: dict[str, Any]) -> None:
    """Print the engines' load and memory, then CER and speed per language, dpi and variant."""
    threads = engines["threads"] or "the engine's own choice"
    print(
        f"\n### OCR engines: {CORPUS}, first {engines['pages_per_pdf']} pages of each PDF, "
        f"threads: {threads}\n"
    )
    print(
        "| engine | version | model load, s | RSS before load, MiB | peak RSS, MiB | "
        "peak RSS of a child program, MiB | pages read | mean s/page |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, run in engines["runs"].items():
        seconds = [p["seconds"] for p in run["pages"]]
        cells = [
            name,
            run["describe"]["engine"],
            f"{run['load_seconds']:.2f}",
            run["rss_before_load_mib"],
            run["peak_rss_mib"],
            run["peak_child_rss_mib"] or "",
            len(seconds),
            f"{mean(seconds):.2f}",
        ]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    for name, why in engines["skipped"].items():
        print(f"\n{name}: not measured ({why}).")
    print(
        "\n| engine | lang | dpi | variant | pages | mean CER | worst page CER | "
        "mean CER, order ignored | mean s/page |\n|---|---|---|---|---|---|---|---|---|"
    )
    for name, run in engines["runs"].items():
        groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
        for row in run["pages"]:
            groups.setdefault((row["lang"], row["dpi"], row["variant"]), []).append(row)
        for (lang, dpi, variant), rows in sorted(groups.items()):
            cells = [
                name,
                lang,
                dpi,
                variant,
                len(rows),
                f"{mean(r['cer'] for r in rows):.3f}",
                f"{max(r['cer'] for r in rows):.3f}",
                f"{mean(r['order_free_cer'] for r in rows):.3f}",
                f"{mean(r['seconds'] for r in rows):.2f}",
            ]
            print("| " + " | ".join(str(c) for c in cells) + " |")
    errors = [
        f"{name} {r['file']} p{r['page']} {r['dpi']} {r['variant']}: {r['error']}"
        for name, run in engines["runs"].items()
        for r in run["pages"]
        if r["error"]
    ]
    if errors:
        print("\nPages read as empty: " + "; ".join(errors))


def print_retrieval(retrieval: dict[str, Any]) -> None:
    """Print ingest facts and hit@1, hit@5, MRR for each copy and each group of questions."""
    from ragkb.evaluation import _metrics

    scan = retrieval["scan"]
    print(
        f"\n### Retrieval on scans: {CORPUS}, PDFs as image-only scans "
        f"({retrieval['dpi']} dpi, turned {scan['angle']:g} degree, {scan['noise']:.1%} specks)\n"
    )
    print("| copy | files | failed | chunks | OCR pages | ingest, s | mode |")
    print("|---|---|---|---|---|---|---|")
    for copy, run in retrieval["copies"].items():
        cells = [
            copy,
            run["files"],
            len(run["failed"]),
            run["chunks"],
            run["ocr_pages"],
            run["ingest_seconds"],
            run["settings"]["mode"],
        ]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    print(
        "\n| questions | copy | questions | answerable | hit@1 | hit@5 | MRR | "
        "refused, answerable |\n|---|---|---|---|---|---|---|---|"
    )
    grouped = {
        copy: question_groups(retrieval, run["eval"]["questions"])
        for copy, run in retrieval["copies"].items()
    }
    for group in next(iter(grouped.values())):
        for copy, groups in grouped.items():
            m = _metrics(groups[group], False)
            cells = [
                group,
                copy,
                m["questions"],
                m["answerable"],
                m["hit@1"],
                m["hit@5"],
                m["mrr"],
                m["false_refusal_rate"],
            ]
            print("| " + " | ".join(_cell(c) for c in cells) + " |")
    if {"original", "scanned"} <= set(grouped):
        found = {r["id"]: r for r in grouped["original"]["PDF sources"]}
        lost = [
            r["id"]
            for r in grouped["scanned"]["PDF sources"]
            if _hit5(found[r["id"]]) and not _hit5(r)
        ]
        gained = [
            r["id"]
            for r in grouped["scanned"]["PDF sources"]
            if not _hit5(found[r["id"]]) and _hit5(r)
        ]
        print(
            f"\nPDF questions found at 5 in the original but not in the scans: "
            f"{', '.join(lost) or 'none'}; the other way round: {', '.join(gained) or 'none'}"
        )


def _hit5(row: dict[str, Any]) -> bool:
    return not row["refused"] and bool(row["covered_rank"]) and row["covered_rank"] <= 5


def _cell(value: Any) -> str:
    return "" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    main()
