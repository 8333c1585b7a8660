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
from pathlib import Path
from typing import Any

from answers import compare

ROOT = Path(__file__).resolve().parent.parent
SETS = {
    "sample_docs": (ROOT / "sample_docs", [ROOT / "tests/data/eval/sample_docs_gold.jsonl"]),
    "external, held out": (
        ROOT / "bench/data/external/docs",
        [ROOT / "bench/data/external/heldout.jsonl"],
    ),
}
# The model's own answers over whole chunks, as when this was measured: with the bundled
# model's default (the lead sentence alone) nothing would be generated to loop.
BASE = {"answer_style": "generative", "prompt_style": "full"}
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
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path, help="also write every report here")
    args = parser.parse_args()
    reports = compare(SETS, CONFIGS, FIGURES, base=BASE)
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
