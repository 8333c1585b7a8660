"""Make a knowledge base match a set of files: plan, then apply under the KB lock."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ragkb.catalog import Catalog, ChunkRecord, FileRecord
from ragkb.chunking import chunk_document
from ragkb.errors import KnowledgeBaseLockedError
from ragkb.lexical import keyword_tokens
from ragkb.loader_pool import ParsePool, ParseResult
from ragkb.types import Chunk, FileFailure, IngestReport

if TYPE_CHECKING:
    from filelock import BaseFileLock

    from ragkb.embedding import SentenceTransformerEmbedder
    from ragkb.store import ChromaStore

SUPPORTED_SUFFIXES = frozenset({".pdf", ".docx", ".txt", ".md", ".markdown"})
_HIDDEN_PREFIXES = (".", "~$")  # dotfiles and Word's lock files
# Share of tokens the embedder cannot represent above which a file gets a warning.
UNKNOWN_TOKEN_WARN_RATIO = 0.2


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """Where an ingest is; the CLI draws it."""

    stage: str  # "plan" | "parse" | "embed" | "done"
    files_done: int
    files_total: int
    chunks_done: int
    path: str = ""


Progress = Callable[[ProgressEvent], None]


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
    removed: list[str] = field(default_factory=list)
    failed: list[FileFailure] = field(default_factory=list)


def hash_file(path: Path) -> str:
    """Return the SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def chunk_id(path: str, file_hash: str, index: int) -> str:
    """Return the deterministic id of chunk INDEX of a file's content at PATH."""
    key = hashlib.sha1(f"{path}\0{file_hash}".encode(), usedforsecurity=False).hexdigest()
    return f"{key[:20]}-{index:05d}"


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
            failures.append(FileFailure(str(path), "not found"))
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


def plan_sync(
    catalog: Catalog,
    paths: Sequence[str],
    *,
    prune: bool,
    rechunk: bool,
    max_file_bytes: int,
) -> SyncPlan:
    """Compare the files under PATHS with the catalog and decide what to do with each."""
    files, folders, failures = discover(paths)
    plan = SyncPlan(failed=list(failures))
    seen: set[str] = set()
    for path in files:
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
        else:
            plan.unchanged.append(candidate)
    if prune:
        for record in catalog.files():
            path = Path(record.path)
            inside = any(path.is_relative_to(folder) for folder in folders)
            if inside and record.path not in seen and not path.exists():
                plan.removed.append(record.path)
    return plan


def acquire_lock(directory: Path) -> BaseFileLock:
    """Take the knowledge base's writer lock, or raise KnowledgeBaseLockedError at once.

    The lock is an OS file lock, released by the kernel when its holder dies, so a lock
    left by a killed process never blocks the next run.
    """
    from filelock import FileLock, Timeout

    directory.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(directory / "write.lock"), timeout=0)
    pid_file = directory / "write.pid"
    try:
        lock.acquire()
    except Timeout:
        holder = pid_file.read_text().strip() if pid_file.is_file() else "unknown"
        raise KnowledgeBaseLockedError(
            f"another ragkb process (pid {holder}) is writing to this knowledge base "
            f"({directory}); wait for it to finish"
        ) from None
    pid_file.write_text(str(os.getpid()))
    return lock


@dataclass(slots=True)
class _Pending:
    candidate: Candidate
    chunks: list[Chunk]
    pages: int | None


class Syncer:
    """Applies a SyncPlan: parse, chunk, embed, store; one file recorded at a time."""

    def __init__(
        self,
        *,
        kb: str,
        catalog: Catalog,
        store: ChromaStore,
        embedder_factory: Callable[[], SentenceTransformerEmbedder],
        chunk_tokens: int,
        overlap_tokens: int,
        file_timeout_s: float,
        batch_chunks: int = 512,
        progress: Progress | None = None,
    ) -> None:
        self._kb = kb
        self._catalog = catalog
        self._store = store
        self._embedder_factory = embedder_factory
        self._chunk_tokens = chunk_tokens
        self._overlap_tokens = overlap_tokens
        self._file_timeout_s = file_timeout_s
        self._batch_chunks = batch_chunks  # gathered across files before one embedding pass
        self._progress = progress
        self._report_failed: list[FileFailure] = []
        self._warnings: list[str] = []
        self._chunks_added = 0
        self._chunks_replaced = 0
        self._files_done = 0
        self._files_total = 0
        self._warm_up: threading.Thread | None = None

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
        todo = plan.new + plan.changed
        self._files_total = len(todo)
        by_path = {c.path: c for c in todo}
        done_ok: set[str] = set()
        if todo:
            self._start_warm_up()
            pending: list[_Pending] = []
            with ParsePool(timeout_s=self._file_timeout_s) as pool:
                for result in pool.parse_all((c.path, c.path) for c in todo):
                    item = self._prepare(result, by_path[result.path])
                    if item is not None:
                        pending.append(item)
                    if sum(len(p.chunks) for p in pending) >= self._batch_chunks:
                        done_ok.update(self._flush(pending))
                        pending = []
                done_ok.update(self._flush(pending))
        return IngestReport(
            kb=self._kb,
            added=tuple(c.path for c in plan.new if c.path in done_ok),
            updated=tuple(c.path for c in plan.changed if c.path in done_ok),
            unchanged=tuple(c.path for c in plan.unchanged),
            removed=tuple(plan.removed),
            failed=tuple(self._report_failed),
            chunks_added=self._chunks_added,
            chunks_removed=chunks_removed + self._chunks_replaced,
            seconds=time.monotonic() - started,
            warnings=tuple(self._warnings),
        )

    def _emit(self, stage: str, path: str = "") -> None:
        if self._progress is not None:
            self._progress(
                ProgressEvent(stage, self._files_done, self._files_total, self._chunks_added, path)
            )

    def _prepare(self, result: ParseResult, candidate: Candidate) -> _Pending | None:
        if result.document is None:
            self._fail(candidate.path, result.reason or "unreadable")
            return None
        document = result.document
        self._warnings.extend(f"{candidate.path}: {w}" for w in document.warnings)
        embedder = self._embedder_factory()
        try:
            chunks = chunk_document(
                document,
                count_tokens=embedder.count_tokens,
                token_offsets=embedder.token_offsets,
                chunk_tokens=self._chunk_tokens,
                overlap_tokens=self._overlap_tokens,
                max_tokens=embedder.max_tokens,
            )
        except (TypeError, ValueError) as exc:  # text the tokenizer rejects: this file only
            self._fail(candidate.path, f"unreadable text ({type(exc).__name__}: {exc})")
            return None
        if not chunks:
            self._fail(candidate.path, "no extractable text")
            return None
        sample = " ".join(c.text for c in chunks[:20])
        ratio = embedder.unknown_token_ratio(sample)
        if ratio > UNKNOWN_TOKEN_WARN_RATIO:
            self._warnings.append(
                f"{candidate.path}: {ratio:.0%} of its tokens are unknown to the embedder "
                f"{embedder.name}; vector search will be weak on it (keyword search still "
                "works); a multilingual embedder fixes this"
            )
        self._emit("parse", candidate.path)
        return _Pending(candidate, chunks, document.pages)

    def _fail(self, path: str, reason: str) -> None:
        self._report_failed.append(FileFailure(path, reason))
        self._record_failure(path, reason)
        self._files_done += 1

    def _record_failure(self, path: str, reason: str) -> None:
        """Drop any stale chunks of PATH and remember why it failed."""
        if reason == "not found":
            return
        known = self._catalog.file(path)
        if known is not None and known.chunks:
            self._store.delete_source(path)
            self._chunks_replaced += known.chunks
        size = Path(path).stat().st_size if Path(path).is_file() else 0
        self._catalog.record_file(
            FileRecord(
                path, known.file_hash if known else "", size, 0, None, time.time(), "failed", reason
            ),
            [],
        )

    def _start_warm_up(self) -> None:
        """Open the vector store and load the Chinese word segmenter in the background.

        Both are one-off costs (about 1 s and 0.6 s here) that would otherwise sit on the
        critical path; they overlap with parsing the first files instead.
        """

        def warm_up() -> None:
            try:
                self._store.count()
                keyword_tokens("预热")
            except Exception:  # the real calls will raise it again, where it can be reported
                pass

        self._warm_up = threading.Thread(target=warm_up, name="ragkb-warm-up", daemon=True)
        self._warm_up.start()

    def _flush(self, pending: list[_Pending]) -> Iterable[str]:
        if not pending:
            return []
        embedder = self._embedder_factory()
        texts = [c.text for p in pending for c in p.chunks]
        self._emit("embed")
        vectors = embedder.embed_passages(texts)  # batched by similar token counts
        # One vector-store write for the whole batch (each call costs tens of ms); files are
        # recorded in the catalog only after it, so a crash in between leaves them unrecorded
        # and the next run redoes them (their old chunks are deleted first, as here).
        if self._warm_up is not None:
            self._warm_up.join()  # the store client is not opened twice
        ids: list[str] = []
        metadatas: list[dict[str, str | int]] = []
        for item in pending:
            self._store.delete_source(item.candidate.path)
            ids.extend(self._chunk_ids(item))
            metadatas.extend(self._metadatas(item))
        self._store.upsert(ids, vectors, metadatas, texts)
        done: list[str] = []
        offset = 0
        for item in pending:
            n = len(item.chunks)
            self._record_file(item, ids[offset : offset + n])
            offset += n
            done.append(item.candidate.path)
        return done

    @staticmethod
    def _chunk_ids(item: _Pending) -> list[str]:
        path, file_hash = item.candidate.path, item.candidate.file_hash
        return [chunk_id(path, file_hash, c.index) for c in item.chunks]

    @staticmethod
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
            metadatas.append(meta)
        return metadatas

    def _record_file(self, item: _Pending, ids: list[str]) -> None:
        path = item.candidate.path
        known = self._catalog.file(path)
        self._chunks_replaced += known.chunks if known else 0
        records = [
            ChunkRecord(
                cid, path, c.index, c.page, c.heading, c.text, " ".join(keyword_tokens(c.text))
            )
            for cid, c in zip(ids, item.chunks, strict=True)
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
            ),
            records,
        )
        self._chunks_added += len(item.chunks)
        self._files_done += 1
        self._emit("embed", path)
