"""Search at a million chunks, built in minutes: cold and warm search, hybrid, vector and
keyword, on knowledge bases of 10k and 1M chunks side by side.

    python bench/search_scale.py [--sizes 10000 1000000] [--work /tmp/ragkb-search-scale]

bench/scale.py builds each knowledge base with ragkb's whole ingest, about 90 minutes for 1M
chunks on two cores; that is what its ingest figures measure. Search reads only what ingest
leaves: the catalog, the keyword index and the vector store. Here one file is ingested for
real (the stand-in embedder of bench/standin.py, so the fingerprint and the collection are
ragkb's own), then the rest is written through the same classes ingest writes with
(Catalog.record_file, ChromaStore.upsert, KeywordIndex.rebuild), from the same recombined
sentences of the evaluation corpora: chunk texts, keywords and stand-in vectors are summed per
sentence instead of recomputed per chunk. Then scale.py's own `search` child measures each
mode in a fresh process, and `open` the first reads.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scale import PARAGRAPH_WORDS, run_child, sentences, write_corpus  # noqa: E402

CHUNKS_PER_FILE = 20
BATCH_FILES = 250  # files per vector-store write, as ingest batches them


def build(home: Path, size: int, pool: list[str], seed_docs: Path) -> float:
    """Build a knowledge base of SIZE chunks in HOME; return the seconds it took."""
    import numpy as np
    from scale import _open
    from standin import HashEmbedder

    from ragkb.index.catalog import ChunkRecord, FileRecord
    from ragkb.language import keyword_tokens

    started = time.perf_counter()
    kb = _open(home)
    kb.ingest([str(seed_docs)])  # the fingerprint, the collection, one real file
    catalog, store = kb.parts.catalog, kb.parts.vectors
    standin = HashEmbedder()
    # Per sentence: its words, its keywords and its unnormalised stand-in vector (the stand-in
    # sums signed word hashes, so a paragraph's vector is the sum of its sentences').
    words = [standin.count_tokens(s) for s in pool]
    keywords = [" ".join(keyword_tokens(s)) for s in pool]
    vectors = np.array(standin.embed_passages(pool), np.float32)
    vectors *= np.sqrt(np.array(words, np.float32))[:, None]
    rng = random.Random(size)
    batch: tuple[list[str], list[Any], list[dict[str, Any]], list[str]] = ([], [], [], [])
    for f in range(size // CHUNKS_PER_FILE):
        path = f"/bulk/d{f // 1000:03d}/note-{f:07d}.md"
        file_hash = hashlib.sha256(path.encode()).hexdigest()
        chunks = []
        for i in range(CHUNKS_PER_FILE):
            picked, count = [], 0
            while count < PARAGRAPH_WORDS:
                s = rng.randrange(len(pool))
                picked.append(s)
                count += words[s]
            text = " ".join(pool[s] for s in picked)
            vector = vectors[picked].sum(axis=0)
            chunk_id = f"{file_hash[:16]}-{i:05d}"
            chunks.append(
                ChunkRecord(
                    chunk_id, path, i, None, None, text, " ".join(keywords[s] for s in picked)
                )
            )
            batch[0].append(chunk_id)
            batch[1].append((vector / max(float(np.linalg.norm(vector)), 1e-9)).tolist())
            batch[2].append({"source": path, "chunk_index": i, "file_hash": file_hash})
            batch[3].append(text)
        catalog.record_file(
            FileRecord(path, file_hash, 1000, len(chunks), None, time.time(), "ok", None),
            chunks,
        )
        if (f + 1) % BATCH_FILES == 0:
            store.upsert(*batch)
            batch = ([], [], [], [])
            if (f + 1) % (BATCH_FILES * 20) == 0:
                print(f"  {(f + 1) * CHUNKS_PER_FILE} chunks", file=sys.stderr, flush=True)
    if batch[0]:
        store.upsert(*batch)
    kb.parts.keywords.rebuild(catalog)
    catalog.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 1_000_000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/ragkb-search-scale"))
    parser.add_argument("--reuse", action="store_true", help="search the homes already built")
    parser.add_argument("--out", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    seed_docs = args.work / "seed"
    figures: dict[str, Any] = {}
    pool: list[str] = []
    for size in args.sizes:
        home = args.work / f"home-{size}"
        row: dict[str, Any] = {}
        if not (args.reuse and home.exists()):
            shutil.rmtree(home, ignore_errors=True)
            if not pool:
                pool = sentences()
                shutil.rmtree(seed_docs, ignore_errors=True)
                write_corpus(seed_docs, 1, 10, pool, seed=-1)
            print(f"[{size}] building", file=sys.stderr, flush=True)
            row["build_s"] = round(build(home, size, pool, seed_docs), 1)
        print(f"[{size}] searching", file=sys.stderr, flush=True)
        row["open"] = run_child("open", str(home))
        row["search"] = {
            mode: run_child("search", str(home), mode) for mode in ("hybrid", "vector", "keyword")
        }
        figures[str(size)] = row
        print(json.dumps({size: row}, indent=1), flush=True)
    _table(figures)
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2), encoding="utf-8")


def _table(figures: dict[str, Any]) -> None:
    sizes = list(figures)
    print("\n| figure | " + " | ".join(sizes) + " |\n|---|" + "---|" * len(sizes))
    print(
        "| open (catalog count + store count), s | "
        + " | ".join(f"{figures[s]['open']['seconds']:.2f}" for s in sizes)
        + " |"
    )
    for mode in ("hybrid", "vector", "keyword"):
        cells = [figures[s]["search"][mode] for s in sizes]
        print(
            f"| {mode}: cold process s / warm p50 / p95 ms | "
            + " | ".join(
                f"{c['cold_s']:.2f} / {c['warm_p50_ms']:.1f} / {c['warm_p95_ms']:.1f}"
                for c in cells
            )
            + " |"
        )


if __name__ == "__main__":
    main()
