"""Check gold.jsonl against the text that ragkb itself extracts from docs/.

    python bench/data/corpus_c/check_gold.py [--verbose] [--gold other.jsonl]

For every answerable question each answer_any span must occur (case-insensitive, all whitespace
removed, as `ragkb eval` compares) in the named document, on the named 1-based PDF page when a
page is given. A multi-document question names two or more sources and no page; each of its
spans must occur in one of them and each source must hold at least one span. Unanswerable
questions carry no source, page or answer_any and may be marked "near_miss": true. A cross
(cross-lingual) question is asked in one language about a document in the other: its spans are
in the source's language (checked by the file-name prefix en-/zh-). Ids must be unique. Prints
counts by language and kind, and (with --verbose) spans that also occur in other documents.
Exits 1 on any error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from ragkb.evaluation import normalise
from ragkb.ingest.documents import load_document

HERE = Path(__file__).resolve().parent
DOCS = HERE / "docs"
GOLD = HERE / "gold.jsonl"
KINDS = {"close", "paraphrase", "cross", "multi", "absent"}
LANGS = {"en", "zh"}
MINIMUMS = {
    "questions": 60,
    "en": 30,
    "zh": 30,
    "close": 16,
    "paraphrase": 16,
    "cross": 16,
    "absent": 12,
    "near_miss": 6,
}


def load_texts() -> tuple[dict[str, str], dict[str, dict[int, str]]]:
    """Normalised whole-document text and per-page text for every file in docs/."""
    whole: dict[str, str] = {}
    pages: dict[str, dict[int, str]] = {}
    for path in sorted(DOCS.iterdir()):
        doc = load_document(path)
        whole[path.name] = normalise("\n".join(s.text for s in doc.sections))
        pages[path.name] = {}
        for section in doc.sections:
            if section.page is not None:
                pages[path.name][section.page] = normalise(section.text)
    return whole, pages


def check(verbose: bool, gold: Path = GOLD) -> int:
    whole, pages = load_texts()
    errors: list[str] = []
    seen: set[str] = set()
    counts: Counter[tuple[str, str]] = Counter()
    near_misses = 0
    for number, line in enumerate(gold.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        q = json.loads(line)
        qid = q.get("id", f"line {number}")

        def err(msg: str, qid: str = qid) -> None:
            errors.append(f"{qid}: {msg}")

        if qid in seen:
            err("duplicate id")
        seen.add(qid)
        lang, kind = q.get("lang"), q.get("kind")
        if lang not in LANGS:
            err(f"lang {lang!r} not in {sorted(LANGS)}")
        if kind not in KINDS:
            err(f"kind {kind!r} not in {sorted(KINDS)}")
        if not str(q.get("question", "")).strip():
            err("empty question")
        counts[(lang, kind)] += 1

        if kind == "absent" or q.get("unanswerable"):
            if kind != "absent" or q.get("unanswerable") is not True:
                err('absent questions need kind "absent" and "unanswerable": true')
            for key in ("source", "page", "answer_any"):
                if key in q:
                    err(f"absent question has {key!r}")
            if "near_miss" in q:
                if q["near_miss"] is not True:
                    err("near_miss must be true when present")
                else:
                    near_misses += 1
            continue
        if "near_miss" in q:
            err("only absent questions may be near_miss")

        spans = q.get("answer_any") or []
        if not spans or not all(isinstance(s, str) and s.strip() for s in spans):
            err("answer_any must be a non-empty list of non-empty strings")
            continue
        source = q.get("source")
        sources = source if isinstance(source, list) else [source]
        missing = [s for s in sources if s not in whole]
        if missing:
            err(f"unknown source(s) {missing}")
            continue
        doc_langs = {s.split("-", 1)[0] for s in sources}
        if kind == "cross" and lang in doc_langs:
            err(f"cross question in {lang!r} over a document in the same language {sources}")
        if kind in ("close", "paraphrase") and doc_langs != {lang}:
            err(f"{kind} question in {lang!r} over {sources}; use kind cross")
        if kind == "multi":
            if not isinstance(source, list) or len(set(sources)) < 2:
                err("multi questions need a list of two or more sources")
            if "page" in q:
                err("multi questions carry no page")
            for span in spans:
                if not any(normalise(span) in whole[s] for s in sources):
                    err(f"span {span!r} in none of {sources}")
            for s in sources:
                if not any(normalise(span) in whole[s] for span in spans):
                    err(f"source {s} holds none of the spans")
        else:
            if isinstance(source, list):
                err("only multi questions may list several sources")
                continue
            page = q.get("page")
            is_pdf = source.lower().endswith(".pdf")
            if is_pdf and not isinstance(page, int):
                err("PDF sources need an integer page")
                continue
            if not is_pdf and page is not None:
                err("page given for a non-PDF source")
            for span in spans:
                norm = normalise(span)
                if norm not in whole[source]:
                    err(f"span {span!r} not in {source}")
                elif is_pdf and norm not in pages[source].get(page, ""):
                    found = [p for p, text in pages[source].items() if norm in text]
                    err(f"span {span!r} not on page {page} of {source} (found on {found})")
                elif verbose:
                    others = [n for n, text in whole.items() if n != source and norm in text]
                    if others:
                        print(f"note {qid}: {span!r} also in {others}")

    total = sum(counts.values())
    by_lang = Counter(lang for lang, _ in counts.elements())
    by_kind = Counter(kind for _, kind in counts.elements())
    print(f"{total} questions; by language {dict(by_lang)}; by kind {dict(by_kind)}")
    for lang in sorted(by_lang, key=str):
        row = {kind: counts[(lang, kind)] for kind in sorted(KINDS)}
        print(f"  {lang}: {row}")
    print(f"  near misses among absent: {near_misses}")
    have = {"questions": total, "near_miss": near_misses, **by_lang, **by_kind}
    for key, minimum in MINIMUMS.items() if gold == GOLD else ():  # the held-out set is small
        if have.get(key, 0) < minimum:
            errors.append(f"only {have.get(key, 0)} {key}; at least {minimum} wanted")
    for e in errors:
        print(f"ERROR {e}", file=sys.stderr)
    print("OK" if not errors else f"{len(errors)} error(s)")
    return 1 if errors else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="note spans found in other files")
    parser.add_argument("--gold", type=Path, default=GOLD, help="gold file (default gold.jsonl)")
    args = parser.parse_args()
    return check(args.verbose, args.gold.resolve())


if __name__ == "__main__":
    sys.exit(main())
