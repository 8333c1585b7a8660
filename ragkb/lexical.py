"""Keyword index: BM25 (bm25s) over words, with Chinese segmented by jieba.

The index is a cache: it is rebuilt from the catalog's chunk keywords whenever the
catalog's generation stamp differs from the one it was built at.
"""

from __future__ import annotations

import functools
import json
import math
import re
import shutil
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragkb.catalog import Catalog

if TYPE_CHECKING:
    import bm25s

INDEX_DIR = "bm25"
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+", re.UNICODE)
_IS_CJK = re.compile(rf"[{_CJK}]")
_STOPWORDS = frozenset(
    """
    a an and are as at be but by can do does for from has have how i if in into is it its of
    on or so such that the their then there these they this to was were what when where which
    who why will with you your
    的 了 是 在 和 与 及 或 也 就 都 而 吗 呢 吧 啊
    什么 怎么 如何 哪些 为什么 一个 我们 你们 他们 这个 那个 有 能 哪 里 如果 应该 怎样
    到 多 大 多少 起来 之前 之后 大概 哪个 哪支 可以 需要 时候
    """.split()  # noqa: SIM905 - a word list reads best as text
)


def keyword_tokens(text: str) -> list[str]:
    """Return lowercase keyword tokens of TEXT: words, and jieba words for Chinese runs."""
    tokens: list[str] = []
    for match in _RUNS.finditer(text.lower()):
        run = match.group()
        if _IS_CJK.match(run):
            tokens.extend(w for w in _segment(run) if w.strip() and w not in _STOPWORDS)
        elif run not in _STOPWORDS:
            tokens.append(run)
    return tokens


def weighted_coverage(
    query_tokens: set[str], chunk_keywords: str, idf: Callable[[str], float]
) -> float:
    """Return the IDF-weighted share of the query's keywords that occur in a chunk.

    A rare word counts for more than a common one, and a word the corpus never contains
    (the specific thing asked about) counts most: missing it is the best sign that the
    documents do not hold the answer.
    """
    total = sum(idf(t) for t in query_tokens)
    if total <= 0:
        return 0.0
    present = set(chunk_keywords.split())
    return sum(idf(t) for t in query_tokens if t in present) / total


_INFLECTION = re.compile(r"(?:ing|ed|es|s)$")
# Zipf 3 = once per million words: wordfreq's small English list holds exactly these.
_EVERYDAY_ZIPF = 3.0


def is_everyday_word(word: str) -> bool:
    """Return whether WORD is an everyday English word (wordfreq, loaded on first use)."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en", wordlist="small") >= _EVERYDAY_ZIPF


def unknown_terms(
    query_tokens: Iterable[str],
    vocabulary: Collection[str],
    is_common_word: Callable[[str], bool],
) -> list[str]:
    """Return the names in a question that the documents never use.

    A name (a command, product, format or acronym: timedatectl, WireGuard, XER) cannot be
    paraphrased, so documents that never contain it cannot be about it. A term counts when
    no chunk holds it, it is not a common word (IS_COMMON_WORD, e.g. one token of the
    embedder's vocabulary, which spells ordinary words whole and splits rare names, nor an
    everyday English word by wordfreq), and it is not a form of a word the documents do use
    ("reconfigures" when they say "reconfigure"). Chinese words are left out: jieba's
    segmentation of a question rarely matches a rare name, and paraphrase is the norm.
    """
    unknown = []
    for token in dict.fromkeys(query_tokens):
        if token in vocabulary or _IS_CJK.search(token) or is_common_word(token):
            continue
        if is_everyday_word(token):
            continue
        stem = _INFLECTION.sub("", token)
        if len(stem) >= 4 and any(word.startswith(stem) for word in vocabulary):
            continue
        unknown.append(token)
    return unknown


def _segment(run: str) -> list[str]:
    return _jieba().lcut_for_search(run)


@functools.cache
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(60)  # jieba logs its dictionary loading at INFO on stderr
    return jieba


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
