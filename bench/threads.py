"""llama.cpp threads: the bundled model's answers with 1 and with every logical core, on an idle
machine and beside a program that keeps one core busy, side by side in one process.

Usage: python bench/threads.py [--home DIR] [--rounds N]

Ingests sample_docs/ (into --home, kept when given), then asks the sample gold questions with
the model writing the answer (answer_style generative, 64 tokens at most, seed 1) under each
thread count, alternating the counts round by round so that the machine's drift falls on both.
"Busy" runs a pure-Python loop in a second process at normal priority, as another program on
a laptop would. Prints the median seconds per answer for each count and load.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "tests" / "data" / "eval" / "sample_docs_gold.jsonl"


def _spin() -> None:
    while True:
        pass


def main() -> None:
    from ragkb.config import load_settings
    from ragkb.kb import KnowledgeBase

    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, help="data home (kept between runs)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    gold = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines()]
    questions = [q["question"] for q in gold if not q.get("unanswerable")][:6]
    counts = sorted({1, os.cpu_count() or 1})
    with tempfile.TemporaryDirectory() as tmp:
        environ = {"RAGKB_HOME": str(args.home or tmp)}
        KnowledgeBase(load_settings({}, environ=environ)).ingest([str(ROOT / "sample_docs")])
        kbs = {
            n: KnowledgeBase(
                load_settings(
                    {"n_threads": n, "answer_style": "generative", "max_tokens": 64, "seed": 1},
                    environ=environ,
                )
            )
            for n in counts
        }
        seconds: dict[tuple[str, int], list[float]] = {}
        for load in ("idle", "busy"):
            spinner = None
            if load == "busy":
                spinner = multiprocessing.get_context("spawn").Process(target=_spin, daemon=True)
                spinner.start()
            try:
                for _ in range(args.rounds):
                    for n in counts:
                        kbs[n].ask(questions[0])  # warm: the model is loaded per thread count
                        for question in questions:
                            started = time.perf_counter()
                            kbs[n].ask(question)
                            elapsed = time.perf_counter() - started
                            seconds.setdefault((load, n), []).append(elapsed)
            finally:
                if spinner is not None:
                    spinner.kill()
    print(f"{os.cpu_count()} logical cores; {len(questions)} questions x {args.rounds} rounds")
    print("| load | threads | median s per answer |")
    print("|---|---|---|")
    for (load, n), times in seconds.items():
        print(f"| {load} | {n} | {statistics.median(times):.2f} |")


if __name__ == "__main__":
    main()
