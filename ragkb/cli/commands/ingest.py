"""`ragkb ingest`."""

from __future__ import annotations

from typing import Annotated

import typer

from ragkb import errors
from ragkb.cli.app import app
from ragkb.cli.commands.common import open_kb
from ragkb.cli.options import JsonOpt, with_settings
from ragkb.config import Settings


@app.command()
@with_settings(
    "kb",
    "metric",
    "prune",
    "chunk_tokens",
    "overlap_tokens",
    "embedder",
    "ocr",
    "ocr_engine",
    logs=True,
)
def ingest(
    paths: Annotated[list[str], typer.Argument(help="Files or folders to ingest.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan only.")] = False,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", help="Label every file under PATHS (repeatable; see search --tag)."),
    ] = None,
    json_out: JsonOpt = False,
    *,
    quiet: bool,
    settings: Settings,
) -> None:
    """Make a knowledge base match PATHS: add new files, update changed ones, prune gone ones."""
    from ragkb.cli.render import schema, terminal
    from ragkb.cli.render.progress import IngestProgress

    knowledge = open_kb(settings)
    err = terminal.stderr_console()
    with IngestProgress(err, enabled=not quiet and not json_out) as progress:
        report = knowledge.ingest(paths, dry_run=dry_run, progress=progress, tags=tag or ())
    if json_out:
        schema.write_json(schema.ingest_dict(report))
    else:
        terminal.print_ingest(terminal.stdout_console(), report, err, warnings=not quiet)
    if report.failed:
        raise typer.Exit(errors.EXIT_PARTIAL_INGEST)
