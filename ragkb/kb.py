"""KnowledgeBase: the Python API under the CLI, a short facade over the stages.

Creating one is cheap: it builds (or is given) its Parts, and nothing heavy loads until a
stage first needs it.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragkb.errors import KnowledgeBaseNotFoundError, UsageError
from ragkb.index.archive import ArchiveManifest, unpack_archive, write_archive
from ragkb.index.catalog import has_catalog, kb_dir
from ragkb.index.inventory import KnowledgeBaseInfo, describe, require_kb
from ragkb.index.manifest import Fingerprint, check_fingerprint, fingerprint
from ragkb.ingest.chunking import CHUNKER_VERSION
from ragkb.ingest.lock import LOCK_FILE, acquire_lock
from ragkb.ingest.repair import RepairReport, repair
from ragkb.ingest.run import IngestOptions, run_ingest
from ragkb.ingest.watch import ChangeFeed, Changes, WatchBatch
from ragkb.query import ask as asking
from ragkb.query.filters import parse_filter
from ragkb.query.retrieve import Retrieval, retrieve
from ragkb.types import (
    Answer,
    AskEvent,
    DoneEvent,
    Filter,
    Hit,
    IngestReport,
    SourcesEvent,
    TextEvent,
)

__all__ = [
    "AskEvent",
    "DoneEvent",
    "Filter",
    "KnowledgeBase",
    "SourcesEvent",
    "TextEvent",
    "WatchBatch",
    "parse_filter",
]

if TYPE_CHECKING:
    import threading

    from ragkb.config import Settings
    from ragkb.index.catalog import ChunkRecord, FileRecord
    from ragkb.parts import Parts
    from ragkb.query.chat import ChatSession
    from ragkb.query.prompting import PackedPrompt
    from ragkb.types import Progress

log = logging.getLogger(__name__)


class KnowledgeBase:
    """One knowledge base: ingest files into it, search it, ask it."""

    def __init__(self, settings: Settings, parts: Parts | None = None) -> None:
        if parts is None:
            from ragkb import build  # the composition root, looked up when used

            parts = build.build_parts(settings)
        self.settings = settings
        self.parts = parts
        self.name = settings.store.kb
        self.directory = parts.catalog.directory  # kb_dir(home, kb), decided in build_parts

    @property
    def metric(self) -> str:
        """Return the metric the vector store uses."""
        return self.parts.vectors.metric

    def exists(self) -> bool:
        """Return whether anything was ever ingested into this knowledge base."""
        return self.parts.catalog.exists()

    # -- ingest ---------------------------------------------------------------------------
    def ingest(
        self,
        paths: Sequence[str],
        *,
        dry_run: bool = False,
        prune: bool | None = None,
        progress: Progress | None = None,
        tags: Sequence[str] = (),
    ) -> IngestReport:
        """Make the knowledge base match the files under PATHS; label each with TAGS (labels
        stay until the file is forgotten, whatever later runs give)."""
        options = IngestOptions.from_settings(self.settings.ingest, self.settings.chunking)
        options = replace(options, tags=tuple(t.strip() for t in tags if t.strip()))
        return run_ingest(
            paths,
            kb=self.name,
            directory=self.directory,
            parts=self.parts,
            options=options if prune is None else replace(options, prune=prune),
            fingerprint=self._fingerprint,
            dry_run=dry_run,
            progress=progress,
        )

    def watch(
        self,
        paths: Sequence[str],
        *,
        stop: threading.Event,
        on_batch: Callable[[WatchBatch], None],
        tags: Sequence[str] = (),
        progress: Progress | None = None,
    ) -> None:
        """Sync PATHS, then apply each settled burst of changes under them until STOP is set.

        Every batch is an ordinary ingest (hash sync, the writer lock, crash safety, failures
        named) of the files created or changed, plus the removal of the files that vanished;
        ON_BATCH hears what each did, the initial sync first. The writer lock is held from
        start to end: another writer is refused (KnowledgeBaseLockedError, naming the watch)
        while it runs, and a watch does not start while another writer runs.
        """
        settle_s = self.settings.ingest.watch_settle_s
        # The one writer while it runs: an ingest, remove or reset from elsewhere would change
        # the knowledge base under it (a reset deleted the catalog it was writing to).
        lock = acquire_lock(self.directory, holder="ragkb watch")
        try:
            feed = ChangeFeed(paths, stop=stop, settle_s=settle_s)  # watching from now on
            first = self.ingest(paths, tags=tags, progress=progress)
            on_batch(WatchBatch(first, (), first.seconds, initial=True))
            for changes in feed:
                on_batch(self._apply_changes(changes, tags))
        finally:
            lock.release()

    def _apply_changes(self, changes: Changes, tags: Sequence[str]) -> WatchBatch:
        started = time.monotonic()
        catalog = self.parts.catalog
        gone = sorted({p for path in changes.gone for p in catalog.paths_under(path)})
        removed = tuple(path for path, _ in self.remove(gone)) if gone else ()
        report = self.ingest(changes.upsert, prune=False, tags=tags) if changes.upsert else None
        return WatchBatch(report, removed, time.monotonic() - started)

    def _fingerprint(self, dimension: int | None = None) -> Fingerprint:
        """Return what the current settings would record as the knowledge base's fingerprint."""
        embedder, c = self.parts.embedder, self.settings.chunking
        return fingerprint(
            embedder=embedder.name,
            query_prefix=embedder.query_prefix,
            passage_prefix=embedder.passage_prefix,
            metric=self.metric,
            chunk_tokens=c.chunk_tokens,
            overlap_tokens=c.overlap_tokens,
            chunker_version=CHUNKER_VERSION,
            dimension=dimension,
        )

    # -- search and ask -------------------------------------------------------------------
    def retrieve(
        self,
        query: str,
        *,
        k: int | None = None,
        mode: str | None = None,
        user_words: str | None = None,
        scope: Filter | None = None,
    ) -> Retrieval:
        """Return ranked hits for QUERY and the verdict on whether they can answer it.

        USER_WORDS, when QUERY is a rewrite, are the words checked for unknown names. SCOPE
        (see `parse_filter`) limits the search to some files.
        """
        self._require()
        check_fingerprint(
            self.parts.catalog.get_meta("fingerprint"), self._fingerprint(), kb=self.name
        )
        r = self.settings.retrieval
        mode = mode or r.mode
        started = time.monotonic()
        result = retrieve(
            query,
            parts=self.parts,
            settings=r,
            k=k or r.k,
            mode=mode,
            user_words=user_words,
            scope=scope,
        )
        log.info(
            "retrieved %d chunks (%d relevant) in %.0f ms, mode %s",
            len(result.hits),
            len(result.relevant),
            (time.monotonic() - started) * 1000,
            mode,
        )
        return result

    def search(
        self,
        query: str,
        *,
        k: int | None = None,
        mode: str | None = None,
        scope: Filter | None = None,
    ) -> list[Hit]:
        """Return the K chunks closest to QUERY (among the files SCOPE lets through)."""
        return list(self.retrieve(query, k=k, mode=mode, scope=scope).hits)

    def ask(self, question: str, **kwargs: Any) -> Answer:
        """Answer QUESTION from the knowledge base (not streamed); takes ask_stream's options."""
        for event in self.ask_stream(question, **kwargs):
            if isinstance(event, DoneEvent):
                return event.answer
        raise AssertionError("ask_stream ended without an answer")

    def ask_stream(
        self,
        question: str,
        *,
        k: int | None = None,
        mode: str | None = None,
        session: ChatSession | None = None,
        evidence: bool | None = None,
        scope: Filter | None = None,
    ) -> Iterator[AskEvent]:
        """Retrieve, then stream the answer; refuse without calling the model if nothing fits."""
        return asking.ask_stream(
            question,
            parts=self.parts,
            options=self._ask_options(evidence),
            retrieve=lambda query, words: self.retrieve(
                query, k=k, mode=mode, user_words=words, scope=scope
            ),
            session=session,
        )

    def prompt_for(
        self, question: str, *, k: int | None = None, scope: Filter | None = None
    ) -> PackedPrompt:
        """Return the exact messages the model would get for QUESTION (for --show-prompt)."""
        retrieval = self.retrieve(question, k=k, scope=scope)
        return asking.pack(
            question, retrieval.relevant, parts=self.parts, options=self._ask_options(None)
        )

    def _ask_options(self, evidence: bool | None) -> asking.AskOptions:
        options = asking.AskOptions.from_settings(self.settings.generation, self.settings.answer)
        return options if evidence is None else replace(options, evidence=evidence)

    # -- management -----------------------------------------------------------------------
    def _require(self) -> None:
        require_kb(self.settings.home, self.name)

    def info(self) -> KnowledgeBaseInfo:
        """Return what the knowledge base holds, without loading any model."""
        self._require()
        return describe(self.name, self.directory, self.parts.catalog)

    def warm_up(self) -> None:
        """Load what a search needs now: the query encoder, the vector store and the lexicon.

        A server does this once, before its threads (requests, a watcher's ingest) would first
        import the same libraries at the same moment: a thread can then see a module another
        is still initialising ("cannot import name 'NDArray' from partially initialized module
        'numpy._typing'", seen in a watched server's first search).
        """
        self.parts.query_encoder.embed_query("warm up")
        self.parts.vectors.count()
        if self.parts.translator is not None:
            self.parts.translator.prepare()

    def files(self) -> list[FileRecord]:
        """Return every file the knowledge base knows, with its status."""
        self._require()
        return self.parts.catalog.files()

    def document(
        self, path: str, *, page: int | None = None
    ) -> tuple[FileRecord, list[ChunkRecord]]:
        """Return a stored file's record and its chunks in order (of PAGE only, when given);
        read from the catalog, never from disk."""
        self._require()
        catalog = self.parts.catalog
        record = catalog.file(path) or catalog.file(str(Path(path).expanduser().resolve()))
        if record is None:
            raise KnowledgeBaseNotFoundError(
                f"{path}: not in knowledge base '{self.name}' (see `ragkb files`)"
            )
        if page is not None and not (record.pages and 1 <= page <= record.pages):
            # No page holds nothing: say so instead of an empty list that looks like one.
            where = f"it has pages 1-{record.pages}" if record.pages else "it has no pages"
            raise KnowledgeBaseNotFoundError(f"{path}: no page {page} ({where})")
        chunks = catalog.file_chunks(record.path)
        return record, [c for c in chunks if page is None or c.page == page]

    def remove(self, paths: Sequence[str]) -> list[tuple[str, int]]:
        """Drop files' chunks, a folder's PATH standing for every stored file under it; return
        (path, chunks removed) for each file. Nothing is dropped when one PATH holds none."""
        self._require()
        catalog = self.parts.catalog
        lock = acquire_lock(self.directory)
        try:
            keys: dict[str, None] = {}  # in order, each file once (a folder and a file in it)
            for raw in paths:
                under = catalog.paths_under(str(Path(raw).expanduser().resolve()))
                if not under:
                    raise KnowledgeBaseNotFoundError(
                        f"{raw}: not in knowledge base '{self.name}' (see `ragkb files`)"
                    )
                keys.update(dict.fromkeys(under))
            removed = []
            for key in keys:
                self.parts.vectors.delete_source(key)
                removed.append((key, catalog.forget_file(key)))
            self.parts.keywords.catch_up(catalog)
            return removed
        finally:
            lock.release()

    def repair(self) -> RepairReport:
        """Make the catalog, the vectors and the keyword index agree again (after a crash)."""
        self._require()
        return repair(
            kb=self.name,
            directory=self.directory,
            parts=self.parts,
            reingest=lambda paths: self.ingest(paths, prune=False),
        )

    def export(self, target: Path) -> ArchiveManifest:
        """Write the whole knowledge base (catalog, vectors, keyword index, fingerprint) to
        the archive TARGET, between writes."""
        from ragkb import __version__

        self._require()
        # A typo in the folder must not make folders: the archive goes into an existing one.
        if not target.parent.is_dir():
            raise UsageError(f"{target.parent}: no such folder to write the archive into")
        if target.is_dir():
            raise UsageError(f"{target}: is a folder; name the archive file to write")
        lock = acquire_lock(self.directory)
        try:
            self.parts.keywords.catch_up(self.parts.catalog)  # the index holds every chunk
            return write_archive(
                self.directory,
                target,
                kb=self.name,
                catalog=self.parts.catalog,
                version=__version__,
                copy_store=self.parts.vectors.copy_to,
            )
        finally:
            lock.release()

    def reset(self) -> None:
        """Delete the knowledge base: vectors, catalog and keyword index."""
        self._require()
        lock = acquire_lock(self.directory)
        try:
            if self.settings.store.store_url:
                self.parts.vectors.drop()
            self.parts.vectors.close()  # its files go next: no client may write through them
            self.parts.catalog.close()
            _delete_contents(self.directory)
        finally:
            lock.release()
        shutil.rmtree(self.directory, ignore_errors=True)


def delete_unreadable(settings: Settings) -> None:
    """Delete the files of the knowledge base SETTINGS name when its catalog cannot be read
    (so no KnowledgeBase can be made for it): under its writer lock, as `reset` does. A
    collection on a Chroma server (`store_url`) is left there: only the catalog names it."""
    directory = require_kb(settings.home, settings.store.kb)
    lock = acquire_lock(directory)
    try:
        _delete_contents(directory)
    finally:
        lock.release()
    shutil.rmtree(directory, ignore_errors=True)


def _delete_contents(directory: Path) -> None:
    """Delete everything in DIRECTORY but the writer lock, which its holder releases."""
    for child in directory.iterdir():
        if child.name == LOCK_FILE:
            continue
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


def import_archive(settings: Settings, source: Path, *, name: str | None = None) -> KnowledgeBase:
    """Make knowledge base NAME (else the archive's own name) from the archive SOURCE, after
    checking its fingerprint against the embedder these settings give; return it.

    A knowledge base of that name must not exist yet. Nothing is left behind on failure.
    """
    from ragkb.index.vectors import ChromaStore

    if settings.store.store_url:
        raise UsageError("import makes an embedded store; unset store_url to import")
    root = settings.home / "kbs"
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".import-", dir=root))
    try:
        manifest = unpack_archive(source, staging)
        target = name or manifest.kb
        knowledge = KnowledgeBase(settings.replace(kb=target))  # checks the name
        if has_catalog(knowledge.directory):
            raise UsageError(
                f"knowledge base '{target}' already exists; import under another --kb NAME"
            )
        current = knowledge._fingerprint(knowledge.parts.embedder.dimension)
        current["metric"] = manifest.fingerprint.get("metric", current["metric"])  # it travels
        check_fingerprint(manifest.fingerprint, current, kb=target)
        ChromaStore.rename_collection(staging / "chroma", manifest.kb, target)
        kb_dir(settings.home, target).parent.mkdir(parents=True, exist_ok=True)
        staging.rename(kb_dir(settings.home, target))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return KnowledgeBase(settings.replace(kb=target))
