"""Chat sessions: follow-up detection and standalone queries for retrieval."""

from __future__ import annotations

import pytest

from ragkb.query.chat import ChatSession, is_follow_up
from ragkb.query.prompting import Turn

FIRST = "How does cosine similarity compare embedding vectors?"
FIRST_ANSWER = "It measures the angle between them [1]."


@pytest.mark.parametrize(
    "question",
    [
        "What about its speed?",
        "And for PDF files?",
        "How fast is it?",
        "Why?",
        "它的速度怎么样？",
        "那还有别的方法吗？",
        "这个参数在哪里设置？",
    ],
)
def test_follow_ups(question: str) -> None:
    assert is_follow_up(question)


@pytest.mark.parametrize(
    "question",
    [
        FIRST,
        "Explain BM25 ranking with term frequency saturation",
        "Which embedding models support Chinese documents well?",
        "余弦相似度在向量数据库中如何计算？",
        "检索增强生成系统怎样切分文档片段？",
    ],
)
def test_standalone_questions(question: str) -> None:
    assert not is_follow_up(question)


def session_after_first_turn() -> ChatSession:
    session = ChatSession()
    session.add(FIRST, FIRST_ANSWER, query=FIRST)
    return session


def test_first_question_is_returned_unchanged() -> None:
    calls: list[str] = []

    def rewrite(history: list[Turn], question: str) -> str:
        calls.append(question)
        return "something else entirely"

    assert ChatSession().standalone_query("What about its speed?", rewrite) == (
        "What about its speed?"
    )
    assert calls == []


def test_standalone_question_is_not_rewritten() -> None:
    session = session_after_first_turn()
    question = "Explain BM25 ranking with term frequency saturation"
    assert session.standalone_query(question, lambda h, q: "junk") == question


def test_good_rewrite_is_used() -> None:
    session = session_after_first_turn()
    seen: list[tuple[list[Turn], str]] = []

    def rewrite(history: list[Turn], question: str) -> str:
        seen.append((list(history), question))
        return '  "How fast is cosine similarity on embedding vectors?"\nExtra line.'

    query = session.standalone_query("How fast is it?", rewrite)
    assert query == "How fast is cosine similarity on embedding vectors?"
    assert seen == [([Turn(FIRST, FIRST_ANSWER)], "How fast is it?")]


@pytest.mark.parametrize("junk", ["", "   ", "How fast is it?", "Sure! Here you go:", "它很快。"])
def test_rewrite_without_the_subject_falls_back(junk: str) -> None:
    session = session_after_first_turn()
    query = session.standalone_query("How fast is it?", lambda h, q: junk)
    assert query == f"{FIRST} How fast is it?"


def test_a_rewrite_that_copies_the_answer_falls_back() -> None:
    # A new-user trial: the 135M model "rewrote" a follow-up into a sentence of its answer,
    # which named the subject and the asked words and retrieved the wrong passage.
    session = ChatSession()
    session.add("How much does the inverter weigh?", "It weighs 21 kg.", query="inverter weight")
    question = "and what is its maximum DC input voltage?"
    copied = (
        "The inverter is designed to operate between -25 and 60 degrees Celsius, which is a "
        "maximum DC input voltage."
    )
    assert session.standalone_query(question, lambda h, q: copied) == f"inverter weight {question}"
    good = "What is the maximum DC input voltage of the inverter?"
    assert session.standalone_query(question, lambda h, q: good) == good


def test_too_long_rewrite_falls_back() -> None:
    session = session_after_first_turn()
    rambling = "cosine similarity " * 40
    assert session.standalone_query("How fast is it?", lambda h, q: rambling) == (
        f"{FIRST} How fast is it?"
    )


def test_fallback_without_a_rewriter_uses_the_previous_query() -> None:
    session = ChatSession()
    session.add("它的作用是什么？", "……", query="余弦相似度 它的作用是什么？")
    # The previous *query* (already standalone) is the subject, not the raw question.
    assert session.standalone_query("那速度呢？") == "余弦相似度 它的作用是什么？ 那速度呢？"


def test_chinese_rewrite_is_checked_by_its_words() -> None:
    session = ChatSession()
    session.add("余弦相似度怎么计算？", "通过夹角 [1]。", query="余弦相似度怎么计算？")
    good = session.standalone_query("它的速度怎么样？", lambda h, q: "余弦相似度的计算速度怎么样？")
    assert good == "余弦相似度的计算速度怎么样？"
    bad = session.standalone_query("它的速度怎么样？", lambda h, q: "速度怎么样？")
    assert bad == "余弦相似度怎么计算？ 它的速度怎么样？"


def test_rewrite_that_loses_the_new_question_falls_back() -> None:
    session = session_after_first_turn()
    # Names the subject but no longer asks about speed.
    query = session.standalone_query("How fast is it?", lambda h, q: "What is cosine similarity?")
    assert query == f"{FIRST} How fast is it?"


@pytest.mark.parametrize(
    ("question", "rewritten"),
    [
        ("它们的速度怎么样？", "余弦相似度和点积的速度怎么样？"),
        ("该方法的缺点？", "余弦相似度方法的缺点？"),
    ],
)
def test_pointing_words_need_not_survive_the_rewrite(question: str, rewritten: str) -> None:
    session = ChatSession()
    session.add("余弦相似度怎么计算？", "通过夹角 [1]。", query="余弦相似度怎么计算？")
    assert session.standalone_query(question, lambda h, q: rewritten) == rewritten


def test_reset_forgets_the_conversation() -> None:
    session = session_after_first_turn()
    session.reset()
    assert session.history == []
    assert session.last_query is None
    assert session.standalone_query("How fast is it?") == "How fast is it?"


def test_a_short_question_that_finds_its_own_answer_stands_alone() -> None:
    session = session_after_first_turn()
    tried: list[str] = []

    def stands_alone(question: str) -> bool:
        tried.append(question)
        return question == "What is HNSW?"

    def rewrite(history: list[Turn], question: str) -> str:
        return "junk"

    assert session.standalone_query("What is HNSW?", rewrite, stands_alone=stands_alone) == (
        "What is HNSW?"
    )
    assert session.standalone_query("Why?", rewrite, stands_alone=stands_alone) == f"{FIRST} Why?"
    # A word that points back makes it a follow-up, whatever it finds alone.
    assert session.standalone_query("How fast is it?", rewrite, stands_alone=stands_alone) == (
        f"{FIRST} How fast is it?"
    )
    assert tried == ["What is HNSW?", "Why?"]
