"""The keyword index: writers update it file by file from the catalog's journal; readers
search the last commit, or nothing when it is missing, and never write."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest

from ragkb.index.catalog import Catalog, ChunkRecord, FileRecord
from ragkb.index.keywords import INDEX_DIR, KeywordIndex
from ragkb.language import keyword_tokens

if TYPE_CHECKING:
    from pathlib import Path


def _add(catalog: Catalog, path: str, texts: list[str]) -> None:
    chunks = [
        ChunkRecord(f"{path}-{i}", path, i, None, None, t, " ".join(keyword_tokens(t)))
        for i, t in enumerate(texts)
    ]
    catalog.record_file(FileRecord(path, "h", 1, len(chunks), None, 0.0, "ok"), chunks)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _ids(found: list[tuple[str, float]]) -> list[str]:
    return [cid for cid, _ in found]


@pytest.fixture
def built(tmp_path: Path) -> tuple[Catalog, Path]:
    catalog = Catalog(tmp_path / "kb")
    _add(catalog, "/a.txt", ["alpha particles are helium nuclei", "beta decay emits electrons"])
    KeywordIndex(tmp_path / "kb").catch_up(catalog)  # the writer
    return catalog, tmp_path / "kb" / INDEX_DIR


def test_catch_up_takes_in_only_the_files_that_changed(built) -> None:
    catalog, folder = built
    segments = {p.name for p in folder.glob("*.term")}
    assert catalog.keyword_pending() == []
    _add(catalog, "/b.txt", ["gamma rays are photons"])
    assert catalog.keyword_pending() == ["/b.txt"]  # marked in the catalog's own transaction
    writer = KeywordIndex(catalog.directory)
    assert not writer.is_current(catalog)
    assert writer.catch_up(catalog) == 1
    assert catalog.keyword_pending() == [] and writer.is_current(catalog)
    assert segments <= {p.name for p in folder.glob("*.term")}  # /a.txt was not re-indexed
    assert _ids(writer.search(catalog, "gamma photons", 5)) == ["/b.txt-0"]
    assert _ids(writer.search(catalog, "alpha helium", 5)) == ["/a.txt-0"]


def test_a_writer_tantivy_refuses_gives_way_to_a_rebuild(
    built, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CI, twenty random SIGKILLs of an ingest: the next run's update failed with
    # 'Failed to open file for write: FileAlreadyExists("….del")', left by the killed writer.
    catalog, _ = built
    _add(catalog, "/b.txt", ["gamma rays are photons"])
    writer = KeywordIndex(catalog.directory)
    real = KeywordIndex._update

    def left_behind(self: KeywordIndex, catalog: Catalog, pending: list[str]) -> None:
        monkeypatch.setattr(KeywordIndex, "_update", real)  # only the first writer fails
        raise ValueError("Failed to open file for write: 'FileAlreadyExists(\"x.188.del\")'")

    monkeypatch.setattr(KeywordIndex, "_update", left_behind)
    assert writer.catch_up(catalog) == 1
    assert catalog.keyword_pending() == [] and writer.is_current(catalog)
    assert _ids(writer.search(catalog, "gamma photons", 5)) == ["/b.txt-0"]
    assert _ids(writer.search(catalog, "alpha helium", 5)) == ["/a.txt-0"]


def test_a_changed_file_replaces_its_postings_and_a_forgotten_one_leaves_none(built) -> None:
    catalog, _ = built
    writer = KeywordIndex(catalog.directory)
    _add(catalog, "/a.txt", ["omega is the last letter"])  # /a.txt edited: one chunk now
    writer.catch_up(catalog)
    assert writer.search(catalog, "alpha helium", 5) == []
    assert _ids(writer.search(catalog, "omega", 5)) == ["/a.txt-0"]
    catalog.forget_file("/a.txt")
    writer.catch_up(catalog)
    assert writer.search(catalog, "omega", 5) == []
    assert writer.is_current(catalog)


def test_a_crash_before_the_index_commits_is_caught_up_by_the_next_writer(built) -> None:
    catalog, _ = built
    _add(catalog, "/b.txt", ["gamma rays are photons"])  # the writer dies here
    catalog.close()
    reopened = Catalog(catalog.directory)
    assert reopened.keyword_pending() == ["/b.txt"]
    KeywordIndex(reopened.directory).catch_up(reopened)
    assert _ids(KeywordIndex(reopened.directory).search(reopened, "gamma", 5)) == ["/b.txt-0"]


def test_a_reader_searches_the_last_commit_and_never_writes(built) -> None:
    catalog, folder = built
    before = _snapshot(folder)
    _add(catalog, "/b.txt", ["gamma rays are photons"])  # an ingest is under way
    reader = KeywordIndex(catalog.directory)
    assert _ids(reader.search(catalog, "alpha helium", 5)) == ["/a.txt-0"]
    assert reader.search(catalog, "gamma", 5) == []  # not committed yet
    assert _snapshot(folder) == before
    KeywordIndex(catalog.directory).catch_up(catalog)  # the writer commits
    assert _ids(reader.search(catalog, "gamma", 5)) == ["/b.txt-0"]  # the same reader sees it


def test_a_truncated_index_is_searched_around_and_rebuilt_by_the_writer(built, caplog) -> None:
    catalog, folder = built
    for path in folder.glob("*.term"):
        path.write_bytes(path.read_bytes()[:10])
    reader = KeywordIndex(catalog.directory)
    with caplog.at_level(logging.WARNING, logger="ragkb"):
        assert reader.search(catalog, "alpha", 5) == []
        assert reader.vocabulary(catalog) is None
    assert "unreadable" in caplog.text
    assert not reader.is_current(catalog)
    KeywordIndex(catalog.directory).catch_up(catalog)
    fresh = KeywordIndex(catalog.directory)
    assert fresh.is_current(catalog)
    assert fresh.search(catalog, "alpha", 5)[0][0] == "/a.txt-0"


def test_an_index_that_lost_a_file_without_a_journal_entry_is_rebuilt(built) -> None:
    """The index holds fewer documents than the catalog has chunks and nothing is marked
    (a catalog copied over, an index restored from an old backup): counted, then rebuilt."""
    catalog, _ = built
    with catalog._db:  # a write that bypassed the journal
        catalog._db.execute(
            "INSERT INTO chunks VALUES ('/c.txt-0', '/c.txt', 0, NULL, NULL, 'x', 'zeta', 0)"
        )
    writer = KeywordIndex(catalog.directory)
    assert not writer.is_current(catalog)
    writer.catch_up(catalog)
    assert writer.is_current(catalog)
    assert _ids(writer.search(catalog, "zeta", 5)) == ["/c.txt-0"]


def test_a_knowledge_base_from_before_this_index_gets_it_on_the_next_write(tmp_path) -> None:
    catalog = Catalog(tmp_path / "kb")
    _add(catalog, "/a.txt", ["alpha particles"])
    catalog.clear_keyword_pending(["/a.txt"])  # as an older version left it, with bm25/
    legacy = tmp_path / "kb" / "bm25"
    legacy.mkdir()
    (legacy / "ragkb.json").write_text("{}", encoding="utf-8")
    KeywordIndex(tmp_path / "kb").catch_up(catalog)
    assert not legacy.exists()
    assert _ids(KeywordIndex(tmp_path / "kb").search(catalog, "alpha", 3)) == ["/a.txt-0"]


def test_without_an_index_there_is_no_vocabulary_to_call_a_term_unknown(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "kb")
    _add(catalog, "/a.txt", ["alpha"])
    reader = KeywordIndex(tmp_path / "kb")
    assert reader.vocabulary(catalog) is None  # the unknown-terms check is skipped, not fired
    assert reader.search(catalog, "alpha", 3) == []
    assert not (tmp_path / "kb" / INDEX_DIR).exists()


def test_idf_and_vocabulary_are_looked_up_in_the_index(built) -> None:
    catalog, _ = built
    _add(catalog, "/b.txt", ["alpha beta gamma"])
    KeywordIndex(catalog.directory).catch_up(catalog)
    reader = KeywordIndex(catalog.directory)
    vocabulary = reader.vocabulary(catalog)
    assert vocabulary is not None and "helium" in vocabulary and "delta" not in vocabulary
    assert vocabulary.has_prefix("heli") and not vocabulary.has_prefix("heliu" + "x")
    idf = reader.idf(catalog)
    assert idf("delta") > idf("helium") > idf("alpha")  # absent counts most, common least


def test_chinese_words_are_searched_as_jieba_cut_them(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "kb")
    _add(catalog, "/zh.txt", ["向量检索把文本变成向量", "余弦相似度衡量两个向量的夹角"])
    KeywordIndex(tmp_path / "kb").catch_up(catalog)
    found = KeywordIndex(tmp_path / "kb").search(catalog, "什么是余弦相似度？", 5)
    assert _ids(found)[0] == "/zh.txt-1"


@pytest.mark.slow
def test_search_survives_a_broken_index_and_the_next_ingest_repairs_it(make_text_file) -> None:
    from ragkb.config import load_settings
    from ragkb.kb import KnowledgeBase

    path = make_text_file("notes.md", "# Notes\n\nThe retention period for traces is 14 days.\n")
    kb = KnowledgeBase(load_settings({}))
    kb.ingest([str(path)])
    for term in (kb.directory / INDEX_DIR).glob("*.term"):
        term.write_bytes(b"broken")
    reader = KnowledgeBase(load_settings({}))
    assert reader.search("retention period for traces")[0].source == str(path)  # vectors
    assert reader.search("retention", mode="keyword") == []
    KnowledgeBase(load_settings({})).ingest([str(path)])  # nothing changed, but it repairs
    after = KnowledgeBase(load_settings({}))
    assert after.search("retention", mode="keyword")[0].source == str(path)
