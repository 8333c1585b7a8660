"""Find the files an ingest is about: the supported files named, or under the folders named."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ragkb.ingest.documents import SUPPORTED_SUFFIXES
from ragkb.ingest.documents.reasons import BROKEN_LINK, NOT_FOUND, UNREADABLE_FOLDER
from ragkb.types import FileFailure

_HIDDEN_PREFIXES = (".", "~$")  # dotfiles and Word's lock files


def is_ignored(name: str) -> bool:
    """Return whether a file or folder NAME is passed over (hidden, or a Word lock file)."""
    return name.startswith(_HIDDEN_PREFIXES)


@dataclass(frozen=True, slots=True)
class Discovery:
    """What the paths named on the command line hold."""

    files: list[Path]  # supported files, sorted, each once
    folders: list[Path]  # the folders named (their vanished files may be pruned)
    failures: list[FileFailure]  # named files that are missing or unsupported, unreadable folders
    unreadable: list[Path]  # folders that could not be listed: nothing under them is pruned


def discover(paths: Sequence[str]) -> Discovery:
    """Find the supported files under PATHS, and say what could not be looked at."""
    files: list[Path] = []
    folders: list[Path] = []
    failures: list[FileFailure] = []
    unreadable: list[Path] = []
    broken: list[Path] = []
    for raw in paths:
        # What a failure names: the user's path, made absolute, links not followed.
        given = Path(os.path.abspath(Path(raw).expanduser()))
        try:
            path = given.resolve()
        except (RuntimeError, OSError):  # a loop of links (RuntimeError before Python 3.13)
            failures.append(FileFailure(str(given), BROKEN_LINK))
            continue
        if path.is_dir():
            folders.append(path)
            files.extend(_walk(path, unreadable, broken))
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                files.append(path)
            else:
                failures.append(
                    FileFailure(str(path), f"unsupported file type ({path.suffix or 'none'})")
                )
        else:
            failures.append(
                FileFailure(str(given), BROKEN_LINK if given.is_symlink() else NOT_FOUND)
            )
    failures.extend(FileFailure(str(p), UNREADABLE_FOLDER) for p in unreadable)
    failures.extend(FileFailure(str(p), BROKEN_LINK) for p in broken)
    return Discovery(sorted(set(files)), folders, failures, unreadable)


def _walk(folder: Path, unreadable: list[Path], broken: list[Path]) -> Iterator[Path]:
    """Yield the supported files under FOLDER; note the folders that cannot be listed
    (UNREADABLE) and the links to a supported name that lead nowhere (BROKEN)."""

    def note(error: OSError) -> None:
        unreadable.append(Path(error.filename or folder))

    for root, dirs, names in os.walk(folder, onerror=note):
        dirs[:] = sorted(d for d in dirs if not is_ignored(d))
        for name in sorted(names):
            if is_ignored(name):
                continue
            path = Path(root) / name
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                continue
            if path.is_file():
                yield path
            elif path.is_symlink():
                broken.append(path)
