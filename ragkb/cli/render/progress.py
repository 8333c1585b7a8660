"""The ingest progress bar: rich on stderr, drawn only on a terminal."""

from __future__ import annotations

import logging
import time
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ragkb.cli.render.controls import without_controls

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console

    from ragkb.types import ProgressEvent


# Off a terminal, -v logs where the ingest is at most this often: one large file embeds for
# minutes (a new-user trial's 5 MB text file: 25 minutes without a word).
LINE_INTERVAL_S = 10.0
log = logging.getLogger("ragkb.ingest")


class IngestProgress:
    """A context manager yielding the callback for `KnowledgeBase.ingest`, or None: a bar on
    a terminal, else a log line every LINE_INTERVAL_S when INFO is logged (-v)."""

    def __init__(self, console: Console, *, enabled: bool) -> None:
        # A live bar moves the cursor: not under NO_COLOR (no escape code at all) or on a
        # terminal that has no colour system (TERM=dumb).
        self._enabled = enabled and console.is_terminal and console.color_system is not None
        self._lines = enabled and not self._enabled and log.isEnabledFor(logging.INFO)
        self._started = self._logged = time.monotonic()
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files · {task.fields[chunks]} chunks · {task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self._task: Any = None

    def __enter__(self) -> Callable[[ProgressEvent], None] | None:
        if self._lines:
            return self._line
        if not self._enabled:
            return None
        self._bar.start()
        self._task = self._bar.add_task("ingest", total=None, chunks=0, rate="")
        return self._update

    def _update(self, event: ProgressEvent) -> None:
        elapsed = self._bar.tasks[0].elapsed or 0.0
        rate = f"{event.chunks_done / elapsed:.0f} chunks/s" if elapsed > 0 else ""
        self._bar.update(
            self._task,
            total=event.files_total or None,
            completed=event.files_done,
            chunks=event.chunks_done,
            rate=rate,
            description=stage_text(event),
        )

    def _line(self, event: ProgressEvent) -> None:
        now = time.monotonic()
        if now - self._logged < LINE_INTERVAL_S:
            return
        self._logged = now
        rate = event.chunks_done / (now - self._started)
        total = f"/{event.files_total}" if event.files_total else ""
        log.info(
            "%s: %d%s files read, %d chunks embedded (%.1f chunks/s)",
            stage_text(event, markup=False),
            event.files_done,
            total,
            event.chunks_done,
            rate,
        )

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Take the bar off the terminal (again: nothing)."""
        if self._enabled:
            self._bar.stop()
            self._enabled = False


def stage_text(event: ProgressEvent, *, markup: bool = True) -> str:
    """Say what the ingest is doing now, in words (rich MARKUP escaped, for the bar)."""
    if event.stage == "ocr":
        name = without_controls(PurePath(event.path).name)
        name = escape(name) if markup else name
        return (
            f"OCR page {min(event.pages_done + 1, event.pages_total)}/{event.pages_total} of {name}"
        )
    return _STAGES.get(event.stage, event.stage)


_STAGES = {"parse": "reading", "load": "loading embedder", "embed": "embedding"}
