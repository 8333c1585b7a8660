"""The evaluation corpora and embedders the bench scripts share.

Each corpus is a folder of documents and its gold files. sample_docs and external are the
calibration corpora the rules were first tuned on; corpus_b and corpus_c were written later,
by helpers who saw only the documents (their READMEs say how), and are reported
leave-one-corpus-out. corpus_d, written the same way on 2026-12-07, was held back from every
choice made after it arrived: the answer-kind refusal was designed on the other four.
corpus_e (2026-12-07, later the same day) was held back the same way, from every choice made
after it arrived, with 32 absent questions of which 24 are near misses of many kinds.
corpus_f, written the same way the same day, was held back from every choice made after it.
corpus_g arrived after the last change of that day and was run once, on the final code.
corpus_h (2026-12-07, a later stop) was written the same way and first run on that stop's final
code. corpus_i (the stop after) was written the same way and first run after that stop's one
refusal change (the who-question kind), before anything else was chosen. corpus_j (a later
stop) was written the same way and first run on that stop's first commit, before any change to
retrieval, refusal or answers. corpus_k (the stop after) and corpus_l (2026-12-08) were written
the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"

CORPORA: dict[str, tuple[Path, list[Path]]] = {
    "sample_docs": (
        ROOT / "sample_docs",
        [ROOT / "tests" / "data" / "eval" / "sample_docs_gold.jsonl"],
    ),
    "external": (
        DATA / "external" / "docs",
        [
            DATA / "external" / "gold.jsonl",
            DATA / "external" / "heldout.jsonl",
            DATA / "external" / "cross.jsonl",
        ],
    ),
    "corpus_b": (DATA / "corpus_b" / "docs", [DATA / "corpus_b" / "gold.jsonl"]),
    "corpus_c": (DATA / "corpus_c" / "docs", [DATA / "corpus_c" / "gold.jsonl"]),
    "corpus_d": (DATA / "corpus_d" / "docs", [DATA / "corpus_d" / "gold.jsonl"]),
    "corpus_e": (DATA / "corpus_e" / "docs", [DATA / "corpus_e" / "gold.jsonl"]),
    "corpus_f": (DATA / "corpus_f" / "docs", [DATA / "corpus_f" / "gold.jsonl"]),
    "corpus_g": (DATA / "corpus_g" / "docs", [DATA / "corpus_g" / "gold.jsonl"]),
    "corpus_h": (DATA / "corpus_h" / "docs", [DATA / "corpus_h" / "gold.jsonl"]),
    "corpus_i": (DATA / "corpus_i" / "docs", [DATA / "corpus_i" / "gold.jsonl"]),
    "corpus_j": (DATA / "corpus_j" / "docs", [DATA / "corpus_j" / "gold.jsonl"]),
    "corpus_k": (DATA / "corpus_k" / "docs", [DATA / "corpus_k" / "gold.jsonl"]),
    "corpus_l": (DATA / "corpus_l" / "docs", [DATA / "corpus_l" / "gold.jsonl"]),
}

# Settings that select each embedder (the bundled default, and the earlier MiniLM default).
EMBEDDERS: dict[str, dict[str, Any]] = {
    "e5": {},
    "minilm": {"embedding_backend": "sentence-transformers"},
}
