"""Parse files in a child process, ahead of the embedder, with a time and memory limit.

A parser that hangs, crashes or eats memory takes down only the child: the file is
reported and a fresh child carries on with the next one.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.pool import AsyncResult, Pool

from ragkb.errors import DocumentError
from ragkb.types import Document

# Address-space cap for the parsing child; a PDF needing more than this is reported.
PARSE_MEMORY_LIMIT_BYTES = 4 * 1024**3
_LOOKAHEAD = 2  # files parsed ahead of the one being embedded; keeps memory flat


@dataclass(frozen=True, slots=True)
class ParseResult:
    """A parsed document, or the reason it could not be parsed."""

    path: str
    display_path: str
    document: Document | None
    reason: str | None


def _limit_memory() -> None:
    import resource

    # Some platforms refuse; the time limit still applies there.
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (PARSE_MEMORY_LIMIT_BYTES, PARSE_MEMORY_LIMIT_BYTES))


def _parse(path: str, display_path: str) -> tuple[Document | None, str | None]:
    from ragkb.ingest.documents import load_document

    try:
        return load_document(path, display_path=display_path), None
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

    def __init__(self, *, timeout_s: float) -> None:
        self._timeout_s = timeout_s
        self._ctx = multiprocessing.get_context("spawn")
        self._pool: Pool | None = None

    def _get_pool(self) -> Pool:
        if self._pool is None:
            self._pool = self._ctx.Pool(1, initializer=_limit_memory)
        return self._pool

    def close(self) -> None:
        """Stop the child process."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def parse_all(self, files: Iterable[tuple[str, str]]) -> Iterator[ParseResult]:
        """Yield a ParseResult per (path, display_path), in order."""
        todo = deque(files)
        pending: deque[tuple[str, str, AsyncResult]] = deque()
        while todo or pending:
            while todo and len(pending) < _LOOKAHEAD:
                path, shown = todo.popleft()
                pending.append((path, shown, self._get_pool().apply_async(_parse, (path, shown))))
            path, shown, job = pending.popleft()
            try:
                document, reason = job.get(timeout=self._timeout_s)
            except multiprocessing.TimeoutError:
                document = None
                reason = f"timed out (parsing took over {self._timeout_s:g} s)"
                # The child may be stuck: replace it and resubmit what was queued behind.
                self.close()
                for p, s, _ in reversed(pending):
                    todo.appendleft((p, s))
                pending.clear()
            yield ParseResult(path, shown, document, reason)
