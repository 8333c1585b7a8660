"""`ragkb watch`."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from ragkb.cli.app import app
from ragkb.cli.commands.common import open_kb
from ragkb.cli.options import with_settings
from ragkb.config import Settings


@app.command()
@with_settings(
    "kb", "metric", "chunk_tokens", "overlap_tokens", "embedder", "ocr", "ocr_engine",
    "watch_settle_s", logs=True,
)  # fmt: skip
def watch(
    paths: Annotated[list[str], typer.Argument(help="Files or folders to keep in sync.")],
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", help="Label every file under PATHS (repeatable; see search --tag)."),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON object per applied batch (JSON Lines).")
    ] = False,
    *,
    quiet: bool,
    settings: Settings,
) -> None:
    """Sync PATHS, then apply every change under them as it settles, until Ctrl-C or SIGTERM."""
    from ragkb.cli.render import schema, terminal
    from ragkb.cli.render.progress import IngestProgress
    from ragkb.kb import WatchBatch

    knowledge = open_kb(settings)
    out, err = terminal.stdout_console(), terminal.stderr_console()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def show(batch: WatchBatch) -> None:
        if json_out:
            schema.write_jsonl(schema.watch_dict(batch, kb=knowledge.name))
        else:
            terminal.print_watch_batch(out, batch, err, warnings=not quiet)
        if batch.initial and not quiet:
            err.print(f"watching {len(paths)} path(s); Ctrl-C stops")

    bar = IngestProgress(err, enabled=not quiet and not json_out)

    def on_batch(batch: WatchBatch) -> None:
        bar.close()  # the bar is for the initial sync only
        show(batch)

    with bar as progress:
        try:
            knowledge.watch(paths, stop=stop, on_batch=on_batch, tags=tag or (), progress=progress)
        except KeyboardInterrupt:
            stop.set()
    if not quiet:
        err.print("stopped")
