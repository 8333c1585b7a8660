"""Check a corpus's gold questions against the text that ragkb itself extracts from its docs/.

    python bench/data/check_gold.py CORPUS [--verbose] [--gold FILE]

CORPUS is a folder beside this script (external, corpus_b ... corpus_l); FILE defaults to its
gold.jsonl. For every answerable question each answer_any span must occur (case-insensitive, all
whitespace removed, as `ragkb eval` compares) in the named document, on the named 1-based PDF
page when a page is given. A multi-document question names two or more sources and no page;
each of its spans must occur in one of them and each source must hold at least one span.
Unanswerable questions carry no source, page or answer_any and may be marked "near_miss": true
(no other question may). A document's language is read from its file name (foo.en.pdf,
foo.zh-cn.docx, en-foo.pdf, zh-foo.docx): close and paraphrase questions are asked in it; a
"cross" question is asked in the other language, and its spans, verbatim, hold Chinese
characters exactly when the document is Chinese. Ids must be unique, and the counts by
language and kind must meet the corpus's minimums (for its main gold file only). Prints the
counts, and (with --verbose) spans that also occur in other documents. Exits 1 on any error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from ragkb.evaluation import normalise
from ragkb.ingest.documents import load_document
from ragkb.language import has_han

HERE = Path(__file__).resolve().parent
KINDS = {"close", "paraphrase", "cross", "multi", "absent"}
LANGS = {"en", "zh"}
_HELPER_MINIMUMS = {
    "questions": 60,
    "en": 30,
    "zh": 30,
    "close": 16,
    "paraphrase": 16,
    "cross": 16,
    "absent": 12,
    "near_miss": 6,
}
# corpus_e to corpus_l were written for refusal: more absent questions, most of them near misses.
_NEAR_MISS_MINIMUMS = {
    **_HELPER_MINIMUMS,
    "questions": 80,
    "en": 40,
    "zh": 40,
    "absent": 32,
    "near_miss": 20,
}
MINIMUMS: dict[str, dict[str, int]] = {
    "external": {"questions": 60, "en": 30, "zh": 22, "absent": 10, "multi": 6},
    "corpus_b": _HELPER_MINIMUMS,
    "corpus_c": _HELPER_MINIMUMS,
    "corpus_d": _HELPER_MINIMUMS,
    "corpus_e": _NEAR_MISS_MINIMUMS,
    "corpus_f": _NEAR_MISS_MINIMUMS,
    "corpus_g": _NEAR_MISS_MINIMUMS,
    "corpus_h": _NEAR_MISS_MINIMUMS,
    "corpus_i": _NEAR_MISS_MINIMUMS,
    "corpus_j": _NEAR_MISS_MINIMUMS,
    "corpus_k": _NEAR_MISS_MINIMUMS,
    "corpus_l": _NEAR_MISS_MINIMUMS,
}


def doc_lang(name: str) -> str | None:
    """Return a document's language from its file name, or None when it does not say."""
    if ".en." in name or name.startswith("en-"):
        return "en"
    if ".zh-cn." in name or name.startswith("zh-"):
        return "zh"
    return None


def load_texts(docs: Path) -> tuple[dict[str, str], dict[str, dict[int, str]]]:
    """Normalised whole-document text and per-page text for every file in DOCS."""
    whole: dict[str, str] = {}
    pages: dict[str, dict[int, str]] = {}
    for path in sorted(docs.iterdir()):
        doc = load_document(path)
        whole[path.name] = normalise("\n".join(s.text for s in doc.sections))
        pages[path.name] = {}
        for section in doc.sections:
            if section.page is not None:
                pages[path.name][section.page] = normalise(section.text)
    return whole, pages


class _Checker:
    """Checks one gold file's questions, collecting errors and counts."""

    def __init__(self, docs: Path, verbose: bool) -> None:
        self.whole, self.pages = load_texts(docs)
        self.verbose = verbose
        self.errors: list[str] = []
        self.seen: set[str] = set()
        self.counts: Counter[tuple[str, str]] = Counter()
        self.near_misses = 0

    def question(self, q: dict[str, Any], qid: str) -> None:
        def err(msg: str) -> None:
            self.errors.append(f"{qid}: {msg}")

        if qid in self.seen:
            err("duplicate id")
        self.seen.add(qid)
        lang, kind = q.get("lang"), q.get("kind")
        if lang not in LANGS:
            err(f"lang {lang!r} not in {sorted(LANGS)}")
        if kind not in KINDS:
            err(f"kind {kind!r} not in {sorted(KINDS)}")
        if not str(q.get("question", "")).strip():
            err("empty question")
        self.counts[(lang, kind)] += 1
        if "near_miss" in q:
            if q["near_miss"] is not True or kind != "absent":
                err('"near_miss" must be true and only on absent questions')
            else:
                self.near_misses += 1

        if kind == "absent" or q.get("unanswerable"):
            if kind != "absent" or q.get("unanswerable") is not True:
                err('absent questions need kind "absent" and "unanswerable": true')
            for key in ("source", "page", "answer_any"):
                if key in q:
                    err(f"absent question has {key!r}")
            return

        spans = q.get("answer_any") or []
        if not spans or not all(isinstance(s, str) and s.strip() for s in spans):
            err("answer_any must be a non-empty list of non-empty strings")
            return
        source = q.get("source")
        sources = source if isinstance(source, list) else [source]
        missing = [s for s in sources if s not in self.whole]
        if missing:
            err(f"unknown source(s) {missing}")
            return
        if kind == "multi":
            self._multi(q, sources, spans, err)
            return
        if isinstance(source, list):
            err("only multi questions may list several sources")
            return
        self._language(lang, kind, source, spans, err)
        self._single(q, source, spans, qid, err)

    def _multi(self, q: dict[str, Any], sources: list[str], spans: list[str], err: Any) -> None:
        if not isinstance(q.get("source"), list) or len(set(sources)) < 2:
            err("multi questions need a list of two or more sources")
        if "page" in q:
            err("multi questions carry no page")
        for span in spans:
            if not any(normalise(span) in self.whole[s] for s in sources):
                err(f"span {span!r} in none of {sources}")
        for s in sources:
            if not any(normalise(span) in self.whole[s] for span in spans):
                err(f"source {s} holds none of the spans")

    def _language(self, lang: Any, kind: Any, source: str, spans: list[str], err: Any) -> None:
        dlang = doc_lang(source)
        if dlang is None:
            if kind == "cross":
                err(f"cannot tell the language of {source} from its name")
            return
        if kind == "cross":
            if lang == dlang:
                err(f"cross question in {lang} over a {dlang} document")
            for span in spans:
                if has_han(span) != (dlang == "zh"):
                    err(f"span {span!r} is not in the source's language ({dlang})")
        elif lang != dlang:
            err(f"{kind} question in {lang} over a {dlang} document (use kind cross)")

    def _single(self, q: dict[str, Any], source: str, spans: list[str], qid: str, err: Any) -> None:
        page = q.get("page")
        is_pdf = source.lower().endswith(".pdf")
        if is_pdf and not isinstance(page, int):
            err("PDF sources need an integer page")
            return
        if not is_pdf and page is not None:
            err("page given for a non-PDF source")
        for span in spans:
            norm = normalise(span)
            if norm not in self.whole[source]:
                err(f"span {span!r} not in {source}")
            elif is_pdf and norm not in self.pages[source].get(page, ""):
                found = [p for p, text in self.pages[source].items() if norm in text]
                err(f"span {span!r} not on page {page} of {source} (found on {found})")
            elif self.verbose:
                others = [n for n, text in self.whole.items() if n != source and norm in text]
                if others:
                    print(f"note {qid}: {span!r} also in {others}")


def check(corpus: str, gold: Path | None = None, *, verbose: bool = False) -> int:
    """Check GOLD (default CORPUS/gold.jsonl); print counts and errors; return the exit code."""
    folder = HERE / corpus
    main_gold = folder / "gold.jsonl"
    gold = main_gold if gold is None else gold.resolve()
    checker = _Checker(folder / "docs", verbose)
    for number, line in enumerate(gold.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            q = json.loads(line)
            checker.question(q, q.get("id", f"line {number}"))

    counts, errors = checker.counts, checker.errors
    total = sum(counts.values())
    by_lang = Counter(lang for lang, _ in counts.elements())
    by_kind = Counter(kind for _, kind in counts.elements())
    print(f"{total} questions; by language {dict(by_lang)}; by kind {dict(by_kind)}")
    for lang in sorted(by_lang, key=str):
        row = {kind: counts[(lang, kind)] for kind in sorted(KINDS)}
        print(f"  {lang}: {row}")
    print(f"  near misses among absent: {checker.near_misses}")
    have = {"questions": total, **by_lang, **by_kind, "near_miss": checker.near_misses}
    # A held-out file beside the main one is small: the minimums are for the main file.
    for key, minimum in MINIMUMS.get(corpus, {}).items() if gold == main_gold else ():
        if have.get(key, 0) < minimum:
            errors.append(f"only {have.get(key, 0)} {key}; at least {minimum} wanted")
    for e in errors:
        print(f"ERROR {e}", file=sys.stderr)
    print("OK" if not errors else f"{len(errors)} error(s)")
    return 1 if errors else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", choices=sorted(MINIMUMS), help="corpus folder beside this file")
    parser.add_argument("--verbose", action="store_true", help="note spans found in other files")
    parser.add_argument("--gold", type=Path, help="gold file (default CORPUS/gold.jsonl)")
    args = parser.parse_args()
    return check(args.corpus, args.gold, verbose=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
