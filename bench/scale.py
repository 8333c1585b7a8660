"""Scale: what ingest, a one-file change, search and listing cost at 10k, 100k and 1M chunks.

    python bench/scale.py                          # 10k, 100k, 1M chunks, stand-in embedder
    python bench/scale.py --sizes 10000 100000     # fewer sizes
    python bench/scale.py --real 1000 4000         # also: ingest with the real embedder
    python bench/scale.py --server                 # also: search through a Chroma server

The documents are real: sentences of the evaluation corpora (English and Chinese, PDF, DOCX,
Markdown), recombined into distinct Markdown files of 10 chunks each (20 at 1M). Every
knowledge base is built by ragkb's own ingest with the stand-in embedder of bench/standin.py
(labelled in its fingerprint): vectors of the real size, written to the real Chroma store,
catalog and keyword index, but computed in microseconds, so that what is measured is the
storage, not the model. `--real` measures ingest with the bundled embedder at sizes this
machine can embed in minutes. Each figure comes from a fresh process (cold) or from repeated
calls in one (warm); sizes run one after another, in one run, so their ratios are side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

KB = "scale"
PARAGRAPH_WORDS = 150  # one chunk each at the default chunk_tokens (200)
QUERIES_EN = [
    "how do I configure the network interface",
    "what does the package maintainer need to upload",
    "which encoding rules does libtasn1 support",
    "how are MIME types matched by file name glob",
    "what is the retention period for traces",
    "how do I set the system locale",
    "how to rebuild the initramfs after changing modules",
    "what is the difference between hard and soft links",
]
QUERIES_ZH = [
    "如何设置网络接口",
    "软件包维护者需要上传什么",
    "什么是向量检索",
    "如何修改系统的语言环境",
    "压缩文件用什么命令",
    "图形界面的输入法怎么配置",
]
QUERIES = QUERIES_EN + QUERIES_ZH


# -- the corpus -----------------------------------------------------------------------
def sentences() -> list[str]:
    """Return the sentences of every evaluation corpus's documents."""
    from corpora import CORPORA

    from ragkb.ingest.documents import load_document
    from ragkb.language import split_sentences

    found: list[str] = []
    for docs, _ in CORPORA.values():
        for path in sorted(docs.iterdir()):
            try:
                document = load_document(path)
            except Exception:  # a corpus file the loader refuses is simply not used
                continue
            for section in document.sections:
                for start, end in split_sentences(section.text):
                    sentence = " ".join(section.text[start:end].split())
                    if 20 <= len(sentence) <= 400:
                        found.append(sentence)
    return found


def _words(sentence: str) -> int:
    from standin import HashEmbedder

    return HashEmbedder().count_tokens(sentence)


def write_corpus(
    folder: Path, files: int, chunks_per_file: int, pool: list[str], seed: int
) -> None:
    """Write FILES Markdown files of CHUNKS_PER_FILE paragraphs of recombined sentences."""
    rng = random.Random(seed)
    sized = [(s, _words(s)) for s in pool]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        sub = folder / f"d{i // 1000:03d}"
        sub.mkdir(exist_ok=True)
        paragraphs = []
        for _ in range(chunks_per_file):
            words, picked = 0, []
            while words < PARAGRAPH_WORDS:
                sentence, n = rng.choice(sized)
                picked.append(sentence)
                words += n
            paragraphs.append(" ".join(picked))
        (sub / f"note-{i:07d}.md").write_text(
            f"# Note {i}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8"
        )


# -- children: each figure from its own process ---------------------------------------------
def _open(home: Path, store_url: str = "", real: bool = False) -> Any:
    from dataclasses import replace

    from ragkb.build import build_parts
    from ragkb.config import load_settings
    from ragkb.kb import KnowledgeBase

    environ = {"RAGKB_HOME": str(home), "RAGKB_KB": KB, "RAGKB_OCR": "off"}
    if store_url:
        environ["RAGKB_STORE_URL"] = store_url
    settings = load_settings({}, environ=environ)
    parts = build_parts(settings)
    if not real:
        from standin import HashEmbedder

        standin = HashEmbedder()
        parts = replace(parts, embedder=standin, query_encoder=standin)
    return KnowledgeBase(settings, parts=parts)


def _rss_mb() -> float:
    """Peak RSS of this process (VmHWM: ru_maxrss would carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args: list[str]) -> dict[str, Any]:
    """Run one measurement in this process; return its figures."""
    what, home = args[0], Path(args[1])
    rest = args[2:]
    started = time.perf_counter()
    if what in ("ingest", "ingest-real"):
        # SCALE_STORE_URL: the vectors go to a Chroma server (bench/ingest_memory.py).
        store_url = os.environ.get("SCALE_STORE_URL", "")
        kb = _open(home, store_url=store_url, real=what == "ingest-real")
        if kb.parts.catalog.exists():
            kb.parts.vectors.count()  # opened: the call below is the change alone
        opened = time.perf_counter()
        report = kb.ingest([rest[0]], prune=rest[1:] != ["add"])
        seconds = time.perf_counter() - opened
        return {
            "seconds": seconds,
            "process_s": time.perf_counter() - started,
            "chunks": report.chunks_added,
            "files": len(report.added) + len(report.updated),
            "unchanged": len(report.unchanged),
            "failed": len(report.failed),
            "rss_mb": _rss_mb(),
        }
    if what == "remove":
        kb = _open(home)
        kb.parts.vectors.count()
        opened = time.perf_counter()
        kb.remove([rest[0]])
        done = time.perf_counter()
        return {"seconds": done - opened, "process_s": done - started, "rss_mb": _rss_mb()}
    if what == "open":
        kb = _open(home)
        chunks = kb.parts.catalog.chunk_count()
        vectors = kb.parts.vectors.count()
        return {"seconds": time.perf_counter() - started, "chunks": chunks, "vectors": vectors}
    if what == "search":
        mode, store_url = rest[0], rest[1] if len(rest) > 1 else ""
        kb = _open(home, store_url=store_url)
        first = time.perf_counter()
        kb.search(QUERIES[0], k=5, mode=mode)
        cold = time.perf_counter() - started
        cold_query = time.perf_counter() - first
        warm = []
        for _ in range(4):
            for query in QUERIES:
                t = time.perf_counter()
                kb.search(query, k=5, mode=mode)
                warm.append(time.perf_counter() - t)
        warm.sort()
        return {
            "cold_s": cold,
            "cold_query_s": cold_query,
            "warm_p50_ms": 1000 * statistics.median(warm),
            "warm_p95_ms": 1000 * warm[int(0.95 * (len(warm) - 1))],
            "rss_mb": _rss_mb(),
        }
    if what == "search-loop":  # searches until the stop file appears (an ingest runs)
        stop = Path(rest[0])
        kb = _open(home)
        times, failures, empty = [], 0, 0
        errors: list[str] = []
        i = 0
        while not stop.exists():
            if not kb.parts.catalog.exists():  # the ingest has not created it yet
                time.sleep(0.1)
                continue
            t = time.perf_counter()
            try:
                hits = kb.search(QUERIES[i % len(QUERIES)], k=5, mode="hybrid")
                empty += not hits
            except BaseException as exc:  # a native panic too: a failed search is the finding
                if isinstance(exc, KeyboardInterrupt):
                    raise
                failures += 1
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
            times.append(time.perf_counter() - t)
            i += 1
            time.sleep(0.1)
        times.sort()
        return {
            "searches": len(times),
            "failures": failures,
            "empty": empty,
            "errors": errors[:3],
            "p50_ms": 1000 * statistics.median(times) if times else None,
            "p95_ms": 1000 * times[int(0.95 * (len(times) - 1))] if times else None,
        }
    raise SystemExit(f"unknown child {what}")


def run_child(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "_child", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"child {args[0]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def timed_cli(home: Path, *argv: str) -> float:
    env = {**os.environ, "RAGKB_HOME": str(home), "RAGKB_KB": KB}
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "ragkb", *argv], capture_output=True, env=env, check=False
    )
    seconds = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"ragkb {' '.join(argv)} failed: {out.stderr.decode()[-2000:]}")
    return seconds


def disk_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_chroma(path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start `chroma run` on PATH and a free localhost port; return it and its URL once it
    answers."""
    chroma = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    port = free_port()
    path.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [chroma, "run", "--path", str(path), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("chroma run did not answer within 120 s")


def server_search(home: Path) -> dict[str, dict[str, Any]]:
    """Search the same store served by `chroma run` on localhost."""
    server, url = start_chroma(home / "kbs" / KB / "chroma")
    try:
        return {mode: run_child("search", str(home), mode, url) for mode in ("vector", "hybrid")}
    finally:
        server.terminate()
        server.wait(timeout=30)


# -- one size ---------------------------------------------------------------------------
def measure(size: int, work: Path, pool: list[str], server: bool) -> dict[str, Any]:
    per_file = 20 if size >= 1_000_000 else 10
    files = size // per_file
    home, docs = work / f"home-{size}", work / f"docs-{size}"
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(docs, ignore_errors=True)
    print(f"[{size}] writing {files} files", file=sys.stderr)
    write_corpus(docs, files, per_file, pool, seed=size)
    extra = work / f"extra-{size}"
    shutil.rmtree(extra, ignore_errors=True)
    write_corpus(extra, 1, 10, pool, seed=-1)  # the same one file added at every size
    added = next(extra.rglob("*.md"))

    print(f"[{size}] ingest", file=sys.stderr)
    stop = work / f"stop-{size}"
    stop.unlink(missing_ok=True)
    searcher = None
    if size <= 100_000:  # searches run beside this ingest: they must never fail
        (home / "kbs").mkdir(parents=True, exist_ok=True)
        searcher = subprocess.Popen(
            [sys.executable, __file__, "_child", "search-loop", str(home), str(stop)],
            stdout=subprocess.PIPE,
            stderr=(work / f"search-loop-{size}.log").open("w"),
            text=True,
        )
    ingest = run_child("ingest", str(home), str(docs))
    during = None
    if searcher is not None:
        stop.touch()
        out, _ = searcher.communicate(timeout=300)
        lines = out.strip().splitlines()
        during = json.loads(lines[-1]) if lines else {"crashed": searcher.returncode}
    figures: dict[str, Any] = {
        "size": size,
        "files": files,
        "chunks": ingest["chunks"],
        "ingest_s": ingest["seconds"],
        "ingest_chunks_per_s": ingest["chunks"] / ingest["seconds"],
        "ingest_rss_mb": ingest["rss_mb"],
        "disk_mb_per_1k_chunks": disk_mb(home / "kbs" / KB) / (ingest["chunks"] / 1000),
        "disk_mb": {part: disk_mb(home / "kbs" / KB / part) for part in ("chroma", "keywords")}
        | {
            "catalog": disk_mb(home / "kbs" / KB)
            - disk_mb(home / "kbs" / KB / "chroma")
            - disk_mb(home / "kbs" / KB / "keywords")
        },
        "searches_during_ingest": during,
    }
    print(f"[{size}] add / remove one file", file=sys.stderr)
    figures["add_1_file"] = run_child("ingest", str(home), str(added), "add")
    figures["remove_1_file"] = run_child("remove", str(home), str(added))
    figures["open"] = run_child("open", str(home))
    print(f"[{size}] search", file=sys.stderr)
    figures["search"] = {
        mode: run_child("search", str(home), mode) for mode in ("hybrid", "vector", "keyword")
    }
    figures["cli_s"] = {
        "list": timed_cli(home, "list"),
        "stats": timed_cli(home, "stats", "--json"),
        "files --json": timed_cli(home, "files", "--json"),
    }
    if files >= 10_000 or size == 100_000:
        print(f"[{size}] no-op re-ingest of {files} files", file=sys.stderr)
        figures["noop_reingest"] = run_child("ingest", str(home), str(docs))
    if server and size >= 100_000:
        print(f"[{size}] search through a Chroma server", file=sys.stderr)
        figures["server_search"] = server_search(home)
    return figures


def measure_real(size: int, work: Path, pool: list[str]) -> dict[str, Any]:
    home, docs = work / f"real-home-{size}", work / f"real-docs-{size}"
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(docs, ignore_errors=True)
    write_corpus(docs, size // 10, 10, pool, seed=size + 7)
    print(f"[real {size}] ingest with the bundled embedder", file=sys.stderr)
    ingest = run_child("ingest-real", str(home), str(docs))
    return {
        "size": size,
        "chunks": ingest["chunks"],
        "ingest_s": ingest["seconds"],
        "ingest_chunks_per_s": ingest["chunks"] / ingest["seconds"],
        "ingest_rss_mb": ingest["rss_mb"],
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        print(json.dumps(child(sys.argv[2:])))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--real", type=int, nargs="*", default=[])
    parser.add_argument("--server", action="store_true")
    parser.add_argument("--work", type=Path, default=Path("/tmp/ragkb-scale"))
    parser.add_argument("--keep", action="store_true", help="keep the knowledge bases")
    parser.add_argument("--out", type=Path, help="also write the figures to this JSON file")
    options = parser.parse_args()
    pool = sentences()
    print(f"{len(pool)} sentences from the evaluation corpora", file=sys.stderr)
    results: dict[str, Any] = {"sizes": [], "real": []}
    for size in options.sizes:
        results["sizes"].append(measure(size, options.work, pool, options.server))
        print(json.dumps(results["sizes"][-1], indent=1), flush=True)
        if not options.keep:
            shutil.rmtree(options.work / f"home-{size}", ignore_errors=True)
            shutil.rmtree(options.work / f"docs-{size}", ignore_errors=True)
    for size in options.real:
        results["real"].append(measure_real(size, options.work, pool))
        print(json.dumps(results["real"][-1], indent=1), flush=True)
    if options.out:
        options.out.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
