"""Fit the relevance policy leave-one-corpus-out, from bench/refusal_features.py's dumps.

Usage: python bench/calibrate.py FEATURES_DIR [--embedder e5|minilm]

For each corpus, the policy's threshold (min_relevance, in calibrated similarity) is chosen on
the other corpora (the highest absent-answer refusal whose false-refusal rate stays at or
below 3 %) and reported on the held-out one. The in-sample figures (fitted on every corpus)
are printed beside them. The same is done with and without the answer-kind check, so its
effect is measured on corpora it was not fitted on.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from corpora import CORPORA

from ragkb.query.relevance import (
    COVERAGE_WEIGHT,
    answer_kind_missing,
    calibrated,
)

FLOORS = {"e5": 0.77, "minilm": 0.0}
MAX_FALSE_REFUSAL = 0.03
GRID = [round(0.02 * i, 2) for i in range(61)]  # min_relevance, calibrated: 0 to 1.2
BESTS = [1, 2, 3, 4, 5]  # the answer-kind check's KIND_BEST_SENTENCES


def refused(row: dict[str, Any], threshold: float, floor: float, kind_check: int | None) -> bool:
    """Apply the policy to one question's dumped signals."""
    if row["unknown_terms"]:
        return True
    relevant = [
        h
        for h in row["hits"]
        if calibrated(h["score"], floor) + COVERAGE_WEIGHT * h["coverage"] >= threshold
    ]
    if not relevant:
        return True
    if kind_check is not None:
        texts = [h["text"] for h in relevant]
        idf = row.get("idf", {})
        return answer_kind_missing(
            row["question"],
            row["query_tokens"],
            texts,
            idf=lambda token: idf.get(token, 1.0),
            equivalents=row.get("equivalents"),
            best=kind_check,
        )
    return False


def matches(hit: dict[str, Any], row: dict[str, Any]) -> bool:
    return hit["source"] in row["sources"] and (row["page"] is None or hit["page"] == row["page"])


def scores(
    rows: Sequence[dict[str, Any]], threshold: float, floor: float, kind: int | None
) -> dict:
    answerable = [r for r in rows if not r["unanswerable"]]
    absent = [r for r in rows if r["unanswerable"]]
    near = [r for r in absent if r.get("near_miss")]
    out = {}
    refusals = {r["id"] + r["corpus"]: refused(r, threshold, floor, kind) for r in rows}

    def rate(group: Sequence[dict[str, Any]], want: bool) -> float | None:
        if not group:
            return None
        return round(
            sum(1 for r in group if refusals[r["id"] + r["corpus"]] == want) / len(group), 3
        )

    hits5 = [
        r
        for r in answerable
        if not refusals[r["id"] + r["corpus"]] and any(matches(h, r) for h in r["hits"][:5])
    ]
    out["hit@5"] = round(len(hits5) / len(answerable), 3) if answerable else None
    out["refused_absent"] = rate(absent, True)
    out["refused_near_miss"] = rate(near, True)
    out["false_refusals"] = rate(answerable, True)
    return out


def fit(rows: Sequence[dict[str, Any]], floor: float, bests: Sequence[int | None]) -> tuple:
    """Return the (threshold, best sentences) with the most absent refusals at <= 3 % false
    refusals."""
    best, best_key = (GRID[0], bests[0]), (-1.0, 0.0)
    for best_n in bests:
        for t in GRID:
            s = scores(rows, t, floor, best_n)
            if (s["false_refusals"] or 0) > MAX_FALSE_REFUSAL:
                continue
            key = (s["refused_absent"] or 0, -t)
            if key > best_key:
                best, best_key = (t, best_n), key
    return best


def load(folder: Path, embedder: str) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for name in CORPORA:
        path = folder / f"{name}.{embedder}.jsonl"
        if path.is_file():
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
            gold = {}
            for g in CORPORA[name][1]:
                for line in g.read_text(encoding="utf-8").splitlines():
                    if line.strip():
                        q = json.loads(line)
                        gold[q["id"]] = q
            for r in rows:
                r["near_miss"] = bool(gold.get(r["id"], {}).get("near_miss"))
            out[name] = rows
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("features", type=Path)
    parser.add_argument("--embedder", default="e5", choices=sorted(FLOORS))
    args = parser.parse_args()
    floor = FLOORS[args.embedder]
    corpora = load(args.features, args.embedder)
    print(f"embedder {args.embedder}, similarity floor {floor}\n")
    print(
        "| held out | answer-kind check (best sentences) | threshold | hit@5 | refused, absent | "
        "refused, near miss | false refusals |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, bests in (("off", [None]), ("fitted", BESTS)):
        for name, rows in corpora.items():
            others = [r for other, rs in corpora.items() if other != name for r in rs]
            t, best_n = fit(others, floor, bests)
            s = scores(rows, t, floor, best_n)
            print(
                f"| {name} | {label} ({best_n}) | {t} | {s['hit@5']} | {s['refused_absent']} | "
                f"{s['refused_near_miss']} | {s['false_refusals']} |"
            )
        everything = [r for rs in corpora.values() for r in rs]
        t, best_n = fit(everything, floor, bests)
        s = scores(everything, t, floor, best_n)
        print(
            f"| all, in sample | {label} ({best_n}) | {t} | {s['hit@5']} | "
            f"{s['refused_absent']} | {s['refused_near_miss']} | {s['false_refusals']} |"
        )


if __name__ == "__main__":
    main()
