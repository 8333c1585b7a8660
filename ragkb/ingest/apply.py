"""Apply a sync plan: parse, chunk, embed and store, recording one file at a time.

The order makes a crash safe: a batch's vectors are written before its files are recorded in
the catalog, so a file whose vectors were written but that was not recorded is simply done
again by the next run (its old chunks are deleted first).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ragkb.index.catalog import ChunkRecord, FileRecord
from ragkb.ingest.chunking import (
    CONTEXT_TOKENS,
    chunk_document,
    context_line,
    document_title,
    indexed_text,
)
from ragkb.ingest.documents import reader_version
from ragkb.ingest.documents.scans import OcrOptions
from ragkb.ingest.plan import Candidate
from ragkb.ingest.pool import ParsePool, ParseResult
from ragkb.language import keyword_tokens, warm_up_segmenter
from ragkb.types import Chunk, FileFailure, IngestReport, ProgressEvent

if TYPE_CHECKING:
    from ragkb.index.catalog import Catalog
    from ragkb.ingest.plan import SyncPlan
    from ragkb.parts import Embedder, VectorStore
    from ragkb.types import Progress

log = logging.getLogger(__name__)

# Share of tokens the embedder cannot represent above which a file gets a warning.
UNKNOWN_TOKEN_WARN_RATIO = 0.2
# Chunks embedded between two progress reports: a 512-chunk batch takes a minute on a
# laptop CPU, and the bar should move through it.
EMBED_SLICE = 64


def chunk_id(path: str, file_hash: str, index: int) -> str:
    """Return the deterministic id of chunk INDEX of a file's content at PATH."""
    key = hashlib.sha1(f"{path}\0{file_hash}".encode(), usedforsecurity=False).hexdigest()
    return f"{key[:20]}-{index:05d}"


@dataclass(slots=True)
class _Pending:
    candidate: Candidate
    chunks: list[Chunk]
    pages: int | None
    ocr_pages: int = 0
    warnings: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """Return the file's name as words, indexed with each of its chunks."""
        return document_title(self.candidate.path)


class Syncer:
    """Applies a SyncPlan: parse, chunk, embed, store; one file recorded at a time."""

    def __init__(
        self,
        *,
        kb: str,
        catalog: Catalog,
        vectors: VectorStore,
        embedder: Embedder,
        before_first_file: Callable[[], None],
        chunk_tokens: int,
        overlap_tokens: int,
        file_timeout_s: float,
        ocr: OcrOptions | None = None,
        ocr_page_timeout_s: float = 60.0,
        batch_chunks: int = 512,
        progress: Progress | None = None,
        after_batch: Callable[[], object] | None = None,
        warm_up: Callable[[], None] | None = None,
    ) -> None:
        self._kb = kb
        self._extra_warm_up = warm_up  # a one-off build to overlap with the whole ingest
        self._catalog = catalog
        self._store = vectors
        self._embedder = embedder
        self._contexts: dict[tuple[str, str | None], str] = {}  # (title, heading) -> line
        self._before_first_file: Callable[[], None] | None = before_first_file
        self._chunk_tokens = chunk_tokens
        self._overlap_tokens = overlap_tokens
        self._file_timeout_s = file_timeout_s
        self._ocr = ocr or OcrOptions()
        self._ocr_page_timeout_s = ocr_page_timeout_s
        self._batch_chunks = batch_chunks  # gathered across files before one embedding pass
        self._progress = progress
        self._after_batch = after_batch  # e.g. the keyword index takes in the batch's files
        self._report_failed: list[FileFailure] = []
        self._warnings: list[str] = []
        self._chunks_added = 0
        self._chunks_replaced = 0
        self._files_done = 0
        self._files_total = 0
        self._warm_up: threading.Thread | None = None
        self._rereading: set[str] = set()
        self._same: list[str] = []  # re-read by a newer reader, and came out the same

    def apply(self, plan: SyncPlan) -> IngestReport:
        """Carry out PLAN and return what happened."""
        started = time.monotonic()
        self._report_failed = list(plan.failed)
        chunks_removed = 0
        for path in plan.removed:
            self._store.delete_source(path)
            chunks_removed += self._catalog.forget_file(path)
        for failure in plan.failed:
            self._record_failure(failure.path, failure.reason)
        todo = plan.new + plan.changed + plan.reread
        self._files_total = len(todo)
        by_path = {c.path: c for c in todo}
        self._rereading = {c.path for c in plan.reread}
        done_ok: set[str] = set()
        if todo:
            # Opening the store and loading the segmenter (about 1 s and 0.6 s here) overlap
            # with parsing the first files; the first write waits for them.
            self._warm_up = _start_in_background(
                "ragkb-warm-up", self._store.count, warm_up_segmenter
            )
            extra = (  # joined only at the end
                _start_in_background("ragkb-background-build", self._extra_warm_up)
                if self._extra_warm_up is not None
                else None
            )
            self._emit("parse")  # the bar shows the files to do before the first is read
            pending: list[_Pending] = []
            with ParsePool(
                timeout_s=self._file_timeout_s,
                ocr=self._ocr,
                ocr_page_timeout_s=self._ocr_page_timeout_s,
                on_ocr_page=self._on_ocr_page,
            ) as pool:
                for result in pool.parse_all((c.path, c.path) for c in todo):
                    item = self._prepare(result, by_path[result.path])
                    if item is not None:
                        pending.append(item)
                    if sum(len(p.chunks) for p in pending) >= self._batch_chunks:
                        done_ok.update(self._flush(pending))
                        pending = []
                done_ok.update(self._flush(pending))
            if extra is not None:
                extra.join()
        return IngestReport(
            kb=self._kb,
            added=tuple(c.path for c in plan.new if c.path in done_ok),
            updated=tuple(c.path for c in plan.changed + plan.reread if c.path in done_ok),
            unchanged=tuple(c.path for c in plan.unchanged) + tuple(self._same),
            removed=tuple(plan.removed),
            failed=tuple(self._report_failed),
            chunks_added=self._chunks_added,
            chunks_removed=chunks_removed + self._chunks_replaced,
            seconds=time.monotonic() - started,
            warnings=tuple(self._warnings),
        )

    def _emit(
        self, stage: str, path: str = "", *, pages: tuple[int, int] = (0, 0), embedded: int = 0
    ) -> None:
        """Report progress; EMBEDDED counts the chunks of the batch in hand embedded so far."""
        if self._progress is not None:
            self._progress(
                ProgressEvent(
                    stage,
                    self._files_done,
                    self._files_total,
                    self._chunks_added + embedded,
                    path,
                    *pages,
                )
            )

    def _on_ocr_page(self, path: str, done: int, total: int) -> None:
        self._emit("ocr", path, pages=(done, total))

    def _prepare(self, result: ParseResult, candidate: Candidate) -> _Pending | None:
        if result.document is None:
            self._fail(candidate, result.reason or "unreadable")
            return None
        document = result.document
        if document.sha256 and document.sha256 != candidate.file_hash:
            # The file changed after it was planned: record the bytes that were parsed, so
            # a stored text never carries another version's hash.
            candidate = Candidate(candidate.path, document.size, document.sha256)
        warnings = list(document.warnings)
        if self._before_first_file is not None:
            self._emit("load", candidate.path)  # the embedder loads: seconds on a cold start
            self._before_first_file()  # e.g. check and record the fingerprint, once
            self._before_first_file = None
        embedder = self._embedder
        try:
            chunks = chunk_document(
                document,
                count_tokens=embedder.count_tokens,
                token_offsets=embedder.token_offsets,
                chunk_tokens=self._chunk_tokens,
                overlap_tokens=self._overlap_tokens,
                max_tokens=max(1, embedder.max_tokens - CONTEXT_TOKENS - 1),
            )
        except (TypeError, ValueError) as exc:  # text the tokenizer rejects: this file only
            self._fail(candidate, f"unreadable text ({type(exc).__name__}: {exc})")
            return None
        if not chunks:
            self._fail(candidate, "no extractable text")
            return None
        if candidate.path in self._rereading and self._unchanged(candidate.path, chunks):
            self._catalog.set_reader(
                candidate.path,
                reader_version(candidate.path),
                ocr_pages=document.ocr_pages,
                warnings=tuple(warnings),
            )
            self._same.append(candidate.path)
            self._files_done += 1
            self._emit("parse", candidate.path)
            return None
        sample = " ".join(c.text for c in chunks[:20])
        ratio = embedder.unknown_token_ratio(sample)
        if ratio > UNKNOWN_TOKEN_WARN_RATIO:
            warnings.append(
                f"{ratio:.0%} of its tokens are unknown to the embedder "
                f"{embedder.name}; vector search will be weak on it (keyword search still "
                "works); a multilingual embedder fixes this"
            )
        self._warnings.extend(f"{candidate.path}: {w}" for w in warnings)
        self._files_done += 1  # read: the bar counts files read, its chunks count embedding
        log.info("read %s: %d chunks to embed", candidate.path, len(chunks))
        self._emit("parse", candidate.path)
        return _Pending(candidate, chunks, document.pages, document.ocr_pages, tuple(warnings))

    def _unchanged(self, path: str, chunks: list[Chunk]) -> bool:
        """Tell whether CHUNKS are the ones stored for PATH: then its vectors stay."""
        stored = self._catalog.file_chunks(path)
        return [(c.text, c.page, c.heading, c.ocr) for c in chunks] == [
            (c.text, c.page, c.heading, c.ocr) for c in stored
        ]

    def _fail(self, candidate: Candidate, reason: str) -> None:
        self._report_failed.append(FileFailure(candidate.path, reason))
        self._record_failure(candidate.path, reason, candidate.file_hash)
        self._files_done += 1

    def _record_failure(self, path: str, reason: str, file_hash: str | None = None) -> None:
        """Drop any stale chunks of PATH and remember why it failed, and the bytes it failed
        on (FILE_HASH, when they were read): a dry run can then tell it will fail again."""
        if not Path(path).is_file():  # missing, or a folder that could not be listed
            return
        known = self._catalog.file(path)
        if known is not None and known.chunks:
            self._store.delete_source(path)
            self._chunks_replaced += known.chunks
        size = Path(path).stat().st_size if Path(path).is_file() else 0
        digest = file_hash if file_hash is not None else (known.file_hash if known else "")
        self._catalog.record_file(
            FileRecord(path, digest, size, 0, None, time.time(), "failed", reason), []
        )

    def _flush(self, pending: list[_Pending]) -> Iterable[str]:
        if not pending:
            return []
        texts = [c.text for p in pending for c in p.chunks]
        indexed = [indexed_text(c.text, self._context(p, c)) for p in pending for c in p.chunks]
        vectors = self._embed(indexed)
        # One vector-store write for the whole batch (each call costs tens of ms); files are
        # recorded in the catalog only after it, so a crash in between leaves them unrecorded
        # and the next run redoes them (their old chunks are deleted first, as here).
        if self._warm_up is not None:
            self._warm_up.join()  # the store client is not opened twice
        ids: list[str] = []
        metadatas: list[dict[str, str | int]] = []
        for item in pending:
            self._store.delete_source(item.candidate.path)
            ids.extend(_chunk_ids(item))
            metadatas.extend(_metadatas(item))
        self._store.upsert(ids, vectors, metadatas, texts)
        done: list[str] = []
        offset = 0
        for item in pending:
            n = len(item.chunks)
            self._record_file(item, ids[offset : offset + n], indexed[offset : offset + n])
            offset += n
            done.append(item.candidate.path)
        if self._after_batch is not None:
            self._after_batch()
        return done

    def _embed(self, texts: list[str]) -> list[list[float]]:
        """Embed TEXTS in slices of similar length, reporting progress after each."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: list[list[float]] = [[] for _ in texts]
        self._emit("embed")
        for start in range(0, len(order), EMBED_SLICE):
            part = order[start : start + EMBED_SLICE]
            for i, vector in zip(
                part, self._embedder.embed_passages([texts[i] for i in part]), strict=True
            ):
                vectors[i] = vector
            self._emit("embed", embedded=start + len(part))
        return vectors

    def _context(self, item: _Pending, chunk: Chunk) -> str:
        key = (item.title, chunk.heading)
        if key not in self._contexts:
            self._contexts[key] = context_line(
                item.title, chunk.heading, self._embedder.token_offsets, CONTEXT_TOKENS
            )
        return self._contexts[key]

    def _record_file(self, item: _Pending, ids: list[str], indexed: list[str]) -> None:
        """Record ITEM's file and chunks; INDEXED are the texts embedded (context + chunk),
        whose words are also the chunk's keywords."""
        path = item.candidate.path
        known = self._catalog.file(path)
        self._chunks_replaced += known.chunks if known else 0
        records = [
            ChunkRecord(
                cid,
                path,
                c.index,
                c.page,
                c.heading,
                c.text,
                " ".join(keyword_tokens(text)),
                c.ocr,
            )
            for cid, c, text in zip(ids, item.chunks, indexed, strict=True)
        ]
        self._catalog.record_file(
            FileRecord(
                path,
                item.candidate.file_hash,
                item.candidate.size,
                len(item.chunks),
                item.pages,
                time.time(),
                "ok",
                ocr_pages=item.ocr_pages,
                warnings=item.warnings,
                reader=reader_version(path),
                mtime=_mtime(path),
            ),
            records,
        )
        self._chunks_added += len(item.chunks)


def _mtime(path: str) -> float | None:
    try:
        return Path(path).stat().st_mtime
    except OSError:  # gone since it was read: its time is unknown, not an error
        return None


def _chunk_ids(item: _Pending) -> list[str]:
    path, file_hash = item.candidate.path, item.candidate.file_hash
    return [chunk_id(path, file_hash, c.index) for c in item.chunks]


def _metadatas(item: _Pending) -> list[dict[str, str | int]]:
    metadatas = []
    for c in item.chunks:
        meta: dict[str, str | int] = {
            "source": item.candidate.path,
            "chunk_index": c.index,
            "file_hash": item.candidate.file_hash,
            "content_hash": hashlib.sha256(c.text.encode()).hexdigest()[:16],
        }
        if c.page is not None:
            meta["page"] = c.page
        if c.heading:
            meta["heading"] = c.heading
        if c.ocr:
            meta["ocr"] = 1
        metadatas.append(meta)
    return metadatas


def _start_in_background(name: str, *steps: Callable[[], object]) -> threading.Thread:
    """Run STEPS, one after the other, in a daemon thread named NAME.

    They are one-off loads and builds that would otherwise sit on the critical path. A
    failure is only logged: the real call does the work again, and reports it there.
    """

    def run() -> None:
        try:
            for step in steps:
                step()
        except Exception as exc:
            log.info("%s failed: %s", name, exc)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread
