"""Keyword index: BM25 (bm25s) over words, with Chinese segmented by jieba.

The index is a cache: it is rebuilt from the catalog's chunk keywords whenever the
catalog's generation stamp differs from the one it was built at.
"""

from __future__ import annotations

import json
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


class KeywordIndex:
    """BM25 over the catalog's chunks, persisted beside the vector store."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory / INDEX_DIR
        self._model: bm25s.BM25 | None = None
        self._ids: list[str] = []
        self._df: dict[str, int] = {}
        self._generation: int | None = None

    def idf(self, catalog: Catalog) -> Callable[[str], float]:
        """Return token -> inverse document frequency over the knowledge base's chunks."""
        self._ensure(catalog)
        n, df = len(self._ids), self._df
        return lambda token: math.log((n + 1) / (df.get(token, 0) + 0.5))

    def vocabulary(self, catalog: Catalog) -> Collection[str]:
        """Return every keyword token that occurs in at least one chunk."""
        self._ensure(catalog)
        return self._df.keys()

    def search(self, catalog: Catalog, query: str, n: int) -> list[tuple[str, float]]:
        """Return up to N (chunk_id, bm25 score) pairs, best first; only positive scores."""
        self._ensure(catalog)
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

    def _ensure(self, catalog: Catalog) -> None:
        generation = catalog.generation()
        if self._generation == generation:
            return
        if not self._load(generation):
            self._build(catalog, generation)
        self._generation = generation

    def _load(self, generation: int) -> bool:
        stamp = self._dir / "ragkb.json"
        if not stamp.is_file():
            return False
        try:
            info = json.loads(stamp.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        if info.get("generation") != generation or "df" not in info:
            return False
        # The BM25 model itself loads on the first search: IDF needs only the stamp, and a
        # vector-mode query should not pay for importing bm25s and scipy.
        self._model, self._ids, self._df = None, list(info["ids"]), info["df"]
        return True

    def _bm25(self) -> bm25s.BM25 | None:
        if self._model is None and self._ids:
            import bm25s

            self._model = bm25s.BM25.load(str(self._dir))
        return self._model

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
        (tmp / "ragkb.json").write_text(
            json.dumps({"generation": generation, "ids": ids, "df": df}), encoding="utf-8"
        )
        old = self._dir.with_name(INDEX_DIR + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self._dir.exists():
            self._dir.rename(old)
        tmp.rename(self._dir)
        shutil.rmtree(old, ignore_errors=True)
        self._model, self._ids, self._df = model, ids, dict(df)

    def rebuild(self, catalog: Catalog) -> None:
        """Rebuild now (after an ingest) so the next search does not pay for it."""
        self._generation = None
        self._build(catalog, catalog.generation())
        self._generation = catalog.generation()
