"""The catalog: SQLite record of files and chunks, created lazily, written atomically."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ragkb.errors import StorageError
from ragkb.index.catalog import (
    CATALOG_FILE,
    Catalog,
    ChunkRecord,
    FileRecord,
    has_catalog,
    kb_dir,
    list_kb_names,
)

if TYPE_CHECKING:
    from pathlib import Path


def file_record(path: str, chunks: int, *, status: str = "ok", reason: str | None = None):
    return FileRecord(
        path=path,
        file_hash=f"hash-{path}",
        size=100,
        chunks=chunks,
        pages=None,
        ingested_at=1_700_000_000.0,
        status=status,
        reason=reason,
    )


def chunk(path: str, index: int, text: str | None = None, *, cid: str | None = None):
    return ChunkRecord(
        chunk_id=cid or f"{path}#{index}",
        path=path,
        index=index,
        page=index + 1,
        heading=None,
        text=text or f"text {index} of {path}",
        keywords=f"text {index}",
    )


def record(catalog: Catalog, path: str, n: int) -> None:
    catalog.record_file(file_record(path, n), [chunk(path, i) for i in range(n)])


@pytest.fixture
def kb_folder(tmp_path: Path) -> Path:
    return tmp_path / "kbs" / "notes"


def test_reads_on_a_missing_catalog_are_empty_and_create_nothing(kb_folder: Path) -> None:
    catalog = Catalog(kb_folder)

    assert catalog.files() == []
    assert catalog.file("/a.txt") is None
    assert catalog.file_counts() == (0, 0)
    assert catalog.chunk_count() == 0
    assert catalog.chunk_ids() == []
    assert list(catalog.iter_chunks()) == []
    assert catalog.sample_texts(5) == []
    assert catalog.chunks_by_id(["x", "y"]) == {}
    assert catalog.get_meta("fingerprint") is None
    assert catalog.keyword_pending() == []
    assert not catalog.exists()
    assert not kb_folder.exists()


def test_first_write_creates_the_file(kb_folder: Path) -> None:
    catalog = Catalog(kb_folder)
    catalog.set_meta("fingerprint", {"metric": "cosine"})

    assert (kb_folder / CATALOG_FILE).is_file()
    assert catalog.exists()
    assert Catalog(kb_folder).get_meta("fingerprint") == {"metric": "cosine"}


def test_record_file_replaces_the_files_chunks(kb_folder: Path) -> None:
    catalog = Catalog(kb_folder)
    record(catalog, "/a.txt", 3)
    record(catalog, "/b.txt", 2)

    catalog.record_file(file_record("/a.txt", 1), [chunk("/a.txt", 0, "new text")])

    assert catalog.chunk_ids("/a.txt") == ["/a.txt#0"]
    assert [c.text for c in catalog.iter_chunks() if c.path == "/a.txt"] == ["new text"]
    assert catalog.chunk_ids("/b.txt") == ["/b.txt#0", "/b.txt#1"]
    assert catalog.chunk_count() == 3
    got = catalog.file("/a.txt")
    assert got is not None
    assert got.chunks == 1


def test_record_file_is_atomic(kb_folder: Path) -> None:
    catalog = Catalog(kb_folder)
    record(catalog, "/a.txt", 2)
    # The same chunk id twice breaks the primary key half-way through the insert.
    duplicate = [chunk("/a.txt", 0, cid="dup"), chunk("/a.txt", 1, cid="dup")]

    with pytest.raises(StorageError, match="UNIQUE constraint"):  # named, with its file
        catalog.record_file(file_record("/a.txt", 2, status="changed"), duplicate)

    assert catalog.chunk_ids("/a.txt") == ["/a.txt#0", "/a.txt#1"]
    got = catalog.file("/a.txt")
    assert got is not None
    assert got.status == "ok"


def test_forget_file_returns_its_chunk_count(kb_folder: Path) -> None:
    catalog = Catalog(kb_folder)
    record(catalog, "/a.txt", 3)
    record(catalog, "/b.txt", 1)

    assert catalog.forget_file("/a.txt") == 3
    assert catalog.file("/a.txt") is None
    assert catalog.chunk_ids() == ["/b.txt#0"]
    assert catalog.forget_file("/never.txt") == 0


def test_every_chunk_write_is_journaled_for_the_keyword_index(kb_folder: Path) -> None:
    catalog = Catalog(kb_folder)
    record(catalog, "/a.txt", 1)
    record(catalog, "/b.txt", 2)
    assert sorted(catalog.keyword_pending()) == ["/a.txt", "/b.txt"]
    catalog.clear_keyword_pending(["/a.txt", "/b.txt"])
    catalog.forget_file("/a.txt")
    record(catalog, "/b.txt", 3)
    assert sorted(catalog.keyword_pending()) == ["/a.txt", "/b.txt"]
    catalog.set_reader("/b.txt", 2)  # a re-read with the same chunks changes no postings
    catalog.clear_keyword_pending(["/a.txt", "/b.txt"])
    catalog.set_reader("/b.txt", 3)
    assert catalog.keyword_pending() == []


def test_chunks_by_id_with_more_than_500_ids(kb_folder: Path) -> None:
    catalog = Catalog(kb_folder)
    record(catalog, "/big.txt", 1203)
    wanted = [f"/big.txt#{i}" for i in range(1203)] + ["missing-1", "missing-2"]

    got = catalog.chunks_by_id(wanted)

    assert len(got) == 1203
    assert got["/big.txt#1202"].index == 1202
    assert got["/big.txt#0"].page == 1
    assert "missing-1" not in got


def test_sample_texts_is_stable_and_limited(kb_folder: Path) -> None:
    catalog = Catalog(kb_folder)
    record(catalog, "/a.txt", 10)
    record(catalog, "/b.txt", 10)

    first = catalog.sample_texts(7)

    assert len(first) == 7
    assert len(set(first)) == 7
    assert Catalog(kb_folder).sample_texts(7) == first
    assert len(catalog.sample_texts(100)) == 20


def test_close_then_reuse_reopens(kb_folder: Path) -> None:
    catalog = Catalog(kb_folder)
    record(catalog, "/a.txt", 2)
    catalog.close()
    catalog.close()  # closing twice is harmless

    assert catalog.chunk_count() == 2
    record(catalog, "/b.txt", 1)
    assert catalog.chunk_count() == 3


def test_kb_dir_has_catalog_and_list_kb_names(tmp_path: Path) -> None:
    home = tmp_path / "data"
    assert list_kb_names(home) == []

    for name in ("zeta", "alpha"):
        Catalog(kb_dir(home, name)).set_meta("k", 1)
    (home / "kbs" / "empty").mkdir()  # a folder with no catalog is no knowledge base

    assert kb_dir(home, "alpha") == home / "kbs" / "alpha"
    assert has_catalog(kb_dir(home, "alpha"))
    assert not has_catalog(home / "kbs" / "empty")
    assert list_kb_names(home) == ["alpha", "zeta"]


def test_a_catalog_written_before_ocr_and_readers_gains_their_columns(kb_folder: Path) -> None:
    import sqlite3

    kb_folder.mkdir(parents=True, exist_ok=True)
    old = sqlite3.connect(kb_folder / "catalog.sqlite")
    old.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE files (path TEXT PRIMARY KEY, file_hash TEXT NOT NULL, size INTEGER NOT
            NULL, chunks INTEGER NOT NULL, pages INTEGER, ingested_at REAL NOT NULL, status
            TEXT NOT NULL, reason TEXT);
        CREATE TABLE chunks (chunk_id TEXT PRIMARY KEY, path TEXT NOT NULL, idx INTEGER NOT
            NULL, page INTEGER, heading TEXT, text TEXT NOT NULL, keywords TEXT NOT NULL);
        INSERT INTO files VALUES ('/d/a.pdf', 'h', 10, 1, 2, 1.0, 'ok', NULL);
        INSERT INTO chunks VALUES ('c1', '/d/a.pdf', 0, 1, NULL, 'Old text.', 'old text');
        """
    )
    old.commit()
    old.close()

    catalog = Catalog(kb_folder)
    (record,) = catalog.files()
    (chunk,) = catalog.file_chunks("/d/a.pdf")

    assert (record.ocr_pages, record.warnings, record.reader) == (0, (), 1)
    assert (chunk.text, chunk.ocr) == ("Old text.", False)
    catalog.set_reader("/d/a.pdf", 2)
    assert catalog.file("/d/a.pdf").reader == 2  # type: ignore[union-attr]
