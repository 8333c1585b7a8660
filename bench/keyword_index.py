"""Keyword ranking: tantivy (ragkb's keyword index) against bm25s (the one it replaced).

    python bench/keyword_index.py                 # ingests each corpus into a temporary home
    python bench/keyword_index.py --homes DIR     # reuse DIR/<corpus>/kbs/default (e.g. from
                                                  # bench/answers.py), ingesting what is missing

Both engines rank the very same chunks (one knowledge base's catalog per corpus) for every
answerable gold question, keyword only; a hit is a chunk of the gold file (and page, when the
question names one), as `ragkb eval` counts it. bm25s is scored as ragkb 0.x used it (Lucene
BM25, k1 1.5, b 0.75, query tokens outside the vocabulary dropped); tantivy is ragkb's own
KeywordIndex (k1 1.2, b 0.75), built from the catalog as an ingest builds it. bm25s comes with
the `bench` extra.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DEPTH = 10


def catalog_dir(homes: Path, corpus: str, docs: Path) -> Path:
    """Return the knowledge-base folder of CORPUS under HOMES, ingesting it when missing."""
    from ragkb.config import load_settings
    from ragkb.kb import KnowledgeBase

    kb = KnowledgeBase(load_settings({}, environ={"RAGKB_HOME": str(homes / corpus)}))
    if not kb.parts.catalog.exists():
        print(f"ingesting {corpus}", file=sys.stderr)
        kb.ingest([str(docs)])
    return kb.directory


def first_rank(ids: list[str], chunks: dict[str, Any], sources: tuple[str, ...], page: Any) -> Any:
    for rank, cid in enumerate(ids, 1):
        chunk = chunks[cid]
        if Path(chunk.path).name in sources and (page is None or chunk.page == page):
            return rank
    return None


def bm25s_ranker(chunks: list[Any]) -> Any:
    import bm25s
    import numpy as np

    from ragkb.language import keyword_tokens

    ids = [c.chunk_id for c in chunks]
    model = bm25s.BM25()
    model.index([c.keywords.split() or ["\x00"] for c in chunks], show_progress=False)

    def rank(question: str) -> list[str]:
        tokens = [t for t in keyword_tokens(question) if t in model.vocab_dict]
        if not tokens:
            return []
        scores = model.get_scores(tokens)
        order = np.argsort(-scores)[:DEPTH]
        return [ids[i] for i in order if scores[i] > 0]

    return rank


def tantivy_ranker(directory: Path, scratch: Path) -> Any:
    from ragkb.index.catalog import CATALOG_FILE, Catalog
    from ragkb.index.keywords import KeywordIndex

    scratch.mkdir(parents=True)
    shutil.copy(directory / CATALOG_FILE, scratch / CATALOG_FILE)
    catalog = Catalog(scratch)
    index = KeywordIndex(scratch)
    index.rebuild(catalog)
    return lambda question: [cid for cid, _ in index.search(catalog, question, DEPTH)]


def measure(corpus: str, directory: Path, gold_paths: list[Path], scratch: Path) -> dict:
    from ragkb.evaluation import read_gold
    from ragkb.index.catalog import Catalog

    chunks = {c.chunk_id: c for c in Catalog(directory).iter_chunks()}
    questions = [q for g in gold_paths for q in read_gold(g) if not q.unanswerable]
    rankers = {
        "bm25s": bm25s_ranker(list(chunks.values())),
        "tantivy": tantivy_ranker(directory, scratch / corpus),
    }
    out: dict[str, Any] = {"chunks": len(chunks), "questions": len(questions)}
    for name, rank in rankers.items():
        ranks, times = [], []
        for q in questions:
            started = time.perf_counter()
            ids = rank(q.question)
            times.append(time.perf_counter() - started)
            ranks.append(first_rank(ids, chunks, q.sources, q.page))
        n = len(questions)
        out[name] = {
            "hit@1": round(sum(r == 1 for r in ranks) / n, 3),
            "hit@5": round(sum(bool(r and r <= 5) for r in ranks) / n, 3),
            "hit@10": round(sum(bool(r) for r in ranks) / n, 3),
            "mrr@10": round(sum(1 / r for r in ranks if r) / n, 3),
            "median_ms": round(1000 * statistics.median(times), 2),
        }
    return out


def main() -> None:
    from corpora import CORPORA

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--homes", type=Path, help="data homes, one per corpus")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        homes = options.homes or Path(tmp) / "homes"
        print("| corpus | chunks | questions | engine | hit@1 | hit@5 | hit@10 | MRR@10 | ms |")
        print("|---|---|---|---|---|---|---|---|---|")
        for corpus, (docs, gold) in CORPORA.items():
            directory = catalog_dir(homes, corpus, docs)
            row = measure(corpus, directory, gold, Path(tmp) / "scratch")
            for engine in ("bm25s", "tantivy"):
                m = row[engine]
                print(
                    f"| {corpus} | {row['chunks']} | {row['questions']} | {engine} | "
                    f"{m['hit@1']} | {m['hit@5']} | {m['hit@10']} | {m['mrr@10']} | "
                    f"{m['median_ms']} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
