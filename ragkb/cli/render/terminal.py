"""Output for people: rich on stdout for results, on stderr for progress, warnings and errors.

rich decides on colour (it honours NO_COLOR, FORCE_COLOR and whether the stream is a
terminal). Every document text, file name and model output goes through `safe`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ragkb.cli.render.controls import one_line, without_controls
from ragkb.schema import kb_info_dict
from ragkb.types import RetryEvent, SourcesEvent, TextEvent, location

if TYPE_CHECKING:
    from ragkb.index.catalog import FileRecord
    from ragkb.index.inventory import KnowledgeBaseInfo
    from ragkb.ingest.repair import RepairReport
    from ragkb.ingest.watch import WatchBatch
    from ragkb.query.retrieve import Retrieval
    from ragkb.types import Answer, AskEvent, Evidence, Hit, IngestReport


# A pipe has no width; rich would assume 80 columns and wrap a table's cells (a long path
# over three rows), so piped rows stay whole for grep and cut unless COLUMNS says otherwise.
PIPED_WIDTH = 100_000


def stdout_console() -> Console:
    """Return a console on stdout for results."""
    console = Console(highlight=False, soft_wrap=True, color_system=_color_system())
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = PIPED_WIDTH
    return console


def stderr_console() -> Console:
    """Return a console on stderr for progress, warnings and errors."""
    return Console(stderr=True, highlight=False, soft_wrap=True, color_system=_color_system())


def _color_system() -> str | None:
    # rich drops colours under NO_COLOR but keeps bold, dim and italic; no colour system at
    # all writes no escape code, which is what NO_COLOR users (and the README) expect.
    return None if os.environ.get("NO_COLOR") else "auto"


def write_streamed(console: Console, text: str) -> None:
    """Write a piece of a streamed answer at once, without its control characters (newline and
    tab stay): no escape sequence from a model survives. It bypasses rich, so markup needs no
    escaping."""
    console.file.write(without_controls(text))
    console.file.flush()


def safe(text: str) -> str:
    """Make document text harmless on a terminal: no control codes, no rich markup."""
    return escape(without_controls(text))


def shown_path(path: str) -> str:
    """Return PATH relative to the working directory when it is under it, on one line."""
    try:
        return one_line(str(Path(path).relative_to(Path.cwd())))
    except ValueError:
        return one_line(path)


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
    return _where(hit.source, hit.page, hit.heading, ocr=hit.ocr)


def _where(source: str, page: int | None, section: str | None, *, ocr: bool) -> str:
    """Name a source; OCR text is marked, since it may hold misread words."""
    heading = one_line(section) if section else section
    return location(shown_path(source), page, heading) + (" [OCR]" if ocr else "")


def _preview(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def print_refusal_reason(err: Console, answer: Answer) -> None:
    """Say on stderr why ask refused."""
    # The answerability check runs only once the rules let the passages through, so a refusal
    # that timed it is the check's: the model was called, to judge.
    if "check" in answer.timings:
        tail = " (answer_check = off turns this check off)"
    elif answer.unknown_terms:
        tail = "; the model was not called (refuse_unknown_terms = false turns this check off)"
    else:
        tail = "; the model was not called"
    reason = f"{answer.refusal_reason or 'nothing relevant found'}{tail}"
    err.print(f"[dim]{safe(reason)}[/dim]")
    near = answer.nearest
    if near is not None:
        where = _where(near.source, near.page, near.heading, ocr=False)
        err.print(
            f"[dim]nearest: {safe(where)}, score {near.score:.2f} "
            "(--no-refuse answers from it anyway)[/dim]"
        )


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
        where = _where(e.source, e.page, e.section, ocr=e.ocr)
        quote = " ".join(e.quote.split()) + ("…" if e.trimmed else "")
        console.print(f"  [italic]“{safe(quote)}”[/italic]\n    [dim]— {safe(where)}[/dim]")


def print_lead(console: Console, lead: Evidence) -> None:
    """Print the lead line: the documents' own sentence that best answers, before the model's."""
    where = _where(lead.source, lead.page, lead.section, ocr=lead.ocr)
    quote = " ".join(lead.quote.split()) + ("…" if lead.trimmed else "")
    console.print(f"[bold]“{safe(quote)}”[/bold]\n  [dim]— {safe(where)}[/dim]")
    console.print()


def show_event(out: Console, err: Console, event: AskEvent) -> None:
    """Show one event of a streamed answer: the lead line, a piece of text, or a retry."""
    if isinstance(event, SourcesEvent) and event.lead is not None:
        print_lead(out, event.lead)
    elif isinstance(event, TextEvent):
        write_streamed(out, event.text)
    elif isinstance(event, RetryEvent):
        out.file.write("\n")
        err.print(f"[dim]({safe(event.reason)}; asking again)[/dim]")


def print_answer_footer(console: Console, answer: Answer, err: Console) -> None:
    """End the streamed answer's line, then print sources, evidence and any warnings."""
    if answer.finish_reason != "extractive":  # an extractive answer streamed no text
        console.file.write("\n")
    unsupported = [s.text for s in answer.sentences if not s.supported]
    if unsupported:
        err.print(
            f"[yellow]not supported by the passages ({len(unsupported)} of "
            f"{len(answer.sentences)} sentences):[/yellow] "
            + " ".join(f"“{safe(_preview(t, 120))}”" for t in unsupported)
        )
    if answer.language_match is False and answer.finish_reason != "extractive":
        err.print(
            "[dim]the model did not answer in the question's language"
            + (" even when asked again" if answer.language_retry else "")
            + "[/dim]"
        )
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
    if answer.finish_reason == "extractive":
        untranslated = ", quoted in their language" if answer.language_match is False else ""
        model = (
            "the model only checked the passages"
            if "check" in answer.timings
            else "without the model"
        )
        err.print(
            f"[dim]answered with the documents' own sentence{untranslated}, {model} "
            "(--answer-style both adds the model's answer)[/dim]"
        )
    elif answer.finish_reason == "sentences":
        err.print(
            "[dim]the answer stopped after two sentences, as a small model's focused prompt "
            "asks (--prompt-style full lets it run on)[/dim]"
        )
    elif answer.finish_reason == "repetition":
        err.print(
            "[dim]the answer stopped where the model began to repeat itself "
            "(stop_on_repetition = false lets it run on)[/dim]"
        )
    elif answer.usage and answer.finish_reason == "length":
        err.print(
            f"[dim]the answer stopped at max_tokens ({answer.usage.max_tokens}); "
            "--max-tokens allows longer answers (a small model's focused prompt keeps them "
            "short: --prompt-style full)[/dim]"
        )


def print_prompt(console: Console, messages: Sequence[dict[str, str]], tokens: int) -> None:
    """Print the exact messages the model receives."""
    for m in messages:
        console.print(f"[bold magenta]--- {m['role']} ---[/bold magenta]")
        console.print(safe(m["content"]))
    console.print(f"[dim]--- {tokens} prompt tokens ---[/dim]")


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


def print_watch_batch(
    console: Console, batch: WatchBatch, err: Console, *, warnings: bool = True
) -> None:
    """The initial sync as an ingest summary; then one line per file each batch changed."""
    if batch.initial and batch.report is not None:
        print_ingest(console, batch.report, err, warnings=warnings)
        return
    report = batch.report
    stamp = time.strftime("%H:%M:%S")
    lines = [("added", p) for p in (report.added if report else ())]
    lines += [("updated", p) for p in (report.updated if report else ())]
    lines += [("removed", p) for p in (*(report.removed if report else ()), *batch.removed)]
    for label, path in lines:
        console.print(f"{stamp} {label:<8} {safe(shown_path(path))}")
    for failure in report.failed if report else ():
        console.print(
            f"{stamp} [red]failed[/red]   {safe(shown_path(failure.path))}: {safe(failure.reason)}"
        )
    for warning in report.warnings if report and warnings else ():
        err.print(f"[yellow]warning:[/yellow] {safe(warning)}")


def print_repair(console: Console, report: RepairReport) -> None:
    """Print what a repair found and did."""
    console.print(
        f"knowledge base '{safe(report.kb)}': {report.orphan_vectors} orphan vectors deleted, "
        f"{report.missing_vectors} chunks without vectors, keyword index rebuilt"
    )
    for path in report.reingested:
        console.print(f"  re-ingested {safe(shown_path(path))}")
    for path in report.vanished:
        console.print(f"  forgot {safe(shown_path(path))} (no longer on disk)")
    if report.ingest is not None:
        for failure in report.ingest.failed:
            console.print(
                f"[red]failed:[/red] {safe(shown_path(failure.path))}: {safe(failure.reason)}"
            )


def print_kb_list(
    console: Console, infos: Iterable[KnowledgeBaseInfo], *, skipped: int = 0
) -> None:
    """Print the knowledge bases as a table; SKIPPED could not be read (warned about)."""
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
    elif not skipped:
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


def print_files(console: Console, records: Sequence[FileRecord]) -> None:
    """Print the files of a knowledge base."""
    import datetime

    table = Table()
    table.add_column("file", overflow="fold")  # a path cut short would name no file
    table.add_column("status", overflow="fold", min_width=6)
    for col in ("chunks", "pages", "OCR", "hash", "ingested"):
        table.add_column(col, no_wrap=True)
    for r in records:
        when = datetime.datetime.fromtimestamp(r.ingested_at).strftime("%Y-%m-%d %H:%M")
        status = r.status if r.status == "ok" else f"{r.status}: {r.reason}"
        table.add_row(
            safe(shown_path(r.path)),
            safe(status),
            str(r.chunks),
            "" if r.pages is None else str(r.pages),
            str(r.ocr_pages) if r.ocr_pages else "",
            r.file_hash[:12],
            when,
        )
    console.print(table)
    for r in records:
        for warning in r.warnings:
            console.print(f"[yellow]warning:[/yellow] {safe(shown_path(r.path))}: {safe(warning)}")


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
        columns = (
            "questions",
            "hit@1",
            "hit@5",
            "mrr",
            "false_refusal_rate",
            "refusal_rate_absent",
            "refusal_rate_near_miss",
        )
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
