"""Evidence: citations in answers and verbatim supporting quotes."""

from __future__ import annotations

import random

import pytest

from ragkb.query.evidence import (
    MAX_QUOTE_CHARS,
    MAX_QUOTES,
    SentencePool,
    cited_numbers,
    drop_invalid_citations,
    select_evidence,
)
from ragkb.types import Evidence, Hit

ENGLISH = (
    "The weather was pleasant yesterday afternoon. "
    "Cosine similarity measures the angle between two embedding vectors. "
    "Chroma stores embeddings in persistent collections on disk."
)
CHINESE = (
    "今天的天气非常晴朗。余弦相似度通过计算两个向量夹角的余弦值来评估相似程度！"
    "向量数据库保存文档片段的嵌入向量？"
)
FUSION = (
    "Reciprocal rank fusion merges keyword and vector rankings by rank. "
    "Documents that both rankings find rise to the top of the fused list."
)


def make_hit(number: int, text: str) -> Hit:
    return Hit(
        chunk_id=f"chunk-{number}",
        text=text,
        source=f"/docs/source{number}.txt",
        page=number,
        heading=f"Section {number}",
        score=0.9,
        distance=0.1,
        rank=number,
    )


def assert_verbatim(evidence: tuple[Evidence, ...], hits: list[Hit]) -> None:
    by_id = {hit.chunk_id: hit for hit in hits}
    for item in evidence:
        hit = by_id[item.chunk_id]
        assert hit.text[item.start : item.end] == item.quote
        assert item.quote == item.quote.strip() and item.quote
        assert (item.source, item.page, item.section) == (hit.source, hit.page, hit.heading)


# -- citations --------------------------------------------------------------------------------


def test_cited_numbers_in_order_of_first_appearance() -> None:
    assert cited_numbers("See [2] and [1]; also [2], [10] and [x] or [1000].") == [2, 1, 10]
    assert cited_numbers("No citations here.") == []


def test_drop_invalid_citations_keeps_valid_ones() -> None:
    text, invalid = drop_invalid_citations("Cosine is an angle [1]. It is fast [7].", 3)
    assert invalid == (7,)
    assert "[7]" not in text
    assert "[1]" in text
    assert text.startswith("Cosine is an angle [1]. It is fast")


def test_drop_invalid_citations_zero_and_repeats() -> None:
    text, invalid = drop_invalid_citations("A [0] B [4] C [4] D [3]", 3)
    assert invalid == (0, 4)
    assert text == "A B C D [3]"


def test_drop_invalid_citations_leaves_a_valid_answer_alone() -> None:
    answer = "Both [1] and [3]  agree."
    assert drop_invalid_citations(answer, 3) == (answer, ())


# -- quotes -----------------------------------------------------------------------------------


def test_best_matching_sentence_is_quoted_verbatim() -> None:
    hits = [make_hit(1, ENGLISH), make_hit(2, FUSION)]
    evidence = select_evidence(
        "What does cosine similarity measure?",
        "It measures the angle between two vectors.",
        hits,
        embed=None,
    )
    assert evidence
    assert (
        evidence[0].quote == "Cosine similarity measures the angle between two embedding vectors."
    )
    assert evidence[0].chunk_id == "chunk-1"
    assert not evidence[0].trimmed
    assert_verbatim(evidence, hits)


def test_cited_sources_come_first() -> None:
    hits = [make_hit(1, ENGLISH), make_hit(2, FUSION)]
    question = "What does cosine similarity measure?"
    uncited = select_evidence(question, "It measures angles.", hits, embed=None)
    assert uncited[0].chunk_id == "chunk-1"
    # The answer cites only [2], so its sentences lead though [1] matches the question better.
    cited = select_evidence(question, "Rankings are fused by rank [2].", hits, embed=None)
    numbers = [item.chunk_id for item in cited]
    assert numbers[0] == "chunk-2"
    assert numbers == sorted(numbers, key=lambda cid: cid != "chunk-2")
    assert_verbatim(cited, hits)


def test_chinese_quote_ends_at_a_chinese_sentence_end() -> None:
    hits = [make_hit(1, CHINESE)]
    evidence = select_evidence(
        "余弦相似度怎么计算？", "通过向量夹角的余弦值 [1]。", hits, embed=None
    )
    assert evidence[0].quote == "余弦相似度通过计算两个向量夹角的余弦值来评估相似程度！"
    for item in evidence:
        assert item.quote[-1] in "。！？"
    assert_verbatim(evidence, hits)


def test_long_english_sentence_is_trimmed_at_a_word_boundary() -> None:
    rng = random.Random(7)
    words = ["cosine", "similarity", "angle", "vectors", "embedding", "collection", "ranking"]
    sentence = "Cosine " + " ".join(rng.choice(words) for _ in range(80)) + "."
    text = f"Short opening sentence here. {sentence}"
    hits = [make_hit(1, text)]
    evidence = select_evidence("cosine similarity angle", "It is the angle.", hits, embed=None)
    long_quote = next(item for item in evidence if item.quote.startswith("Cosine"))
    assert long_quote.trimmed
    assert len(long_quote.quote) <= MAX_QUOTE_CHARS
    assert sentence.startswith(long_quote.quote)
    assert text[long_quote.end].isspace()  # cut before a space, not inside a word
    assert long_quote.quote.split()[-1] in words
    assert_verbatim(evidence, hits)


def test_long_chinese_sentence_is_trimmed_after_a_comma() -> None:
    clause = "余弦相似度衡量两个向量之间的夹角"
    text = "，".join([clause] * 30) + "。"
    hits = [make_hit(1, text)]
    evidence = select_evidence("余弦相似度是什么？", "夹角 [1]", hits, embed=None)
    assert len(evidence) == 1
    assert evidence[0].trimmed
    assert evidence[0].quote.endswith("，")
    assert len(evidence[0].quote) <= MAX_QUOTE_CHARS
    assert_verbatim(evidence, hits)


def test_no_duplicate_quotes_and_at_most_three() -> None:
    hits = [make_hit(n, ENGLISH + " " + FUSION) for n in (1, 2, 3)]
    evidence = select_evidence(
        "cosine similarity chroma rank fusion", "Several things [1][2][3].", hits, embed=None
    )
    quotes = [item.quote for item in evidence]
    assert len(quotes) == MAX_QUOTES == 3
    assert len(set(quotes)) == len(quotes)
    assert_verbatim(evidence, hits)
    assert len(select_evidence("cosine", "x", hits, embed=None, max_quotes=1)) == 1


def test_sentences_too_short_to_quote_give_nothing() -> None:
    assert select_evidence("ok?", "Yes.", [make_hit(1, "Yes. No. Ok.")], embed=None) == ()
    assert select_evidence("anything", "answer", [], embed=None) == ()


def test_embedder_scores_meaning_beyond_keywords() -> None:
    hits = [make_hit(1, ENGLISH)]
    target = "Chroma stores embeddings in persistent collections on disk."

    def embed(texts: list[str]) -> list[list[float]]:
        # Question, answer and the target sentence point the same way; the rest are orthogonal.
        same = {"Where do vectors live?", "In storage.", target}
        return [[1.0, 0.0] if t in same else [0.0, 1.0] for t in texts]

    # No keyword is shared with any sentence, so only the embedder can find the target.
    evidence = select_evidence("Where do vectors live?", "In storage.", hits, embed=embed)
    assert evidence[0].quote == target
    without = select_evidence("Where do vectors live?", "In storage.", hits, embed=None)
    assert without[0].quote != target


@pytest.mark.parametrize("seed", range(3))
def test_quotes_are_always_verbatim(seed: int) -> None:
    rng = random.Random(seed)
    pieces = [*ENGLISH.split(), *list(CHINESE), "，", ", ", "\n\n", "x" * 50]
    hits = [
        make_hit(n, "".join(rng.choice(pieces) + rng.choice([" ", ""]) for _ in range(400)))
        for n in (1, 2)
    ]
    evidence = select_evidence("cosine 向量 angle", "Angle [2] and [1].", hits, embed=None)
    assert 0 < len(evidence) <= MAX_QUOTES
    assert all(len(item.quote) <= MAX_QUOTE_CHARS for item in evidence)
    assert_verbatim(evidence, hits)


def test_rare_question_words_beat_a_topical_introduction() -> None:
    text = (
        "This guide explains how the search guide works in a search system. "
        "We recommend an overlap of 60 tokens between chunks."
    )
    hits = [make_hit(1, text)]
    question = "What overlap does the search guide recommend?"
    common = {"guide": 0.1, "search": 0.1, "system": 0.2}

    def idf(word: str) -> float:
        return common.get(word, 3.0)

    plain = select_evidence(question, "", hits, embed=None, max_quotes=1)
    weighted = select_evidence(question, "", hits, embed=None, max_quotes=1, idf=idf)
    assert plain[0].quote.startswith("This guide")  # more shared words, all of them common
    assert weighted[0].quote.startswith("We recommend an overlap")
    assert_verbatim(weighted, hits)


def test_a_dropped_citation_takes_its_space_with_it() -> None:
    from ragkb.query.evidence import drop_invalid_citations

    assert drop_invalid_citations("Trees link spans [1]. See also [9].", 2) == (
        "Trees link spans [1]. See also.",
        (9,),
    )


# -- the sentence pool: lead line, focused passages, support check ------------------------------


def test_lead_is_the_sentence_that_answers_the_question() -> None:
    hits = [make_hit(1, ENGLISH), make_hit(2, FUSION)]
    pool = SentencePool("What does reciprocal rank fusion merge?", hits, embed=None)
    lead = pool.lead()
    assert lead is not None
    assert lead.quote == FUSION  # the best sentence and the one after it in its passage
    assert lead.chunk_id == "chunk-2"
    assert_verbatim((lead,), hits)
    assert SentencePool("anything", [], embed=None).lead() is None


def test_the_first_retrieved_passage_wins_a_near_tie_for_the_lead() -> None:
    hits = [
        make_hit(1, "The cache size is 64 megabytes."),
        make_hit(2, "The default cache size was 32 megabytes."),
    ]
    weights = {"cache": 10.0, "size": 10.0, "default": 0.5}

    def lead() -> str | None:
        pool = SentencePool(
            "What is the default cache size?", hits, embed=None, idf=lambda w: weights[w]
        )
        found = pool.lead()
        return found.chunk_id if found else None

    assert lead() == "chunk-1"  # 0.98 of the question's weight against 1.0, one place higher
    weights["default"] = 10.0
    assert lead() == "chunk-2"  # 0.67 against 1.0: the better sentence leads from further down


@pytest.mark.parametrize(
    ("question", "text", "definition"),
    [
        # The quick start's question led with the first sentence (a new-user trial).
        (
            "What is a trace tree?",
            "The trace tree shows which operation caused which in the tree. Trace trees\n"
            "A trace tree is the tree formed by all spans of a single request.",
            "Trace trees\nA trace tree is",
        ),
        (
            "GGUF 是什么？",
            "一个 GGUF 文件同时包含模型权重、分词器和对话模板。"
            "GGUF 是 llama.cpp 使用的模型文件格式。",
            "GGUF 是 llama.cpp",
        ),
        (
            "What is HNSW?",
            "We tune HNSW for recall. HNSW (Hierarchical Navigable Small World) is a graph index.",
            "HNSW (Hierarchical",
        ),
    ],
)
def test_a_what_is_question_leads_with_the_sentence_that_defines_the_term(
    question: str, text: str, definition: str
) -> None:
    pool = SentencePool(question, [make_hit(1, text)], embed=None, idf=lambda w: 1.0)
    assert pool.lead().quote.startswith(definition)  # type: ignore[union-attr]


def test_only_a_question_asking_for_a_definition_favours_one() -> None:
    hits = [make_hit(1, "The default rate is ten percent. The rate is the share of traces kept.")]
    pool = SentencePool("What is the default rate?", hits, embed=None, idf=lambda w: 1.0)
    assert pool.lead().quote.startswith("The default rate is ten percent.")  # type: ignore[union-attr]


def test_lead_takes_the_next_sentence_only_from_its_own_passage_and_within_one_quote() -> None:
    last = "Chroma stores embeddings in persistent collections on disk."
    pool = SentencePool(
        "Where does Chroma store embeddings on disk?", [make_hit(1, ENGLISH)], embed=None
    )
    assert pool.lead().quote == last  # type: ignore[union-attr]  # the passage's last sentence
    long_next = "Chroma stores embeddings on disk. " + "It " + "keeps them all " * 30 + "."
    pool = SentencePool("Where does Chroma store embeddings?", [make_hit(1, long_next)], embed=None)
    assert pool.lead().quote == "Chroma stores embeddings on disk."  # type: ignore[union-attr]


def test_windows_show_the_best_sentences_and_mark_what_was_left_out() -> None:
    long_text = " ".join(f"Filler sentence number {n} about nothing." for n in range(8))
    answer = "The frobnicator cache holds 64 megabytes."
    hits = [make_hit(1, FUSION), make_hit(2, f"{long_text} {answer} {long_text}")]
    pool = SentencePool("How big is the frobnicator cache?", hits, embed=None)
    [(hit, text)] = pool.windows(best=1, around=1)
    # Only the source that holds the best sentence, with one neighbour each side.
    assert hit == hits[1]
    assert answer in text
    assert text.count("Filler") == 2
    assert len(text) < len(hits[1].text) / 3
    assert SentencePool("q", [], embed=None).windows(best=2) == []


def test_windows_elide_the_text_between_two_picked_sentences() -> None:
    text = "Alpha cache holds pages. Filler one is here. Filler two is here. Alpha cache is big."
    pool = SentencePool("alpha cache", [make_hit(1, text)], embed=None)
    [(_, shown)] = pool.windows(best=2, around=0)
    assert shown == "Alpha cache holds pages. … Alpha cache is big."


def test_quotes_and_support_number_the_sources_the_model_saw() -> None:
    hits = [make_hit(1, ENGLISH), make_hit(2, FUSION)]
    pool = SentencePool("What does fusion merge?", hits, embed=None)
    # The model saw only source 2, as [1]: its citation [1] means chunk-2.
    quotes = pool.quotes("Rankings are merged [1].", shown=[hits[1]])
    assert {q.chunk_id for q in quotes} == {"chunk-2"}
    sentences, _ = pool.support("Cosine similarity measures the angle.", floor=0.0, shown=[hits[1]])
    assert [s.supported for s in sentences] == [False]  # only source 1 says it


def test_support_check_flags_a_number_the_passages_never_state() -> None:
    hits = [make_hit(1, "Beacon accepts at most 128 attributes per span. Spans have kinds.")]
    pool = SentencePool("How many attributes can a span carry?", hits, embed=None)
    sentences, backing = pool.support(
        "A span carries at most 128 attributes [1]. A span carries at most 512 attributes.",
        floor=0.0,
    )
    assert [s.supported for s in sentences] == [True, False]
    assert sentences[0].text == "A span carries at most 128 attributes [1]."
    assert backing == {"Beacon accepts at most 128 attributes per span."}
    # A unit written onto a number makes it another quantity; the passage may space it.
    hits = [make_hit(1, "Beacon keeps 10 files of 64 MB each. Spans have kinds.")]
    pool = SentencePool("How large are Beacon's files?", hits, embed=None)
    sentences, _ = pool.support(
        "Beacon keeps 10 files of 64MB each. Beacon keeps 10M files of 64 MB each.", floor=0.0
    )
    assert [s.supported for s in sentences] == [True, False]


def test_support_check_flags_a_name_the_passages_never_state() -> None:
    # A new-user trial: "... must be made with the Berlin-based company GlobetraKommunikation
    # (GK)" was marked supported, its other words being the passage's.
    passage = "Hotel bookings must be made with the travel desk. The nightly limit is 150 EUR."
    pool = SentencePool("Who books hotels?", [make_hit(1, passage)], embed=None)
    sentences, _ = pool.support(
        "Hotel bookings must be made with the travel desk. "
        "Hotel bookings must be made with the travel desk GlobetraKommunikation (GK).",
        floor=0.0,
    )
    assert [s.supported for s in sentences] == [True, False]


def test_support_check_flags_words_no_passage_holds() -> None:
    pool = SentencePool("What is cosine similarity?", [make_hit(1, ENGLISH)], embed=None)
    sentences, backing = pool.support(
        "Cosine similarity measures the angle between vectors. Bananas grow in tropical farms.",
        floor=0.0,
    )
    assert [s.supported for s in sentences] == [True, False]
    assert len(backing) == 1
    assert pool.support("", floor=0.0) == ((), set())
    numbered, _ = pool.support("1. Cosine similarity measures the angle. 2. [1]", floor=0.0)
    assert [s.text for s in numbered] == ["Cosine similarity measures the angle."]


def test_support_check_accepts_a_paraphrase_the_embedder_finds_close() -> None:
    paraphrase = "Vectors are kept in collections that persist."
    target = "Chroma stores embeddings in persistent collections on disk."

    def embed(texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0] if t in {paraphrase, target} else [0.0, 1.0] for t in texts]

    hits = [make_hit(1, ENGLISH)]
    with_embedder = SentencePool("Where do vectors live?", hits, embed=embed)
    assert [s.supported for s in with_embedder.support(paraphrase, floor=0.5)[0]] == [True]
    keywords_only = SentencePool("Where do vectors live?", hits, embed=None)
    assert [s.supported for s in keywords_only.support(paraphrase, floor=0.5)[0]] == [False]


def test_an_evidence_quote_never_repeats_the_lead_line() -> None:
    """Not its slice of the passage, nor the same words in an overlapping chunk or a copy (a
    new-user trial saw the lead sentence again among the quotes)."""
    from ragkb.query.ask import _within
    from ragkb.types import Evidence

    text = "The lamp is replaced every 18 months. The tower is painted white."
    lead = Evidence("/d/a.md", None, None, "c1", text, 0, len(text), False, False)
    same_chunk = Evidence("/d/a.md", None, None, "c1", text[:37], 0, 37, False, False)
    overlap = Evidence("/d/a.md", None, None, "c2", "The lamp is replaced  every 18 months.",
                       100, 138, False, False)  # fmt: skip
    other = Evidence("/d/a.md", None, None, "c2", "The keeper lives on the island.",
                     200, 231, False, False)  # fmt: skip
    assert _within(same_chunk, lead) and _within(overlap, lead)
    assert not _within(other, lead) and not _within(other, None)
