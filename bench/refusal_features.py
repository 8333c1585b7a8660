"""Dump the signals the relevance policy can use, per gold question, for calibration.

Usage: python bench/refusal_features.py OUT_DIR [--embedder e5|minilm] [--corpus NAME ...]
                                         [--homes DIR]

Ingests each corpus into a temporary knowledge base (or DIR/<corpus>, kept between runs, where
a second run's ingest has nothing to do), retrieves every gold question with the
relevance rule turned off, and writes OUT_DIR/<corpus>.<embedder>.jsonl: the gold fields plus
the ranks and the raw signals (similarities, keyword coverage per chunk and per sentence,
unknown terms, agreement of the vector and keyword rankings). bench/calibrate.py fits the
policy on some corpora and reports it on the others.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from corpora import CORPORA, EMBEDDERS


def features(kb: Any, question: str) -> dict[str, Any]:
    """Return the relevance signals for QUESTION (hybrid top 10, nothing refused)."""
    from ragkb.language import keyword_tokens, split_sentences
    from ragkb.query.candidates import rank_candidates
    from ragkb.query.names import unknown_terms
    from ragkb.query.relevance import weighted_coverage

    parts = kb.parts
    catalog, keywords = parts.catalog, parts.keywords

    def ranked(mode: str) -> Any:
        return rank_candidates(
            question,
            k=10,
            mode=mode,
            mmr=False,
            catalog=catalog,
            vectors=parts.vectors if mode != "keyword" else None,
            keywords=keywords,
            encoder=parts.query_encoder if mode != "keyword" else None,
            translator=parts.translator,
        )

    hybrid, vector, keyword = ranked("hybrid"), ranked("vector"), ranked("keyword")
    tokens = keyword_tokens(question)
    wanted = set(tokens)
    idf = keywords.idf(catalog)
    others = hybrid.equivalents
    hits = []
    for h in hybrid.hits:
        record = hybrid.records[h.chunk_id]
        sentences = [record.text[a:b] for a, b in split_sentences(record.text)] or [record.text]
        sentence_cov = max(
            weighted_coverage(wanted, " ".join(keyword_tokens(s)), idf, others) for s in sentences
        )
        hits.append(
            {
                "source": Path(h.source).name,
                "page": h.page,
                "score": h.score,
                "coverage": weighted_coverage(wanted, record.keywords, idf, others),
                "sentence_coverage": sentence_cov,
                "text": record.text,
                "keywords": record.keywords,
            }
        )
    vocabulary = keywords.vocabulary(catalog)
    return {
        "hits": hits,
        "vector_top": [Path(h.source).name for h in vector.hits[:5]],
        "vector_scores": [h.score for h in vector.hits[:5]],
        "keyword_top": [Path(h.source).name for h in keyword.hits[:5]],
        "keyword_scores": [h.score for h in keyword.hits[:5]],
        "vector_in_keyword5": bool(
            vector.hits and vector.hits[0].chunk_id in {h.chunk_id for h in keyword.hits[:5]}
        ),
        "unknown_terms": unknown_terms(
            tokens, vocabulary, parts.query_encoder.is_common_word, question=question
        )
        if vocabulary is not None
        else [],
        "query_tokens": tokens,
        "equivalents": {word: sorted(forms) for word, forms in others.items()},
        "idf": {t: idf(t) for t in {*tokens, *(f for forms in others.values() for f in forms)}},
    }


def main() -> None:
    from ragkb.config import load_settings
    from ragkb.evaluation import read_gold
    from ragkb.kb import KnowledgeBase

    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--embedder", choices=sorted(EMBEDDERS), default="e5")
    parser.add_argument("--corpus", nargs="*", default=list(CORPORA))
    parser.add_argument("--homes", type=Path, help="keep each knowledge base in DIR/<corpus>")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.corpus:
            docs, golds = CORPORA[name]
            environ = {"RAGKB_HOME": str((args.homes or Path(tmp)) / name)}
            kb = KnowledgeBase(load_settings(EMBEDDERS[args.embedder], environ=environ))
            report = kb.ingest([str(docs)])
            print(f"{name}: {report.chunks_added} chunks, {len(report.failed)} failed")
            with (args.out / f"{name}.{args.embedder}.jsonl").open("w", encoding="utf-8") as out:
                for gold in golds:
                    for q in read_gold(gold):
                        row = {
                            "corpus": name,
                            "gold": gold.name,
                            "id": q.id,
                            "question": q.question,
                            "lang": q.lang,
                            "kind": q.kind,
                            "unanswerable": q.unanswerable,
                            "sources": list(q.sources),
                            "page": q.page,
                            **features(kb, q.question),
                        }
                        out.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
