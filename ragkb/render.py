"""All output formatting: rich for people, JSON / JSON Lines for scripts.

Results go to stdout; progress, warnings and errors to stderr. rich decides on colour
(it honours NO_COLOR, FORCE_COLOR and whether the stream is a terminal).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from ragkb.catalog import FileRecord
    from ragkb.config import Settings
    from ragkb.inventory import KnowledgeBaseInfo
    from ragkb.retrieval import Retrieval
    from ragkb.types import Answer, Evidence, Hit, IngestReport

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def stdout_console() -> Console:
    """Return a console on stdout for results."""
    return Console(highlight=False, soft_wrap=True, color_system=_color_system())


def stderr_console() -> Console:
    """Return a console on stderr for progress, warnings and errors."""
    return Console(stderr=True, highlight=False, soft_wrap=True, color_system=_color_system())


def _color_system() -> str | None:
    # rich drops colours under NO_COLOR but keeps bold, dim and italic; no colour system at
    # all writes no escape code, which is what NO_COLOR users (and the README) expect.
    return None if os.environ.get("NO_COLOR") else "auto"


def safe(text: str) -> str:
    """Make document text harmless on a terminal: no control codes, no rich markup."""
    return escape(_CONTROL.sub("", text))


def shown_path(path: str) -> str:
    """Return PATH relative to the working directory when it is under it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def write_json(data: Any, stream: TextIO | None = None) -> None:
    """Write one JSON document and a newline."""
    out = stream or sys.stdout
    out.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    out.flush()


def write_jsonl(data: Any, stream: TextIO | None = None) -> None:
    """Write one JSON object on one line."""
    out = stream or sys.stdout
    out.write(json.dumps(data, ensure_ascii=False) + "\n")
    out.flush()


# -- search -------------------------------------------------------------------------------
def hit_dict(hit: Hit) -> dict[str, Any]:
    """Return a hit as the documented JSON object."""
    return {
        "rank": hit.rank,
        "source": hit.source,
        "page": hit.page,
        "section": hit.heading,
        "score": hit.score,
        "distance": hit.distance,
        "text": hit.text,
        "chunk_id": hit.chunk_id,
    }


def search_dict(
    query: str, kb: str, metric: str, mode: str, retrieval: Retrieval
) -> dict[str, Any]:
    """Return the `search --json` object."""
    relevant = {h.chunk_id for h in retrieval.relevant}
    return {
        "query": query,
        "kb": kb,
        "metric": metric,
        "mode": mode,
        "unknown_terms": list(retrieval.unknown_terms),
        "results": [{**hit_dict(h), "relevant": h.chunk_id in relevant} for h in retrieval.hits],
    }


def print_hits(console: Console, query: str, metric: str, mode: str, retrieval: Retrieval) -> None:
    """Print ranked hits for a person, marking those too weak for `ask` to answer from."""
    hits = retrieval.hits
    if not hits:
        console.print(f"No results for [bold]{safe(query)}[/bold].")
        return
    relevant = {h.chunk_id for h in retrieval.relevant}
    counted = f"{len(hits)} result" + ("" if len(hits) == 1 else "s")
    console.print(f"[dim]{counted} · metric {metric} · mode {mode}[/dim]")
    if retrieval.unknown_terms:
        terms = ", ".join(retrieval.unknown_terms)
        console.print(f"[yellow]the documents never mention: {safe(terms)}[/yellow]")
    for hit in hits:
        weak = "" if hit.chunk_id in relevant else "  [dim](below the relevance bar)[/dim]"
        console.print(
            f"\n[bold cyan]{hit.rank}.[/bold cyan] [bold]{safe(_label(hit))}[/bold]"
            f"  [green]score {hit.score:.3f}[/green]{weak}"
        )
        console.print(safe(_preview(hit.text)))


def _label(hit: Hit) -> str:
    label = shown_path(hit.source)
    if hit.page is not None:
        label += f", page {hit.page}"
    if hit.heading:
        label += f" ({hit.heading})"
    return label


def _preview(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# -- ask ----------------------------------------------------------------------------------
def evidence_dict(e: Evidence) -> dict[str, Any]:
    """Return an evidence quote as the documented JSON object."""
    return {
        "source": e.source,
        "page": e.page,
        "section": e.section,
        "chunk_id": e.chunk_id,
        "quote": e.quote,
        "start": e.start,
        "end": e.end,
    }


def answer_dict(answer: Answer, *, kb: str, with_id: Any = None) -> dict[str, Any]:
    """Return the `ask --json` object."""
    data: dict[str, Any] = {}
    if with_id is not None:
        data["id"] = with_id
    data.update(
        {
            "question": answer.question,
            "standalone_query": answer.standalone_query,
            "kb": kb,
            "answer": answer.text,
            "refused": answer.refused,
            "unknown_terms": list(answer.unknown_terms),
            "sources": [hit_dict(h) for h in answer.sources],
            "evidence": [evidence_dict(e) for e in answer.evidence],
            "invalid_citations": list(answer.invalid_citations),
            "usage": asdict(answer.usage) if answer.usage else None,
            "seconds": round(answer.seconds, 3),
            "timings": answer.timings,
        }
    )
    if answer.thinking:
        data["thinking"] = answer.thinking
    return data


def print_refusal_reason(err: Console, answer: Answer, settings: Settings) -> None:
    """Say on stderr why ask refused."""
    if answer.unknown_terms:
        terms = ", ".join(answer.unknown_terms)
        reason = (
            f"the documents never mention: {terms}; the model was not called "
            "(refuse_unknown_terms = false turns this check off)"
        )
    else:
        reason = (
            "no retrieved passage passed the relevance threshold "
            f"(min_score {settings.retrieval.min_score}, min_relevance "
            f"{settings.retrieval.min_relevance}); the model was not called"
        )
    err.print(f"[dim]{safe(reason)}[/dim]")


def print_sources(console: Console, sources: Sequence[Hit]) -> None:
    """Print the numbered sources under an answer."""
    if not sources:
        return
    console.print("\n[bold]Sources[/bold]")
    for n, hit in enumerate(sources, 1):
        console.print(f"  [cyan][{n}][/cyan] {safe(_label(hit))}  [dim]score {hit.score:.2f}[/dim]")


def print_evidence(console: Console, evidence: Sequence[Evidence]) -> None:
    """Print the verbatim quotes that support an answer."""
    if not evidence:
        return
    console.print("\n[bold]Evidence[/bold]")
    for e in evidence:
        where = shown_path(e.source) + (f", page {e.page}" if e.page is not None else "")
        if e.section:
            where += f" ({e.section})"
        quote = " ".join(e.quote.split()) + ("…" if e.trimmed else "")
        console.print(f"  [italic]“{safe(quote)}”[/italic]\n    [dim]— {safe(where)}[/dim]")


def print_answer_footer(console: Console, answer: Answer, err: Console) -> None:
    """Print sources, evidence and any warnings after a streamed answer."""
    if answer.invalid_citations:
        bad = ", ".join(f"[{n}]" for n in answer.invalid_citations)
        err.print(f"[yellow]warning:[/yellow] the answer cited {safe(bad)}, which match no source")
    print_sources(console, answer.sources)
    print_evidence(console, answer.evidence)
    if answer.usage and answer.usage.dropped_chunks:
        err.print(
            f"[dim]{answer.usage.dropped_chunks} retrieved chunks left out to fit "
            f"n_ctx {answer.usage.n_ctx}[/dim]"
        )
    if answer.usage and answer.usage.completion_tokens >= answer.usage.max_tokens:
        err.print(
            f"[dim]the answer stopped at max_tokens ({answer.usage.max_tokens}); "
            "--max-tokens allows longer answers[/dim]"
        )


def print_prompt(console: Console, messages: Sequence[dict[str, str]], tokens: int) -> None:
    """Print the exact messages the model receives."""
    for m in messages:
        console.print(f"[bold magenta]--- {m['role']} ---[/bold magenta]")
        console.print(safe(m["content"]))
    console.print(f"[dim]--- {tokens} prompt tokens ---[/dim]")


# -- ingest -------------------------------------------------------------------------------
def ingest_dict(report: IngestReport) -> dict[str, Any]:
    """Return the `ingest --json` object."""
    return {
        "kb": report.kb,
        "dry_run": report.dry_run,
        "added": list(report.added),
        "updated": list(report.updated),
        "unchanged": list(report.unchanged),
        "removed": list(report.removed),
        "failed": [{"path": f.path, "reason": f.reason} for f in report.failed],
        "counts": {
            "added": len(report.added),
            "updated": len(report.updated),
            "unchanged": len(report.unchanged),
            "removed": len(report.removed),
            "failed": len(report.failed),
        },
        "chunks_added": report.chunks_added,
        "chunks_removed": report.chunks_removed,
        "warnings": list(report.warnings),
        "seconds": round(report.seconds, 3),
    }


def print_ingest(
    console: Console, report: IngestReport, err: Console, *, warnings: bool = True
) -> None:
    """Print an ingest summary table and every failure with its reason; warnings to ERR."""
    title = f"ingest into '{report.kb}'" + (" (dry run: nothing written)" if report.dry_run else "")
    table = Table(title=title, title_justify="left")
    table.add_column("files")
    table.add_column("count", justify="right")
    for name, items in (
        ("new", report.added),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
        ("removed", report.removed),
        ("failed", report.failed),
    ):
        table.add_row(name, str(len(items)))
    console.print(table)
    if not report.dry_run:
        console.print(
            f"chunks added {report.chunks_added}, removed {report.chunks_removed}, "
            f"in {report.seconds:.1f} s"
        )
    if report.dry_run:
        for label, items in (
            ("add", report.added),
            ("update", report.updated),
            ("remove", report.removed),
        ):
            for path in items:
                console.print(f"  would {label}: {safe(shown_path(path))}")
    for failure in report.failed:
        console.print(
            f"[red]failed:[/red] {safe(shown_path(failure.path))}: {safe(failure.reason)}"
        )
    for warning in report.warnings if warnings else ():
        err.print(f"[yellow]warning:[/yellow] {safe(warning)}")


# -- management ---------------------------------------------------------------------------
def kb_info_dict(info: KnowledgeBaseInfo) -> dict[str, Any]:
    """Return a knowledge base's info as JSON."""
    return {
        "name": info.name,
        "metric": info.metric,
        "embedder": info.embedder,
        "files": info.files,
        "failed_files": info.failed_files,
        "chunks": info.chunks,
        "size_bytes": info.size_bytes,
        "path": info.path,
        "fingerprint": info.fingerprint,
    }


def print_kb_list(console: Console, infos: Iterable[KnowledgeBaseInfo]) -> None:
    """Print the knowledge bases as a table."""
    table = Table()
    for col in ("name", "metric", "files", "chunks", "size"):
        table.add_column(col, justify="right" if col in ("files", "chunks", "size") else "left")
    rows = 0
    for info in infos:
        table.add_row(
            safe(info.name),
            info.metric or "?",
            str(info.files),
            str(info.chunks),
            _size(info.size_bytes),
        )
        rows += 1
    if rows:
        console.print(table)
    else:
        console.print("No knowledge bases yet: create one with `ragkb ingest PATH`.")


def print_kb_stats(console: Console, info: KnowledgeBaseInfo) -> None:
    """Print one knowledge base's details."""
    table = Table(
        show_header=False, title=f"knowledge base '{safe(info.name)}'", title_justify="left"
    )
    table.add_column("key")
    table.add_column("value")
    shown = kb_info_dict(info)
    for key, value in shown.items():
        if key == "fingerprint":
            for fk, fv in value.items():
                if fk not in shown:  # metric and embedder are already rows of their own
                    table.add_row(fk, safe(str(fv)))
        elif key == "size_bytes":
            table.add_row("size", _size(value))
        else:
            table.add_row(key, safe(str(value)))
    console.print(table)


def file_dict(record: FileRecord) -> dict[str, Any]:
    """Return a file record as JSON."""
    return {
        "path": record.path,
        "status": record.status,
        "reason": record.reason,
        "chunks": record.chunks,
        "pages": record.pages,
        "size_bytes": record.size,
        "file_hash": record.file_hash,
        "ingested_at": record.ingested_at,
    }


def print_files(console: Console, records: Sequence[FileRecord]) -> None:
    """Print the files of a knowledge base."""
    import datetime

    table = Table()
    table.add_column("file", overflow="fold")  # a path cut short would name no file
    table.add_column("status", overflow="fold")
    for col in ("chunks", "pages", "hash", "ingested"):
        table.add_column(col, no_wrap=True)
    for r in records:
        when = datetime.datetime.fromtimestamp(r.ingested_at).strftime("%Y-%m-%d %H:%M")
        status = r.status if r.status == "ok" else f"{r.status}: {r.reason}"
        table.add_row(
            safe(shown_path(r.path)),
            safe(status),
            str(r.chunks),
            "" if r.pages is None else str(r.pages),
            r.file_hash[:12],
            when,
        )
    console.print(table)


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def print_eval(console: Console, report: dict[str, Any]) -> None:
    """Print the eval metrics table."""
    metrics = report["metrics"]
    names = list(next(iter(metrics.values())).keys())
    table = Table(
        title=f"eval {report['gold']} · mode {report['mode']} · min_score {report['min_score']}",
        title_justify="left",
    )
    table.add_column("metric")
    for group in metrics:
        table.add_column(group, justify="right")
    for name in names:
        table.add_row(
            name, *("" if metrics[g].get(name) is None else str(metrics[g][name]) for g in metrics)
        )
    console.print(table)
    kinds = report.get("kinds") or {}
    if len(kinds) > 1:
        columns = ("questions", "hit@1", "hit@5", "mrr", "refusal_rate_absent")
        by_kind = Table(title="by kind of question", title_justify="left")
        by_kind.add_column("kind")
        for column in columns:
            by_kind.add_column(column, justify="right")
        for kind, values in kinds.items():
            by_kind.add_row(kind, *("" if values[c] is None else str(values[c]) for c in columns))
        console.print(by_kind)


def debug_enabled() -> bool:
    """Return whether tracebacks should be shown (RAGKB_DEBUG=1)."""
    return os.environ.get("RAGKB_DEBUG", "") not in ("", "0")
