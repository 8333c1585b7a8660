"""One writer per knowledge base: an OS file lock beside its files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ragkb.errors import KnowledgeBaseLockedError

if TYPE_CHECKING:
    from filelock import BaseFileLock

LOCK_FILE = "write.lock"


def acquire_lock(directory: Path, *, holder: str = "") -> BaseFileLock:
    """Take the knowledge base's writer lock, or raise KnowledgeBaseLockedError at once.

    The lock is an OS file lock, released by the kernel when its holder dies, so a lock
    left by a killed process never blocks the next run. A thread that holds it may take it
    again (`ragkb watch` holds it for its whole life and ingests each batch under it); any
    other thread or process is refused. HOLDER ("ragkb watch") names a holder that does not
    finish by itself, for the message the others get.
    """
    from filelock import FileLock, Timeout

    directory.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(directory / LOCK_FILE), timeout=0, is_singleton=True)
    pid_file = directory / "write.pid"
    try:
        lock.acquire()
    except Timeout:
        pid, name = _holder(pid_file)
        if name:
            raise KnowledgeBaseLockedError(
                f"{name} (pid {pid}) is writing to this knowledge base "
                f"({directory}) until it is stopped; stop it first"
            ) from None
        raise KnowledgeBaseLockedError(
            f"another ragkb process (pid {pid or 'unknown'}) is writing to this "
            f"knowledge base ({directory}); wait for it to finish"
        ) from None
    if not holder:
        pid, name = _holder(pid_file)
        if pid == str(os.getpid()) and name:
            pid_file.touch()  # a batch of this process's named holder: it still holds the lock
            return lock
    pid_file.write_text(f"{os.getpid()}\n{holder}" if holder else str(os.getpid()))
    return lock


def _holder(pid_file: Path) -> tuple[str, str]:
    """Return the pid and the name (empty when unnamed) the lock's last taker wrote, or two
    empty strings when there is no readable pid file."""
    try:
        pid, _, name = pid_file.read_text().partition("\n")
    except OSError:
        return "", ""
    return pid.strip(), name.strip()
