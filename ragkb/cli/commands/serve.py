"""`ragkb serve`."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Annotated

import typer

from ragkb.cli.app import app
from ragkb.cli.options import with_settings
from ragkb.config import Settings

log = logging.getLogger("ragkb")


@app.command()
@with_settings("kb", "host", "port", "serve_token_env", logs=True)
def serve(
    http: Annotated[
        bool, typer.Option("--http", help="Serve HTTP on --host/--port instead of MCP on stdio.")
    ] = False,
    watch: Annotated[
        list[str] | None,
        typer.Option(
            "--watch", help="Also keep the knowledge base in sync with PATH (repeatable)."
        ),
    ] = None,
    *,
    settings: Settings,
) -> None:
    """Serve the knowledge base to other programs: MCP over stdio (for assistants and
    editors), or HTTP with --http; models load once and stay loaded."""
    from ragkb.serve.service import Service

    service = Service(settings)
    if watch:
        from ragkb.kb import KnowledgeBase

        first = KnowledgeBase(settings)
        if not first.exists():  # `--watch` makes it, as `ragkb watch` does
            report = first.ingest(watch)
            _say(f"watch: made knowledge base '{first.name}' ({len(report.added)} files)")
    service.knowledge()  # an unknown knowledge base fails now, with its exit code
    stop = threading.Event()
    if watch:
        _watch_in_background(service, watch, stop)
    try:
        if http:
            from ragkb.serve.http_server import run_http

            s = settings.serve
            run_http(
                service,
                host=s.host,
                port=s.port,
                token=s.serve_token,
                ready=lambda: _say(f"serving http://{s.host}:{s.port} (Ctrl-C stops)"),
            )
        else:
            from ragkb.serve.mcp_server import run_stdio

            run_stdio(service)
    finally:
        stop.set()


def _say(line: str) -> None:
    """Tell the person who started the server what it is doing: stderr, not a warning."""
    sys.stderr.write(f"ragkb: {line}\n")
    sys.stderr.flush()


def _watch_in_background(service: object, paths: list[str], stop: threading.Event) -> None:
    from ragkb.kb import KnowledgeBase, WatchBatch

    knowledge: KnowledgeBase = service.knowledge()  # type: ignore[attr-defined]
    writer = KnowledgeBase(knowledge.settings)  # its own parts: the server's stay readers

    def report(batch: WatchBatch) -> None:
        r = batch.report
        changed = (len(r.added) + len(r.updated) + len(r.removed)) if r else 0
        failed = len(r.failed) if r else 0
        _say(
            f"watch: {'synced' if batch.initial else 'applied'} {changed} changed, "
            f"{len(batch.removed)} removed, {failed} failed in {batch.seconds:.1f} s"
        )

    def run() -> None:
        try:
            writer.watch(paths, stop=stop, on_batch=report)
        except Exception as exc:  # the server goes on; the watcher's end is said once
            log.error("watch stopped: %s", exc)

    signal.signal(signal.SIGTERM, lambda *_: (stop.set(), signal.raise_signal(signal.SIGINT)))
    threading.Thread(target=run, name="ragkb-watch", daemon=True).start()
