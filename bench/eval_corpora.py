"""Retrieval quality on every gold set, for each embedder and mode: prints the markdown tables
of bench/README.md.

Usage: python bench/eval_corpora.py [--embedder e5 minilm] [--mode vector keyword hybrid]
                                    [--corpus NAME ...] [--json OUT] [--no-context]

Ingests each corpus (bench/corpora.py) into a temporary knowledge base with the default
settings (the embedder aside), then runs `ragkb eval` (the Python API). A refused answerable
question counts as a miss; "ranked hit@5" is the ranking alone.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from corpora import CORPORA, EMBEDDERS

MODES = ("vector", "keyword", "hybrid")


def main() -> None:
    from ragkb.config import load_settings
    from ragkb.evaluation import evaluate
    from ragkb.kb import KnowledgeBase

    parser = argparse.ArgumentParser()
    parser.add_argument("--embedder", nargs="*", default=list(EMBEDDERS), choices=EMBEDDERS)
    parser.add_argument("--mode", nargs="*", default=list(MODES), choices=MODES)
    parser.add_argument("--corpus", nargs="*", default=list(CORPORA), choices=CORPORA)
    parser.add_argument("--json", type=Path, help="also write every report here")
    parser.add_argument(
        "--no-context",
        action="store_true",
        help="index chunks without their file title and heading trail (to measure them)",
    )
    args = parser.parse_args()
    if args.no_context:
        import ragkb.ingest.apply as apply

        apply.indexed_text = lambda chunk, title: chunk.text
    reports: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for embedder in args.embedder:
            for name in args.corpus:
                docs, golds = CORPORA[name]
                environ = {"RAGKB_HOME": str(Path(tmp) / f"{embedder}-{name}")}
                flags = EMBEDDERS[embedder]
                started = time.perf_counter()
                ingest = KnowledgeBase(load_settings(flags, environ=environ)).ingest([str(docs)])
                key = f"{name} · {embedder}"
                reports[key] = {
                    "ingest": {
                        "files": len(ingest.added),
                        "failed": len(ingest.failed),
                        "chunks": ingest.chunks_added,
                        "seconds": round(time.perf_counter() - started, 1),
                    }
                }
                for mode in args.mode:
                    kb = KnowledgeBase(load_settings({**flags, "mode": mode}, environ=environ))
                    reports[key][mode] = [evaluate(kb, gold) for gold in golds]
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2, ensure_ascii=False), encoding="utf-8")
    for key, report in reports.items():
        _print_set(key, report, args.mode)


def _merged(evals: list[dict[str, Any]]) -> dict[str, Any]:
    """One corpus's gold files as one set: re-score the union of their question rows."""
    from ragkb.evaluation import _metrics

    rows = [q for e in evals for q in e["questions"]]
    by_lang: dict[str, list[dict[str, Any]]] = {"all": rows}
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_lang.setdefault(row["lang"], []).append(row)
        by_kind.setdefault(row["kind"] or "unspecified", []).append(row)
    return {
        "metrics": {k: _metrics(v, False) for k, v in by_lang.items()},
        "kinds": {k: _metrics(v, False) for k, v in sorted(by_kind.items())},
        "questions": rows,
    }


def _print_set(key: str, report: dict[str, Any], modes: list[str]) -> None:
    ingest = report["ingest"]
    print(
        f"\n### {key}: {ingest['files']} files, {ingest['chunks']} chunks, "
        f"{ingest['failed']} failed, ingest {ingest['seconds']} s\n"
    )
    print(
        "| mode | lang | questions | hit@1 | hit@5 | MRR | ranked hit@5 | refused, absent | "
        "refused, answerable |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    merged = {mode: _merged(report[mode]) for mode in modes}
    for mode in modes:
        for lang, m in merged[mode]["metrics"].items():
            cells = [
                m["questions"],
                m["hit@1"],
                m["hit@5"],
                m["mrr"],
                m["ranked_hit@5"],
                m["refusal_rate_absent"],
                m["false_refusal_rate"],
            ]
            print(f"| {mode} | {lang} | " + " | ".join(_cell(c) for c in cells) + " |")
    last = modes[-1]
    print(f"\n{last}, by kind of question:\n")
    print("| kind | questions | hit@1 | hit@5 | MRR | ranked hit@5 | refused |")
    print("|---|---|---|---|---|---|---|")
    for kind, m in merged[last]["kinds"].items():
        refused = m["refusal_rate_absent"] if kind == "absent" else m["false_refusal_rate"]
        if kind == "absent" and m["refusal_rate_near_miss"] is not None:
            refused = f"{refused:.3f} (near misses {m['refusal_rate_near_miss']:.3f})"
        cells = [m["questions"], m["hit@1"], m["hit@5"], m["mrr"], m["ranked_hit@5"], refused]
        print(f"| {kind} | " + " | ".join(_cell(c) for c in cells) + " |")
    questions = merged[last]["questions"]
    misses = [
        q["id"]
        for q in questions
        if not q["unanswerable"] and not (q["covered_rank"] and q["covered_rank"] <= 5)
    ]
    wrong = [q["id"] for q in questions if q["refused"] != q["unanswerable"]]
    print(
        f"\n{last} misses at 5: {', '.join(misses) or 'none'}; refusal mistakes: "
        f"{', '.join(wrong) or 'none'}"
    )


def _cell(value: Any) -> str:
    return "" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    main()
