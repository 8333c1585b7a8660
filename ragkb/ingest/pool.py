"""Parse files in a child process, ahead of the embedder, with a time and memory limit.

A parser that hangs, crashes or eats memory takes down only the child: the file is
reported and a fresh child carries on with the next one. OCR reports each page it reads
back to the parent, which draws it and gives the file ocr_page_timeout_s more per page.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from ragkb.errors import DocumentError
from ragkb.ingest.documents.reasons import CRASHED
from ragkb.ingest.documents.scans import OcrOptions
from ragkb.types import Document

# Address-space cap for the parsing child; a PDF needing more than this is reported.
PARSE_MEMORY_LIMIT_BYTES = 4 * 1024**3
_LOOKAHEAD = 2  # files parsed ahead of the one being embedded; keeps memory flat
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_POLL_S = 0.25  # how often the parent looks at the child's page reports while it waits
_Parsed = tuple[Document | None, str | None]
# (display path, pages read, pages to read, when): what the child says as OCR goes on.
PageReport = tuple[str, int, int, float]
OnOcrPage = Callable[[str, int, int], None]
_reports: Any = None  # the child's end of the page-report queue


@dataclass(frozen=True, slots=True)
class ParseResult:
    """A parsed document, or the reason it could not be parsed."""

    path: str
    display_path: str
    document: Document | None
    reason: str | None


def _init_child(parent_pid: int, reports: Any) -> None:
    """Cap the child's memory, make it die with the ingest that started it, keep the queue
    it reports OCR pages on, and leave Ctrl-C to the parent.

    Ctrl-C in a terminal reaches the whole process group: the child would print a
    KeyboardInterrupt traceback of its own, while the parent says "interrupted" and stops it.
    """
    import resource
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    global _reports
    _reports = reports

    # Some platforms refuse; the time limit still applies there.
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (PARSE_MEMORY_LIMIT_BYTES, PARSE_MEMORY_LIMIT_BYTES))
    _die_with(parent_pid)


def _die_with(parent_pid: int) -> None:
    """End this process when PARENT_PID does: a killed ingest must not leave its parser behind.

    A pool worker waits on its queue for ever once its parent is gone. Linux ends it with the
    parent (prctl PR_SET_PDEATHSIG); elsewhere a thread watches for the parent to change.
    """
    import signal
    import sys
    import threading
    import time

    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) == 0:
            if os.getppid() != parent_pid:  # it died before the call took effect
                os._exit(1)
            return

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="ragkb-parent-watch", daemon=True).start()


def _parse(path: str, display_path: str, ocr: OcrOptions) -> _Parsed:
    from ragkb.ingest.documents import load_document

    def on_page(done: int, total: int) -> None:
        if _reports is not None:
            _reports.put((display_path, done, total, time.monotonic()))

    try:
        return load_document(path, display_path=display_path, ocr=ocr, on_page=on_page), None
    except DocumentError as exc:
        return None, exc.reason
    except MemoryError:
        return None, "too large to parse (memory limit exceeded)"
    except RecursionError:
        return None, "corrupt: structure nested too deeply to parse"
    except Exception as exc:  # a parser bug on a strange file must not stop the run
        return None, f"unreadable ({type(exc).__name__}: {exc})"


class ParsePool:
    """A one-process pool that parses up to _LOOKAHEAD files ahead."""

    def __init__(
        self,
        *,
        timeout_s: float,
        ocr: OcrOptions | None = None,
        ocr_page_timeout_s: float = 60.0,
        on_ocr_page: OnOcrPage | None = None,
    ) -> None:
        self._timeout_s = timeout_s
        self._ocr = ocr or OcrOptions()
        self._page_timeout_s = ocr_page_timeout_s
        self._on_ocr_page = on_ocr_page
        self._context = multiprocessing.get_context("spawn")
        self._reports: Any = None
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._reports = self._context.Queue()
            self._executor = ProcessPoolExecutor(
                max_workers=1,
                mp_context=self._context,
                initializer=_init_child,
                initargs=(os.getpid(), self._reports),
            )
        return self._executor

    def close(self) -> None:
        """Stop the child process, whatever it is doing."""
        if self._executor is None:
            return
        # A hung parser never returns: kill the child (ProcessPoolExecutor gains
        # terminate_workers() only in Python 3.14).
        for process in list((self._executor._processes or {}).values()):
            process.kill()
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._executor = None
        self._reports.close()
        self._reports = None

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def parse_all(self, files: Iterable[tuple[str, str]]) -> Iterator[ParseResult]:
        """Yield a ParseResult per (path, display_path), in order."""
        todo = deque(files)
        pending: deque[tuple[str, str, Future[_Parsed]]] = deque()
        while todo or pending:
            while todo and len(pending) < _LOOKAHEAD:
                path, shown = todo[0]
                try:
                    job = self._pool().submit(_parse, path, shown, self._ocr)
                except BrokenProcessPool:
                    # The child died on a file already queued (its wait below reports it),
                    # or between files, with nothing queued: then start a fresh one now.
                    if pending:
                        break
                    self.close()
                    continue
                todo.popleft()
                pending.append((path, shown, job))
            path, shown, job = pending.popleft()
            try:
                document, reason = self._wait(job, shown)
            except (TimeoutError, BrokenProcessPool) as exc:
                # The child hung or died on this file (the one it was working on: it parses
                # in order); start a fresh one for the files queued behind it.
                document = None
                reason = str(exc) if isinstance(exc, TimeoutError) else CRASHED
                self.close()
                for queued_path, queued_shown, _ in reversed(pending):
                    todo.appendleft((queued_path, queued_shown))
                pending.clear()
            yield ParseResult(path, shown, document, reason)

    def _wait(self, job: Future[_Parsed], shown: str) -> _Parsed:
        """Wait for JOB: timeout_s, except that each page OCR reads has ocr_page_timeout_s.

        Raises TimeoutError, its message the reason the file failed.
        """
        deadline = time.monotonic() + self._timeout_s
        page: tuple[int, int] | None = None  # the OCR page being read, of how many
        while True:
            try:  # never past the deadline: a limit shorter than the poll still holds
                parsed = job.result(timeout=max(0.0, min(_POLL_S, deadline - time.monotonic())))
            except TimeoutError:  # concurrent.futures.TimeoutError is this one since 3.11
                parsed = None
            for path, done, total, when in self._drain():
                if path != shown:
                    continue
                if self._on_ocr_page is not None:
                    self._on_ocr_page(path, done, total)
                # While OCR reads pages, each gets its own limit; after the last one, the
                # rest of the file gets the file's.
                page = (done + 1, total) if done < total else None
                deadline = when + (self._page_timeout_s if page else self._timeout_s)
            if parsed is not None:
                return parsed
            if time.monotonic() > deadline:
                if page is not None:
                    raise TimeoutError(
                        f"timed out (OCR of page {page[0]} of {page[1]} took over "
                        f"{self._page_timeout_s:g} s; see ocr_page_timeout_s)"
                    )
                raise TimeoutError(f"timed out (parsing took over {self._timeout_s:g} s)")

    def _drain(self) -> list[PageReport]:
        out: list[PageReport] = []
        while self._reports is not None:
            try:
                out.append(self._reports.get_nowait())
            except queue.Empty:
                break
        return out
