"""Prompt packing: prompt tokens + max_tokens <= n_ctx, dropping and trimming in order."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest

from ragkb.errors import ConfigError
from ragkb.language import language_of, split_sentences
from ragkb.query.prompting import (
    CONTEXT_HEADER,
    DEFAULT_SYSTEM_PROMPT,
    FOCUSED_SYSTEM_PROMPT,
    FULL_STYLE,
    NO_THINK_SWITCH,
    TRIMMED_NOTE,
    Turn,
    answer_style,
    pack_prompt,
    prompt_style,
    resolve_system_prompt,
    rewrite_messages,
)
from ragkb.types import Hit, Message

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

SYSTEM = "Answer from the passages."
QUESTION = "How does cosine similarity rank passages?"


def count_words(messages: list[Message]) -> int:
    """A stand-in tokenizer: whitespace-separated words of every message."""
    return sum(len(m["content"].split()) for m in messages)


def make_hit(rank: int, text: str, *, source: str | None = None) -> Hit:
    return Hit(
        chunk_id=f"c{rank}",
        text=text,
        source=source or f"/docs/doc{rank}.txt",
        page=rank,
        heading=None,
        score=1.0 - rank / 10,
        distance=rank / 10,
        rank=rank,
    )


def sentence_text(tag: str, n: int, words: int = 9) -> str:
    """Return N sentences of WORDS words each, tagged so they can be told apart."""
    return " ".join(f"{tag}{i} " + " ".join(["word"] * (words - 1)) + "." for i in range(n))


def pack(
    hits: Sequence[Hit],
    *,
    n_ctx: int,
    max_tokens: int = 10,
    history: Sequence[Turn] = (),
    question: str = QUESTION,
):
    return pack_prompt(
        question,
        hits,
        system_prompt=SYSTEM,
        history=history,
        count_tokens=count_words,
        n_ctx=n_ctx,
        max_tokens=max_tokens,
    )


def size_of(hits: Sequence[Hit], history: Sequence[Turn] = ()) -> int:
    """Return the prompt size with everything kept (a budget too big to force any trimming)."""
    packed = pack(hits, n_ctx=10**9, history=history)
    assert packed.dropped_chunks == 0 and packed.trimmed_turns == 0
    return packed.prompt_tokens


def user_content(messages: list[Message]) -> str:
    assert messages[-1]["role"] == "user"
    return messages[-1]["content"]


def test_everything_fits() -> None:
    hits = [make_hit(1, "Alpha text."), make_hit(2, "Beta text.")]
    history = [Turn("Earlier question?", "Earlier answer.")]
    packed = pack(hits, n_ctx=1000, history=history)
    assert packed.sources == tuple(hits)
    assert (packed.dropped_chunks, packed.trimmed_turns, packed.trimmed_chunk) == (0, 0, False)
    assert [m["role"] for m in packed.messages] == ["system", "user", "assistant", "user"]
    assert packed.messages[0]["content"] == SYSTEM
    content = user_content(packed.messages)
    assert content.startswith(CONTEXT_HEADER)
    assert content.index("[1] doc1.txt, page 1\nAlpha text.") < content.index("[2] doc2.txt")
    assert content.endswith(f"Question: {QUESTION}")
    assert packed.prompt_tokens == count_words(packed.messages)


def test_no_think_switch_ends_the_question_and_is_counted() -> None:
    hits = [make_hit(1, "Alpha text.")]
    plain = pack(hits, n_ctx=1000)
    switched = pack_prompt(
        QUESTION,
        hits,
        system_prompt=SYSTEM,
        history=[Turn("Earlier question?", "Earlier answer.")],
        count_tokens=count_words,
        n_ctx=1000,
        max_tokens=10,
        question_suffix=NO_THINK_SWITCH,
    )
    assert user_content(switched.messages).endswith(f"Question: {QUESTION}\n/no_think")
    assert switched.messages[1]["content"] == "Earlier question?"  # only the new turn
    assert switched.prompt_tokens == count_words(switched.messages) > plain.prompt_tokens
    rewrite = rewrite_messages([Turn("q?", "a.")], "and its speed?", NO_THINK_SWITCH)
    assert rewrite[-1]["content"].endswith("Last question: and its speed?\n/no_think")


def test_no_hits_sends_the_question_alone() -> None:
    packed = pack([], n_ctx=1000)
    assert user_content(packed.messages) == QUESTION
    assert packed.sources == ()


def test_drops_lowest_ranked_passages_first() -> None:
    hits = [make_hit(r, sentence_text(f"h{r}x", 5)) for r in (1, 2, 3, 4)]
    two = size_of(hits[:2])
    packed = pack(hits, n_ctx=two + 10, max_tokens=10)
    assert packed.sources == tuple(hits[:2])
    assert packed.dropped_chunks == 2
    assert packed.prompt_tokens == two
    assert "h3x0" not in user_content(packed.messages)


def test_keeps_the_best_passage_even_if_others_are_shorter() -> None:
    best = make_hit(1, sentence_text("best", 6))
    short = [make_hit(r, "Tiny.") for r in (2, 3)]
    one = size_of([best])
    packed = pack([best, *short], n_ctx=one + 10)
    assert packed.sources == (best,)
    assert packed.dropped_chunks == 2
    assert not packed.trimmed_chunk


def test_trims_oldest_turns_after_dropping_passages() -> None:
    hits = [make_hit(1, sentence_text("best", 3)), make_hit(2, sentence_text("other", 3))]
    history = [Turn(f"question {i} " * 5, f"answer {i} " * 5) for i in range(3)]
    fits = size_of(hits[:1], history[2:])
    packed = pack(hits, n_ctx=fits + 10, history=history)
    assert packed.sources == (hits[0],)
    assert packed.trimmed_turns == 2
    assert not packed.trimmed_chunk
    contents = [m["content"] for m in packed.messages]
    assert history[2].question in contents
    assert history[2].answer in contents
    assert history[0].question not in contents
    assert hits[0].text in user_content(packed.messages)  # the passage is whole


def test_trims_the_best_passage_to_whole_sentences_last() -> None:
    text = sentence_text("s", 8)
    hits = [make_hit(1, text), make_hit(2, sentence_text("other", 2))]
    history = [Turn("old question here", "old answer here")]
    kept = text[: split_sentences(text)[2][1]]  # three of eight sentences
    budget = size_of([make_hit(1, f"{kept} {TRIMMED_NOTE}")])
    packed = pack(hits, n_ctx=budget + 10, history=history)
    assert packed.trimmed_chunk
    assert packed.trimmed_turns == 1  # turns went before the passage was cut
    assert packed.sources == (hits[0],)
    assert packed.dropped_chunks == 1
    content = user_content(packed.messages)
    assert f"{kept} {TRIMMED_NOTE}" in content
    assert "s3" not in content
    assert packed.prompt_tokens <= budget


def test_passage_dropped_entirely_when_only_the_question_fits() -> None:
    hits = [make_hit(1, sentence_text("s", 4))]
    bare = size_of([])
    packed = pack(hits, n_ctx=bare + 10)
    assert packed.sources == ()
    assert packed.dropped_chunks == 1
    assert user_content(packed.messages) == QUESTION


def test_question_alone_too_long_is_a_config_error() -> None:
    bare = size_of([])
    n_ctx = bare - 1 + 10
    with pytest.raises(ConfigError, match=rf"n_ctx {n_ctx} - max_tokens 10 leaves {bare - 1}"):
        pack([make_hit(1, "Some text.")], n_ctx=n_ctx, max_tokens=10)
    # Exactly the room the question needs is enough.
    assert pack([make_hit(1, "Some text.")], n_ctx=bare + 10).prompt_tokens == bare


@pytest.mark.parametrize("seed", range(5))
def test_budget_holds_for_random_inputs(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(60):
        hits = [
            make_hit(r, sentence_text(f"h{r}x", rng.randint(1, 8), rng.randint(2, 20)))
            for r in range(1, rng.randint(1, 7))
        ]
        history = [Turn("q " * rng.randint(1, 30), "a " * rng.randint(1, 60))] * rng.randint(0, 4)
        n_ctx = rng.randint(40, 800)
        max_tokens = rng.randint(1, n_ctx - 1)
        try:
            packed = pack(hits, n_ctx=n_ctx, max_tokens=max_tokens, history=history)
        except ConfigError:
            assert size_of([]) > n_ctx - max_tokens
            continue
        assert packed.prompt_tokens + max_tokens <= n_ctx
        assert packed.prompt_tokens == count_words(packed.messages)
        assert packed.dropped_chunks == len(hits) - len(packed.sources)
        assert packed.sources == tuple(hits[: len(packed.sources)])


# -- language and system prompt ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("什么是余弦相似度？", "zh"),
        ("What is cosine similarity?", "en"),
        ("GPU 加速怎么开启？", "zh"),
        ("How do I enable 加速 with the GPU flag on Linux?", "en"),
        ("12345 ?!", "en"),
        ("", "en"),
        # Han characters against words: long identifiers do not make a Chinese question English
        ("journald.conf 中 RateLimitBurst= 的默认值是多少？", "zh"),
        ("什么是 Debian conffile？", "zh"),
        ("| dash | V:894, I:995 | 小和快的 POSIX 兼容 shell，用于 sh |", "zh"),
        ("What does 软件包 mean in Debian?", "en"),
    ],
)
def test_language_of(text: str, language: str) -> None:
    assert language_of(text) == language


def test_resolve_system_prompt(tmp_path: Path) -> None:
    assert resolve_system_prompt("") == ""  # the prompt style's own
    assert resolve_system_prompt("Be terse.") == "Be terse."
    prompt_file = tmp_path / "prompt.txt"
    prompt_file.write_text("\n  只用中文回答。\n\n", encoding="utf-8")
    assert resolve_system_prompt(f"@{prompt_file}") == "只用中文回答。"


def test_missing_system_prompt_file_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "gone.txt"
    with pytest.raises(ConfigError, match=r"gone\.txt"):
        resolve_system_prompt(f"@{missing}")


# -- the real GGUF tokenizer ------------------------------------------------------------------

_ENGLISH_PASSAGES = (
    "Cosine similarity measures the angle between two vectors. It ignores their length, "
    "so long and short passages compare fairly. Chroma stores the vectors in a persistent "
    "collection and returns distances, where lower is closer.",
    "Reciprocal rank fusion merges the keyword and vector rankings by rank, not by score. "
    "Each list contributes one over sixty plus the rank of a document. Documents found by "
    "both lists rise to the top.",
    "The context window holds the prompt and the answer. When the passages do not fit, the "
    "lowest ranked ones are dropped first; then older turns of the conversation go.",
)
_CHINESE_PASSAGES = (
    "余弦相似度是通过计算两个向量夹角的余弦值来评估它们的相似程度。"
    "在检索增强生成系统中，文档被切分成片段，再用嵌入模型转换为向量并存入向量数据库。"
    "查询时，问题也被转换为向量，系统找出最相近的片段。",
    "上下文窗口同时容纳提示和回答！如果片段放不下，先丢弃排名最低的片段；"
    "然后丢弃最早的对话轮次。最后才把最好的片段按句子截短？",
)


@pytest.mark.slow
def test_budget_holds_with_the_real_gguf_tokenizer(tmp_path: Path) -> None:
    from ragkb.build import build_generator
    from ragkb.config import load_settings

    generator = build_generator(load_settings({}, environ={}).generation)
    count = generator.count_tokens
    rng = random.Random(2024)
    questions = ("How does cosine similarity work?", "上下文窗口放不下时怎么办？")
    checked = trimmed = 0
    for case in range(240):
        pool = list(_ENGLISH_PASSAGES + _CHINESE_PASSAGES)
        rng.shuffle(pool)
        hits = [
            make_hit(r, " ".join(pool[(r + j) % len(pool)] for j in range(rng.randint(1, 3))))
            for r in range(1, rng.randint(1, 7))
        ]
        history = [Turn(rng.choice(questions), rng.choice(pool)) for _ in range(rng.randint(0, 4))]
        n_ctx = rng.choice([256, 384, 512, 1024, 2048])
        max_tokens = rng.randint(16, n_ctx // 2)
        question = questions[case % 2]
        try:
            packed = pack_prompt(
                question,
                hits,
                system_prompt=DEFAULT_SYSTEM_PROMPT,
                history=history,
                count_tokens=count,
                n_ctx=n_ctx,
                max_tokens=max_tokens,
            )
        except ConfigError:
            bare = [
                {"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
                {"role": "user", "content": question},
            ]
            assert count(bare) + max_tokens > n_ctx
            continue
        assert packed.prompt_tokens + max_tokens <= n_ctx, (case, n_ctx, max_tokens)
        assert packed.prompt_tokens == count(packed.messages)
        checked += 1
        trimmed += packed.trimmed_chunk
    assert checked >= 200
    assert trimmed > 0  # the combos reached the last resort, not only the easy cases


# -- prompt styles ------------------------------------------------------------------------------


def test_prompt_style_follows_the_model_size() -> None:
    assert prompt_style("auto", 134_515_008, "en").name == "focused"  # SmolLM2-135M
    assert prompt_style("auto", 596_049_920, "en") is FULL_STYLE  # Qwen3-0.6B
    assert prompt_style("auto", None, "en") is FULL_STYLE  # a server's model: unknown size
    assert prompt_style("focused", None, "en").name == "focused"
    assert prompt_style("full", 134_515_008, "zh") is FULL_STYLE


def test_focused_prompt_speaks_the_question_language_and_puts_the_question_last() -> None:
    hits = [make_hit(1, "整段文字。" * 20)]
    question = "上下文窗口放不下时怎么办？"
    packed = pack_prompt(
        question,
        hits,
        system_prompt="",
        history=(),
        count_tokens=count_words,
        n_ctx=2048,
        max_tokens=64,
        style=prompt_style("focused", None, "zh"),
        texts=["最相关的一句。"],
    )
    system, user = packed.messages[0]["content"], user_content(packed.messages)
    assert system == FOCUSED_SYSTEM_PROMPT["zh"]
    # Numbered, without the file's name (a small model copies labels into its answer).
    assert user.startswith("资料：\n\n[1] 最相关的一句。")
    assert "doc1.txt" not in user
    assert "整段文字" not in user  # the given text, not the chunk
    assert user.endswith(f"问题： {question}")
    assert packed.sources == tuple(hits)


def test_the_users_system_prompt_wins_over_the_styles() -> None:
    packed = pack_prompt(
        QUESTION,
        [make_hit(1, "Alpha text.")],
        system_prompt=SYSTEM,
        history=(),
        count_tokens=count_words,
        n_ctx=1000,
        max_tokens=10,
        style=prompt_style("focused", None, "en"),
    )
    assert packed.messages[0]["content"] == SYSTEM
    assert user_content(packed.messages).startswith("Passages:")


def test_answer_style_auto_gives_a_small_model_the_lead_sentence_alone() -> None:
    assert answer_style("auto", 134_515_008) == "extractive"
    assert answer_style("auto", 596_049_920) == "both"
    assert answer_style("auto", None) == "both"  # a server's model
    assert answer_style("generative", 134_515_008) == "generative"
