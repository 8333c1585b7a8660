"""Listing at a million chunks: `ragkb list`, `stats --json` and `files --json` on a catalog of
50,000 files and 1,000,000 chunks, and how `list` counted files before (every record read).

    python bench/listing.py [--files 50000] [--chunks-per-file 20] [--repeat 3]

Only the catalog is built (SQLite, through ragkb's own Catalog.record_file, with short
chunk texts): these commands read nothing else, so the vectors and the keyword index would
only take time to build. Each command runs in a fresh process, REPEAT times; the median is
printed. "describe, every record read" is the counting `list` and `stats` did before this
change, timed in the same run beside the SQL count they do now.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scale import KB, timed_cli  # noqa: E402


def build(home: Path, files: int, per_file: int) -> None:
    from ragkb.index.catalog import Catalog, ChunkRecord, FileRecord, kb_dir

    catalog = Catalog(kb_dir(home, KB))
    for f in range(files):
        path = f"/docs/folder-{f // 1000}/note-{f}.md"
        chunks = [
            ChunkRecord(
                chunk_id=f"{f:08d}-{i:05d}",
                path=path,
                index=i,
                page=None,
                heading=None,
                text=f"Paragraph {i} of note {f}: a short stand-in text for the catalog.",
                keywords=f"paragraph {i} note {f} short stand text catalog",
            )
            for i in range(per_file)
        ]
        status = "ok" if f % 100 else "failed"
        record = FileRecord(
            path=path,
            file_hash=f"{f:064x}",
            size=1000,
            chunks=per_file if status == "ok" else 0,
            pages=None,
            ingested_at=time.time(),
            status=status,
            reason=None if status == "ok" else "stand-in failure",
        )
        catalog.record_file(record, chunks if status == "ok" else [])
    catalog.close()


def main() -> None:
    from ragkb.index.catalog import Catalog, kb_dir
    from ragkb.index.inventory import describe

    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--chunks-per-file", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        started = time.perf_counter()
        build(home, args.files, args.chunks_per_file)
        directory = kb_dir(home, KB)
        catalog = Catalog(directory)
        print(
            f"catalog: {args.files} files, {catalog.chunk_count()} chunks, built in "
            f"{time.perf_counter() - started:.0f} s\n"
        )

        def every_record() -> None:
            files = catalog.files()
            sum(1 for f in files if f.status == "ok")
            catalog.chunk_count()

        timings = {
            "describe, every record read (before)": lambda: every_record(),
            "describe, SQL counts (now)": lambda: describe(KB, directory, catalog),
        }
        print("| figure | median s |\n|---|---|")
        for name, call in timings.items():
            runs = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                call()
                runs.append(time.perf_counter() - t)
            print(f"| {name} | {statistics.median(runs):.3f} |")
        for argv in (("list",), ("stats", "--json"), ("files", "--json")):
            runs = [timed_cli(home, *argv) for _ in range(args.repeat)]
            print(f"| `ragkb {' '.join(argv)}` (fresh process) | {statistics.median(runs):.3f} |")


if __name__ == "__main__":
    main()
