"""The vector store: the real embedded Chroma collection, and the one score scale."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pytest

from ragkb.errors import EXIT_MISMATCH, ConfigError, StoreMismatchError
from ragkb.index.vectors import (
    EF_SEARCH,
    STORE_LOCK_FILE,
    ChromaStore,
    collection_name,
    distance_to_score,
    score_to_distance,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def unit(*values: float) -> list[float]:
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values]


# Three normalised vectors in 3-D: a and b are close, c points the other way.
VECTORS = {
    "a": unit(1.0, 0.1, 0.0),
    "b": unit(1.0, 0.3, 0.0),
    "c": unit(-1.0, 0.0, 0.2),
}
SOURCES = {"a": "/docs/one.txt", "b": "/docs/one.txt", "c": "/docs/two.txt"}


def fill(store: ChromaStore) -> None:
    ids = list(VECTORS)
    store.upsert(
        ids,
        [VECTORS[i] for i in ids],
        [{"source": SOURCES[i]} for i in ids],
        [f"text of {i}" for i in ids],
    )


def cosine(u: list[float], v: list[float]) -> float:
    return sum(x * y for x, y in zip(u, v, strict=True))


# -- the score scale: fast, no chromadb ---------------------------------------------------------


@pytest.mark.parametrize("metric", ["cosine", "l2"])
@pytest.mark.parametrize("score", [0.0, 0.25, 0.62, 1.0])
def test_score_and_distance_are_inverses(metric: str, score: float) -> None:
    distance = score_to_distance(score, metric)

    assert distance_to_score(distance, metric) == pytest.approx(score)
    assert score_to_distance(distance_to_score(distance, metric), metric) == pytest.approx(distance)


def test_both_metrics_give_the_cosine_similarity() -> None:
    u, v = VECTORS["a"], VECTORS["b"]
    cos = cosine(u, v)
    squared_l2 = sum((x - y) ** 2 for x, y in zip(u, v, strict=True))

    assert distance_to_score(1.0 - cos, "cosine") == pytest.approx(cos)
    assert distance_to_score(squared_l2, "l2") == pytest.approx(cos)


def test_unknown_metric_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="dot"):
        distance_to_score(0.1, "dot")
    with pytest.raises(ConfigError, match="dot"):
        score_to_distance(0.1, "dot")


def test_invalid_metric_is_refused_at_construction(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ip"):
        ChromaStore(kb="notes", metric="ip", path=tmp_path / "chroma")


# -- the real embedded Chroma ------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_round_trip(tmp_path: Path, metric: str) -> None:
    store = ChromaStore(kb="notes", metric=metric, path=tmp_path / "chroma")
    assert store.count() == 0
    assert store.query(VECTORS["a"], 3) == []

    fill(store)

    assert store.count() == 3
    assert sorted(store.all_ids()) == ["a", "b", "c"]
    matches = store.query(VECTORS["a"], 10)  # more than stored: capped, not an error
    assert [m.chunk_id for m in matches] == ["a", "b", "c"]
    for m in matches:
        expected = cosine(VECTORS["a"], VECTORS[m.chunk_id])
        assert distance_to_score(m.distance, metric) == pytest.approx(expected, abs=1e-4)
    stored = store.embeddings(["b", "c"])
    assert set(stored) == {"b", "c"}
    assert stored["b"] == pytest.approx(VECTORS["b"], abs=1e-6)
    assert store.embeddings([]) == {}


@pytest.mark.slow
def test_upsert_replaces_and_delete_source_removes(tmp_path: Path) -> None:
    store = ChromaStore(kb="notes", metric="cosine", path=tmp_path / "chroma")
    fill(store)

    store.upsert(["c"], [VECTORS["a"]], [{"source": SOURCES["c"]}], ["moved"])
    assert store.count() == 3
    assert store.embeddings(["c"])["c"] == pytest.approx(VECTORS["a"], abs=1e-6)

    store.delete_source("/docs/one.txt")
    assert store.all_ids() == ["c"]
    assert [m.chunk_id for m in store.query(VECTORS["b"], 5)] == ["c"]


@pytest.mark.slow
def test_reopening_keeps_the_vectors(tmp_path: Path) -> None:
    fill(ChromaStore(kb="notes", metric="l2", path=tmp_path / "chroma"))

    again = ChromaStore(kb="notes", metric="l2", path=tmp_path / "chroma")

    assert again.count() == 3
    assert collection_name("notes") == "ragkb_notes"


@pytest.mark.slow
def test_a_collection_belongs_to_the_catalog_that_first_wrote_it(tmp_path: Path) -> None:
    names: dict[str, str] = {}

    def identity(who: str) -> Callable[[bool], str | None]:
        def named(create: bool) -> str | None:
            if create:
                names.setdefault(who, who + "-id")
            return names.get(who)

        return named

    fill(ChromaStore(kb="notes", metric="cosine", path=tmp_path / "chroma", identity=identity("a")))
    assert names == {"a": "a-id"}  # claimed on the first write
    other = ChromaStore(
        kb="notes", metric="cosine", path=tmp_path / "chroma", identity=identity("b")
    )
    with pytest.raises(StoreMismatchError, match="belongs to another knowledge base"):
        other.delete_source("a.txt")  # a new catalog gets its identity, then is refused
    with pytest.raises(StoreMismatchError):
        other.drop()
    owner = ChromaStore(
        kb="notes", metric="cosine", path=tmp_path / "chroma", identity=identity("a")
    )
    assert owner.count() == 3


@pytest.mark.slow
def test_other_metric_on_existing_collection_is_a_mismatch(tmp_path: Path) -> None:
    fill(ChromaStore(kb="notes", metric="cosine", path=tmp_path / "chroma"))

    other = ChromaStore(kb="notes", metric="l2", path=tmp_path / "chroma")
    with pytest.raises(StoreMismatchError, match="cosine") as caught:
        other.count()

    assert caught.value.exit_code == EXIT_MISMATCH == 7


def test_a_read_that_fails_mid_write_is_retried(monkeypatch) -> None:
    """A search landing in another process's write can fail once ("Error finding id")."""
    import ragkb.index.vectors as vectors

    class FlakyCollection:
        calls = 0

        def count(self) -> int:
            return 2

        def query(self, **_: object) -> dict[str, list[list[object]]]:
            FlakyCollection.calls += 1
            if FlakyCollection.calls == 1:
                raise RuntimeError("Error executing plan: Internal error: Error finding id")
            return {"ids": [["a"]], "distances": [[0.25]]}

    opened: list[FlakyCollection] = []

    def open_collection() -> FlakyCollection:
        if store._collection is None:  # closed: open it anew, as after a failed read
            store._collection = FlakyCollection()  # type: ignore[assignment]
            opened.append(store._collection)  # type: ignore[arg-type]
        return store._collection  # type: ignore[return-value]

    monkeypatch.setattr(vectors, "READ_RETRY_DELAYS_S", (0.0,))
    store = ChromaStore(kb="flaky", metric="cosine", path=None, url="http://127.0.0.1:9")
    monkeypatch.setattr(store, "_coll", open_collection)
    assert [(m.chunk_id, m.distance) for m in store.query([1.0], 3)] == [("a", 0.25)]
    assert FlakyCollection.calls == 2
    assert len(opened) == 2  # the retry read through a freshly opened store


@pytest.mark.slow
def test_every_call_into_an_embedded_store_waits_for_another_process_using_it(
    tmp_path: Path,
) -> None:
    """chromadb's embedded store is not safe across processes (a search reading the index
    while an ingest writes it can crash): a call holds the store lock, and waits for it."""
    import subprocess
    import sys
    import time

    fill(ChromaStore(kb="notes", metric="cosine", path=tmp_path / "chroma"))
    lock = tmp_path / STORE_LOCK_FILE
    holder = subprocess.Popen(
        [sys.executable, "-c", "import filelock, sys, time\n"
         f"with filelock.FileLock({str(lock)!r}):\n"
         "    print('held', flush=True); time.sleep(1.5)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    started = time.monotonic()
    found = ChromaStore(kb="notes", metric="cosine", path=tmp_path / "chroma").query(
        unit(1, 0, 0), 1
    )
    assert time.monotonic() - started >= 1.0  # it waited for the other process
    assert len(found) == 1
    holder.wait(timeout=10)


def test_search_keeps_ef_search_candidates_and_an_older_store_is_widened_by_its_next_write(
    tmp_path: Path,
) -> None:
    import chromadb

    def ef_search(path: Path) -> int:
        client = chromadb.PersistentClient(path=str(path))
        collection = client.get_collection(collection_name("old"))
        return int(collection.configuration["hnsw"]["ef_search"])

    new = ChromaStore(kb="new", metric="cosine", path=tmp_path / "new")
    fill(new)
    new.close()
    client = chromadb.PersistentClient(path=str(tmp_path / "new"))
    assert (
        client.get_collection(collection_name("new")).configuration["hnsw"]["ef_search"]
        == EF_SEARCH
    )
    # A store made with Chroma's default (100), as ragkb made them before.
    old_path = tmp_path / "old"
    chromadb.PersistentClient(path=str(old_path)).create_collection(
        collection_name("old"), configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
    )
    assert ef_search(old_path) == 100
    reader = ChromaStore(kb="old", metric="cosine", path=old_path)
    assert reader.query(VECTORS["a"], 2) == []
    reader.close()
    assert ef_search(old_path) == 100  # a reader never writes
    writer = ChromaStore(kb="old", metric="cosine", path=old_path)
    fill(writer)
    assert [m.chunk_id for m in writer.query(VECTORS["a"], 2)] == ["a", "b"]
    writer.close()
    assert ef_search(old_path) == EF_SEARCH
