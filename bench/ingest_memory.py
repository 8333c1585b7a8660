"""Ingest memory as the knowledge base grows: the vectors in the embedded store, or in a server.

    python bench/ingest_memory.py                      # 10k and 100k chunks, stand-in embedder
    python bench/ingest_memory.py --sizes 2000 10000   # other sizes
    python bench/ingest_memory.py --real 2000          # also: the bundled embedder at 2k chunks

Each size is ingested twice into a fresh knowledge base from the same recombined corpus as
bench/scale.py (stand-in embedder): once with the embedded Chroma store, once with the vectors
in `chroma run` on localhost (`store_url`), the catalog and keyword index local as always. It
prints, per size and store, the ingest process's chunks/s and peak RSS, and the server's peak
RSS. The embedded store keeps its HNSW index in the ingesting process's memory, so that
process grows with the corpus; with a server the growth moves there. `--real` ingests one size
with the bundled embedder and with the stand-in, side by side, to show what the embedding
engine adds to the process (a constant, or a growth of its own). Sizes run one after another
in one run, so their ratios are side by side.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from scale import run_child, sentences, start_chroma, write_corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--real", type=int, nargs="*", default=[])
    parser.add_argument("--work", type=Path, default=Path("/tmp/ragkb-ingest-memory"))
    parser.add_argument("--out", type=Path, help="also write the figures to this JSON file")
    options = parser.parse_args()
    pool = sentences()
    rows: list[dict[str, Any]] = []
    print("| chunks | store | ingest chunks/s | ingest peak RSS MB | server peak RSS MB |")
    print("|---|---|---|---|---|")
    runs = [(size, store, "ingest") for size in options.sizes for store in ("embedded", "server")]
    both = ("ingest-real", "ingest")  # the bundled embedder, then the stand-in
    runs += [(size, "embedded", kind) for size in options.real for kind in both]
    for size, store, kind in runs:
        row = measure(options.work, pool, size, store, kind)
        rows.append(row)
        label = store + (", bundled embedder" if kind == "ingest-real" else "")
        server = "" if row["server_rss_mb"] is None else f"{row['server_rss_mb']:.0f}"
        print(
            f"| {row['chunks']:,} | {label} | {row['chunks_per_s']:.1f} | "
            f"{row['rss_mb']:.0f} | {server} |",
            flush=True,
        )
    if options.out:
        options.out.write_text(json.dumps(rows, indent=1), encoding="utf-8")


def measure(work: Path, pool: list[str], size: int, store: str, kind: str) -> dict[str, Any]:
    """Ingest SIZE chunks' worth of files into a fresh knowledge base; return the figures."""
    docs, home = work / f"docs-{size}", work / f"home-{size}-{store}-{kind}"
    if not docs.exists():
        write_corpus(docs, size // 10, 10, pool, seed=size)
    shutil.rmtree(home, ignore_errors=True)
    print(f"[{size}] {kind}, {store} store", file=sys.stderr)
    server = None
    env: dict[str, str] = {}
    if store == "server":
        server, env["SCALE_STORE_URL"] = start_chroma(home / "server")
    try:
        figures = run_child(kind, str(home), str(docs), env=env)
        server_rss = peak_rss_mb(server.pid) if server else None
    finally:
        if server:
            server.terminate()
            server.wait(timeout=60)
    shutil.rmtree(home, ignore_errors=True)
    return {
        "size": size,
        "store": store,
        "embedder": "bundled" if kind == "ingest-real" else "stand-in",
        "chunks": figures["chunks"],
        "seconds": figures["seconds"],
        "chunks_per_s": figures["chunks"] / figures["seconds"],
        "rss_mb": figures["rss_mb"],
        "server_rss_mb": server_rss,
    }


def peak_rss_mb(pid: int) -> float:
    """Return a live process's peak RSS (VmHWM) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


if __name__ == "__main__":
    main()
