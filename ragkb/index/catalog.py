"""The knowledge base's own record, in SQLite: settings fingerprint, files and chunk texts.

Listing and stats read only this file, so they never import chromadb or load a model.
Chunk texts and their keyword tokens live here too: the keyword index is built from them,
and a journal names the files it has yet to take in.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ragkb.errors import StorageError

CATALOG_FILE = "catalog.sqlite"
_Method = TypeVar("_Method", bound=Callable[..., Any])

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    file_hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    chunks INTEGER NOT NULL,
    pages INTEGER,
    ingested_at REAL NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    ocr_pages INTEGER NOT NULL DEFAULT 0,
    warnings TEXT NOT NULL DEFAULT '[]',
    reader INTEGER NOT NULL DEFAULT 1,
    mtime REAL
);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    idx INTEGER NOT NULL,
    page INTEGER,
    heading TEXT,
    text TEXT NOT NULL,
    keywords TEXT NOT NULL,
    ocr INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS chunks_by_path ON chunks(path, idx);
-- Files whose chunks changed since the keyword index last committed (keywords.catch_up).
CREATE TABLE IF NOT EXISTS keyword_pending (path TEXT PRIMARY KEY);
-- Labels given at ingest (`ingest --tag`); they stay until the file is forgotten.
CREATE TABLE IF NOT EXISTS tags (
    path TEXT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (path, tag)
);
CREATE INDEX IF NOT EXISTS tags_by_tag ON tags(tag);
"""
# Columns added since the first catalogs: (table, column, declaration). A catalog written
# before them gains them on open, with their defaults (no OCR, no warnings recorded).
_ADDED_COLUMNS = (
    ("files", "ocr_pages", "INTEGER NOT NULL DEFAULT 0"),
    ("files", "warnings", "TEXT NOT NULL DEFAULT '[]'"),
    ("chunks", "ocr", "INTEGER NOT NULL DEFAULT 0"),
    ("files", "reader", "INTEGER NOT NULL DEFAULT 1"),
    ("files", "mtime", "REAL"),
)
_FILE_COLUMNS = (
    "path, file_hash, size, chunks, pages, ingested_at, status, reason, ocr_pages, warnings, "
    "reader, mtime"
)
_CHUNK_COLUMNS = "chunk_id, path, idx, page, heading, text, keywords, ocr"


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One file as the knowledge base knows it."""

    path: str
    file_hash: str
    size: int
    chunks: int
    pages: int | None
    ingested_at: float
    status: str  # "ok" | "failed"
    reason: str | None = None
    ocr_pages: int = 0  # pages read by OCR
    warnings: tuple[str, ...] = ()  # what was lost or weak in it, e.g. skipped pages
    reader: int = 1  # the version of its kind's reader that read it (documents.READERS)
    mtime: float | None = None  # the file's modification time when it was read
    tags: tuple[str, ...] = ()  # labels given at ingest, sorted

    @classmethod
    def from_row(cls, row: tuple[Any, ...], tags: tuple[str, ...] = ()) -> FileRecord:
        """Build a record from a row of _FILE_COLUMNS."""
        *head, warnings, reader, mtime = row
        return cls(
            *head,
            warnings=tuple(json.loads(warnings or "[]")),
            reader=reader,
            mtime=mtime,
            tags=tags,
        )


@dataclass(frozen=True, slots=True)
class ChunkRecord:
    """One stored chunk with its keyword tokens (space-separated)."""

    chunk_id: str
    path: str
    index: int
    page: int | None
    heading: str | None
    text: str
    keywords: str
    ocr: bool = False  # the text was read by OCR

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> ChunkRecord:
        """Build a record from a row of _CHUNK_COLUMNS."""
        *head, ocr = row
        return cls(*head, ocr=bool(ocr))


def _reported(method: _Method) -> _Method:
    """Turn an SQLite failure (a full disk, a read-only folder, a damaged file) into one
    StorageError naming the catalog file."""

    @functools.wraps(method)
    def wrapper(self: Catalog, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            read_only = self.directory.is_dir() and not os.access(self.directory, os.W_OK)
            hint = " (the folder is read-only)" if read_only else ""
            if _damaged(exc):  # nothing rebuilds the record of what was ingested
                hint = "; the catalog is damaged: `ragkb reset` it and ingest again"
            raise StorageError(f"{self.path}: {exc}{hint}") from exc

    return wrapper  # type: ignore[return-value]


def _damaged(exc: sqlite3.Error) -> bool:
    """Return whether EXC says the catalog file itself is damaged (not full, locked or
    read-only, which are OperationalErrors)."""
    return type(exc) is sqlite3.DatabaseError or "malformed" in str(exc)


class Catalog:
    """SQLite file beside the vector store; every write is one transaction.

    Nothing is created until the first write: reading the catalog of a knowledge base that
    does not exist yet finds no files, no chunks and no meta (so a dry run writes nothing).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / CATALOG_FILE
        # One connection per thread (sqlite3's rule): a server answers requests in threads.
        self._local = threading.local()

    @property
    def _connection(self) -> sqlite3.Connection | None:
        return getattr(self._local, "connection", None)

    def exists(self) -> bool:
        """Return whether the catalog file exists (anything was ever ingested)."""
        return self._connection is not None or has_catalog(self.directory)

    @property
    def _db(self) -> sqlite3.Connection:
        connection = self._connection
        if connection is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=30)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)
            _add_missing_columns(connection)
            self._local.connection = connection
        return connection

    @property
    def _reader(self) -> sqlite3.Connection:
        """The database for a read; an in-memory empty one while the file does not exist."""
        if self._connection is None and not has_catalog(self.directory):
            empty = sqlite3.connect(":memory:")
            empty.executescript(_SCHEMA)
            return empty
        return self._db

    def close(self) -> None:
        """Close this thread's database; the next use opens it again."""
        if self._connection is not None:
            self._connection.close()
            self._local.connection = None

    # -- meta -------------------------------------------------------------------------
    @_reported
    def get_meta(self, key: str) -> Any:
        """Return a JSON value stored under KEY, or None."""
        row = self._reader.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    @_reported
    def set_meta(self, key: str, value: Any) -> None:
        """Store a JSON value under KEY."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, json.dumps(value))
            )

    def identity(self, create: bool = False) -> str | None:
        """Return this knowledge base's own name, made (a random UUID) when CREATE and it has
        none: what its vector collection is marked with, so another catalog cannot write it."""
        found = self.get_meta("identity")
        if found is None and create:
            found = uuid.uuid4().hex
            self.set_meta("identity", found)
        return found

    # -- files ------------------------------------------------------------------------
    @_reported
    def files(self) -> list[FileRecord]:
        """Return every file record, sorted by path."""
        tags: dict[str, list[str]] = {}
        for path, tag in self._reader.execute("SELECT path, tag FROM tags ORDER BY path, tag"):
            tags.setdefault(path, []).append(tag)
        rows = self._reader.execute(f"SELECT {_FILE_COLUMNS} FROM files ORDER BY path")
        return [FileRecord.from_row(row, tuple(tags.get(row[0], ()))) for row in rows]

    @_reported
    def file_counts(self) -> tuple[int, int]:
        """Return how many files are stored and how many failed, counted in the database."""
        row = self._reader.execute(
            "SELECT COALESCE(SUM(status = 'ok'), 0), COALESCE(SUM(status != 'ok'), 0) FROM files"
        ).fetchone()
        return int(row[0]), int(row[1])

    @_reported
    def file(self, path: str) -> FileRecord | None:
        """Return the record of PATH, or None."""
        row = self._reader.execute(
            f"SELECT {_FILE_COLUMNS} FROM files WHERE path = ?", (path,)
        ).fetchone()
        if row is None:
            return None
        tags = self._reader.execute("SELECT tag FROM tags WHERE path = ? ORDER BY tag", (path,))
        return FileRecord.from_row(row, tuple(t[0] for t in tags))

    @_reported
    def record_file(self, record: FileRecord, chunks: Iterable[ChunkRecord]) -> None:
        """Replace PATH's chunks and record the file, atomically."""
        with self._db:
            self._db.execute("DELETE FROM chunks WHERE path = ?", (record.path,))
            self._db.executemany(
                f"INSERT INTO chunks({_CHUNK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (c.chunk_id, c.path, c.index, c.page, c.heading, c.text, c.keywords, c.ocr)
                    for c in chunks
                ),
            )
            self._db.execute(
                f"INSERT OR REPLACE INTO files({_FILE_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.path,
                    record.file_hash,
                    record.size,
                    record.chunks,
                    record.pages,
                    record.ingested_at,
                    record.status,
                    record.reason,
                    record.ocr_pages,
                    json.dumps(list(record.warnings), ensure_ascii=False),
                    record.reader,
                    record.mtime,
                ),
            )
            self._mark_for_keywords(record.path)

    @_reported
    def set_reader(
        self, path: str, reader: int, *, ocr_pages: int = 0, warnings: tuple[str, ...] = ()
    ) -> None:
        """Record that PATH was read again by reader version READER, its chunks unchanged
        (what that reading said about it stands in for what the earlier one said)."""
        with self._db:
            self._db.execute(
                "UPDATE files SET reader = ?, ocr_pages = ?, warnings = ? WHERE path = ?",
                (reader, ocr_pages, json.dumps(list(warnings), ensure_ascii=False), path),
            )

    @_reported
    def file_chunks(self, path: str) -> list[ChunkRecord]:
        """Return PATH's chunks in order."""
        rows = self._reader.execute(
            f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE path = ? ORDER BY idx", (path,)
        )
        return [ChunkRecord.from_row(row) for row in rows]

    @_reported
    def forget_file(self, path: str) -> int:
        """Drop PATH and its chunks; return how many chunks it had."""
        with self._db:
            n = self._db.execute("DELETE FROM chunks WHERE path = ?", (path,)).rowcount
            self._db.execute("DELETE FROM files WHERE path = ?", (path,))
            self._db.execute("DELETE FROM tags WHERE path = ?", (path,))
            self._mark_for_keywords(path)
        return n

    @_reported
    def add_tags(self, paths: Iterable[str], tags: Iterable[str]) -> None:
        """Label each of PATHS (files the catalog knows) with every one of TAGS."""
        pairs = [(p, t) for p in paths for t in dict.fromkeys(tags)]
        with self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO tags(path, tag) SELECT path, ? FROM files WHERE path = ?",
                ((t, p) for p, t in pairs),
            )

    @_reported
    def paths_under(self, path: str) -> list[str]:
        """Return the stored files that are PATH or inside the folder PATH, sorted."""
        prefix = path.rstrip("/") + "/"
        rows = self._reader.execute(
            "SELECT path FROM files WHERE path = ? OR substr(path, 1, ?) = ? ORDER BY path",
            (path, len(prefix), prefix),
        )
        return [r[0] for r in rows]

    @_reported
    def paths_where(
        self,
        *,
        tags: Iterable[str] = (),
        ingested: tuple[float | None, float | None] = (None, None),
        modified: tuple[float | None, float | None] = (None, None),
    ) -> list[str]:
        """Return the paths of read files with any of TAGS (all files when none) whose ingest
        and modification times fall in the (since, until) ranges given, sorted."""
        sql, args = "SELECT path FROM files WHERE status = 'ok'", []
        wanted = list(dict.fromkeys(tags))
        if wanted:
            marks = ",".join("?" * len(wanted))
            sql += f" AND path IN (SELECT path FROM tags WHERE tag IN ({marks}))"
            args += wanted
        for column, (since, until) in (("ingested_at", ingested), ("mtime", modified)):
            if since is not None:
                sql += f" AND {column} >= ?"
                args.append(since)
            if until is not None:
                sql += f" AND {column} < ?"
                args.append(until)
        return [r[0] for r in self._reader.execute(sql + " ORDER BY path", args)]

    def _mark_for_keywords(self, path: str) -> None:
        self._db.execute("INSERT OR IGNORE INTO keyword_pending(path) VALUES (?)", (path,))

    @_reported
    def keyword_pending(self) -> list[str]:
        """Return the files whose chunks the keyword index has yet to take in."""
        return [r[0] for r in self._reader.execute("SELECT path FROM keyword_pending")]

    @_reported
    def clear_keyword_pending(self, paths: Iterable[str]) -> None:
        """Record that the keyword index committed PATHS' current chunks."""
        with self._db:
            self._db.executemany(
                "DELETE FROM keyword_pending WHERE path = ?", ((p,) for p in paths)
            )

    # -- chunks -----------------------------------------------------------------------
    @_reported
    def chunk_count(self) -> int:
        """Return the number of stored chunks."""
        return int(self._reader.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    @_reported
    def chunk_ids(self, path: str | None = None) -> list[str]:
        """Return chunk ids, of one file or of all, in a stable order."""
        if path is None:
            rows = self._reader.execute("SELECT chunk_id FROM chunks ORDER BY path, idx")
        else:
            rows = self._reader.execute(
                "SELECT chunk_id FROM chunks WHERE path = ? ORDER BY idx", (path,)
            )
        return [r[0] for r in rows]

    def iter_chunks(self) -> Iterator[ChunkRecord]:
        """Yield every chunk in a stable order."""
        rows = self._reader.execute(f"SELECT {_CHUNK_COLUMNS} FROM chunks ORDER BY path, idx")
        for row in rows:
            yield ChunkRecord.from_row(row)

    @_reported
    def sample_texts(self, limit: int) -> list[str]:
        """Return up to LIMIT chunk texts, spread over the corpus (ids are hashes), stable."""
        rows = self._reader.execute("SELECT text FROM chunks ORDER BY chunk_id LIMIT ?", (limit,))
        return [r[0] for r in rows]

    @_reported
    def chunks_by_id(self, ids: Iterable[str]) -> dict[str, ChunkRecord]:
        """Return the chunks with the given ids."""
        wanted = list(ids)
        out: dict[str, ChunkRecord] = {}
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            marks = ",".join("?" * len(part))
            rows = self._reader.execute(
                f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE chunk_id IN ({marks})", part
            )
            for row in rows:
                out[row[0]] = ChunkRecord.from_row(row)
        return out


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """Give a catalog written by an earlier version the columns added since."""
    for table, column, declaration in _ADDED_COLUMNS:
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            with db:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")


def kb_dir(home: Path, kb: str) -> Path:
    """Return the folder of knowledge base KB under the data home."""
    return home / "kbs" / kb


def has_catalog(directory: Path) -> bool:
    """Return whether DIRECTORY holds a knowledge base (anything was ever ingested into it)."""
    return (directory / CATALOG_FILE).is_file()


def list_kb_names(home: Path) -> list[str]:
    """Return the names of the knowledge bases under HOME."""
    root = home / "kbs"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if has_catalog(p))
