"""Answer quality with the bundled model: each answer setting side by side, in one process.

Usage: python bench/answers.py [--sets tuning|heldout|all|CORPUS] [--config JSON]... [--home DIR]
                               [--json OUT]

Ingests each corpus once (into --home, kept between runs when given), then runs
`ragkb eval --answers` (the Python API, hybrid mode, seed 1) on its gold questions under each
setting of CONFIGS (or every --config given). The tuning sets (sample_docs, external) are the
ones prompts and rules were tried on; corpus_b to corpus_l were written by helpers
who saw only the documents, and no answer setting was tuned on them.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from corpora import CORPORA

SETS = {
    "tuning": ("sample_docs", "external"),
    "heldout": (
        "corpus_b",
        "corpus_c",
        "corpus_d",
        "corpus_e",
        "corpus_f",
        "corpus_g",
        "corpus_h",
        "corpus_i",
        "corpus_j",
        "corpus_k",
        "corpus_l",
    ),
}
SETS["all"] = SETS["tuning"] + SETS["heldout"]
SETS.update({name: (name,) for name in CORPORA})
# The earlier pipeline (whole chunks, the long system prompt, the model's text alone), the lead
# line with the model's answer, and the defaults (for the bundled model: the lead alone).
CONFIGS: tuple[dict[str, Any], ...] = (
    {"prompt_style": "full", "answer_style": "generative", "match_language": False},
    {"answer_style": "both"},
    {},
)
FIGURES = (
    "answer_has_span",
    "lead_has_span",
    "shown_has_span",
    "evidence_has_span",
    "answers_repeating",
    "language_match",
    "unsupported_sentences",
    "stopped_at_max_tokens",
    "declined_when_absent",
    "declined_when_answerable",
    "median_seconds",
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", choices=sorted(SETS), default="all")
    parser.add_argument("--config", action="append", type=json.loads, help="settings as JSON")
    parser.add_argument("--home", type=Path, help="keep the knowledge bases here")
    parser.add_argument("--limit", type=int, help="only the first N questions of each file")
    parser.add_argument("--json", type=Path, help="also write every report here")
    args = parser.parse_args()
    corpora = {name: CORPORA[name] for name in SETS[args.sets]}
    reports = compare(corpora, args.config or CONFIGS, FIGURES, home=args.home, limit=args.limit)
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2, ensure_ascii=False), encoding="utf-8")


def compare(
    corpora: dict[str, tuple[Path, list[Path]]],
    configs: Sequence[dict[str, Any]],
    figures: Sequence[str],
    *,
    home: Path | None = None,
    limit: int | None = None,
    base: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Ingest each corpus (docs, gold files) once, answer its gold questions under every
    config (over BASE settings, hybrid, seed 1), print a Markdown row of FIGURES per run and
    return every report."""
    from ragkb.config import load_settings
    from ragkb.evaluation import evaluate
    from ragkb.kb import KnowledgeBase

    reports: dict[str, Any] = {}
    print("| corpus | settings | " + " | ".join(figures) + " |")
    print("|---|---|" + "---|" * len(figures))
    with tempfile.TemporaryDirectory() as tmp:
        root = home or Path(tmp)
        for index, (name, (docs, golds)) in enumerate(corpora.items()):
            environ = {"RAGKB_HOME": str(root / name)}
            KnowledgeBase(load_settings({}, environ=environ)).ingest([str(docs)])
            gold = _gold(golds, Path(tmp) / f"gold{index}.jsonl", limit)
            for config in configs:
                flags = {**(base or {}), **config, "seed": 1, "mode": "hybrid"}
                kb = KnowledgeBase(load_settings(flags, environ=environ))
                report = evaluate(kb, gold, answers=True)
                label = ", ".join(f"{k} {str(v).lower()}" for k, v in config.items()) or "defaults"
                reports[f"{name}: {label}"] = report
                row = report["metrics"]["all"]
                cells = " | ".join("" if row.get(f) is None else str(row[f]) for f in figures)
                print(f"| {name} | {label} | {cells} |", flush=True)
    return reports


def _gold(paths: list[Path], out: Path, limit: int | None) -> Path:
    """Write the corpus's gold files as one (the first LIMIT lines of each)."""
    lines: list[str] = []
    for path in paths:
        kept = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        lines.extend(kept[:limit])
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


if __name__ == "__main__":
    main()
