"""Keyword index: BM25 over chunk keywords (Chinese segmented by jieba), kept in tantivy.

The catalog owns the keyword tokens; the index is a search structure over them that a
writer updates file by file. Every catalog write that changes a file's chunks also marks
the file in the catalog's keyword journal, in the same transaction; `catch_up` re-indexes
the marked files and clears the marks after tantivy's commit. A crash in between leaves
the marks, and the next writer redoes those files: the cost follows the change, never the
corpus, and the index cannot silently drift from the catalog.
"""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ragkb.language import keyword_tokens
from ragkb.native import is_native_panic, native_stderr_silenced

if TYPE_CHECKING:
    import tantivy

    from ragkb.index.catalog import Catalog, ChunkRecord

INDEX_DIR = "keywords"
LEGACY_DIRS = ("bm25",)  # bm25s indexes of earlier versions, rebuilt as INDEX_DIR once
_TOKENIZER = "ragkb_words"  # the catalog's tokens are already cut: split on spaces only
_WRITER_HEAP_BYTES = 64_000_000  # tantivy's indexing buffer, per writer
_REBUILD_BATCH = 20_000  # chunks read from the catalog per step of a full rebuild
_TIE_BREAKER = 0.3  # share of a group's other matching alternatives added to its best

log = logging.getLogger(__name__)


class KeywordIndex:
    """BM25 (tantivy's: k1 1.2, b 0.75) over the catalog's chunks, beside the vector store.

    Only a writer (ingest, remove or repair, under the knowledge base's lock) changes it.
    Readers search the last commit: during an ingest they see the files indexed so far;
    when the index is missing or unreadable they search without it and say so.
    """

    def __init__(self, directory: Path) -> None:
        self._dir = directory / INDEX_DIR
        self._index: tantivy.Index | None = None
        self._warned = False

    # -- reading ----------------------------------------------------------------------
    def search(
        self, catalog: Catalog, query: str, n: int, paths: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        """Return up to N (chunk_id, bm25 score) pairs, best first; only positive scores.
        With PATHS, only chunks of those files (filtered inside the search, not after it)."""
        tokens = list(dict.fromkeys(keyword_tokens(query)))
        return self.search_alternatives(catalog, [[t] for t in tokens], n, paths)

    def search_alternatives(
        self,
        catalog: Catalog,
        groups: Sequence[Sequence[str]],
        n: int,
        paths: Sequence[str] | None = None,
    ) -> list[tuple[str, float]]:
        """Like `search`, for GROUPS of alternative tokens (a word's translations): a chunk
        scores the best of a group's BM25 scores (plus a share of the others), so a word with
        many translations counts about as much as a word with one."""
        searcher = self._searcher(catalog)
        groups = [list(dict.fromkeys(g)) for g in groups if g]
        if searcher is None or not groups or n <= 0 or (paths is not None and not paths):
            return []
        import tantivy

        schema = self._require().schema

        def term(token: str) -> tantivy.Query:
            return tantivy.Query.term_query(schema, "kw", token)

        words = tantivy.Query.boolean_query(
            [
                (
                    tantivy.Occur.Should,
                    term(g[0])
                    if len(g) == 1
                    else tantivy.Query.disjunction_max_query([term(t) for t in g], _TIE_BREAKER),
                )
                for g in groups
            ]
        )
        if paths is not None:  # scores stay BM25's: the file clause adds nothing to them
            files = tantivy.Query.const_score_query(
                tantivy.Query.term_set_query(schema, "path", list(paths)), 0.0
            )
            words = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, words), (tantivy.Occur.Must, files)]
            )
        result = searcher.search(words, n)
        return [
            (searcher.doc(address)["chunk_id"][0], float(score))
            for score, address in result.hits
            if score > 0
        ]

    def idf(self, catalog: Catalog) -> Callable[[str], float]:
        """Return token -> inverse document frequency over the knowledge base's chunks."""
        searcher = self._searcher(catalog)
        if searcher is None:
            return lambda token: math.log(2.0)  # nothing indexed: every token as rare
        n = searcher.num_docs
        cache: dict[str, float] = {}

        def idf(token: str) -> float:
            if token not in cache:
                df = searcher.doc_freq("kw", token)
                cache[token] = math.log((n + 1) / (df + 0.5))
            return cache[token]

        return idf

    def vocabulary(self, catalog: Catalog) -> Vocabulary | None:
        """Return the set of keyword tokens that occur in some chunk; None without an index."""
        searcher = self._searcher(catalog)
        return None if searcher is None else Vocabulary(searcher)

    # -- writing (under the knowledge base's lock) -------------------------------------
    def is_current(self, catalog: Catalog) -> bool:
        """Return whether the index holds exactly the catalog's chunks (no catch-up due)."""
        searcher = self._open_searcher()
        return (
            searcher is not None
            and not catalog.keyword_pending()
            and searcher.num_docs == catalog.chunk_count()
        )

    def catch_up(self, catalog: Catalog) -> int:
        """Index the files the catalog marked since the last commit; return how many.

        A missing, unreadable or miscounted index (a crash of an older version, a deleted
        folder, a knowledge base built before this index existed) is rebuilt whole.
        """
        pending = catalog.keyword_pending()
        searcher = self._open_searcher()
        if searcher is None or (not pending and searcher.num_docs != catalog.chunk_count()):
            self.rebuild(catalog)
            return len(pending)
        if not pending:
            return 0
        try:
            self._update(catalog, pending)
        except ValueError as exc:
            # What a writer killed mid-commit left behind can make tantivy refuse the next
            # one ('Failed to open file for write: FileAlreadyExists("….del")', seen once in
            # twenty SIGKILLs): the index is the catalog's copy, so build it again.
            log.info("keyword index %s: %s; rebuilding it", self._dir, exc)
            self.rebuild(catalog)
        return len(pending)

    def _update(self, catalog: Catalog, pending: list[str]) -> None:
        """Re-index the PENDING files' chunks in one commit."""
        writer = self._writer()
        for path in pending:
            writer.delete_documents_by_term("path", path)
            for document in self._documents(catalog.file_chunks(path)):
                writer.add_document(document)
        writer.commit()
        writer.wait_merging_threads()
        catalog.clear_keyword_pending(pending)

    def rebuild(self, catalog: Catalog) -> None:
        """Build the index from the whole catalog (repair, first use, a damaged index)."""
        pending = catalog.keyword_pending()
        self._index = None
        for name in (INDEX_DIR, *LEGACY_DIRS):
            shutil.rmtree(self._dir.with_name(name), ignore_errors=True)
        writer = self._writer()
        batch: list[tantivy.Document] = []
        for chunk in catalog.iter_chunks():
            batch.extend(self._documents([chunk]))
            if len(batch) >= _REBUILD_BATCH:
                for document in batch:
                    writer.add_document(document)
                batch = []
        for document in batch:
            writer.add_document(document)
        writer.commit()
        writer.wait_merging_threads()
        catalog.clear_keyword_pending(pending)
        self._warned = False

    # -- tantivy ----------------------------------------------------------------------
    def _documents(self, chunks: Iterable[ChunkRecord]) -> Iterator[tantivy.Document]:
        import tantivy

        for chunk in chunks:
            yield tantivy.Document(chunk_id=chunk.chunk_id, path=chunk.path, kw=chunk.keywords)

    def _searcher(self, catalog: Catalog) -> tantivy.Searcher | None:
        """The newest committed index for a read, or None (warned once) when there is none."""
        searcher = self._open_searcher()
        if searcher is None and not self._warned and catalog.chunk_count():
            self._warned = True
            if catalog.keyword_pending() and not (self._dir / "meta.json").exists():
                log.info("the keyword index is not built yet: the first ingest is under way")
                return None
            log.warning(
                "the keyword index of %s is missing or unreadable: searching without it "
                "until `ragkb ingest` or `ragkb repair` rebuilds it",
                self._dir.parent,
            )
        return searcher

    def _open_searcher(self) -> tantivy.Searcher | None:
        try:
            # A damaged file can make tantivy panic, printing Rust's report to stderr.
            with native_stderr_silenced():
                index = self._require()
                index.reload()  # a writer may have committed since: see its last commit
                return index.searcher()
        except BaseException as exc:
            if not (isinstance(exc, Exception) or is_native_panic(exc)):
                raise
            log.debug("keyword index %s unusable: %s", self._dir, exc)
            self._index = None
            return None

    def _require(self) -> tantivy.Index:
        if self._index is None:
            import tantivy

            if not (self._dir / "meta.json").is_file():
                raise OSError(f"{self._dir}: no keyword index")
            self._index = tantivy.Index.open(str(self._dir))
            _register_tokenizer(self._index)
        return self._index

    def _writer(self) -> tantivy.IndexWriter:
        import tantivy

        if self._index is None:
            self._dir.mkdir(parents=True, exist_ok=True)
            if (self._dir / "meta.json").is_file():
                self._index = tantivy.Index.open(str(self._dir))
            else:
                self._index = tantivy.Index(_schema(), path=str(self._dir))
            _register_tokenizer(self._index)
        return self._index.writer(heap_size=_WRITER_HEAP_BYTES, num_threads=1)


class Vocabulary:
    """The index's terms, looked up in it (never loaded whole): `token in vocabulary` and
    `vocabulary.has_prefix(stem)`."""

    def __init__(self, searcher: tantivy.Searcher) -> None:
        self._searcher = searcher

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and self._searcher.doc_freq("kw", token) > 0

    def has_prefix(self, prefix: str) -> bool:
        """Return whether some indexed token starts with PREFIX."""
        return bool(self._searcher.terms_with_prefix("kw", prefix, limit=1))


def _schema() -> tantivy.Schema:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("chunk_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("path", stored=False, tokenizer_name="raw")  # delete by file
    builder.add_text_field("kw", stored=False, tokenizer_name=_TOKENIZER, index_option="freq")
    return builder.build()


def _register_tokenizer(index: tantivy.Index) -> None:
    import tantivy

    index.register_tokenizer(
        _TOKENIZER, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
    )
