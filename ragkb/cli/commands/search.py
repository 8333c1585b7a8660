"""`ragkb search`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ragkb.cli.app import app
from ragkb.cli.commands.common import open_kb, run_batch
from ragkb.cli.options import (
    RETRIEVAL_OPTIONS,
    BatchOpt,
    JsonOpt,
    with_filter,
    with_settings,
)
from ragkb.config import Settings
from ragkb.types import Filter


@app.command()
@with_settings(*RETRIEVAL_OPTIONS, logs=True)
@with_filter
def search(
    query: Annotated[str | None, typer.Argument(help="What to look for.")] = None,
    batch: BatchOpt = None,
    json_out: JsonOpt = False,
    *,
    scope: Filter,
    settings: Settings,
) -> None:
    """Show the chunks closest to QUERY: file, page, score, text, and which would answer."""
    from ragkb.cli.render import schema, terminal

    if batch is not None and query:
        raise typer.BadParameter("give a QUERY or --batch FILE, not both")
    knowledge = open_kb(settings)
    mode = settings.retrieval.mode
    if batch is not None:

        def search_line(text: str) -> dict[str, Any]:
            found = knowledge.retrieve(text, scope=scope)
            return schema.search_dict(text, knowledge.name, knowledge.metric, mode, found, scope)

        run_batch(knowledge, batch, search_line)
        return
    if not query:
        raise typer.BadParameter("give a QUERY or --batch FILE")
    found = knowledge.retrieve(query, scope=scope)
    if json_out:
        data = schema.search_dict(query, knowledge.name, knowledge.metric, mode, found, scope)
        schema.write_json(data)
    else:
        terminal.print_hits(terminal.stdout_console(), query, knowledge.metric, mode, found)
