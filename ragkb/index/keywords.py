"""Keyword index: BM25 (bm25s) over words, with Chinese segmented by jieba.

The index is a cache of the catalog's chunk keywords, stamped with the catalog generation
it was built at; writers rebuild it after they change chunks.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from collections import Counter
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING

from ragkb.language import keyword_tokens

if TYPE_CHECKING:
    import bm25s

    from ragkb.index.catalog import Catalog

INDEX_DIR = "bm25"
STAMP_FILE = "ragkb.json"

log = logging.getLogger(__name__)


class KeywordIndex:
    """BM25 over the catalog's chunks, persisted beside the vector store.

    Only a writer (ingest or remove, under the knowledge base's lock) builds the index.
    Readers use the last complete one: when it lags the catalog (an ingest is running) they
    say so at --verbose; when it is missing or unreadable they search without it and say so,
    and the next ingest rebuilds it.
    """

    def __init__(self, directory: Path) -> None:
        self._dir = directory / INDEX_DIR
        self._model: bm25s.BM25 | None = None
        self._ids: list[str] = []
        self._df: dict[str, int] | None = None  # None: no usable index
        self._generation: int | None = None  # the catalog generation it was built at
        self._seen: int | None = None  # the catalog generation last checked against
        self._broken = False
        self._sizes: dict[str, int] = {}  # index file -> bytes, as the writer recorded them

    def idf(self, catalog: Catalog) -> Callable[[str], float]:
        """Return token -> inverse document frequency over the knowledge base's chunks."""
        self._refresh(catalog)
        n, df = len(self._ids), self._df or {}
        return lambda token: math.log((n + 1) / (df.get(token, 0) + 0.5))

    def vocabulary(self, catalog: Catalog) -> Collection[str] | None:
        """Return every keyword token that occurs in some chunk; None without an index."""
        self._refresh(catalog)
        return None if self._df is None else self._df.keys()

    def is_current(self, catalog: Catalog) -> bool:
        """Return whether a readable index matches the catalog (else a writer rebuilds it)."""
        self._refresh(catalog)
        return self._generation == catalog.generation() and self._readable()

    def search(self, catalog: Catalog, query: str, n: int) -> list[tuple[str, float]]:
        """Return up to N (chunk_id, bm25 score) pairs, best first; only positive scores."""
        self._refresh(catalog)
        model = self._bm25()
        if model is None:
            return []
        vocab = model.vocab_dict
        tokens = [t for t in keyword_tokens(query) if t in vocab]
        if not tokens:
            return []
        import numpy as np

        scores = model.get_scores(tokens)
        order = np.argsort(-scores)[: min(n, len(self._ids))]
        return [(self._ids[i], float(scores[i])) for i in order if scores[i] > 0]

    def _refresh(self, catalog: Catalog) -> None:
        """Load the newest complete index when the catalog moved on; never build one."""
        generation = catalog.generation()
        if self._seen == generation:
            return
        self._seen = generation
        if self._generation != generation and not self._load():
            if self._df is None and catalog.chunk_count():
                log.warning(
                    "the keyword index of %s is missing or unreadable: searching without it "
                    "until the next ingest rebuilds it",
                    self._dir.parent,
                )
            return
        if self._generation != generation:
            log.info("the keyword index lags the catalog (an ingest is under way)")

    def _load(self) -> bool:
        stamp = self._dir / STAMP_FILE
        try:
            info = json.loads(stamp.read_text(encoding="utf-8"))
            ids, df, generation = list(info["ids"]), dict(info["df"]), int(info["generation"])
            self._sizes = dict(info.get("sizes") or {})
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return False
        # The BM25 model itself loads on the first search: IDF needs only the stamp, and a
        # vector-mode query should not pay for importing bm25s and scipy.
        self._model, self._ids, self._df, self._generation = None, ids, df, generation
        self._broken = False
        return True

    def _readable(self) -> bool:
        """Return whether every index file is the size it was written at (no bm25s import:
        a no-op ingest must stay cheap). An index from before sizes were recorded is rebuilt."""
        if not self._ids:
            return True  # nothing indexed: no files to check
        if not self._sizes:
            return False
        try:
            return all((self._dir / n).stat().st_size == size for n, size in self._sizes.items())
        except OSError:
            return False

    def _bm25(self) -> bm25s.BM25 | None:
        if self._model is None and self._ids and not self._broken:
            import bm25s

            try:
                model = bm25s.BM25.load(str(self._dir))
            except Exception as exc:  # a truncated or foreign file: search without it
                self._unreadable(type(exc).__name__)
                return None
            # A writer may have swapped in a newer index since the stamp was read: the ids
            # must be the ones this model was built with.
            if int(model.scores["num_docs"]) != len(self._ids) and not (
                self._load() and int(model.scores["num_docs"]) == len(self._ids)
            ):
                log.info("the keyword index changed while being read; skipped for this query")
                return None
            self._model = model
        return self._model

    def _unreadable(self, why: str) -> None:
        self._broken = True
        log.warning(
            "the keyword index in %s is unreadable (%s): searching without it until the next "
            "ingest rebuilds it",
            self._dir,
            why,
        )

    def _build(self, catalog: Catalog, generation: int) -> None:
        import bm25s

        ids: list[str] = []
        corpus: list[list[str]] = []
        df: Counter[str] = Counter()
        for chunk in catalog.iter_chunks():
            ids.append(chunk.chunk_id)
            # An empty document breaks bm25s' vocabulary; a placeholder never matches a query.
            corpus.append(chunk.keywords.split() or ["\x00"])
            df.update(set(corpus[-1]))
        model = None
        if ids:
            model = bm25s.BM25()
            model.index(corpus, show_progress=False)
        # Write to a temp dir then swap, so a reader never sees half an index.
        tmp = self._dir.with_name(INDEX_DIR + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if model is not None:
            model.save(str(tmp))
        # The sizes let a writer tell a damaged index from a sound one without loading it.
        sizes = {p.name: p.stat().st_size for p in tmp.iterdir()}
        stamp = {"generation": generation, "ids": ids, "df": df, "sizes": sizes}
        (tmp / STAMP_FILE).write_text(json.dumps(stamp), encoding="utf-8")
        old = self._dir.with_name(INDEX_DIR + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self._dir.exists():
            self._dir.rename(old)
        tmp.rename(self._dir)
        shutil.rmtree(old, ignore_errors=True)
        self._model, self._ids, self._df, self._sizes = model, ids, dict(df), sizes
        self._generation = self._seen = generation
        self._broken = False

    def rebuild(self, catalog: Catalog) -> None:
        """Build the index from the catalog now; only a writer holding the lock calls this."""
        self._build(catalog, catalog.generation())
