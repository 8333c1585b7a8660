"""`ragkb eval`: score retrieval (and optionally answers) against a gold question file."""

from __future__ import annotations

import difflib
import json
import re
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragkb.errors import RagkbError, UsageError
from ragkb.language import language_of
from ragkb.query.evidence import cited_numbers
from ragkb.query.relevance import effective_calibration
from ragkb.query.repetition import repeats

if TYPE_CHECKING:
    from ragkb.kb import KnowledgeBase
    from ragkb.types import Filter, Hit


@dataclass(frozen=True, slots=True)
class GoldQuestion:
    """One line of a gold file."""

    id: str
    question: str
    lang: str
    sources: tuple[str, ...]  # file names; a multi-document question lists every file it needs
    page: int | None
    answer_any: tuple[str, ...]
    unanswerable: bool
    kind: str | None
    near_miss: bool = False  # absent, though the documents discuss its topic at length


# The fields of a gold line (README.md, "Commands"); any other is a mistake worth naming: a
# misspelt "sources" or "absent" would silently make every question answerable and sourceless.
GOLD_FIELDS = (
    "id",
    "question",
    "lang",
    "source",
    "page",
    "answer_any",
    "unanswerable",
    "near_miss",
    "kind",
)


def read_gold(path: Path) -> list[GoldQuestion]:
    """Read a gold JSONL file; a line that is not a valid gold question is a UsageError."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read gold file ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append(_gold_question(json.loads(line), number))
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}:{number}: not JSON ({exc.msg})") from exc
        except ValueError as exc:
            raise UsageError(f"{path}:{number}: {exc}") from exc
    if not out:  # every metric would be null, and a script would take that for a score
        raise UsageError(f"{path}: no gold questions (one JSON object per line)")
    return out


def _gold_question(obj: Any, number: int) -> GoldQuestion:
    """Return the gold question of one parsed line; ValueError says what is wrong with it."""
    if not isinstance(obj, dict) or not isinstance(obj.get("question"), str):
        raise ValueError('expected a JSON object with a "question" string')
    for key in obj:
        if key not in GOLD_FIELDS:
            close = difflib.get_close_matches(key, GOLD_FIELDS, n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            raise ValueError(
                f'unknown field "{key}"{hint}; a gold line has {", ".join(GOLD_FIELDS)}'
            )
    source = obj.get("source")
    sources = tuple(source) if isinstance(source, list) else (source,) if source else ()
    if not all(isinstance(s, str) and s for s in sources):
        raise ValueError('"source" must be a file name or a list of file names')
    unanswerable = obj.get("unanswerable", False)
    if not isinstance(unanswerable, bool):
        raise ValueError('"unanswerable" must be true or false')
    if not unanswerable and not sources:
        raise ValueError('an answerable question needs "source" (or "unanswerable": true)')
    page = obj.get("page")
    if page is not None and (not isinstance(page, int) or isinstance(page, bool) or page < 1):
        raise ValueError('"page" must be a page number from 1')
    answer_any = obj.get("answer_any") or []
    if not isinstance(answer_any, list) or not all(isinstance(a, str) for a in answer_any):
        raise ValueError('"answer_any" must be a list of strings')
    question = obj["question"]
    return GoldQuestion(
        id=str(obj.get("id", number)),
        question=question,
        lang=obj.get("lang") or language_of(question),
        sources=tuple(Path(s).name for s in sources),
        # A page only makes sense for a single-document question.
        page=page if len(sources) == 1 else None,
        answer_any=tuple(answer_any),
        unanswerable=unanswerable,
        kind=obj.get("kind"),
        near_miss=bool(obj.get("near_miss", False)),
    )


def normalise(text: str) -> str:
    """Lowercase and drop all whitespace, for span matching."""
    return re.sub(r"\s+", "", text).lower()


def _matches(hit: Hit, gold: GoldQuestion) -> bool:
    if Path(hit.source).name not in gold.sources:
        return False
    return gold.page is None or hit.page == gold.page


def _ranks(hits: Sequence[Hit], gold: GoldQuestion) -> tuple[int | None, int | None]:
    """(rank of the first relevant hit, rank by which every needed source has appeared)."""
    first = next((h.rank for h in hits if _matches(h, gold)), None)
    seen: set[str] = set()
    for hit in hits:
        if _matches(hit, gold):
            seen.add(Path(hit.source).name)
            if len(seen) == len(gold.sources):
                return first, hit.rank
    return first, None


def evaluate(
    kb: KnowledgeBase, gold_path: Path, *, answers: bool = False, scope: Filter | None = None
) -> dict[str, Any]:
    """Run every gold question (over the files SCOPE lets through); return metrics per
    language and overall, plus per-question rows."""
    questions = read_gold(gold_path)
    rows: list[dict[str, Any]] = []
    k = max(5, kb.settings.retrieval.k)
    for q in questions:
        retrieval = kb.retrieve(q.question, k=k, scope=scope)
        rank, covered_rank = _ranks(retrieval.hits, q)
        row: dict[str, Any] = {
            "id": q.id,
            "lang": q.lang,
            "kind": q.kind,
            "unanswerable": q.unanswerable,
            "near_miss": q.near_miss,
            "rank": rank,
            "covered_rank": covered_rank,
            "refused": not retrieval.relevant,
            "top_score": retrieval.hits[0].score if retrieval.hits else None,
        }
        if answers:
            row.update(_score_answer(kb, q, scope))
        rows.append(row)
    calibration = effective_calibration(kb.settings.retrieval, kb.parts.query_encoder.calibration)
    groups: dict[str, list[dict[str, Any]]] = {"all": rows}
    for row in rows:
        groups.setdefault(row["lang"], []).append(row)
    kinds: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        kinds.setdefault(row["kind"] or "unspecified", []).append(row)
    return {
        "gold": str(gold_path),
        "kb": kb.name,
        "filter": scope.describe() if scope else {},
        "mode": kb.settings.retrieval.mode,
        "min_score": calibration.min_score,
        "min_relevance": calibration.min_relevance,
        "similarity_floor": calibration.similarity_floor,
        "metrics": {name: _metrics(group, answers) for name, group in groups.items()},
        "kinds": {name: _metrics(group, answers) for name, group in sorted(kinds.items())},
        "questions": rows,
    }


def _score_answer(kb: KnowledgeBase, q: GoldQuestion, scope: Filter | None) -> dict[str, Any]:
    started = time.monotonic()
    try:
        answer = kb.ask(q.question, scope=scope)
    except RagkbError as exc:
        return {"error": str(exc), "seconds": time.monotonic() - started}
    spans = [normalise(s) for s in q.answer_any]
    text = normalise(answer.text)
    evidence = normalise(" ".join(e.quote for e in answer.evidence))
    lead = normalise(answer.lead.quote) if answer.lead else ""
    cited = {
        Path(answer.sources[n - 1].source).name
        for n in cited_numbers(answer.text)
        if 1 <= n <= len(answer.sources)
    }
    return {
        "answer": answer.text,
        "answer_refused": answer.refused,
        "answer_has_span": any(s in text for s in spans) if spans else None,
        "evidence_has_span": any(s in evidence for s in spans) if spans else None,
        "lead_has_span": any(s in lead for s in spans) if spans and answer.lead else None,
        # What the user reads: the lead line, the answer and the evidence under it.
        "shown_has_span": any(s in f"{lead}|{text}|{evidence}" for s in spans) if spans else None,
        "language_match": answer.language_match,
        "language_retry": answer.language_retry,
        "sentences": len(answer.sentences),
        "unsupported_sentences": sum(1 for s in answer.sentences if not s.supported),
        "source_retrieved": any(Path(h.source).name in q.sources for h in answer.sources),
        "cited_expected": bool(cited & set(q.sources)) if q.sources else None,
        # A loop is the model's: an extractive answer is the documents' own text, whose
        # tables and lists repeat words by design.
        "answer_repeats": None if answer.finish_reason == "extractive" else repeats(answer.text),
        "finish_reason": answer.finish_reason,
        "error": None,
        "seconds": time.monotonic() - started,
    }


def _metrics(rows: Sequence[dict[str, Any]], answers: bool) -> dict[str, Any]:
    """Retrieval metrics; a refused answerable question is a miss, however well it ranked."""
    answerable = [r for r in rows if not r["unanswerable"]]
    answered = [r for r in answerable if not r["refused"]]
    absent = [r for r in rows if r["unanswerable"]]
    refused = [r for r in rows if r["refused"]]
    n = len(answerable)

    def hit_at(k: int, group: Sequence[dict[str, Any]]) -> int:
        # Every needed document in the top K (one for most questions).
        return sum(1 for r in group if r["covered_rank"] and r["covered_rank"] <= k)

    out: dict[str, Any] = {
        "questions": len(rows),
        "answerable": n,
        "hit@1": _ratio(sum(1 for r in answered if r["rank"] == 1), n),
        "hit@5": _ratio(hit_at(5, answered), n),
        "mrr": round(sum(1 / r["rank"] for r in answered if r["rank"]) / n, 4) if n else None,
        "ranked_hit@5": _ratio(hit_at(5, answerable), n),  # the ranking alone, refusals aside
        "refusal_rate_absent": _ratio(sum(1 for r in absent if r["refused"]), len(absent)),
        "refusal_rate_near_miss": _ratio(
            sum(1 for r in absent if r["refused"] and r.get("near_miss")),
            sum(1 for r in absent if r.get("near_miss")),
        ),
        "false_refusal_rate": _ratio(sum(1 for r in answerable if r["refused"]), n),
        "refusal_precision": _ratio(sum(1 for r in refused if r["unanswerable"]), len(refused)),
    }
    if answers:
        scored = [r for r in answerable if r.get("answer_has_span") is not None]
        # Every answer whose language could be told, absent questions' included.
        judged = [r for r in rows if r.get("language_match") is not None]
        retrieved = [r for r in scored if r.get("source_retrieved")]
        generated = [r for r in scored if r.get("answer_repeats") is not None]
        out.update(
            {
                "answer_has_span": _ratio(
                    sum(1 for r in scored if r["answer_has_span"]), len(scored)
                ),
                "evidence_has_span": _ratio(
                    sum(1 for r in scored if r["evidence_has_span"]), len(scored)
                ),
                "lead_has_span": _ratio(
                    sum(1 for r in scored if r.get("lead_has_span")),
                    sum(1 for r in scored if r.get("lead_has_span") is not None),
                ),
                "shown_has_span": _ratio(
                    sum(1 for r in scored if r.get("shown_has_span")), len(scored)
                ),
                "language_match": _ratio(
                    sum(1 for r in judged if r["language_match"]), len(judged)
                ),
                "language_retried": _ratio(
                    sum(1 for r in judged if r.get("language_retry")), len(judged)
                ),
                "unsupported_sentences": _ratio(
                    sum(r.get("unsupported_sentences", 0) for r in scored),
                    sum(r.get("sentences", 0) for r in scored),
                ),
                "evidence_has_span_when_retrieved": _ratio(
                    sum(1 for r in retrieved if r["evidence_has_span"]), len(retrieved)
                ),
                "cited_expected": _ratio(
                    sum(1 for r in scored if r.get("cited_expected")), len(scored)
                ),
                "answers_repeating": _ratio(
                    sum(1 for r in generated if r["answer_repeats"]), len(generated)
                ),
                "stopped_repeating": _ratio(
                    sum(1 for r in scored if r.get("finish_reason") == "repetition"), len(scored)
                ),
                "stopped_at_max_tokens": _ratio(
                    sum(1 for r in scored if r.get("finish_reason") == "length"), len(scored)
                ),
                "declined_when_absent": _ratio(
                    sum(1 for r in absent if r.get("answer_refused")), len(absent)
                ),
                # Refused by ask though answerable: the retrieval verdict's refusals, and any
                # that ask adds (the answerability check).
                "declined_when_answerable": _ratio(
                    sum(1 for r in answerable if r.get("answer_refused")), n
                ),
                "errors": sum(1 for r in rows if r.get("error")),
                "median_seconds": round(statistics.median(r["seconds"] for r in rows), 3)
                if rows
                else None,
            }
        )
    return out


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None
