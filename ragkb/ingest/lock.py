"""One writer per knowledge base: an OS file lock beside its files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ragkb.errors import KnowledgeBaseLockedError

if TYPE_CHECKING:
    from filelock import BaseFileLock

LOCK_FILE = "write.lock"


def acquire_lock(directory: Path) -> BaseFileLock:
    """Take the knowledge base's writer lock, or raise KnowledgeBaseLockedError at once.

    The lock is an OS file lock, released by the kernel when its holder dies, so a lock
    left by a killed process never blocks the next run.
    """
    from filelock import FileLock, Timeout

    directory.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(directory / LOCK_FILE), timeout=0)
    pid_file = directory / "write.pid"
    try:
        lock.acquire()
    except Timeout:
        holder = pid_file.read_text().strip() if pid_file.is_file() else "unknown"
        raise KnowledgeBaseLockedError(
            f"another ragkb process (pid {holder}) is writing to this knowledge base "
            f"({directory}); wait for it to finish"
        ) from None
    pid_file.write_text(str(os.getpid()))
    return lock
