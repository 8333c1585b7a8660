"""Vectors: one Chroma collection per knowledge base, embedded or on a Chroma server."""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import logging
import re
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlparse

from ragkb.errors import ConfigError, RagkbError, StorageError, StoreMismatchError
from ragkb.types import VectorMatch

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

METRICS = ("cosine", "l2")
# How many candidates the HNSW search keeps (Chroma's default is 100). At 100 Chroma missed a
# near neighbour in some processes and not in others (recall@40 0.990-0.993 on a 964-chunk
# knowledge base; 0.79 on a million synthetic vectors), which moved evaluation figures by up
# to three questions between runs; at 400, 1.000 and 0.94, for about 2 ms a query at a million
# chunks (bench/README.md, "Scale").
EF_SEARCH = 400
READ_RETRY_DELAYS_S = (0.05, 0.2, 0.5)  # then the last try raises
log = logging.getLogger(__name__)

STORE_LOCK_FILE = "store.lock"  # beside the embedded store's folder, in the kb folder
STORE_LOCK_TIMEOUT_S = 300.0
_Method = TypeVar("_Method", bound=Callable[..., Any])
_CLIENTS: dict[tuple[str | None, str], ClientAPI] = {}  # (folder, server URL) -> client


def distance_to_score(distance: float, metric: str) -> float:
    """Turn a Chroma distance into a similarity on one scale for both metrics.

    Vectors are L2-normalised, so for cosine distance d = 1 - cos and for Chroma's squared
    L2 distance d = 2 - 2 cos: both map back to the cosine similarity.
    """
    if metric == "cosine":
        return 1.0 - distance
    if metric == "l2":
        return 1.0 - distance / 2.0
    raise ConfigError(f"unknown metric {metric!r}")


def score_to_distance(score: float, metric: str) -> float:
    """Turn a similarity back into the distance the store would report (the inverse)."""
    if metric == "cosine":
        return 1.0 - score
    if metric == "l2":
        return 2.0 - 2.0 * score
    raise ConfigError(f"unknown metric {metric!r}")


# Chroma's rule for collection names (chromadb/api/segment.py check_index_name).
_CHROMA_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]{1,61}[a-zA-Z0-9]")
_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")


def collection_name(kb: str) -> str:
    """Return the Chroma collection name for knowledge base KB.

    "ragkb_<kb>" when Chroma accepts it (every name that worked before keeps its collection);
    otherwise, as for a Chinese name, "ragkb_h" and a hash of the name, which Chroma accepts.
    """
    name = f"ragkb_{kb}"
    if _CHROMA_NAME.fullmatch(name) and ".." not in name and not _IPV4.fullmatch(name):
        return name
    return "ragkb_h" + hashlib.sha256(kb.encode()).hexdigest()[:24]


def _client(path: str | None, url: str) -> ClientAPI:
    """Return the cached client of a store folder or server (opening one costs about 1 s)."""
    key = (path, url)
    if key not in _CLIENTS:
        _CLIENTS[key] = _open_client(path, url)
    return _CLIENTS[key]


def _release_client(path: str) -> None:
    """Close the embedded client of PATH, so a store deleted from disk is not written through it.

    chromadb keeps one System per folder for the whole process (SharedSystemClient); it has
    no public call to close one, so the System is stopped and dropped from its table.
    """
    if _CLIENTS.pop((path, ""), None) is None:
        return
    _forget_system(path)


def _forget_system(path: str) -> None:
    from chromadb.api.shared_system_client import SharedSystemClient

    system = SharedSystemClient._identifier_to_system.pop(path, None)
    SharedSystemClient._identifier_to_refcount.pop(path, None)
    if system is not None:
        with contextlib.suppress(Exception):  # a System that never started cannot stop
            system.stop()


def _open_client(path: str | None, url: str) -> ClientAPI:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if url:
        parsed = urlparse(url)
        if not parsed.hostname:
            raise ConfigError(f"store_url {url!r}: expected http://host:port")
        return chromadb.HttpClient(
            host=parsed.hostname,
            port=parsed.port or (443 if parsed.scheme == "https" else 8000),
            ssl=parsed.scheme == "https",
            settings=chroma_settings,
        )
    assert path is not None
    try:
        return chromadb.PersistentClient(path=path, settings=chroma_settings)
    except Exception as exc:
        # Another process was creating or migrating the folder's database at that moment.
        # chromadb keeps the half-started System for the folder; drop it, then try again.
        log.info("opening the vector store at %s failed (%s); retrying once", path, exc)
        _forget_system(path)
        time.sleep(0.5)
        return chromadb.PersistentClient(path=path, settings=chroma_settings)


def _reported(method: _Method) -> _Method:
    """Run a store call alone (see ChromaStore._alone) and turn whatever chromadb raises (its
    Rust core has many error types, a full disk among them) into one StorageError naming the
    store; ragkb's own errors pass through."""

    @functools.wraps(method)
    def wrapper(self: ChromaStore, *args: Any, **kwargs: Any) -> Any:
        try:
            with self._alone():
                return method(self, *args, **kwargs)
        except RagkbError:
            raise
        except Exception as exc:
            raise StorageError(f"vector store at {self.where}: {exc}") from exc

    return wrapper  # type: ignore[return-value]


def _read_retried(method: _Method) -> _Method:
    """Retry a read that fails while another process writes the same embedded store.

    chromadb's embedded store is written by one ingest while searches read it; a read that
    lands mid-write can fail ("Error finding id": the index this client loaded names a record
    not committed yet) and keeps failing on that client, so the retry opens the store anew.
    """

    @functools.wraps(method)
    def wrapper(self: ChromaStore, *args: Any, **kwargs: Any) -> Any:
        for delay_s in READ_RETRY_DELAYS_S:
            try:
                return method(self, *args, **kwargs)
            except StorageError as exc:
                log.info("vector store read failed (%s); reopening in %.2f s", exc, delay_s)
                self.close()
                time.sleep(delay_s)
        return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class ChromaStore:
    """The chunks' vectors, with their source metadata, in one Chroma collection."""

    def __init__(
        self,
        *,
        kb: str,
        metric: str,
        path: Path | None,
        url: str = "",
        identity: Callable[[bool], str | None] = lambda create: None,
    ) -> None:
        """IDENTITY(create) names the catalog this collection belongs to (a new name when
        CREATE and it has none yet): a collection holds the vectors of one catalog only."""
        if metric not in METRICS:
            raise ConfigError(f"metric {metric!r}: expected one of {', '.join(METRICS)}")
        self.kb = kb
        self.metric = metric
        self._path = None if url else str(path)
        self._url = url
        self._identity = identity
        self._collection: Collection | None = None
        self._claimed = False
        self._widened = False  # ef_search checked (once per writer)
        self._lock_file = None if url or path is None else path.parent / STORE_LOCK_FILE

    @contextlib.contextmanager
    def _alone(self) -> Iterator[None]:
        """Hold the embedded store's process lock for one call.

        chromadb's embedded store is safe across threads, not across processes: a search in
        one process that reads the index while an ingest in another writes it can crash in
        chromadb's Rust core (a segmentation fault, seen at 30k chunks). So every call into an
        embedded store, read or write, holds an OS file lock (released by the kernel if its
        holder dies) against other processes, shared by this process's threads; a call waits
        at most one write batch of another process. A Chroma server serialises its own
        callers, so a server store takes no lock.
        """
        if self._lock_file is None:
            yield
            return
        from filelock import FileLock, Timeout

        # One hold for all the threads of this process (chromadb is thread-safe), exclusive
        # against other processes.
        lock = FileLock(
            str(self._lock_file),
            timeout=STORE_LOCK_TIMEOUT_S,
            thread_local=False,
            is_singleton=True,
        )
        try:
            lock.acquire()
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise self._read_only() from exc
            raise StorageError(f"vector store at {self.where}: {exc}") from exc
        except Timeout:
            raise StorageError(
                f"vector store at {self.where}: another ragkb process has held it for over "
                f"{STORE_LOCK_TIMEOUT_S:.0f} s"
            ) from None
        try:
            yield
        finally:
            lock.release()

    def _read_only(self) -> StorageError:
        """The error for a store in a folder this process cannot write: even a search writes
        there (the process lock, and chromadb's own bookkeeping in its SQLite file)."""
        return StorageError(
            f"vector store at {self.where}: the folder is read-only, and the embedded store "
            "needs to write even to search; copy the data home somewhere writable, or serve "
            "the vectors from a Chroma server (README, 'Deploying beyond one machine')"
        )

    @property
    def where(self) -> str:
        """Return the folder or server URL of the store, for messages."""
        return self._url or str(self._path)

    def _coll(self) -> Collection:
        if self._collection is None:
            try:
                client = _client(self._path, self._url)
                self._collection = client.get_or_create_collection(
                    collection_name(self.kb),
                    configuration={"hnsw": {"space": self.metric, "ef_search": EF_SEARCH}},
                    metadata={"ragkb_metric": self.metric},
                    embedding_function=None,
                )
            except ConfigError:
                raise
            except Exception as exc:  # chromadb raises many unrelated types for one failure
                if "readonly database" in str(exc):
                    raise self._read_only() from exc
                raise StorageError(f"vector store at {self.where}: {exc}") from exc
            actual = _space_of(self._collection)
            if actual and actual != self.metric:
                raise StoreMismatchError(
                    f"knowledge base '{self.kb}': its vector store uses metric {actual}, "
                    f"not {self.metric}; the metric is fixed at creation"
                )
            self._check_owner(self._collection, self._identity(False))
        return self._collection

    def _check_owner(self, collection: Collection, mine: str | None) -> None:
        """Refuse a collection that another catalog writes (a second machine ingesting into
        the same server-side collection): each would take the other's vectors for orphans,
        delete the other's files of the same path, and hold chunks the other's keyword index
        and catalog know nothing of."""
        meta = collection.metadata or {}
        owner = meta.get("ragkb_owner")
        if owner and mine and owner != mine:
            host = meta.get("ragkb_owner_host") or "another machine"
            raise StoreMismatchError(
                f"knowledge base '{self.kb}': the collection {collection_name(self.kb)} at "
                f"{self.where} belongs to another knowledge base (built on {host}); two "
                "catalogs cannot share one collection. Use another --kb name here, or search "
                "it from the machine that built it"
            )
        self._claimed = bool(owner) and owner == mine

    def _writable(self) -> Collection:
        """The collection, marked as this catalog's before anything in it changes."""
        collection = self._coll()
        if not self._claimed:
            mine = self._identity(True)
            self._check_owner(collection, mine)  # a catalog made just now has an identity
            if not self._claimed:
                meta = dict(collection.metadata or {})
                meta.update(ragkb_owner=mine, ragkb_owner_host=socket.gethostname())
                collection.modify(metadata=meta)
                self._claimed = True
        if not self._widened:
            _widen_search(collection)
            self._widened = True
        return collection

    @_reported
    def count(self) -> int:
        """Return the number of stored vectors."""
        return int(self._coll().count())

    @_reported
    def upsert(
        self,
        ids: Sequence[str],
        embeddings: Sequence[Sequence[float]],
        metadatas: Sequence[dict[str, Any]],
        documents: Sequence[str],
    ) -> None:
        """Insert or replace vectors, in batches the client accepts."""
        coll = self._writable()
        step = max(1, min(5000, _max_batch(coll)))
        for start in range(0, len(ids), step):
            end = start + step
            coll.upsert(
                ids=list(ids[start:end]),
                embeddings=[list(e) for e in embeddings[start:end]],
                metadatas=[dict(m) for m in metadatas[start:end]],
                documents=list(documents[start:end]),
            )

    @_reported
    def delete_source(self, source: str) -> None:
        """Delete every vector whose chunk came from SOURCE."""
        self._writable().delete(where={"source": source})

    @_reported
    def all_ids(self) -> list[str]:
        """Return every stored id."""
        return list(self._coll().get(include=[])["ids"])

    @_reported
    def delete_ids(self, ids: Sequence[str]) -> None:
        """Delete vectors by id, in batches the client accepts."""
        coll = self._writable()
        for start in range(0, len(ids), 5000):
            coll.delete(ids=list(ids[start : start + 5000]))

    @_read_retried
    @_reported
    def query(
        self, embedding: Sequence[float], n: int, sources: Sequence[str] | None = None
    ) -> list[VectorMatch]:
        """Return the N nearest chunks, closest first; only chunks of SOURCES when given (the
        store filters inside its search, so N come back whenever N chunks match)."""
        if n <= 0 or (sources is not None and not sources):
            return []
        # No count() first: Chroma (1.x, embedded or server) returns what it holds when asked
        # for more, and an empty collection returns nothing; a count is one more round trip.
        where: dict[str, Any] | None = None
        if sources is not None:
            where = (
                {"source": sources[0]} if len(sources) == 1 else {"source": {"$in": list(sources)}}
            )
        got = self._coll().query(
            query_embeddings=[list(embedding)],
            n_results=n,
            where=where,
            include=["distances"],
        )
        ids = got["ids"][0]
        distances = (got.get("distances") or [[]])[0]
        return [VectorMatch(i, float(d)) for i, d in zip(ids, distances, strict=True)]

    @_read_retried
    @_reported
    def embeddings(self, ids: Sequence[str]) -> dict[str, list[float]]:
        """Return the stored vectors of IDS."""
        if not ids:
            return {}
        got = self._coll().get(ids=list(ids), include=["embeddings"])
        vectors = got.get("embeddings")
        if vectors is None:
            return {}
        return {i: [float(x) for x in v] for i, v in zip(got["ids"], vectors, strict=True)}

    @_reported
    def copy_to(self, folder: Path) -> None:
        """Copy the embedded store's folder to FOLDER, with no other process inside it."""
        if self._path is None:
            raise StorageError(
                f"vector store at {self.where}: an archive holds an embedded store only; back "
                "up the Chroma server's own folder instead"
            )
        import shutil

        shutil.copytree(self._path, folder)

    @staticmethod
    def rename_collection(path: Path, old_kb: str, new_kb: str) -> None:
        """Rename knowledge base OLD_KB's collection in the embedded store at PATH."""
        if collection_name(old_kb) == collection_name(new_kb):
            return
        client = _client(str(path), "")
        try:
            client.get_collection(collection_name(old_kb)).modify(name=collection_name(new_kb))
        except Exception as exc:
            raise StorageError(
                f"vector store at {path}: cannot rename its collection: {exc}"
            ) from exc
        finally:
            _release_client(str(path))

    @_reported
    def drop(self) -> None:
        """Delete the whole collection (only this catalog's: another's is refused)."""
        try:
            self._writable()  # another catalog's collection is refused here
        except StoreMismatchError:
            raise
        except RagkbError:
            pass  # a store that cannot be reached is reported by the delete below
        client = _client(self._path, self._url)
        try:
            client.delete_collection(collection_name(self.kb))
        except Exception as exc:  # NotFoundError's type differs between chromadb versions
            if "does not exist" not in str(exc).lower() and "not found" not in str(exc).lower():
                raise RagkbError(f"vector store: cannot delete '{self.kb}': {exc}") from exc
        self._collection = None

    def close(self) -> None:
        """Let go of the collection and, for an embedded store, of its client."""
        self._collection = None
        if self._path is not None:
            _release_client(self._path)


def _widen_search(collection: Collection) -> None:
    """Raise a collection's ef_search to EF_SEARCH (one made before it was set): the first
    write of a newer ragkb does it, so readers never write."""
    hnsw = _hnsw_config(collection)
    if hnsw and int(hnsw.get("ef_search") or 0) < EF_SEARCH:
        collection.modify(configuration={"hnsw": {"ef_search": EF_SEARCH}})


def _hnsw_config(collection: Collection) -> dict[str, Any]:
    """Return the collection's HNSW settings ({} when its client reports none)."""
    config = getattr(collection, "configuration", None) or {}
    hnsw = config.get("hnsw") if isinstance(config, dict) else None
    return hnsw if isinstance(hnsw, dict) else {}


def _space_of(collection: Collection) -> str | None:
    space = _hnsw_config(collection).get("space")
    if space:
        return str(space)
    meta = collection.metadata or {}
    return meta.get("ragkb_metric") or meta.get("hnsw:space")


def _max_batch(collection: Collection) -> int:
    try:
        return int(collection._client.get_max_batch_size())
    except Exception:  # older clients lack it; Chroma's documented floor is 5461
        return 5000
