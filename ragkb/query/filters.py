"""Scoping a search to some files: a Filter from what a person types, and the files it keeps.

The catalog answers the filter with a list of paths; the vector store and the keyword index
then search only the chunks of those paths (inside their own query, so a narrow filter still
returns k hits whenever k chunks match it, which trimming a global top k would not).
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ragkb.errors import UsageError
from ragkb.types import Filter

if TYPE_CHECKING:
    from ragkb.index.catalog import Catalog

# The kinds a person names, and the suffixes each stands for.
TYPES: dict[str, frozenset[str]] = {
    "pdf": frozenset({".pdf"}),
    "docx": frozenset({".docx"}),
    "md": frozenset({".md", ".markdown"}),
    "txt": frozenset({".txt"}),
    "image": frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff"}),
}
_RELATIVE = re.compile(r"(\d+)\s*([hdwmy])", re.IGNORECASE)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1),
          "m": timedelta(days=30), "y": timedelta(days=365)}  # fmt: skip


def parse_filter(
    *,
    paths: Iterable[str] = (),
    types: Iterable[str] = (),
    tags: Iterable[str] = (),
    since: str | None = None,
    until: str | None = None,
    modified_since: str | None = None,
    modified_until: str | None = None,
    now: datetime | None = None,
) -> Filter:
    """Return the Filter that these options describe, or raise UsageError naming the bad one.

    A path is a glob (`*.pdf`, `~/contracts/**`, `reports/2026-*`) or a file or folder; a
    relative one is looked for at the end of every stored path. A time is a date
    (2026-11-01), a date and time (2026-11-01T09:30, local unless it names its zone), or an
    age: 12h, 7d, 2w, 3m, 1y before now.
    """
    kinds = tuple(dict.fromkeys(t.strip().lower() for t in types if t.strip()))
    unknown = [t for t in kinds if t not in TYPES]
    if unknown:
        raise UsageError(f"--type {unknown[0]!r}: expected one of {', '.join(TYPES)}")
    moment = now or datetime.now(UTC)
    return Filter(
        paths=tuple(dict.fromkeys(_path_glob(p) for p in paths if p.strip())),
        types=kinds,
        tags=tuple(dict.fromkeys(t.strip() for t in tags if t.strip())),
        since=_time(since, "since", moment),
        until=_time(until, "until", moment),
        modified_since=_time(modified_since, "modified-since", moment),
        modified_until=_time(modified_until, "modified-until", moment),
    )


def _path_glob(raw: str) -> str:
    """An absolute glob for a file or folder that exists, else the glob as typed."""
    text = os.path.expanduser(raw.strip())
    if not any(c in text for c in "*?[") and Path(text).exists():
        resolved = Path(text).resolve()
        return str(resolved / "*") if resolved.is_dir() else str(resolved)
    return text


def _time(raw: str | None, option: str, now: datetime) -> float | None:
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    age = _RELATIVE.fullmatch(text)
    if age:
        return (now - int(age.group(1)) * _UNITS[age.group(2).lower()]).timestamp()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--{option} {raw!r}: expected a date (2026-11-01), a date and time "
            "(2026-11-01T09:30) or an age (12h, 7d, 2w, 3m, 1y)"
        ) from None
    return moment.timestamp()  # a naive time is local, as a person means it


def matching_paths(catalog: Catalog, scope: Filter) -> list[str]:
    """Return the stored paths of read files that SCOPE lets through, sorted."""
    found = catalog.paths_where(
        tags=scope.tags,
        ingested=(scope.since, scope.until),
        modified=(scope.modified_since, scope.modified_until),
    )
    if scope.types:
        suffixes = frozenset().union(*(TYPES[t] for t in scope.types))
        found = [p for p in found if Path(p).suffix.lower() in suffixes]
    if scope.paths:
        found = [p for p in found if any(_matches(p, glob) for glob in scope.paths)]
    return found


def _matches(path: str, glob: str) -> bool:
    """Whether PATH matches GLOB: `*` crosses folders (so `~/notes/*` is all of ~/notes), and
    a relative glob may match any tail of the path (`contracts/*.pdf`)."""
    if fnmatch.fnmatchcase(path, glob):
        return True
    return not os.path.isabs(glob) and fnmatch.fnmatchcase(path, "*/" + glob.lstrip("./"))
