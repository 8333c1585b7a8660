"""Run the ragkb benchmarks and print the figures (markdown) for bench/README.md.

Usage: python bench/run_all.py [--copies 4]

Every figure is a ratio measured in the same run, so it holds on a noisy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_docs"


def timed(cmd: list[str], env: dict[str, str], repeat: int = 3) -> float:
    """Return the median wall time of a command, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=False, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_rss_mb(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run CMD under /usr/bin/time-like accounting; return (seconds, peak RSS of children MB)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=False, capture_output=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(after, before) / 1024


def run_json_script(code: str, arg: Path, env: dict[str, str]) -> dict[str, float]:
    """Run CODE in a fresh Python with ARG; return the JSON object on its last stdout line."""
    out = subprocess.run(
        [sys.executable, "-c", code, str(arg)], env=env, capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def make_corpus(target: Path, copies: int) -> Path:
    """Copy sample_docs COPIES times (distinct paths, same content => real work each time)."""
    for i in range(copies):
        dest = target / f"copy{i}"
        shutil.copytree(SAMPLE, dest)
        # Make every copy's text unique so chunk ids and vectors differ.
        (dest / "release-notes.txt").write_text(
            (dest / "release-notes.txt").read_text(encoding="utf-8") + f"\nCopy {i}.\n",
            encoding="utf-8",
        )
    return target


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=4)
    args = parser.parse_args()
    ragkb = [sys.executable, "-m", "ragkb"]
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        env = {**os.environ, "RAGKB_HOME": str(base / "home"), "NO_COLOR": "1"}

        floor = timed([sys.executable, "-c", "pass"], env)
        help_s = timed([*ragkb, "--help"], env)
        list_s = timed([*ragkb, "list"], env)
        rows += [
            ("python -c pass (s)", f"{floor:.3f}"),
            ("ragkb --help (s)", f"{help_s:.3f} ({help_s / floor:.1f}x python)"),
            ("ragkb list (s)", f"{list_s:.3f} ({list_s / floor:.1f}x python)"),
        ]

        one = make_corpus(base / "one", 1)
        four = make_corpus(base / "four", args.copies)
        first_s, rss_1x = peak_rss_mb([*ragkb, "ingest", str(one), "-q"], env)
        noop_s = timed([*ragkb, "ingest", str(one), "-q"], env, repeat=1)
        env4 = {**env, "RAGKB_HOME": str(base / "home4")}
        four_s, rss_4x = peak_rss_mb([*ragkb, "ingest", str(four), "-q"], env4)
        rows += [
            ("first ingest, sample_docs (s)", f"{first_s:.2f}"),
            ("no-op re-ingest (s)", f"{noop_s:.2f} ({noop_s / first_s:.0%} of first)"),
            (f"ingest {args.copies}x corpus (s)", f"{four_s:.2f}"),
            ("peak RSS ingest 1x / 4x (MB)", f"{rss_1x:.0f} / {rss_4x:.0f}"),
        ]

        search_s = timed([*ragkb, "search", "what is a trace tree", "--json"], env)
        ask_s = timed(
            [*ragkb, "ask", "what is a trace tree?", "--json", "--seed", "1"], env, repeat=1
        )
        rows += [
            ("cold search (s)", f"{search_s:.2f}"),
            ("cold ask, 256 max tokens (s)", f"{ask_s:.2f}"),
        ]
        rows += encode_vs_ingest(env)
        rows += llama_overhead(env)
    print("| figure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


def encode_vs_ingest(env: dict[str, str]) -> list[tuple[str, str]]:
    """Ingest chunks/s against raw model.encode of the same chunks in the same process."""
    code = r"""
import json, sys, time, tempfile, shutil
from pathlib import Path
from ragkb.config import load_settings
from ragkb.kb import KnowledgeBase
src = Path(sys.argv[1])
with tempfile.TemporaryDirectory() as home:
    kb = KnowledgeBase(load_settings({}, environ={"RAGKB_HOME": home}))
    kb.embedder.embed_passages(["warm up"])
    t = time.perf_counter(); report = kb.ingest([str(src)]); ingest_s = time.perf_counter() - t
    texts = [c.text for c in kb.catalog.iter_chunks()]
    t = time.perf_counter(); kb.embedder.embed_passages(texts); encode_s = time.perf_counter() - t
print(json.dumps({"chunks": len(texts), "ingest_s": ingest_s, "encode_s": encode_s}))
"""
    with tempfile.TemporaryDirectory() as tmp:
        corpus = make_corpus(Path(tmp), 4)
        data = run_json_script(code, corpus, env)
    ingest_rate = data["chunks"] / data["ingest_s"]
    encode_rate = data["chunks"] / data["encode_s"]
    return [
        ("ingest chunks/s (warm model)", f"{ingest_rate:.0f} ({data['chunks']} chunks)"),
        ("raw model.encode chunks/s", f"{encode_rate:.0f}"),
        ("ingest / raw encode", f"{ingest_rate / encode_rate:.2f}"),
    ]


def llama_overhead(env: dict[str, str]) -> list[tuple[str, str]]:
    """Warm ask (model loaded) against raw llama-cpp on the same prompt."""
    code = r"""
import json, sys, time, tempfile
from ragkb.config import load_settings
from ragkb.kb import KnowledgeBase, TextEvent
with tempfile.TemporaryDirectory() as home:
    kb = KnowledgeBase(load_settings({"seed": 1, "max_tokens": 128}, environ={"RAGKB_HOME": home}))
    kb.ingest([sys.argv[1]])
    q = "What is a trace tree?"
    kb.ask(q)  # warm: models loaded
    t = time.perf_counter(); first = None
    for ev in kb.ask_stream(q, evidence=False):
        if isinstance(ev, TextEvent) and first is None:
            first = time.perf_counter() - t
    total = time.perf_counter() - t
    packed = kb.prompt_for(q)
    llama = kb.generator.llama
    llama.reset()
    t = time.perf_counter(); rfirst = None; n = 0
    for ch in llama.create_chat_completion(messages=packed.messages, stream=True, max_tokens=128,
                                           seed=1, temperature=0.2):
        if ch["choices"][0]["delta"].get("content") is not None:
            n += 1
            if rfirst is None:
                rfirst = time.perf_counter() - t
    rtotal = time.perf_counter() - t
print(json.dumps({"ttft": first, "total": total, "raw_ttft": rfirst, "raw_total": rtotal,
                  "tokens": n, "prompt_tokens": packed.prompt_tokens}))
"""
    d = run_json_script(code, SAMPLE, env)
    return [
        ("warm ask time to first token (s)", f"{d['ttft']:.3f}"),
        ("raw llama-cpp time to first token, same prompt (s)", f"{d['raw_ttft']:.3f}"),
        ("prompt tokens", str(d["prompt_tokens"])),
        ("raw llama-cpp tokens/s", f"{d['tokens'] / d['raw_total']:.0f}"),
    ]


if __name__ == "__main__":
    main()
