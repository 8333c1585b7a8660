"""The inventory: what each knowledge base holds, read from its catalog alone."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ragkb.config import load_settings
from ragkb.errors import EXIT_NOT_FOUND, KnowledgeBaseNotFoundError
from ragkb.index.catalog import Catalog, ChunkRecord, FileRecord, kb_dir
from ragkb.index.inventory import (
    describe,
    kb_files,
    kb_info,
    list_knowledge_bases,
    require_kb,
)

if TYPE_CHECKING:
    from pathlib import Path

    from ragkb.config import Settings

FINGERPRINT = {"embedder": "fake-hash-64", "metric": "l2", "chunk_tokens": 200}


@pytest.fixture
def settings() -> Settings:
    return load_settings({})


def fill(home: Path, kb: str, *, ok: dict[str, int], failed: tuple[str, ...] = ()) -> Catalog:
    """Record OK files (path -> chunk count) and FAILED files in KB's catalog."""
    catalog = Catalog(kb_dir(home, kb))
    catalog.set_meta("fingerprint", FINGERPRINT)
    for path, n in ok.items():
        chunks = [
            ChunkRecord(f"{path}#{i}", path, i, None, None, f"text {i}", "text") for i in range(n)
        ]
        catalog.record_file(FileRecord(path, "h", 10, n, None, 1.0, "ok"), chunks)
    for path in failed:
        catalog.record_file(FileRecord(path, "h", 10, 0, None, 1.0, "failed", "encrypted"), [])
    return catalog


def test_require_kb_raises_naming_the_known_ones(settings: Settings) -> None:
    fill(settings.home, "papers", ok={"/a.txt": 1})
    fill(settings.home, "notes", ok={"/b.txt": 1})

    with pytest.raises(KnowledgeBaseNotFoundError) as caught:
        require_kb(settings.home, "missing")

    message = str(caught.value)
    assert "'missing' does not exist" in message
    assert "(known: notes, papers)" in message
    assert "ragkb ingest" in message
    assert caught.value.exit_code == EXIT_NOT_FOUND


def test_require_kb_without_any_kb_gives_no_known_list(settings: Settings) -> None:
    with pytest.raises(KnowledgeBaseNotFoundError) as caught:
        require_kb(settings.home, "default")

    assert "known" not in str(caught.value)


def test_require_kb_returns_the_folder(settings: Settings) -> None:
    fill(settings.home, "notes", ok={"/a.txt": 1})

    assert require_kb(settings.home, "notes") == kb_dir(settings.home, "notes")


def test_describe_counts_ok_and_failed_files_and_chunks(settings: Settings) -> None:
    catalog = fill(
        settings.home,
        "notes",
        ok={"/a.txt": 3, "/b.txt": 2},
        failed=("/locked.pdf", "/broken.pdf"),
    )
    directory = kb_dir(settings.home, "notes")

    info = describe("notes", directory, catalog)

    assert info.name == "notes"
    assert info.files == 2
    assert info.failed_files == 2
    assert info.chunks == 5
    assert info.metric == "l2"
    assert info.embedder == "fake-hash-64"
    assert info.fingerprint == FINGERPRINT
    assert info.path == str(directory)
    assert info.size_bytes > 0


def test_kb_info_and_kb_files_read_the_configured_kb(settings: Settings) -> None:
    fill(settings.home, "notes", ok={"/a.txt": 4}, failed=("/x.pdf",))
    notes = settings.replace(kb="notes")

    info = kb_info(notes)
    records = kb_files(notes)

    assert (info.name, info.files, info.failed_files, info.chunks) == ("notes", 1, 1, 4)
    assert [(r.path, r.status, r.reason) for r in records] == [
        ("/a.txt", "ok", None),
        ("/x.pdf", "failed", "encrypted"),
    ]
    with pytest.raises(KnowledgeBaseNotFoundError):
        kb_info(settings)  # "default" was never made


def test_describe_without_a_fingerprint(settings: Settings) -> None:
    directory = kb_dir(settings.home, "bare")
    catalog = Catalog(directory)
    catalog.record_file(FileRecord("/a.txt", "h", 1, 0, None, 1.0, "ok"), [])

    info = describe("bare", directory, catalog)

    assert (info.metric, info.embedder, info.fingerprint) == (None, None, {})


def test_list_knowledge_bases_skips_folders_without_a_catalog(settings: Settings) -> None:
    fill(settings.home, "papers", ok={"/p.pdf": 2})
    fill(settings.home, "notes", ok={"/n.txt": 1})
    (settings.home / "kbs" / "half-made").mkdir()
    (settings.home / "kbs" / "stray.txt").write_text("not a knowledge base")

    infos = list_knowledge_bases(settings)

    assert [(i.name, i.chunks) for i in infos] == [("notes", 1), ("papers", 2)]


def test_list_knowledge_bases_of_an_empty_home(settings: Settings) -> None:
    assert list_knowledge_bases(settings) == []
    assert not settings.home.exists()
