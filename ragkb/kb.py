"""KnowledgeBase: the Python API under the CLI. Cheap to create; stages load on first use."""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragkb.catalog import Catalog, FileRecord, has_catalog, kb_dir
from ragkb.chat import MAX_REWRITE_TOKENS, ChatSession
from ragkb.chunking import CHUNKER_VERSION
from ragkb.config import Settings
from ragkb.errors import (
    KnowledgeBaseNotFoundError,
    StoreMismatchError,
)
from ragkb.evidence import drop_invalid_citations, select_evidence
from ragkb.generation import Sampling, ThinkingFilter, make_generator
from ragkb.inventory import KnowledgeBaseInfo, describe, require_kb
from ragkb.prompting import (
    NO_THINK_SWITCH,
    REFUSAL_TEXT,
    PackedPrompt,
    Turn,
    language_of,
    pack_prompt,
    resolve_system_prompt,
    rewrite_messages,
)
from ragkb.retrieval import Retrieval, retrieve
from ragkb.sync import Progress, Syncer, SyncPlan, acquire_lock, discover, plan_sync
from ragkb.types import Answer, Hit, IngestReport, Usage

if TYPE_CHECKING:
    from ragkb.embedding import SentenceTransformerEmbedder, TokenizedEmbedder
    from ragkb.generation import Generator
    from ragkb.lexical import KeywordIndex
    from ragkb.rerank import CrossEncoderReranker
    from ragkb.store import ChromaStore

log = logging.getLogger(__name__)

# Fingerprint keys that change the vectors: a mismatch means the KB must be rebuilt.
HARD_KEYS = ("embedder", "dimension", "normalized", "passage_prefix", "query_prefix", "metric")
# Keys that change only the chunking: a mismatch means the next ingest re-chunks every file.
SOFT_KEYS = ("chunk_tokens", "overlap_tokens", "chunker_version")


@dataclass(frozen=True, slots=True)
class SourcesEvent:
    """Retrieval is done: these sources will be shown (empty and refused if none is relevant)."""

    sources: tuple[Hit, ...]
    refused: bool
    standalone_query: str


@dataclass(frozen=True, slots=True)
class TextEvent:
    """A piece of the streamed answer."""

    text: str


@dataclass(frozen=True, slots=True)
class DoneEvent:
    """The finished answer."""

    answer: Answer


AskEvent = SourcesEvent | TextEvent | DoneEvent


class KnowledgeBase:
    """One knowledge base: ingest files into it, search it, ask it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.name = settings.store.kb
        self.directory = kb_dir(settings.home, self.name)
        self._fingerprint_recorded: dict[str, Any] | None = None

    # -- components, loaded lazily --------------------------------------------------------
    def exists(self) -> bool:
        """Return whether anything was ever ingested into this knowledge base."""
        return has_catalog(self.directory)

    @cached_property
    def catalog(self) -> Catalog:
        """Return the catalog (created on first write)."""
        return Catalog(self.directory)

    def _require(self) -> None:
        require_kb(self.settings)

    @cached_property
    def metric(self) -> str:
        """Return the metric: the stored one for an existing KB, else the configured one."""
        stored = self.catalog.get_meta("fingerprint") if self.exists() else None
        configured = self.settings.store.metric
        if stored and stored.get("metric"):
            explicit = self.settings.sources.get("metric", "default") != "default"
            if explicit and stored["metric"] != configured:
                raise StoreMismatchError(
                    f"knowledge base '{self.name}' was created with metric {stored['metric']}, "
                    f"not {configured}; the metric is fixed at creation: drop --metric, "
                    "or rebuild with `ragkb reset` or use a new --kb"
                )
            return str(stored["metric"])
        return configured

    @cached_property
    def store(self) -> ChromaStore:
        """Return the vector store."""
        from ragkb.store import ChromaStore

        return ChromaStore(
            kb=self.name,
            metric=self.metric,
            path=self.directory / "chroma",
            url=self.settings.store.store_url,
        )

    @cached_property
    def embedder(self) -> SentenceTransformerEmbedder:
        """Return the embedder (weights load on first encode)."""
        from ragkb.embedding import SentenceTransformerEmbedder

        e = self.settings.embedding
        return SentenceTransformerEmbedder(
            e.embedder,
            device=e.device,
            batch_size=e.batch_size,
            query_prefix=e.query_prefix,
            passage_prefix=e.passage_prefix,
        )

    @cached_property
    def query_embedder(self) -> TokenizedEmbedder:
        """Return the search-time encoder: the verified ONNX twin when there is one."""
        e = self.settings.embedding
        if e.query_encoder == "onnx":
            from ragkb.onnx_encoder import OnnxEmbedder, read_manifest

            folder = self._encoder_dir()
            if read_manifest(folder) is not None:
                log.info("query encoder: onnxruntime (%s)", folder)
                return OnnxEmbedder(
                    folder, query_prefix=e.query_prefix, passage_prefix=e.passage_prefix
                )
            log.info("query encoder: sentence-transformers (no verified ONNX export yet)")
        return self.embedder

    def _encoder_dir(self) -> Path:
        from ragkb.embedding import resolve_embedder
        from ragkb.onnx_encoder import encoder_dir

        return encoder_dir(self.settings.cache, *resolve_embedder(self.settings.embedding.embedder))

    def _ensure_query_encoder(self) -> None:
        """Build the ONNX twin of the embedder once; on failure, searches keep using torch."""
        if self.settings.embedding.query_encoder != "onnx" or not self.catalog.chunk_count():
            return
        from ragkb.errors import ModelError
        from ragkb.onnx_encoder import build, read_manifest

        folder = self._encoder_dir()
        failed = folder.with_suffix(".failed")
        if read_manifest(folder) is not None or failed.exists():
            return
        log.info("building the ONNX query encoder for %s (once per embedder)", self.embedder.name)
        try:
            manifest = build(self.embedder, folder, self.catalog.sample_texts(24))
        except ModelError as exc:
            failed.parent.mkdir(parents=True, exist_ok=True)
            failed.write_text(json.dumps({"reason": str(exc)}), encoding="utf-8")
            log.warning("searches will use sentence-transformers: %s", exc)
            return
        log.info(
            "ONNX query encoder ready in %.1f s (lowest cosine to sentence-transformers %.6f)",
            manifest["build_seconds"],
            manifest["min_cosine"],
        )

    @cached_property
    def reranker(self) -> CrossEncoderReranker | None:
        """Return the cross-encoder reranker when `rerank` is on, else None (nothing loaded)."""
        r = self.settings.retrieval
        if not r.rerank:
            return None
        from ragkb.rerank import CrossEncoderReranker

        return CrossEncoderReranker(r.rerank_model, device=self.settings.embedding.device)

    @cached_property
    def keyword_index(self) -> KeywordIndex:
        """Return the keyword index."""
        from ragkb.lexical import KeywordIndex

        return KeywordIndex(self.directory)

    @cached_property
    def generator(self) -> Generator:
        """Return the language model."""
        return make_generator(self.settings.generation)

    # -- fingerprint ----------------------------------------------------------------------
    def _fingerprint(self, *, with_dimension: bool) -> dict[str, Any]:
        e, c = self.settings.embedding, self.settings.chunking
        from ragkb.embedding import resolve_embedder

        fingerprint: dict[str, Any] = {
            "embedder": resolve_embedder(e.embedder)[0],
            "normalized": True,
            "query_prefix": e.query_prefix,
            "passage_prefix": e.passage_prefix,
            "metric": self.metric,
            "chunk_tokens": c.chunk_tokens,
            "overlap_tokens": c.overlap_tokens,
            "chunker_version": CHUNKER_VERSION,
        }
        if with_dimension:
            fingerprint["dimension"] = self.embedder.dimension
        return fingerprint

    def _check_fingerprint(self) -> bool:
        """Raise StoreMismatchError on a vector-changing difference; return whether to re-chunk."""
        stored = self.catalog.get_meta("fingerprint")
        if not stored:
            return False
        current = self._fingerprint(with_dimension=False)
        differ = [k for k in HARD_KEYS if k in current and k in stored and current[k] != stored[k]]
        if differ:
            detail = "; ".join(f"{k}: stored {stored[k]!r}, now {current[k]!r}" for k in differ)
            raise StoreMismatchError(
                f"knowledge base '{self.name}' was built with other settings ({detail}). "
                f"Vectors from different settings cannot be mixed: rebuild with "
                f"`ragkb reset --kb {self.name}` then ingest again, or use a new --kb"
            )
        return any(stored.get(k) != current[k] for k in SOFT_KEYS)

    # -- ingest ---------------------------------------------------------------------------
    def ingest(
        self,
        paths: Sequence[str],
        *,
        dry_run: bool = False,
        prune: bool | None = None,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Make the knowledge base match the files under PATHS."""
        prune = self.settings.ingest.prune if prune is None else prune
        if dry_run:
            plan, _ = self._plan(paths, prune=prune)
            return IngestReport(
                kb=self.name,
                added=tuple(c.path for c in plan.new),
                updated=tuple(c.path for c in plan.changed),
                unchanged=tuple(c.path for c in plan.unchanged),
                removed=tuple(plan.removed),
                failed=tuple(plan.failed),
                dry_run=True,
            )
        if not self.exists():
            files, _, failures = discover(paths)
            if not files:  # a mistyped path or --kb must not leave an empty knowledge base
                return IngestReport(kb=self.name, failed=tuple(failures))
        lock = acquire_lock(self.directory)
        try:
            plan, rechunk = self._plan(paths, prune=prune)
            syncer = Syncer(
                kb=self.name,
                catalog=self.catalog,
                store=self.store,
                embedder_factory=self._embedder_checked,
                chunk_tokens=self.settings.chunking.chunk_tokens,
                overlap_tokens=self.settings.chunking.overlap_tokens,
                file_timeout_s=self.settings.ingest.file_timeout_s,
                batch_chunks=self.settings.ingest.batch_chunks,
                progress=progress,
            )
            report = syncer.apply(plan)
            if report.added or report.updated or report.removed or rechunk:
                self.keyword_index.rebuild(self.catalog)
            self._ensure_query_encoder()
            return report
        finally:
            lock.release()

    def _plan(self, paths: Sequence[str], *, prune: bool) -> tuple[SyncPlan, bool]:
        """Plan a sync of PATHS; return the plan and whether every file must be re-chunked."""
        # A knowledge base that does not exist yet knows no files: plan without creating it.
        known = self.exists()
        rechunk = self._check_fingerprint() if known else False
        plan = plan_sync(
            self.catalog if known else _EmptyCatalog(),  # type: ignore[arg-type]
            paths,
            prune=prune,
            rechunk=rechunk,
            max_file_bytes=int(self.settings.ingest.max_file_mb * 1e6),
        )
        return plan, rechunk

    def _embedder_checked(self) -> SentenceTransformerEmbedder:
        """Return the embedder, recording the fingerprint the first time vectors are made."""
        embedder = self.embedder
        if self._fingerprint_recorded is not None:
            return embedder  # checked earlier (this is called once per file)
        stored = self.catalog.get_meta("fingerprint") or {}
        current = self._fingerprint(with_dimension=True)
        if stored.get("dimension") not in (None, current["dimension"]):
            raise StoreMismatchError(
                f"knowledge base '{self.name}' holds {stored['dimension']}-dimensional "
                f"vectors but the embedder makes {current['dimension']}: rebuild with "
                f"`ragkb reset --kb {self.name}`"
            )
        if stored != current:
            self.catalog.set_meta("fingerprint", current)
        self._fingerprint_recorded = current
        return embedder

    # -- search and ask -------------------------------------------------------------------
    def retrieve(
        self,
        query: str,
        *,
        k: int | None = None,
        mode: str | None = None,
        user_words: str | None = None,
    ) -> Retrieval:
        """Return ranked hits for QUERY and which of them pass the relevance threshold.

        USER_WORDS, when QUERY is a rewrite, are the words checked for unknown names.
        """
        self._require()
        self._check_fingerprint()
        r = self.settings.retrieval
        mode = mode or r.mode
        vector = mode in ("vector", "hybrid")
        started = time.monotonic()
        result = retrieve(
            query,
            k=k or r.k,
            mode=mode,
            min_score=r.min_score,
            min_relevance=r.min_relevance,
            mmr=r.mmr,
            rerank=self.reranker.scores if self.reranker is not None else None,
            rerank_candidates=r.rerank_candidates,
            is_common_word=self.query_embedder.is_common_word if r.refuse_unknown_terms else None,
            user_words=user_words,
            catalog=self.catalog,
            store=self.store if vector else None,
            keyword_index=self.keyword_index,  # searched in keyword/hybrid; IDF in every mode
            embedder=self.query_embedder if vector else None,
        )
        log.info(
            "retrieved %d chunks (%d relevant) in %.0f ms, mode %s",
            len(result.hits),
            len(result.relevant),
            (time.monotonic() - started) * 1000,
            mode,
        )
        return result

    def search(self, query: str, *, k: int | None = None, mode: str | None = None) -> list[Hit]:
        """Return the K chunks closest to QUERY."""
        return list(self.retrieve(query, k=k, mode=mode).hits)

    def ask(self, question: str, **kwargs: Any) -> Answer:
        """Answer QUESTION from the knowledge base (not streamed)."""
        answer = None
        for event in self.ask_stream(question, **kwargs):
            if isinstance(event, DoneEvent):
                answer = event.answer
        assert answer is not None
        return answer

    def ask_stream(
        self,
        question: str,
        *,
        k: int | None = None,
        mode: str | None = None,
        session: ChatSession | None = None,
        evidence: bool | None = None,
    ) -> Iterator[AskEvent]:
        """Retrieve, then stream the answer; refuse without calling the model if nothing fits."""
        started = time.monotonic()
        query = question
        if session is not None:
            query = session.standalone_query(question, self._rewrite)
        retrieval = self.retrieve(query, k=k, mode=mode, user_words=question)
        timings = {"retrieve": time.monotonic() - started}
        if not retrieval.relevant:
            yield SourcesEvent((), True, query)
            text = REFUSAL_TEXT[language_of(question)]
            answer = Answer(
                question=question,
                text=text,
                sources=(),
                refused=True,
                usage=None,
                standalone_query=query,
                seconds=time.monotonic() - started,
                timings=_rounded(timings),
                unknown_terms=retrieval.unknown_terms,
            )
            yield DoneEvent(answer)
            return
        g = self.settings.generation
        packed = self._pack(question, retrieval.relevant, session)
        log.info(
            "prompt %d tokens + max_tokens %d <= n_ctx %d; %d chunks in, %d dropped for budget",
            packed.prompt_tokens,
            g.max_tokens,
            g.n_ctx,
            len(packed.sources),
            packed.dropped_chunks,
        )
        yield SourcesEvent(packed.sources, False, query)
        thinking = ThinkingFilter()
        parts: list[str] = []
        completion_tokens = 0
        generation_started = time.monotonic()
        first_token_at: float | None = None
        for delta in self.generator.stream(packed.messages, self._sampling()):
            if first_token_at is None and delta.text:
                first_token_at = time.monotonic()
            if delta.completion_tokens is not None:
                completion_tokens = delta.completion_tokens
            shown = delta.text if g.show_thinking else thinking.feed(delta.text)
            if shown:
                parts.append(shown)
                yield TextEvent(shown)
        tail = "" if g.show_thinking else thinking.flush()
        if tail:
            parts.append(tail)
            yield TextEvent(tail)
        raw = "".join(parts).strip()
        text, invalid = drop_invalid_citations(raw, len(packed.sources))
        generated_at = time.monotonic()
        timings["first_token"] = (first_token_at or generated_at) - generation_started
        timings["generate"] = generated_at - generation_started
        use_evidence = self.settings.answer.evidence if evidence is None else evidence
        quotes = (
            select_evidence(
                query,
                text,
                packed.sources,
                embed=self._embed_many,
                idf=self.keyword_index.idf(self.catalog),
            )
            if use_evidence
            else ()
        )
        if use_evidence:
            timings["evidence"] = time.monotonic() - generated_at
        if session is not None:
            session.add(question, text, query)
        yield DoneEvent(
            Answer(
                question=question,
                text=text,
                sources=packed.sources,
                refused=False,
                usage=Usage(
                    prompt_tokens=packed.prompt_tokens,
                    completion_tokens=completion_tokens,
                    n_ctx=g.n_ctx,
                    max_tokens=g.max_tokens,
                    dropped_chunks=packed.dropped_chunks,
                    trimmed_turns=packed.trimmed_turns,
                ),
                standalone_query=query,
                evidence=quotes,
                invalid_citations=invalid,
                thinking=thinking.thinking or None,
                seconds=time.monotonic() - started,
                timings=_rounded(timings),
            )
        )

    def prompt_for(self, question: str, *, k: int | None = None) -> PackedPrompt:
        """Return the exact messages the model would get for QUESTION (for --show-prompt)."""
        retrieval = self.retrieve(question, k=k)
        return self._pack(question, retrieval.relevant, None)

    def _pack(
        self, question: str, hits: Sequence[Hit], session: ChatSession | None
    ) -> PackedPrompt:
        g = self.settings.generation
        return pack_prompt(
            question,
            hits,
            system_prompt=resolve_system_prompt(g.system_prompt),
            history=session.history if session else (),
            count_tokens=self.generator.count_tokens,
            n_ctx=g.n_ctx,
            max_tokens=g.max_tokens,
            question_suffix=NO_THINK_SWITCH if g.no_think else "",
        )

    def _sampling(self, max_tokens: int | None = None) -> Sampling:
        g = self.settings.generation
        return Sampling(
            max_tokens=max_tokens or g.max_tokens,
            temperature=g.temperature,
            top_p=g.top_p,
            top_k=g.top_k_sampling,
            repeat_penalty=g.repeat_penalty,
            seed=g.seed,
        )

    def _rewrite(self, history: list[Turn], question: str) -> str:
        sampling = Sampling(MAX_REWRITE_TOKENS, 0.0, 1.0, 1, 1.0, 0)
        suffix = NO_THINK_SWITCH if self.settings.generation.no_think else ""
        messages = rewrite_messages(history, question, suffix)
        return "".join(d.text for d in self.generator.stream(messages, sampling))

    def _embed_many(self, texts: Sequence[str]) -> list[list[float]]:
        return self.query_embedder.embed_passages(texts)

    # -- management -----------------------------------------------------------------------
    def info(self) -> KnowledgeBaseInfo:
        """Return what the knowledge base holds, without loading any model."""
        self._require()
        return describe(self.name, self.directory, self.catalog)

    def files(self) -> list[FileRecord]:
        """Return every file the knowledge base knows, with its status."""
        self._require()
        return self.catalog.files()

    def remove(self, paths: Sequence[str]) -> list[tuple[str, int]]:
        """Drop files' chunks; return (path, chunks removed) for each."""
        self._require()
        lock = acquire_lock(self.directory)
        try:
            removed = []
            for raw in paths:
                key = str(Path(raw).expanduser().resolve())
                if self.catalog.file(key) is None:
                    raise KnowledgeBaseNotFoundError(
                        f"{raw}: not in knowledge base '{self.name}' (see `ragkb files`)"
                    )
                self.store.delete_source(key)
                removed.append((key, self.catalog.forget_file(key)))
            self.keyword_index.rebuild(self.catalog)
            return removed
        finally:
            lock.release()

    def reset(self) -> None:
        """Delete the knowledge base: vectors, catalog and keyword index."""
        self._require()
        lock = acquire_lock(self.directory)
        try:
            if self.settings.store.store_url:
                self.store.drop()
            if "catalog" in self.__dict__:
                self.catalog.close()
                del self.__dict__["catalog"]
            self._fingerprint_recorded = None
            for child in self.directory.iterdir():
                if child.name in ("write.lock",):
                    continue
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        finally:
            lock.release()
        shutil.rmtree(self.directory, ignore_errors=True)


class _EmptyCatalog:
    """Stands in for the catalog of a knowledge base that does not exist yet (dry runs)."""

    def file(self, path: str) -> None:
        return None

    def files(self) -> list[FileRecord]:
        return []


def _rounded(timings: dict[str, float]) -> dict[str, float]:
    return {name: round(seconds, 3) for name, seconds in timings.items()}
