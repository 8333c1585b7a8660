"""Plan a sync: hash the files found and compare them with the catalog (add, change, remove)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ragkb.ingest.discover import discover
from ragkb.ingest.documents import reader_version
from ragkb.types import FileFailure

if TYPE_CHECKING:
    from ragkb.index.catalog import Catalog


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file found on disk, hashed."""

    path: str  # absolute; the key under which the file is stored
    size: int
    file_hash: str


@dataclass(slots=True)
class SyncPlan:
    """What an ingest will do."""

    new: list[Candidate] = field(default_factory=list)
    changed: list[Candidate] = field(default_factory=list)
    unchanged: list[Candidate] = field(default_factory=list)
    # Unchanged files that a newer reader of their kind reads again (re-embedded only if
    # their chunks change).
    reread: list[Candidate] = field(default_factory=list)
    # Unchanged files whose last read failed, read again: {path: the reason it failed}.
    retried: dict[str, str] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    failed: list[FileFailure] = field(default_factory=list)


def hash_file(path: Path) -> str:
    """Return the SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def plan_sync(
    catalog: Catalog,
    paths: Sequence[str],
    *,
    prune: bool,
    rechunk: bool,
    max_file_bytes: int,
) -> SyncPlan:
    """Compare the files under PATHS with the catalog and decide what to do with each."""
    found = discover(paths)
    plan = SyncPlan(failed=list(found.failures))
    seen: set[str] = set()
    for path in found.files:
        key = str(path)
        seen.add(key)
        try:
            size = path.stat().st_size
            if size > max_file_bytes:
                plan.failed.append(
                    FileFailure(
                        key,
                        f"too large ({size / 1e6:.1f} MB; limit {max_file_bytes / 1e6:g} MB, "
                        "see max_file_mb)",
                    )
                )
                continue
            digest = hash_file(path)
        except OSError as exc:
            plan.failed.append(FileFailure(key, f"cannot read ({exc.strerror})"))
            continue
        candidate = Candidate(key, size, digest)
        known = catalog.file(key)
        if known is None:
            plan.new.append(candidate)
        elif known.file_hash != digest or known.status != "ok" or rechunk:
            plan.changed.append(candidate)
            if known.file_hash == digest and known.status != "ok":
                plan.retried[key] = known.reason or "unknown reason"
        elif known.reader < reader_version(key):
            plan.reread.append(candidate)
        else:
            plan.unchanged.append(candidate)
    if prune:
        for record in catalog.files():
            path = Path(record.path)
            inside = any(path.is_relative_to(folder) for folder in found.folders)
            hidden = any(path.is_relative_to(folder) for folder in found.unreadable)
            if inside and not hidden and record.path not in seen and _vanished(path):
                plan.removed.append(record.path)
    return plan


def _vanished(path: Path) -> bool:
    """Return whether PATH is known to be gone (an unreadable one might still be there)."""
    try:
        path.stat()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return False
