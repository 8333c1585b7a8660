"""Find the files an ingest is about: the supported files named, or under the folders named."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from ragkb.ingest.documents import SUPPORTED_SUFFIXES
from ragkb.ingest.documents.reasons import NOT_FOUND
from ragkb.types import FileFailure

_HIDDEN_PREFIXES = (".", "~$")  # dotfiles and Word's lock files


def discover(paths: Sequence[str]) -> tuple[list[Path], list[Path], list[FileFailure]]:
    """Return (files, folders given, failures) for the paths named on the command line."""
    files: list[Path] = []
    folders: list[Path] = []
    failures: list[FileFailure] = []
    for raw in paths:
        path = Path(raw).expanduser().resolve()
        if path.is_dir():
            folders.append(path)
            files.extend(_walk(path))
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                files.append(path)
            else:
                failures.append(
                    FileFailure(str(path), f"unsupported file type ({path.suffix or 'none'})")
                )
        else:
            failures.append(FileFailure(str(path), NOT_FOUND))
    return sorted(set(files)), folders, failures


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(_HIDDEN_PREFIXES))
        for name in sorted(names):
            if name.startswith(_HIDDEN_PREFIXES):
                continue
            path = Path(root) / name
            if path.suffix.lower() in SUPPORTED_SUFFIXES and path.is_file():
                yield path
