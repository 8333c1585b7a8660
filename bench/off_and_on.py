"""One setting off and on, side by side on every corpus: prints bench/README.md's tables.

Usage: python bench/off_and_on.py [--setting NAME] [--homes DIR] [--corpus NAME ...]
                                  [--json OUT]

NAME is a true/false setting: cross_lingual (the default) or refuse_missing_numbers. Each
corpus (bench/corpora.py) is ingested once with the default settings into DIR/<corpus> (kept
there with --homes, so a second run only evaluates), then every gold file is run through
`ragkb eval` (the Python API) with the setting false and true, the rest at their defaults.
Cells are hit@5 by kind of question (a refused answerable question is a miss), then the
refusal rates.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from corpora import CORPORA
from eval_corpora import _merged

KINDS = ("close", "paraphrase", "multi", "cross")
SETTINGS = ("cross_lingual", "refuse_missing_numbers")


def main() -> None:
    from ragkb.config import load_settings
    from ragkb.evaluation import evaluate
    from ragkb.kb import KnowledgeBase

    parser = argparse.ArgumentParser()
    parser.add_argument("--setting", default="cross_lingual", choices=SETTINGS)
    parser.add_argument("--homes", type=Path, help="data homes, one per corpus (kept)")
    parser.add_argument("--corpus", nargs="*", default=list(CORPORA), choices=CORPORA)
    parser.add_argument("--json", type=Path, help="also write every report here")
    args = parser.parse_args()
    reports: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        homes = args.homes or Path(tmp)
        for name in args.corpus:
            docs, golds = CORPORA[name]
            environ = {"RAGKB_HOME": str(homes / name)}
            started = time.perf_counter()
            KnowledgeBase(load_settings({}, environ=environ)).ingest([str(docs)])
            print(f"{name}: ingest {time.perf_counter() - started:.1f} s", flush=True)
            for on in (False, True):
                kb = KnowledgeBase(load_settings({args.setting: on}, environ=environ))
                started = time.perf_counter()
                merged = _merged([evaluate(kb, gold) for gold in golds])
                merged["seconds_per_question"] = round(
                    (time.perf_counter() - started) / len(merged["questions"]), 3
                )
                reports[f"{name} · {args.setting} {str(on).lower()}"] = merged
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2, ensure_ascii=False), encoding="utf-8")
    _print_table(reports, args.setting)


def _print_table(reports: dict[str, Any], setting: str) -> None:
    print(
        "\n| corpus · setting | "
        + " | ".join(f"{k} hit@5" for k in KINDS)
        + " | cross en→zh / zh→en | refused: absent (near misses) | refused: answerable "
        "| s/question |"
    )
    print("|---|" + "---|" * (len(KINDS) + 4))
    for key, report in reports.items():
        kinds = report["kinds"]
        cells = [_count(report["questions"], kind) for kind in KINDS]
        rows = [q for q in report["questions"] if q["kind"] == "cross"]
        by_lang = [_count(rows, "cross", lang) for lang in ("en", "zh")]
        absent = kinds.get("absent", {})
        near = absent.get("refusal_rate_near_miss")
        refused_absent = (
            f"{absent['refusal_rate_absent']:.2f}" + (f" ({near:.2f})" if near is not None else "")
            if absent
            else "-"
        )
        answerable = report["metrics"]["all"]["false_refusal_rate"]
        print(
            f"| {key} | "
            + " | ".join(cells)
            + f" | {' / '.join(by_lang)} | {refused_absent} | {answerable:.2f} "
            f"| {report['seconds_per_question']} |"
        )
    print(f"\nMisses at 5 with {setting} true:")
    for key, report in reports.items():
        if key.endswith("true"):
            misses = [
                q["id"]
                for q in report["questions"]
                if not q["unanswerable"]
                and (q["refused"] or not (q["covered_rank"] and q["covered_rank"] <= 5))
            ]
            print(f"- {key.split(' · ')[0]}: {', '.join(misses) or 'none'}")
    print(f"\nAbsent answers not refused with {setting} true (* = near miss):")
    for key, report in reports.items():
        if key.endswith("true"):
            kept = [
                q["id"] + ("*" if q.get("near_miss") else "")
                for q in report["questions"]
                if q["unanswerable"] and not q["refused"]
            ]
            print(f"- {key.split(' · ')[0]}: {', '.join(kept) or 'none'}")


def _count(rows: list[dict[str, Any]], kind: str, lang: str | None = None) -> str:
    """'hits/questions' at 5 for KIND (and LANG, the question's language), refusals as misses."""
    group = [
        r
        for r in rows
        if r["kind"] == kind and not r["unanswerable"] and (lang is None or r["lang"] == lang)
    ]
    hits = sum(
        1 for r in group if not r["refused"] and r["covered_rank"] and r["covered_rank"] <= 5
    )
    return f"{hits}/{len(group)}" if group else "-"


if __name__ == "__main__":
    main()
