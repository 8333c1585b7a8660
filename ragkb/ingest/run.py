"""An ingest from start to end: check the fingerprint, plan, lock, apply, refresh the indexes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ragkb.index.manifest import Fingerprint, check_fingerprint
from ragkb.ingest.apply import Syncer
from ragkb.ingest.discover import discover
from ragkb.ingest.documents.scans import OcrOptions
from ragkb.ingest.lock import acquire_lock
from ragkb.ingest.plan import SyncPlan, plan_sync
from ragkb.types import FileFailure, IngestReport

if TYPE_CHECKING:
    from pathlib import Path

    from ragkb.parts import Parts
    from ragkb.settings import ChunkingSettings, IngestSettings
    from ragkb.types import Progress

# The ONNX twin of the embedder is checked on this many stored chunks (and fixed probes).
TWIN_SAMPLE_CHUNKS = 24


@dataclass(frozen=True, slots=True)
class IngestOptions:
    """How one ingest runs (from the ingest and chunking settings)."""

    chunk_tokens: int
    overlap_tokens: int
    max_file_bytes: int
    file_timeout_s: float
    batch_chunks: int
    prune: bool
    ocr: OcrOptions
    ocr_page_timeout_s: float
    tags: tuple[str, ...] = ()  # labels for every file under the paths (kept by later runs)

    @classmethod
    def from_settings(cls, ingest: IngestSettings, chunking: ChunkingSettings) -> IngestOptions:
        """Return the options the ingest and chunking settings give."""
        return cls(
            chunk_tokens=chunking.chunk_tokens,
            overlap_tokens=chunking.overlap_tokens,
            max_file_bytes=int(ingest.max_file_mb * 1e6),
            file_timeout_s=ingest.file_timeout_s,
            batch_chunks=ingest.batch_chunks,
            prune=ingest.prune,
            ocr=OcrOptions(mode=ingest.ocr, engine=ingest.ocr_engine, dpi=ingest.ocr_dpi),
            ocr_page_timeout_s=ingest.ocr_page_timeout_s,
        )


def run_ingest(
    paths: Sequence[str],
    *,
    kb: str,
    directory: Path,
    parts: Parts,
    options: IngestOptions,
    fingerprint: Callable[[int | None], Fingerprint],
    dry_run: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Make knowledge base KB (in DIRECTORY) match the files under PATHS.

    FINGERPRINT(dimension) is what the current settings would record; it is checked against
    the stored one before anything is planned, and again with the vector size once the
    embedder has loaded, then recorded.
    """
    catalog = parts.catalog
    if dry_run:
        plan = _plan(paths, parts=parts, kb=kb, options=options, fingerprint=fingerprint)
        return _dry_run_report(kb, plan)
    if not catalog.exists():
        found = discover(paths)
        if not found.files:  # a mistyped path or --kb must not leave an empty knowledge base
            return IngestReport(kb=kb, failed=tuple(found.failures))
    lock = acquire_lock(directory)
    try:
        if not catalog.exists():
            # Readers take a knowledge base to exist once its catalog does: its vector store
            # is made first, so no reader ever creates it while this writer does.
            parts.vectors.count()
        plan = _plan(paths, parts=parts, kb=kb, options=options, fingerprint=fingerprint)

        def record_fingerprint() -> None:
            current = fingerprint(parts.embedder.dimension)  # loads the embedder
            stored = catalog.get_meta("fingerprint")
            check_fingerprint(stored, current, kb=kb)
            if stored != current:
                catalog.set_meta("fingerprint", current)

        syncer = Syncer(
            kb=kb,
            catalog=catalog,
            vectors=parts.vectors,
            embedder=parts.embedder,
            before_first_file=record_fingerprint,
            chunk_tokens=options.chunk_tokens,
            overlap_tokens=options.overlap_tokens,
            file_timeout_s=options.file_timeout_s,
            ocr=options.ocr,
            ocr_page_timeout_s=options.ocr_page_timeout_s,
            batch_chunks=options.batch_chunks,
            progress=progress,
            after_batch=lambda: parts.keywords.catch_up(catalog),
            warm_up=parts.translator.prepare if parts.translator else None,
        )
        report = syncer.apply(plan)
        if options.tags:
            covered = plan.new + plan.changed + plan.unchanged + plan.reread
            catalog.add_tags([c.path for c in covered], options.tags)
        parts.keywords.catch_up(catalog)  # also rebuilds a missing or damaged index
        parts.query_encoder.prepare(catalog.sample_texts(TWIN_SAMPLE_CHUNKS))
        return report
    finally:
        lock.release()


def _plan(
    paths: Sequence[str],
    *,
    parts: Parts,
    kb: str,
    options: IngestOptions,
    fingerprint: Callable[[int | None], Fingerprint],
) -> SyncPlan:
    """Plan a sync of PATHS (every file re-chunked when the chunking settings changed)."""
    catalog = parts.catalog
    rechunk = check_fingerprint(catalog.get_meta("fingerprint"), fingerprint(None), kb=kb)
    plan = plan_sync(
        catalog,
        paths,
        prune=options.prune,
        rechunk=rechunk,
        max_file_bytes=options.max_file_bytes,
    )
    return plan


def _dry_run_report(kb: str, plan: SyncPlan) -> IngestReport:
    """What the ingest would do. A file that failed last time and has not changed is counted
    as failing again, with its last reason (the real run reads it again, and it fails the
    same way unless a reader or setting changed)."""
    again = tuple(
        FileFailure(path, f"{reason} (last time; it will be read again)")
        for path, reason in plan.retried.items()
    )
    return IngestReport(
        kb=kb,
        added=tuple(c.path for c in plan.new),
        updated=tuple(c.path for c in plan.changed + plan.reread if c.path not in plan.retried),
        unchanged=tuple(c.path for c in plan.unchanged),
        removed=tuple(plan.removed),
        failed=tuple(plan.failed) + again,
        dry_run=True,
    )
