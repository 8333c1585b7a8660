"""Answers that loop: stop_on_repetition and llama.cpp's penalties, side by side.

Usage: python bench/loops.py [--json OUT]

Ingests sample_docs/ and bench/data/external/docs/ once each, then runs `ragkb eval --answers`
(the Python API, hybrid mode, seed 1, the bundled model) on the sample_docs gold set and on the
held-out external set under each setting of CONFIGS, in one process. The held-out set was
written before the guard existed and nothing was tuned on it.
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
CONFIGS: tuple[dict[str, Any], ...] = (
    {"stop_on_repetition": False},
    {"stop_on_repetition": True},
    {"stop_on_repetition": True, "frequency_penalty": 0.5},
    {"stop_on_repetition": True, "presence_penalty": 0.5},
)
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
    print("| set | settings | " + " | ".join(FIGURES) + " |")
    print("|---|---|" + "---|" * len(FIGURES))
    with tempfile.TemporaryDirectory() as tmp:
        for index, (name, (docs, gold)) in enumerate(SETS.items()):
            environ = {"RAGKB_HOME": str(Path(tmp) / f"kb{index}")}
            KnowledgeBase(load_settings({}, environ=environ)).ingest([str(docs)])
            for config in CONFIGS:
                kb = KnowledgeBase(
                    load_settings({**config, "seed": 1, "mode": "hybrid"}, environ=environ)
                )
                report = evaluate(kb, gold, answers=True)
                label = ", ".join(f"{k} {str(v).lower()}" for k, v in config.items())
                reports[f"{name}: {label}"] = report
                row = report["metrics"]["all"]
                cells = " | ".join("" if row.get(f) is None else str(row[f]) for f in FIGURES)
                print(f"| {name} | {label} | {cells} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
