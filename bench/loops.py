"""Answers that loop, with and without stop_on_repetition, side by side on the bundled model.

Usage: python bench/loops.py [--json OUT]

Ingests sample_docs/ and bench/data/external/docs/ once each, then runs `ragkb eval --answers`
(the Python API, hybrid mode, seed 1) on the sample_docs gold set and on the held-out external
set, first with the guard off, then on, question by question in one process. The held-out
set was written before the guard existed and nothing was tuned on it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SETS = {
    "sample_docs": (ROOT / "sample_docs", ROOT / "tests/data/eval/sample_docs_gold.jsonl"),
    "external, held out": (
        ROOT / "bench/data/external/docs",
        ROOT / "bench/data/external/heldout.jsonl",
    ),
}
FIGURES = (
    "answers_repeating",
    "stopped_repeating",
    "stopped_at_max_tokens",
    "answer_has_span",
    "evidence_has_span",
    "median_seconds",
)


def main() -> None:
    from ragkb.config import load_settings
    from ragkb.evaluation import evaluate
    from ragkb.kb import KnowledgeBase

    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path, help="also write every report here")
    args = parser.parse_args()
    reports: dict[str, Any] = {}
    print("| set | stop_on_repetition | " + " | ".join(FIGURES) + " |")
    print("|---|---|" + "---|" * len(FIGURES))
    with tempfile.TemporaryDirectory() as tmp:
        for index, (name, (docs, gold)) in enumerate(SETS.items()):
            environ = {"RAGKB_HOME": str(Path(tmp) / f"kb{index}")}
            KnowledgeBase(load_settings({}, environ=environ)).ingest([str(docs)])
            for guard in (False, True):
                flags = {"stop_on_repetition": guard, "seed": 1, "mode": "hybrid"}
                kb = KnowledgeBase(load_settings(flags, environ=environ))
                report = evaluate(kb, gold, answers=True)
                reports[f"{name}, guard {guard}"] = report
                row = report["metrics"]["all"]
                cells = " | ".join("" if row.get(f) is None else str(row[f]) for f in FIGURES)
                print(f"| {name} | {str(guard).lower()} | {cells} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
