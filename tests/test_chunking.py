"""Chunking with the real bundled MiniLM tokenizer (the tokenizer only: no model weights)."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import pytest

from ragkb.ingest.chunking import chunk_document
from ragkb.language import split_sentences
from ragkb.models.embedders import SentenceTransformerEmbedder, bundled_embedder_dir
from ragkb.types import Chunk, Document, Section

ENGLISH_PROSE = (
    "retrieval augmented generation splits documents into chunks embeds them with a sentence "
    "transformer and stores the vectors in a persistent collection so that cosine similarity "
    "finds passages relevant to the question unbelievably quickly"
)
ENGLISH_WORDS = ENGLISH_PROSE.split()
CHINESE_TEXT = "检索增强生成系统把文档切分成片段再用嵌入模型转换为向量并存入向量数据库"


@pytest.fixture(scope="module")
def tokenizer() -> SentenceTransformerEmbedder:
    """Return the bundled embedder; only its tokenizer is used, so no weights load."""
    return SentenceTransformerEmbedder("")


def chunk(
    tokenizer: SentenceTransformerEmbedder,
    *sections: Section,
    chunk_tokens: int = 200,
    overlap_tokens: int = 0,
) -> list[Chunk]:
    document = Document(path="doc.txt", kind="txt", sections=tuple(sections))
    return chunk_document(
        document,
        count_tokens=tokenizer.count_tokens,
        token_offsets=tokenizer.token_offsets,
        chunk_tokens=chunk_tokens,
        overlap_tokens=overlap_tokens,
        max_tokens=tokenizer.max_tokens,
    )


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


def assert_tiles(text: str, chunks: list[Chunk]) -> None:
    """Without overlap, the chunks are consecutive slices covering all but whitespace."""
    pos = 0
    for piece in chunks:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        assert text.startswith(piece.text, pos), (pos, piece.text[:40])
        pos += len(piece.text)
    assert not text[pos:].strip()


def assert_within_limit(tokenizer: SentenceTransformerEmbedder, chunks: list[Chunk], limit: int):
    for piece in chunks:
        assert piece.text.strip() == piece.text and piece.text
        assert piece.tokens == tokenizer.count_tokens(piece.text)
        assert piece.tokens <= limit, (piece.tokens, piece.text[:60])


def english_sentences(
    rng: random.Random, n: int, *, min_words: int = 4, max_words: int = 18
) -> list[str]:
    """Return N numbered sentences; the number makes each one unique."""
    out = []
    for i in range(n):
        words = [rng.choice(ENGLISH_WORDS) for _ in range(rng.randint(min_words, max_words))]
        out.append(f"Sentence {i} says {' '.join(words)}.")
    return out


# -- sentences --------------------------------------------------------------------------------


def test_split_sentences_english() -> None:
    text = "Hello world. How are you?  Fine!  Pi is 3.14 today.\n\nA new paragraph"
    assert sentences(text) == [
        "Hello world.",
        "How are you?",
        "Fine!",
        "Pi is 3.14 today.",  # no space after the dot inside a number: no break
        "A new paragraph",
    ]


def test_split_sentences_chinese_needs_no_space_after_punctuation() -> None:
    text = "你好。今天天气很好！真的吗？是的；好"
    assert sentences(text) == ["你好。", "今天天气很好！", "真的吗？", "是的；", "好"]


def test_split_sentences_keeps_closing_quotes_and_mixed_text() -> None:
    text = "他说：“好。”然后走了。Then he left. 最后回来了？"
    assert sentences(text) == ["他说：“好。”", "然后走了。", "Then he left.", "最后回来了？"]


def test_split_sentences_spans_are_trimmed_slices() -> None:
    text = "  First one.   Second one.\n\n\n   Third\n"
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["First one.", "Second one.", "Third"]
    assert all(not text[s].isspace() and not text[e - 1].isspace() for s, e in spans)


def test_split_sentences_breaks_before_bullets() -> None:
    assert sentences("Items:\n- one\n- two") == ["Items:", "- one", "- two"]


# -- the tokenizer ----------------------------------------------------------------------------


def test_tokenizer_does_not_truncate_at_128(tokenizer: SentenceTransformerEmbedder) -> None:
    # The bundled tokenizer.json truncates at 128; counting must see every token.
    text = "hello world " * 150
    assert tokenizer.count_tokens(text) == 300
    assert len(tokenizer.token_offsets(text)) == 300


def test_max_tokens_is_the_model_window_minus_special_tokens(
    tokenizer: SentenceTransformerEmbedder,
) -> None:
    model_dir = bundled_embedder_dir()
    assert model_dir is not None
    config = json.loads((Path(model_dir) / "sentence_bert_config.json").read_text())
    assert tokenizer.max_tokens == config["max_seq_length"] - 2
    assert tokenizer.max_tokens > 128


def test_token_offsets_are_character_spans(tokenizer: SentenceTransformerEmbedder) -> None:
    text = "Cosine similarity 相似"
    offsets = tokenizer.token_offsets(text)
    assert len(offsets) == tokenizer.count_tokens(text)
    assert offsets[0][0] == 0
    assert offsets[-1][1] == len(text)
    assert all(0 <= s < e <= len(text) for s, e in offsets)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(offsets))
    assert "".join(text[s:e] for s, e in offsets) == text.replace(" ", "")


# -- sizes ------------------------------------------------------------------------------------


def test_long_english_chunks_fit_the_limit(tokenizer: SentenceTransformerEmbedder) -> None:
    text = " ".join(english_sentences(random.Random(1), 120))
    assert tokenizer.count_tokens(text) > 1000
    chunks = chunk(tokenizer, Section(text), chunk_tokens=100)
    assert len(chunks) >= 10
    assert_within_limit(tokenizer, chunks, 100)
    assert_tiles(text, chunks)
    # Chunks break at sentence ends when sentences are short enough.
    assert all(piece.text.endswith(".") for piece in chunks)


def test_chunk_tokens_is_capped_at_the_embedder_window(
    tokenizer: SentenceTransformerEmbedder,
) -> None:
    text = " ".join(english_sentences(random.Random(2), 200))
    chunks = chunk(tokenizer, Section(text), chunk_tokens=10_000)
    assert len(chunks) > 1
    assert_within_limit(tokenizer, chunks, tokenizer.max_tokens)


def test_long_chinese_without_punctuation(tokenizer: SentenceTransformerEmbedder) -> None:
    text = CHINESE_TEXT * 30
    chunks = chunk(tokenizer, Section(text), chunk_tokens=50)
    assert len(chunks) >= tokenizer.count_tokens(text) // 50
    assert_within_limit(tokenizer, chunks, 50)
    assert "".join(piece.text for piece in chunks) == text


def test_single_giant_word(tokenizer: SentenceTransformerEmbedder) -> None:
    # No whitespace anywhere. (A run of letters over 100 characters would be one [UNK].)
    text = "state-of-the-art/" * 300
    assert tokenizer.count_tokens(text) > 1000
    chunks = chunk(tokenizer, Section(text), chunk_tokens=64)
    assert len(chunks) > 1
    assert_within_limit(tokenizer, chunks, 64)
    assert "".join(piece.text for piece in chunks) == text


def test_long_sentence_is_cut_between_words(tokenizer: SentenceTransformerEmbedder) -> None:
    rng = random.Random(3)
    text = " ".join(rng.choice(ENGLISH_WORDS) for _ in range(400)) + "."
    chunks = chunk(tokenizer, Section(text), chunk_tokens=40)
    assert_within_limit(tokenizer, chunks, 40)
    assert_tiles(text, chunks)
    words = set(ENGLISH_WORDS)
    for piece in chunks[:-1]:
        assert piece.text.split()[-1] in words  # not cut inside a word


# -- where chunks come from -------------------------------------------------------------------


def test_chunks_are_slices_of_their_section_and_carry_its_place(
    tokenizer: SentenceTransformerEmbedder,
) -> None:
    rng = random.Random(4)
    sections = [
        Section(" ".join(english_sentences(rng, 30)), page=1),
        Section(CHINESE_TEXT + "。" + CHINESE_TEXT * 5, page=2, heading="安装 > GPU"),
        Section(" ".join(english_sentences(rng, 5)), heading="Usage"),
    ]
    chunks = chunk(tokenizer, *sections, chunk_tokens=60)
    assert [piece.index for piece in chunks] == list(range(len(chunks)))
    by_place = {(s.page, s.heading): s for s in sections}
    for piece in chunks:
        section = by_place[(piece.page, piece.heading)]
        assert piece.text in section.text
    assert {(p.page, p.heading) for p in chunks} == set(by_place)
    # Sections are chunked in order and never merged.
    places = [(p.page, p.heading) for p in chunks]
    assert places == sorted(places, key=list(by_place).index)


def test_table_sections_split_only_between_rows(tokenizer: SentenceTransformerEmbedder) -> None:
    rows = [f"| row {i} | model all-MiniLM-L6-v2 | 384 dims. score 0.{i} | ok |" for i in range(60)]
    text = "\n".join(rows)
    chunks = chunk(tokenizer, Section(text, is_table=True, page=3), chunk_tokens=50)
    assert len(chunks) > 1
    assert_within_limit(tokenizer, chunks, 50)
    for piece in chunks:
        assert piece.page == 3
        assert all(line in rows for line in piece.text.split("\n"))
    # The same text as prose would be cut at the ". " inside rows.
    prose = chunk(tokenizer, Section(text), chunk_tokens=50)
    assert any(line not in rows for piece in prose for line in piece.text.split("\n"))


def test_table_header_is_repeated_in_every_chunk(tokenizer: SentenceTransformerEmbedder) -> None:
    header = "| Product | Unit price (EUR) | Stock |"
    rows = [f"| widget-{i:02d} | {10 + i}.50 | {100 - i} |" for i in range(40)]
    text = "\n".join([header, *rows])

    chunks = chunk(tokenizer, Section(text, is_table=True), chunk_tokens=60, overlap_tokens=20)

    assert len(chunks) > 2
    assert_within_limit(tokenizer, chunks, 60)
    assert all(piece.text.split("\n")[0] == header for piece in chunks)
    # Every row once, in order, none cut and none repeated (the header stands in for overlap).
    body = [line for piece in chunks for line in piece.text.split("\n")[1:]]
    assert body == rows


# -- overlap ----------------------------------------------------------------------------------


def shared_prefix(previous: str, following: str) -> str:
    """Return the longest start of FOLLOWING that PREVIOUS ends with."""
    for size in range(min(len(previous), len(following)), 0, -1):
        if previous.endswith(following[:size]):
            return following[:size]
    return ""


def test_overlap_repeats_trailing_sentences(tokenizer: SentenceTransformerEmbedder) -> None:
    text = " ".join(english_sentences(random.Random(5), 60, max_words=8))
    chunks = chunk(tokenizer, Section(text), chunk_tokens=80, overlap_tokens=30)
    assert len(chunks) > 3
    assert_within_limit(tokenizer, chunks, 80)
    for previous, following in itertools.pairwise(chunks):
        shared = shared_prefix(previous.text, following.text)
        assert shared, (previous.text[-60:], following.text[:60])
        # The overlap is whole sentences, at most the overlap budget.
        assert sentences(shared) == sentences(previous.text)[-len(sentences(shared)) :]
        assert tokenizer.count_tokens(shared) <= 30
        assert following.text != shared  # always makes progress


def test_sentence_longer_than_overlap_is_not_repeated(
    tokenizer: SentenceTransformerEmbedder,
) -> None:
    # Only whole sentences are carried over: one over the overlap budget is not.
    text = " ".join(english_sentences(random.Random(6), 40, min_words=14, max_words=18))
    chunks = chunk(tokenizer, Section(text), chunk_tokens=80, overlap_tokens=8)
    assert len(chunks) > 3
    assert_tiles(text, chunks)


def test_no_overlap_when_overlap_is_zero(tokenizer: SentenceTransformerEmbedder) -> None:
    text = " ".join(english_sentences(random.Random(5), 60))
    chunks = chunk(tokenizer, Section(text), chunk_tokens=80, overlap_tokens=0)
    assert_tiles(text, chunks)
    seen: set[str] = set()
    for piece in chunks:
        mine = set(sentences(piece.text))
        assert not mine & seen
        seen |= mine
    assert seen == set(sentences(text))


# -- property: any text -----------------------------------------------------------------------

_PIECES = (
    *ENGLISH_WORDS,
    "检索增强生成",
    "向量数据库",
    "余弦相似度",
    "。",
    "！",
    "？",
    "；",
    ".",
    "?",
    ",",
    "\n",
    "\n\n",
    "x" * 40,
    "αβγδε",
    "😀",
    "12345.678",
    "e.g.",
    "- ",
)


def random_text(rng: random.Random) -> str:
    separator = rng.choice([" ", " ", ""])
    return separator.join(rng.choice(_PIECES) for _ in range(rng.randint(1, 300)))


@pytest.mark.parametrize("seed", range(40))
def test_random_text_chunks_fit_and_tile(tokenizer: SentenceTransformerEmbedder, seed: int) -> None:
    rng = random.Random(seed)
    text = random_text(rng)
    limit = rng.choice([8, 16, 32, 64, 200])
    chunks = chunk(tokenizer, Section(text, page=seed), chunk_tokens=limit, overlap_tokens=0)
    assert_within_limit(tokenizer, chunks, limit)
    assert_tiles(text, chunks)  # no text is lost
    assert all(piece.page == seed for piece in chunks)

    overlapping = chunk(tokenizer, Section(text), chunk_tokens=limit, overlap_tokens=limit // 2)
    assert_within_limit(tokenizer, overlapping, limit)
    assert all(piece.text in text for piece in overlapping)
    assert len(overlapping) >= len(chunks)
