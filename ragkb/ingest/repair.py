"""Bring the catalog, the vectors and the keyword index back into agreement.

A crash can leave vectors no catalog entry owns (their file was then deleted before a re-run
could replace them), and a damaged store can lose vectors the catalog still lists. Repair
drops the first, re-ingests the files of the second, and rebuilds the keyword index. It reads
every id once, so it costs what the knowledge base holds: it is a tool for after an accident,
not part of every ingest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ragkb.ingest.lock import acquire_lock

if TYPE_CHECKING:
    from ragkb.parts import Parts
    from ragkb.types import IngestReport


@dataclass(frozen=True, slots=True)
class RepairReport:
    """What a repair found and did."""

    kb: str
    orphan_vectors: int  # vectors no catalog chunk owns: deleted
    missing_vectors: int  # catalog chunks without a vector: their files were re-ingested
    reingested: tuple[str, ...]  # files re-ingested for that
    vanished: tuple[str, ...]  # files with missing vectors that are gone from disk: forgotten
    keyword_index_rebuilt: bool
    ingest: IngestReport | None = None


def repair(
    *,
    kb: str,
    directory: Path,
    parts: Parts,
    reingest: Callable[[Sequence[str]], IngestReport],
) -> RepairReport:
    """Repair knowledge base KB; REINGEST(paths) re-ingests files whose vectors are missing."""
    catalog, vectors = parts.catalog, parts.vectors
    lock = acquire_lock(directory)
    try:
        stored = set(vectors.all_ids())
        known = set(catalog.chunk_ids())
        orphans = sorted(stored - known)
        vectors.delete_ids(orphans)
        missing = known - stored
        redo = sorted({chunk.path for chunk in catalog.chunks_by_id(missing).values()})
        gone = [path for path in redo if not Path(path).is_file()]
        for path in gone:  # nothing to re-read: forget it, as a prune would
            vectors.delete_source(path)
            catalog.forget_file(path)
        present = [path for path in redo if path not in gone]
        for path in present:  # drop what is left of them so the re-ingest redoes them whole
            vectors.delete_source(path)
            catalog.forget_file(path)
        parts.keywords.rebuild(catalog)
    finally:
        lock.release()
    report = reingest(present) if present else None
    return RepairReport(
        kb=kb,
        orphan_vectors=len(orphans),
        missing_vectors=len(missing),
        reingested=tuple(present),
        vanished=tuple(gone),
        keyword_index_rebuilt=True,
        ingest=report,
    )
