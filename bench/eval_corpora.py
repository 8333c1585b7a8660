"""Retrieval quality on both gold sets, for every mode: prints the markdown tables of
bench/README.md.

Usage: python bench/eval_corpora.py [--json OUT]

Ingests sample_docs/ and bench/data/external/docs/ into temporary knowledge bases with the
default settings, then runs `ragkb eval` (the Python API) in vector, keyword and hybrid mode.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SETS = {
    "sample_docs": (
        ROOT / "sample_docs",
        ROOT / "tests" / "data" / "eval" / "sample_docs_gold.jsonl",
    ),
    "external": (
        ROOT / "bench" / "data" / "external" / "docs",
        ROOT / "bench" / "data" / "external" / "gold.jsonl",
    ),
    # Written after the thresholds and rules were set, by someone who never ran retrieval on
    # them: the out-of-sample check of the figures above.
    "external, held out": (
        ROOT / "bench" / "data" / "external" / "docs",
        ROOT / "bench" / "data" / "external" / "heldout.jsonl",
    ),
}
MODES = ("vector", "keyword", "hybrid")


def main() -> None:
    from ragkb.config import load_settings
    from ragkb.evaluation import evaluate
    from ragkb.kb import KnowledgeBase

    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path, help="also write every report here")
    args = parser.parse_args()
    reports: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        ingested: dict[Path, tuple[dict[str, str], dict[str, Any]]] = {}
        for name, (docs, gold) in SETS.items():
            if docs not in ingested:  # one knowledge base per folder, shared by its gold sets
                environ = {"RAGKB_HOME": str(Path(tmp) / f"kb{len(ingested)}")}
                started = time.perf_counter()
                ingest = KnowledgeBase(load_settings({}, environ=environ)).ingest([str(docs)])
                ingested[docs] = (
                    environ,
                    {
                        "files": len(ingest.added),
                        "failed": len(ingest.failed),
                        "chunks": ingest.chunks_added,
                        "seconds": round(time.perf_counter() - started, 1),
                    },
                )
            environ, summary = ingested[docs]
            reports[name] = {"ingest": summary}
            for mode in MODES:
                kb = KnowledgeBase(load_settings({"mode": mode}, environ=environ))
                reports[name][mode] = evaluate(kb, gold)
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2, ensure_ascii=False), encoding="utf-8")
    for name, report in reports.items():
        _print_set(name, report)


def _print_set(name: str, report: dict[str, Any]) -> None:
    ingest = report["ingest"]
    print(
        f"\n### {name}: {ingest['files']} files, {ingest['chunks']} chunks, "
        f"{ingest['failed']} failed, ingest {ingest['seconds']} s\n"
    )
    print(
        "| mode | lang | questions | hit@1 | hit@5 | MRR | refused, absent | refused, answerable |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for mode in MODES:
        for lang, m in report[mode]["metrics"].items():
            cells = [
                m["questions"],
                m["hit@1"],
                m["hit@5"],
                m["mrr"],
                m["refusal_rate_absent"],
                m["false_refusal_rate"],
            ]
            print(f"| {mode} | {lang} | " + " | ".join(_cell(c) for c in cells) + " |")
    print("\nhybrid, by kind of question:\n")
    print("| kind | questions | hit@1 | hit@5 | MRR | refused |")
    print("|---|---|---|---|---|---|")
    for kind, m in report["hybrid"]["kinds"].items():
        refused = m["refusal_rate_absent"] if kind == "absent" else m["false_refusal_rate"]
        cells = [m["questions"], m["hit@1"], m["hit@5"], m["mrr"], refused]
        print(f"| {kind} | " + " | ".join(_cell(c) for c in cells) + " |")
    misses = [
        q["id"]
        for q in report["hybrid"]["questions"]
        if not q["unanswerable"] and not (q["covered_rank"] and q["covered_rank"] <= 5)
    ]
    wrong = [q["id"] for q in report["hybrid"]["questions"] if q["refused"] != q["unanswerable"]]
    print(
        f"\nhybrid misses at 5: {', '.join(misses) or 'none'}; refusal mistakes: "
        f"{', '.join(wrong) or 'none'}"
    )


def _cell(value: Any) -> str:
    return "" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    main()
