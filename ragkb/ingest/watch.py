"""Keep a knowledge base in sync with folders: settled bursts of file changes, as sync steps.

watchfiles (Rust's notify: inotify, FSEvents, ReadDirectoryChangesW) reports what changed;
a burst is yielded once no change has come for `settle_s` (an editor's save storm or a
`git checkout` of 500 files is one batch). Each batch becomes the paths to ingest (created or
changed files, and folders moved in) and the paths that vanished (deleted or moved away).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ragkb.errors import StorageError, UsageError
from ragkb.ingest.discover import is_ignored
from ragkb.ingest.documents import SUPPORTED_SUFFIXES

if TYPE_CHECKING:
    import threading

    from ragkb.types import IngestReport

log = logging.getLogger(__name__)

MAX_GROUP_S = 30.0  # a burst that never settles is still applied this often
READY_TIMEOUT_S = 10.0  # setting up the watches of a large tree takes a moment


@dataclass(frozen=True, slots=True)
class Changes:
    """One settled burst: what to ingest and what vanished."""

    upsert: tuple[str, ...]  # files created or changed, and folders that appeared
    gone: tuple[str, ...]  # files or folders deleted or moved away

    def __bool__(self) -> bool:
        return bool(self.upsert or self.gone)


@dataclass(frozen=True, slots=True)
class WatchBatch:
    """What applying one batch did (the first batch is the initial sync)."""

    report: IngestReport | None  # the ingest of the files created or changed; None: none
    removed: tuple[str, ...]  # files forgotten because they vanished
    seconds: float  # to apply the whole batch
    initial: bool = False


def split_changes(raw: Iterable[tuple[object, str]], roots: Sequence[Path]) -> Changes:
    """Turn watchfiles' (change, path) pairs into the paths to ingest and those that vanished.

    What the path is now decides, not the event's kind: an editor that saves by writing a
    temporary file and renaming it over the old one yields a delete, an add and a modify for
    the same path, and the file is simply there.
    """
    upsert: set[str] = set()
    gone: set[str] = set()
    for _, name in raw:
        path = Path(name)
        if _ignored(path, roots):
            continue
        if path.is_dir():
            upsert.add(str(path.resolve()))  # moved in whole: only the folder is reported
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                upsert.add(str(path.resolve()))
        elif not path.exists():
            gone.add(str(path.absolute()))
    return Changes(tuple(sorted(upsert)), tuple(sorted(gone)))


def _ignored(path: Path, roots: Sequence[Path]) -> bool:
    """Hidden files and folders and Word's lock files, as ingest passes them over."""
    for root in roots:
        if path.is_relative_to(root):
            return any(is_ignored(part) for part in path.relative_to(root).parts)
    return is_ignored(path.name)


class ChangeFeed:
    """Settled bursts of changes under PATHS, watched from the moment it is made.

    The watcher runs in a thread from construction, so changes made while the caller does
    its initial sync are kept and come out of the first iteration, never lost in between.
    """

    def __init__(self, paths: Sequence[str], *, stop: threading.Event, settle_s: float) -> None:
        import queue
        import threading

        self._roots = [Path(p).expanduser().resolve() for p in paths]
        missing = [str(p) for p in self._roots if not p.exists()]
        if missing:
            raise UsageError(f"{missing[0]}: not found; watch needs files or folders that exist")
        self._stop = stop
        self._settle_s = settle_s
        self._queue: queue.Queue[Changes | BaseException] = queue.Queue()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ragkb-watch", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=READY_TIMEOUT_S)

    def _run(self) -> None:
        import watchfiles

        try:
            for raw in watchfiles.watch(
                *self._roots,
                watch_filter=None,  # ragkb's own rules decide (split_changes), as ingest's do
                step=max(50, int(self._settle_s * 1000)),
                debounce=int(max(MAX_GROUP_S, self._settle_s) * 1000),
                stop_event=self._stop,
                raise_interrupt=False,
                rust_timeout=200,
                yield_on_timeout=True,  # the first (empty) yield says the watcher is set up
            ):
                self._ready.set()
                changes = split_changes(raw, self._roots)
                if changes:
                    self._queue.put(changes)
        except OSError as exc:  # e.g. a watched folder removed: the caller reports it
            self._queue.put(StorageError(f"watching {exc.filename or 'a path'}: {exc.strerror}"))
        except BaseException as exc:
            self._queue.put(exc)
        finally:
            self._ready.set()

    def __iter__(self) -> Iterator[Changes]:
        import queue

        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=0.2)
            except queue.Empty:
                if not self._thread.is_alive():
                    return
                continue
            if isinstance(item, BaseException):
                raise item
            log.info("%d changed, %d gone", len(item.upsert), len(item.gone))
            yield item
