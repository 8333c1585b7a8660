"""The sentence-transformers embedder: token-ordered batches give the same vectors."""

from __future__ import annotations

import numpy as np
import pytest

from ragkb.models.embedders import SentenceTransformerEmbedder

pytestmark = pytest.mark.slow

TEXTS = [
    "Short.",
    "检索增强生成把文档切成块，再用向量检索找到与问题最相关的内容。" * 4,
    "The tracing handbook explains spans, trace trees and sampling. " * 30,  # over the window
    "向量数据库",
    "A medium sentence about cosine similarity and Euclidean distance in a vector store.",
    "Temperature, top-k and top-p shape sampling; max tokens bounds the answer length. " * 3,
    "配置文件里的 n_ctx 决定上下文窗口的大小。",
]


def test_token_ordered_batches_return_the_vectors_in_input_order() -> None:
    embedder = SentenceTransformerEmbedder("", batch_size=2)  # several batches, reordered
    ours = np.asarray(embedder.embed_passages(TEXTS))
    one_by_one = np.asarray(
        [embedder.model.encode([t], normalize_embeddings=True)[0] for t in TEXTS]
    )
    assert ours.shape == (len(TEXTS), 384)
    cosines = (ours * one_by_one).sum(axis=1)
    assert cosines.min() > 0.9999, cosines


def test_prefix_is_embedded_with_every_passage() -> None:
    plain = SentenceTransformerEmbedder("")
    prefixed = SentenceTransformerEmbedder("", passage_prefix="passage: ")
    expected = plain.model.encode(["passage: " + t for t in TEXTS], normalize_embeddings=True)
    got = np.asarray(prefixed.embed_passages(TEXTS))
    assert ((got * expected).sum(axis=1)).min() > 0.9999
    assert prefixed.max_tokens == plain.max_tokens - plain.count_tokens("passage: ")
