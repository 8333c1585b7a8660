"""What a knowledge base holds, read from its catalog alone: `list`, `stats` and `files`.

These commands import no stage of the pipeline, so they start at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragkb.config import Settings
from ragkb.errors import KnowledgeBaseNotFoundError, RagkbError
from ragkb.index.catalog import Catalog, FileRecord, has_catalog, kb_dir, list_kb_names

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class KnowledgeBaseInfo:
    """What `ragkb list` and `ragkb stats` show about a knowledge base."""

    name: str
    metric: str | None
    embedder: str | None
    files: int
    failed_files: int
    chunks: int
    size_bytes: int
    path: str
    fingerprint: dict[str, Any]


def require_kb(home: Path, kb: str) -> Path:
    """Return the folder of knowledge base KB under HOME, or raise if it was never made."""
    directory = kb_dir(home, kb)
    if not has_catalog(directory):
        known = list_kb_names(home)
        hint = f" (known: {', '.join(known)})" if known else ""
        raise KnowledgeBaseNotFoundError(
            f"knowledge base '{kb}' does not exist{hint}; create it with `ragkb ingest PATH`"
        )
    return directory


def describe(name: str, directory: Path, catalog: Catalog) -> KnowledgeBaseInfo:
    """Return what the knowledge base in DIRECTORY holds, without loading any model or
    reading every file record (SQL counts them: `list` at 50,000 files)."""
    stored, failed = catalog.file_counts()
    fingerprint = catalog.get_meta("fingerprint") or {}
    return KnowledgeBaseInfo(
        name=name,
        metric=fingerprint.get("metric"),
        embedder=fingerprint.get("embedder"),
        files=stored,
        failed_files=failed,
        chunks=catalog.chunk_count(),
        size_bytes=_folder_size(directory),
        path=str(directory),
        fingerprint=fingerprint,
    )


def kb_info(settings: Settings) -> KnowledgeBaseInfo:
    """Return what the configured knowledge base holds."""
    directory = require_kb(settings.home, settings.store.kb)
    return describe(settings.store.kb, directory, Catalog(directory))


def kb_files(settings: Settings) -> list[FileRecord]:
    """Return every file the configured knowledge base knows, with its status."""
    return Catalog(require_kb(settings.home, settings.store.kb)).files()


@dataclass(frozen=True, slots=True)
class Inventory:
    """The knowledge bases under a data home, and those that could not be read, with why."""

    infos: list[KnowledgeBaseInfo]
    skipped: list[tuple[str, str]]


def survey_knowledge_bases(settings: Settings) -> Inventory:
    """Return info on every knowledge base under the data home, and the names of those that
    could not be read (a read-only home, a damaged catalog, a name no longer valid)."""
    infos: list[KnowledgeBaseInfo] = []
    skipped: list[tuple[str, str]] = []
    for name in list_kb_names(settings.home):
        try:
            infos.append(kb_info(settings.replace(kb=name)))
        except RagkbError as exc:
            log.warning("skipped %s: %s", name, exc)
            skipped.append((name, str(exc)))
    return Inventory(infos, skipped)


def list_knowledge_bases(settings: Settings) -> list[KnowledgeBaseInfo]:
    """Return info on every knowledge base under the data home that can be read."""
    return survey_knowledge_bases(settings).infos


def _folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
