"""The composition root: the real components of one knowledge base, made from settings.

Building is cheap: nothing loads weights, opens the vector store or reads a model file until
a stage first uses it. This is the only module that knows which class serves which seam.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragkb.index.catalog import Catalog, kb_dir
from ragkb.index.keywords import KeywordIndex
from ragkb.index.manifest import effective_metric
from ragkb.index.vectors import ChromaStore
from ragkb.models.embedders import SentenceTransformerEmbedder
from ragkb.models.llama_cpp import LlamaCppGenerator
from ragkb.models.query_encoder import TwinQueryEncoder
from ragkb.parts import Parts

if TYPE_CHECKING:
    from pathlib import Path

    from ragkb.config import Settings
    from ragkb.parts import Generator, Reranker
    from ragkb.settings import GenerationSettings


def build_parts(settings: Settings) -> Parts:
    """Return the components that SETTINGS name, for the knowledge base they name."""
    directory = kb_dir(settings.home, settings.store.kb)
    catalog = Catalog(directory)
    e = settings.embedding
    embedder = SentenceTransformerEmbedder(
        e.embedder,
        device=e.device,
        batch_size=e.batch_size,
        query_prefix=e.query_prefix,
        passage_prefix=e.passage_prefix,
    )
    metric = effective_metric(
        catalog.get_meta("fingerprint"),
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
        ),
        keywords=KeywordIndex(directory),
        embedder=embedder,
        query_encoder=TwinQueryEncoder(embedder, twin_dir=_twin_dir(settings, embedder)),
        generator=build_generator(settings.generation),
        reranker=_reranker(settings),
    )


def build_generator(g: GenerationSettings) -> Generator:
    """Return the generator the generation settings name."""
    local = LlamaCppGenerator(
        g.model_path, n_ctx=g.n_ctx, n_threads=g.n_threads, n_gpu_layers=g.n_gpu_layers
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
