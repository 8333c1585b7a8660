"""The keyword index: only writers build it; readers use the last complete one or none."""

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
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def built(tmp_path: Path) -> tuple[Catalog, Path]:
    catalog = Catalog(tmp_path / "kb")
    _add(catalog, "/a.txt", ["alpha particles are helium nuclei", "beta decay emits electrons"])
    KeywordIndex(tmp_path / "kb").rebuild(catalog)  # the writer
    return catalog, tmp_path / "kb" / INDEX_DIR


def test_a_reader_never_writes_the_index_even_when_it_lags(built, caplog) -> None:
    catalog, folder = built
    before = _snapshot(folder)
    _add(catalog, "/b.txt", ["gamma rays are photons"])  # an ingest is under way
    reader = KeywordIndex(catalog.directory)
    with caplog.at_level(logging.INFO, logger="ragkb"):
        found = reader.search(catalog, "alpha helium", 5)
        assert [cid for cid, _ in found] == ["/a.txt-0"]  # the last complete index answers
        assert reader.search(catalog, "gamma", 5) == []  # not in it yet
    assert "lags" in caplog.text
    assert not reader.is_current(catalog)
    assert _snapshot(folder) == before
    assert not folder.with_name(INDEX_DIR + ".tmp").exists()


def test_a_truncated_index_is_searched_around_and_rebuilt_by_the_writer(built, caplog) -> None:
    catalog, folder = built
    for path in folder.glob("*.npy"):
        path.write_bytes(path.read_bytes()[:10])
    reader = KeywordIndex(catalog.directory)
    with caplog.at_level(logging.WARNING, logger="ragkb"):
        assert reader.search(catalog, "alpha", 5) == []
    assert "unreadable" in caplog.text
    assert not reader.is_current(catalog)
    KeywordIndex(catalog.directory).rebuild(catalog)
    fresh = KeywordIndex(catalog.directory)
    assert fresh.is_current(catalog)
    assert fresh.search(catalog, "alpha", 5)[0][0] == "/a.txt-0"


def test_without_an_index_there_is_no_vocabulary_to_call_a_term_unknown(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "kb")
    _add(catalog, "/a.txt", ["alpha"])
    reader = KeywordIndex(tmp_path / "kb")
    assert reader.vocabulary(catalog) is None  # the unknown-terms check is skipped, not fired
    assert reader.search(catalog, "alpha", 3) == []
    assert not (tmp_path / "kb" / INDEX_DIR).exists()


def test_idf_and_vocabulary_come_from_the_stamp(built) -> None:
    catalog, _ = built
    reader = KeywordIndex(catalog.directory)
    vocabulary = reader.vocabulary(catalog)
    assert vocabulary is not None and "helium" in vocabulary and "gamma" not in vocabulary
    idf = reader.idf(catalog)
    assert idf("gamma") > idf("alpha")  # absent counts most


@pytest.mark.slow
def test_search_survives_a_broken_index_and_the_next_ingest_repairs_it(make_text_file) -> None:
    from ragkb.config import load_settings
    from ragkb.kb import KnowledgeBase

    path = make_text_file("notes.md", "# Notes\n\nThe retention period for traces is 14 days.\n")
    kb = KnowledgeBase(load_settings({}))
    kb.ingest([str(path)])
    for npy in (kb.directory / INDEX_DIR).glob("*.npy"):
        npy.write_bytes(b"\x93NUMPY broken")
    reader = KnowledgeBase(load_settings({}))
    assert reader.search("retention period for traces")[0].source == str(path)  # vectors
    assert reader.search("retention", mode="keyword") == []
    KnowledgeBase(load_settings({})).ingest([str(path)])  # nothing changed, but it repairs
    after = KnowledgeBase(load_settings({}))
    assert after.search("retention", mode="keyword")[0].source == str(path)


def test_an_index_swapped_between_stamp_and_model_is_read_consistently(built) -> None:
    """A reader read the stamp, then a writer replaced the index before the model loaded."""
    catalog, _ = built
    _add(catalog, "/b.txt", ["gamma rays are photons", "delta wings fly", "epsilon is small"])
    reader = KeywordIndex(catalog.directory)
    assert reader.vocabulary(catalog) is not None  # the old stamp is read; the model is not yet
    KeywordIndex(catalog.directory).rebuild(catalog)  # the writer swaps in a bigger index
    found = reader.search(catalog, "gamma photons", 5)  # was an IndexError
    assert [cid for cid, _ in found] == ["/b.txt-0"]
