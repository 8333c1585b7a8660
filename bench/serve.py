"""Serving: a warm `ragkb serve --http` against the cold CLI, and 4 clients at once.

    python bench/serve.py            # sample_docs in a temporary home

Figures, side by side in one run: cold `ragkb search` and `ragkb ask` (a fresh process each,
as a script calling the CLI pays); the same questions through the server, one client; then
4 concurrent clients x 50 searches (p50/p95, errors) and 4 x 10 asks. Time to first token is
measured on the stream of `POST /ask` with `answer_style = "both"` (the model answers after
the lead line), and for the CLI from `ask --json`'s own timings plus the process start.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "What is a trace tree?",
    "How long are traces kept?",
    "向量检索是什么？",
    "How do I set the temperature?",
    "Which formats can be ingested?",
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cold(env: dict[str, str], *args: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "ragkb", *args, "--json"], env=env, capture_output=True, check=False
    )
    if out.returncode not in (0, 8):  # 8: refused, an answer all the same
        raise SystemExit(f"ragkb {' '.join(args)}: exit {out.returncode}: {out.stderr[-500:]!r}")
    return time.perf_counter() - started, json.loads(out.stdout)


def first_token(http: Any, question: str) -> tuple[float, float]:
    """(seconds to the first text event, seconds to the end) of a streamed answer."""
    started = time.perf_counter()
    first = None
    with http.stream("POST", "/ask", json={"question": question, "stream": True}) as response:
        for line in response.iter_lines():
            if line == "event: text" and first is None:
                first = time.perf_counter() - started
    total = time.perf_counter() - started
    return (first if first is not None else total), total


def main() -> None:
    import httpx

    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        shutil.copytree(ROOT / "sample_docs", docs)
        env = {**os.environ, "RAGKB_HOME": str(Path(tmp) / "home")}
        env.pop("RAGKB_SERVE_TOKEN", None)
        subprocess.run([sys.executable, "-m", "ragkb", "ingest", str(docs), "-q"], env=env,
                       check=True, capture_output=True)  # fmt: skip
        figures: dict[str, Any] = {}
        cli_search = [cold(env, "search", q)[0] for q in QUESTIONS]
        cli_ask = [cold(env, "ask", q)[0] for q in QUESTIONS]
        cli_ttft = []
        for q in QUESTIONS:
            seconds, answer = cold(env, "ask", q, "--answer-style", "both")
            generated = (answer.get("timings") or {}).get("generate", 0.0)
            cli_ttft.append(seconds - generated)  # everything before the first token
        figures["cold CLI search, median s"] = statistics.median(cli_search)
        figures["cold CLI ask (extractive), median s"] = statistics.median(cli_ask)
        figures["cold CLI ask --answer-style both, to first token, median s"] = statistics.median(
            cli_ttft
        )

        port = free_port()
        server_env = {**env, "RAGKB_ANSWER_STYLE": "both"}
        server = subprocess.Popen(
            [sys.executable, "-m", "ragkb", "serve", "--http", "--port", str(port)],
            env=server_env, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            started = time.perf_counter()
            while True:
                try:
                    if httpx.get(url + "/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            figures["server start to healthy, s"] = time.perf_counter() - started
            with httpx.Client(base_url=url, timeout=300) as http:
                http.post("/search", json={"query": QUESTIONS[0]})  # models load here, once
                first_token(http, QUESTIONS[0])
                one = []
                for q in QUESTIONS * 4:
                    t = time.perf_counter()
                    http.post("/search", json={"query": q}).raise_for_status()
                    one.append(time.perf_counter() - t)
                figures["server search, 1 client, p50 ms"] = 1000 * pct(one, 0.5)
                figures["server search, 1 client, p95 ms"] = 1000 * pct(one, 0.95)
                ttft = [first_token(http, q)[0] for q in QUESTIONS]
                figures["server ask (both), 1 client, to first token, median s"] = (
                    statistics.median(ttft)
                )

            def search_client(i: int) -> tuple[list[float], int]:
                times, errors = [], 0
                with httpx.Client(base_url=url, timeout=300) as http:
                    for n in range(50):
                        t = time.perf_counter()
                        r = http.post("/search", json={"query": QUESTIONS[(i + n) % 5]})
                        times.append(time.perf_counter() - t)
                        errors += r.status_code != 200
                return times, errors

            def ask_client(i: int) -> tuple[list[float], int]:
                times, errors = [], 0
                with httpx.Client(base_url=url, timeout=300) as http:
                    for n in range(10):
                        try:
                            times.append(first_token(http, QUESTIONS[(i + n) % 5])[0])
                        except httpx.HTTPError:
                            errors += 1
                return times, errors

            with ThreadPoolExecutor(4) as pool:
                started = time.perf_counter()
                results = list(pool.map(search_client, range(4)))
                wall = time.perf_counter() - started
            times = [t for ts, _ in results for t in ts]
            figures["4 clients x 50 searches: errors"] = sum(e for _, e in results)
            figures["4 clients x 50 searches: p50 ms"] = 1000 * pct(times, 0.5)
            figures["4 clients x 50 searches: p95 ms"] = 1000 * pct(times, 0.95)
            figures["4 clients x 50 searches: searches/s"] = len(times) / wall
            with ThreadPoolExecutor(4) as pool:
                results = list(pool.map(ask_client, range(4)))
            times = [t for ts, _ in results for t in ts]
            figures["4 clients x 10 asks (both): errors"] = sum(e for _, e in results)
            figures["4 clients x 10 asks (both): to first token p50 s"] = pct(times, 0.5)
            figures["4 clients x 10 asks (both): to first token p95 s"] = pct(times, 0.95)
        finally:
            server.terminate()
            server.wait(timeout=30)
        print("| figure | value |")
        print("|---|---|")
        for name, value in figures.items():
            shown = f"{value:.3f}" if isinstance(value, float) else str(value)
            print(f"| {name} | {shown} |")


if __name__ == "__main__":
    main()
