"""Measure how `ragkb ingest` copes with a large set of malformed PDFs and DOCX files.

Usage: python bench/malformed.py [--keep]

Builds ~300 broken variants of the sample documents (deterministic, random.Random(0)),
times `ragkb.ingest.documents.load_document` on each in-process (any exception other than
DocumentError is a BUG), then runs `python -m ragkb ingest DIR --json` on them all in a
subprocess and prints what it tried, what failed and why, and how long it took.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ragkb.types import Document

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_docs"
INGEST_TIMEOUT_S = 15 * 60
FILE_TIMEOUT_S = "20"
IN_PROCESS_LIMIT_S = 60  # guard against a hang while timing load_document in-process
TRUNCATIONS = 12
FLIPS = 12
GARBAGE_PDFS = 30
GARBAGE_DOCX = 20

_STREAM_RE = re.compile(rb"stream\r?\n(.*?)endstream", re.S)
_XREF_RE = re.compile(rb"\nxref\r?\n.*?(?=trailer)", re.S)


# -- base documents ------------------------------------------------------------------------
def render_pdfs() -> dict[str, bytes]:
    """Render a few small text PDFs with reportlab; return name -> bytes."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    rng = random.Random(1)
    words = ["vector", "index", "chunk", "embedding", "retrieval", "answer", "cite", "model"]
    made: dict[str, bytes] = {}
    for number, pages in enumerate((1, 3, 8), start=1):
        buf = io.BytesIO()
        c = canvas.Canvas(buf, pagesize=A4, invariant=1)
        for page in range(pages):
            c.setFont("Helvetica", 11)
            for line in range(30):
                text = " ".join(rng.choice(words) for _ in range(12))
                c.drawString(60, 780 - line * 22, f"{page + 1}.{line + 1} {text}")
            c.showPage()
        c.save()
        made[f"rendered{number}.pdf"] = buf.getvalue()
    return made


def render_huge(path: Path, pages: int = 2000) -> None:
    """Write a PDF with many pages, one short line of small text each."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), invariant=1)
    for page in range(pages):
        c.setFont("Helvetica", 6)
        c.drawString(40, 800, f"Page {page + 1}: the huge benchmark document, line of small text.")
        c.showPage()
    c.save()


def render_drawing(path: Path) -> None:
    """Write a PDF whose only content is vector drawing (like a scanned image, no text)."""
    from reportlab.pdfgen import canvas

    rng = random.Random(2)
    c = canvas.Canvas(str(path), invariant=1)
    for _ in range(400):
        c.setFillGray(rng.random())
        c.rect(rng.uniform(0, 550), rng.uniform(0, 800), 40, 40, stroke=0, fill=1)
    c.circle(300, 400, 120, stroke=1, fill=0)
    c.showPage()
    c.save()


# -- mutations -----------------------------------------------------------------------------
def truncated(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(1, len(data))]


def flipped(data: bytes, rng: random.Random) -> bytes:
    body = bytearray(data)
    start = min(16, len(body) - 1)  # leave the header alone
    for _ in range(rng.choice((1, 3, 10, 50, 200))):
        i = rng.randrange(start, len(body))
        body[i] ^= 1 << rng.randrange(8)
    return bytes(body)


def without_xref(data: bytes) -> bytes:
    return _XREF_RE.sub(b"\n", data)


def zero_streams(data: bytes, rng: random.Random | None = None) -> bytes:
    def zero(match: re.Match[bytes]) -> bytes:
        if rng is not None and rng.random() < 0.5:
            return match.group(0)
        head = match.group(0)[: match.start(1) - match.start(0)]
        return head + b"\0" * len(match.group(1)) + b"endstream"

    return _STREAM_RE.sub(zero, data)


def without_header(data: bytes) -> bytes:
    return data[data.index(b"\n") + 1 :]


def encrypted(data: bytes, user: str, algorithm: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user, owner_password="owner-secret", algorithm=algorithm)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def random_zip(rng: random.Random) -> bytes:
    """A zip that is not a Word document, or a Word-shaped one with garbage parts."""
    buf = io.BytesIO()
    kind = rng.randrange(4)
    with zipfile.ZipFile(buf, "w") as z:
        if kind == 0:
            for i in range(rng.randrange(1, 5)):
                z.writestr(f"file{i}.bin", rng.randbytes(rng.randrange(10, 2000)))
        elif kind == 1:
            z.writestr("[Content_Types].xml", rng.randbytes(300))
            z.writestr("word/document.xml", rng.randbytes(800))
        elif kind == 2:
            z.writestr("[Content_Types].xml", b"<?xml version='1.0'?><Types")
            z.writestr("_rels/.rels", b"<Relationships/>")
        else:
            z.writestr("mimetype", b"application/vnd.oasis.opendocument.text")
            z.writestr("content.xml", b"<office:document-content/>")
    data = buf.getvalue()
    if rng.random() < 0.3:
        data = data[: rng.randrange(1, len(data))]
    return data


def docx_without(data: bytes, member: str) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            if info.filename != member:
                z.writestr(info, src.read(info))
    return buf.getvalue()


def docx_with(data: bytes, member: str, content: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info, content if info.filename == member else src.read(info))
    return buf.getvalue()


def damaged_copies(stem: str, suffix: str, data: bytes, rng: random.Random) -> dict[str, bytes]:
    """The original file plus its truncated and bit-flipped variants, by file name."""
    files = {f"{stem}__orig{suffix}": data}
    for i in range(TRUNCATIONS):
        files[f"{stem}__trunc{i:02}{suffix}"] = truncated(data, rng)
    for i in range(FLIPS):
        files[f"{stem}__flip{i:02}{suffix}"] = flipped(data, rng)
    return files


def build_corpus(out: Path) -> list[Path]:
    """Write the originals and their malformed variants into out; return the files."""
    rng = random.Random(0)
    pdfs = {p.name: p.read_bytes() for p in sorted(SAMPLE.glob("*.pdf"))}
    pdfs.update(render_pdfs())
    docxs = {p.name: p.read_bytes() for p in sorted(SAMPLE.glob("*.docx"))}
    files: dict[str, bytes] = {}

    for name, data in pdfs.items():
        stem = Path(name).stem
        files.update(damaged_copies(stem, ".pdf", data, rng))
        files[f"{stem}__noxref.pdf"] = without_xref(data)
        files[f"{stem}__noxref_nostartxref.pdf"] = re.sub(
            rb"startxref\s*\d+", b"", without_xref(data)
        )
        files[f"{stem}__zerostreams_all.pdf"] = zero_streams(data)
        files[f"{stem}__zerostreams_some.pdf"] = zero_streams(data, rng)
        files[f"{stem}__noheader.pdf"] = without_header(data)
        files[f"{stem}__dupeof_end.pdf"] = data + b"\n%%EOF\n%%EOF\n"
        mid = rng.randrange(len(data) // 4, len(data) // 2)
        files[f"{stem}__dupeof_mid.pdf"] = data[:mid] + b"\n%%EOF\n" + data[mid:]
        files[f"{stem}__enc_user_rc4.pdf"] = encrypted(data, "secret", "RC4-128")
        files[f"{stem}__enc_user_aes.pdf"] = encrypted(data, "secret", "AES-256")
        files[f"{stem}__enc_empty_rc4.pdf"] = encrypted(data, "", "RC4-128")
        files[f"{stem}__enc_empty_aes.pdf"] = encrypted(data, "", "AES-128")

    for i in range(GARBAGE_PDFS):
        junk = rng.randbytes(rng.choice((1, 10, 100, 1000, 10_000, 100_000)))
        if i % 3 == 0:
            junk = b"%PDF-1.4\n" + junk
        files[f"garbage{i:02}.pdf"] = junk

    for name, data in docxs.items():
        stem = Path(name).stem
        files.update(damaged_copies(stem, ".docx", data, rng))
        files[f"{stem}__nodocxml.docx"] = docx_without(data, "word/document.xml")
        files[f"{stem}__nocontenttypes.docx"] = docx_without(data, "[Content_Types].xml")
        files[f"{stem}__badxml.docx"] = docx_with(data, "word/document.xml", b"<w:document><w:bo")
        files[f"{stem}__badstyles.docx"] = docx_with(data, "word/styles.xml", rng.randbytes(500))
    for i in range(GARBAGE_DOCX):
        files[f"zipgarbage{i:02}.docx"] = random_zip(rng)
    files["not_a_zip.docx"] = rng.randbytes(5000)
    files["ole_not_encrypted.docx"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + rng.randbytes(3000)

    for name, data in files.items():
        (out / name).write_bytes(data)
    render_huge(out / "huge_2000_pages.pdf")
    render_drawing(out / "drawing_only.pdf")
    return sorted(out.iterdir())


# -- measurements --------------------------------------------------------------------------
def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise TimeoutError(f"load_document took over {IN_PROCESS_LIMIT_S} s")


def _unencodable(document: Document) -> str | None:
    """Describe the first section text that is not valid Unicode (a lone surrogate)."""
    for section in document.sections:
        for text in (section.text, section.heading or ""):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                return f"page {section.page}: {text[exc.start : exc.end]!r} in loaded text"
    return None


def time_in_process(
    files: list[Path],
) -> tuple[list[tuple[float, str]], list[str], list[str]]:
    """Time load_document per file; return (seconds, name), BUG lines and suspect files.

    A suspect loads fine but its text holds lone surrogates, which the tokenizer rejects.
    """
    from ragkb.errors import DocumentError
    from ragkb.ingest.documents import load_document

    signal.signal(signal.SIGALRM, _alarm)
    times: list[tuple[float, str]] = []
    bugs: list[str] = []
    suspects: list[str] = []
    for path in files:
        start = time.perf_counter()
        signal.alarm(IN_PROCESS_LIMIT_S)
        try:
            problem = _unencodable(load_document(path))
            if problem:
                suspects.append(path.name)
                bugs.append(f"{path.name}: returned unencodable text ({problem})")
        except DocumentError:
            pass
        except TimeoutError as exc:
            bugs.append(f"{path.name}: HANG in-process ({exc})")
        except Exception as exc:
            bugs.append(f"{path.name}: {type(exc).__name__}: {str(exc)[:200]}")
        finally:
            signal.alarm(0)
        times.append((time.perf_counter() - start, path.name))
    return times, bugs, suspects


def group_reason(reason: str) -> str:
    """Group a failure reason by its first words: text before any '(' detail."""
    head = reason.split(" (", 1)[0].strip()
    if head == "unreadable" and "(" in reason:
        return "unreadable (" + reason.split("(", 1)[1].split(":", 1)[0] + ")"
    return head


def run_ingest(corpus: Path, home: Path) -> bool:
    """Ingest corpus into a fresh KB, print the figures; return whether it crashed or hung."""
    env = {**os.environ, "RAGKB_HOME": str(home), "RAGKB_FILE_TIMEOUT_S": FILE_TIMEOUT_S}
    cmd = [sys.executable, "-m", "ragkb", "ingest", str(corpus), "--json", "--kb", "malformed"]
    start = time.perf_counter()
    hung = False
    try:
        proc = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=INGEST_TIMEOUT_S, check=False
        )
        code: int | None = proc.returncode
        stdout, stderr = proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        hung, code = True, None
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        stderr = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or ""
    elapsed = time.perf_counter() - start

    report: dict | None = None
    with contextlib.suppress(ValueError):
        report = json.loads(stdout)
    tried = len(list(corpus.iterdir()))
    print(f"files tried: {tried}")
    if report is not None:
        counts = report["counts"]
        print(f"ok: {counts['added'] + counts['updated'] + counts['unchanged']}")
        print(f"failed: {counts['failed']}")
        groups = Counter(group_reason(f["reason"]) for f in report["failed"])
        for reason, n in groups.most_common():
            print(f"  {n:4}  {reason}")
        print(f"chunks added: {report['chunks_added']}")
    else:
        print("no JSON report on stdout")
    print(f"exit code: {code}")
    print(f"total time: {elapsed:.1f} s")
    crashed = code not in (0, 5) and not hung
    print(f"crashed: {'yes' if crashed else 'no'}")
    print(f"hung: {'yes (killed after 15 min)' if hung else 'no'}")
    if report is None or code not in (0, 5):
        lines = [line for line in stderr.splitlines() if line.strip()]
        print("stderr tail:\n  " + "\n  ".join(lines[-4:]))
    return crashed or hung


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", action="store_true", help="Keep the temp dir.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ragkb-malformed-"))
    try:
        corpus = work / "corpus"
        corpus.mkdir()
        files = build_corpus(corpus)
        print(f"corpus: {len(files)} files in {corpus}")

        print("\n== load_document in-process ==")
        start = time.perf_counter()
        logging.disable(logging.CRITICAL)  # pypdf logs every repair it makes
        times, bugs, suspects = time_in_process(files)
        logging.disable(logging.NOTSET)
        print(f"total: {time.perf_counter() - start:.1f} s for {len(times)} files")
        print("5 slowest:")
        for seconds, name in sorted(times, reverse=True)[:5]:
            print(f"  {seconds:7.2f} s  {name}")
        print(
            f"BUGs: {len(bugs)} (non-DocumentError exceptions or hangs: "
            f"{len(bugs) - len(suspects)}, unencodable text: {len(suspects)})"
        )
        for line in bugs:
            print(f"  BUG {line}")

        print("\n== ragkb ingest (subprocess) ==")
        broke = run_ingest(corpus, work / "home")
        if broke and suspects:
            aside = work / "suspects"
            aside.mkdir()
            for name in suspects:
                (corpus / name).rename(aside / name)
            print(f"\n== ragkb ingest again, without the {len(suspects)} suspect file(s) ==")
            run_ingest(corpus, work / "home2")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
