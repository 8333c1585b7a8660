"""The relevance policy: which hits may answer, and why ask refuses (ragkb.query.relevance)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ragkb.query.names import WordSet, unknown_terms
from ragkb.query.relevance import (
    COVERAGE_WEIGHT,
    KEYWORD_MODE_MIN_COVERAGE,
    answer_kind_missing,
    asked_value,
    calibrated,
    judge,
    weighted_coverage,
)
from ragkb.types import Hit

VECTOR_RULE = (
    "no retrieved passage passed the relevance threshold (min_score 0.3, min_relevance 0.62)"
)


def _hit(chunk_id: str, score: float) -> Hit:
    return Hit(chunk_id, f"text of {chunk_id}", "/docs/a.txt", None, None, score, 1 - score)


def test_policy_constants() -> None:
    assert COVERAGE_WEIGHT == 0.75
    assert KEYWORD_MODE_MIN_COVERAGE == 0.25


@pytest.mark.parametrize(
    ("mode", "hits", "coverage", "min_score", "min_relevance", "relevant", "reason"),
    [
        # similarity 0.5 + 0.75 x 0.2 = 0.65 reaches 0.62
        ("hybrid", [("a", 0.5)], {"a": 0.2}, 0.3, 0.62, ["a"], None),
        # 0.5 + 0.75 x 0.1 = 0.575 does not
        ("hybrid", [("a", 0.5)], {"a": 0.1}, 0.3, 0.62, [], VECTOR_RULE),
        # no coverage entry counts as 0
        ("vector", [("a", 0.5)], {}, 0.3, 0.62, [], VECTOR_RULE),
        # full coverage cannot rescue a similarity under min_score
        ("vector", [("a", 0.25)], {"a": 1.0}, 0.3, 0.62, [], VECTOR_RULE),
        # min_score itself passes
        ("vector", [("a", 0.3)], {"a": 1.0}, 0.3, 0.62, ["a"], None),
        # a high similarity alone is enough
        ("vector", [("a", 0.7)], {}, 0.3, 0.62, ["a"], None),
        # min_relevance 0 turns the coverage rule off: similarity alone decides
        ("hybrid", [("a", 0.35)], {}, 0.3, 0.0, ["a"], None),
        ("hybrid", [("a", 0.29)], {}, 0.3, 0.0, [], VECTOR_RULE.replace("0.62", "0.0")),
        # only the passing hits are kept, in their order
        (
            "hybrid",
            [("a", 0.9), ("b", 0.4), ("c", 0.5)],
            {"b": 0.0, "c": 0.3},
            0.3,
            0.62,
            ["a", "c"],
            None,
        ),
        # keyword mode: the score is BM25 (unbounded), coverage alone decides, floor 0.25
        ("keyword", [("a", 12.0)], {"a": 0.25}, 0.3, 0.62, ["a"], None),
        (
            "keyword",
            [("a", 12.0)],
            {"a": 0.2},
            0.3,
            0.62,
            [],
            "no retrieved passage passed the relevance threshold (keyword coverage 0.25)",
        ),
        # keyword mode with min_relevance 0: floor 0, every hit counts
        ("keyword", [("a", 0.1), ("b", 3.0)], {}, 0.3, 0.0, ["a", "b"], None),
        # no hits at all
        ("hybrid", [], {}, 0.3, 0.62, [], "nothing in the knowledge base matches the question"),
        ("keyword", [], {}, 0.3, 0.0, [], "nothing in the knowledge base matches the question"),
    ],
)
def test_judge(
    mode: str,
    hits: list[tuple[str, float]],
    coverage: dict[str, float],
    min_score: float,
    min_relevance: float,
    relevant: list[str],
    reason: str | None,
) -> None:
    verdict = judge(
        [_hit(cid, score) for cid, score in hits],
        mode=mode,
        coverage=coverage,
        min_score=min_score,
        min_relevance=min_relevance,
    )
    assert [h.chunk_id for h in verdict.relevant] == relevant
    assert verdict.reason == reason
    assert verdict.refused is (not relevant)
    assert verdict.unknown_terms == ()


def test_no_hit_holding_any_of_the_question_words_is_refused() -> None:
    hits = [_hit("a", 0.9), _hit("b", 0.8)]
    rule = {"mode": "hybrid", "min_score": 0.0, "min_relevance": 0.24, "query_tokens": ["hello"]}
    verdict = judge(hits, coverage={}, **rule)
    assert verdict.refused
    assert verdict.reason == "no retrieved passage holds any of the question's words"
    # one word in one hit is enough, and then every hit is judged as before
    assert [h.chunk_id for h in judge(hits, coverage={"b": 0.1}, **rule).relevant] == ["a", "b"]
    assert not judge(hits, coverage={}, **{**rule, "min_relevance": 0.0}).refused  # rule off


@pytest.mark.parametrize("mode", ["vector", "hybrid", "keyword"])
def test_judge_unknown_terms_veto_whatever_the_scores(mode: str) -> None:
    verdict = judge(
        [_hit("a", 0.99)],
        mode=mode,
        coverage={"a": 1.0},
        unknown_terms=["zorblatt", "wireguard"],
        min_score=0.0,
        min_relevance=0.0,
    )
    assert verdict.relevant == ()
    assert verdict.refused
    assert verdict.reason == "the documents never mention: zorblatt, wireguard"
    assert verdict.unknown_terms == ("zorblatt", "wireguard")


def test_judge_unknown_terms_veto_without_hits() -> None:
    verdict = judge(
        [], mode="hybrid", coverage={}, unknown_terms=["xer"], min_score=0.3, min_relevance=0.62
    )
    assert verdict.reason == "the documents never mention: xer"
    assert verdict.unknown_terms == ("xer",)


def _idf_table(table: dict[str, float]) -> Callable[[str], float]:
    return lambda token: table.get(token, 0.0)


@pytest.mark.parametrize(
    ("query", "keywords", "idf", "expected"),
    [
        # equal weights: the plain share of query words found
        ({"cache", "size"}, "the cache holds data", {"cache": 1.0, "size": 1.0}, 0.5),
        ({"cache", "size"}, "cache size", {"cache": 1.0, "size": 1.0}, 1.0),
        ({"cache", "size"}, "nothing relevant", {"cache": 1.0, "size": 1.0}, 0.0),
        # the rare word counts for more
        ({"the", "frobnicator"}, "frobnicator", {"the": 0.1, "frobnicator": 0.9}, 0.9),
        ({"the", "frobnicator"}, "the", {"the": 0.1, "frobnicator": 0.9}, 0.1),
        # whole tokens only: "cache" does not match "caches"
        ({"cache"}, "caches", {"cache": 1.0}, 0.0),
        # no weight at all: 0, not a division by zero
        ({"cache"}, "cache", {}, 0.0),
        (set(), "cache", {"cache": 1.0}, 0.0),
    ],
)
def test_weighted_coverage(
    query: set[str], keywords: str, idf: dict[str, float], expected: float
) -> None:
    assert weighted_coverage(query, keywords, _idf_table(idf)) == pytest.approx(expected)


VOCABULARY = WordSet({"reconfigure", "cache", "frobnicator", "zqxfoo", "severity"})


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        (["cache"], []),  # a corpus word
        (["余弦", "相似度"], []),  # Chinese is left out
        (["zorblatt", "余弦"], ["zorblatt"]),
        (["gizmo"], []),  # a common word (the embedder's vocabulary)
        (["reconfigures"], []),  # an inflected form of a corpus word
        (["reconfiguring"], []),
        (["frobnicators"], []),
        (["severities"], []),  # the plural of a corpus word in -y
        (["zqxfies"], ["zqxfies"]),  # no corpus word "zqxfy"
        (["banana"], []),  # an everyday English word (wordfreq)
        (["kettle"], []),
        (["zorblatt"], ["zorblatt"]),
        (["timedatectl", "cache", "wireguard"], ["timedatectl", "wireguard"]),  # question order
        (["zorblatt", "zorblatt"], ["zorblatt"]),  # each once
        (["zqxs"], ["zqxs"]),  # a stem under 4 letters matches no corpus word
    ],
)
def test_unknown_terms(tokens: list[str], expected: list[str]) -> None:
    assert unknown_terms(tokens, VOCABULARY, lambda word: word == "gizmo") == expected


def test_calibrated_similarity_starts_at_the_embedders_floor() -> None:
    assert calibrated(0.77, 0.77) == 0.0
    assert calibrated(1.0, 0.77) == pytest.approx(1.0)
    assert calibrated(0.4, 0.0) == 0.4  # MiniLM's thresholds are raw cosine


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How do I change the timezone with timedatectl?", ["timedatectl"]),
        ("Which IBus engine should I install to type Chinese with pinyin?", ["ibus"]),
        ("怎样用 ufw 放行 22 端口？", ["ufw"]),  # Latin words in Chinese are names
        ("Wie konfiguriere ich das Netzwerk mit WireGuard?", ["wireguard"]),  # not German words
        ("Comment configurer le réseau sans fil ?", []),
        # An English word made by a prefix or suffix is no name, though no word list has it
        # (corpus_l, held out: "recomputing" and "tokenizer" refused answerable questions);
        # what is left must be a known word: restic stays a name.
        ("How do I avoid recomputing the key for every element?", []),
        ("Can the tokenizer return an empty token?", []),
        ("How do I back up the cache with restic?", ["restic"]),
    ],
)
def test_unknown_terms_judge_plain_words_only_in_english(
    question: str, expected: list[str]
) -> None:
    from ragkb.language import keyword_tokens

    tokens = keyword_tokens(question)
    assert unknown_terms(tokens, VOCABULARY, lambda word: False, question=question) == expected


@pytest.mark.parametrize(
    ("question", "passage", "missing"),
    [
        ("How many workers does the collector start?", "The collector starts workers.", True),
        ("How many workers does the collector start?", "The collector starts 4 workers.", False),
        ("How do I start the collector?", "The collector starts workers.", False),
        ("收集器默认启动多少个工作进程？", "收集器会启动工作进程。", True),
        ("收集器默认启动多少个工作进程？", "收集器默认启动 4 个工作进程。", False),
        # The value often follows the sentence that names the thing.
        ("How long is a trace ID?", "A trace ID names one trace. It is 16 bytes long.", False),
        # Only the best two sentences are read: a number elsewhere answers nothing.
        (
            "How many workers does the collector start?",
            "The collector starts workers. The collector restarts workers. Spans are kept. "
            "The logo has 3 colours.",
            True,
        ),
        # A list item's number and a number the question already holds are no answer.
        ("How many workers does the collector start?", "2. The collector starts workers.", True),
        (
            "How many kinds of namespaces exist since kernel 5.6?",
            "Since kernel 5.6 Linux has namespaces.",
            True,
        ),
        # Each kind of value has its shape: a port has digits, a version may be one digit.
        ("Which port does rsync listen on?", "rsync is a file copying tool.", True),
        ("Which port does rsync listen on?", "rsync version 3 is a file copying tool.", True),
        ("Which port does rsync listen on?", "The rsync daemon listens on port 873.", False),
        ("Which SSH protocol version does sshd support?", "sshd supports SSH 2 only.", False),
        ("In what year was the collector released?", "The collector was released.", True),
        ("In what year was the collector released?", "The collector came out in 2019.", False),
        # A number the question holds is no answer, whatever the shape asked for.
        ("Which version after kernel 5.6 added namespaces?", "Kernel 5.6 added namespaces.", True),
        # A manual page's section is no value: "collector(8)" states no version.
        ("Which version added the workers?", "collector(8) starts workers.", True),
        ("Which version added the workers?", "collector 8 starts workers.", False),
        # A version at the start of a line is a value, not a list number.
        ("Which version added the workers?", "3.16 added the workers.", False),
        # Nor is a numbered question's "(9)", a page footer's timestamp or a Chinese ordinal.
        ("How many workers does the collector start?", "(9) The collector starts workers.", True),
        (
            "Which version added the workers?",
            "The collector starts workers. Last updated 2024-05-31 00:35:55 UTC",
            True,
        ),
        ("收集器默认启动多少个工作进程？", "收集器在第 2 步启动工作进程。", True),
        ("收集器默认启动多少个工作进程？", "收集器启动 2 个工作进程。", False),
        # A Chinese numeral counts before a measure word, not inside a word.
        ("收集器默认启动几个工作进程？", "收集器默认启动三个工作进程。", False),
        ("收集器默认启动几个工作进程？", "第三方收集器会启动工作进程。", True),
        # Dates: a spelled month, day first or last; not "octal 755".
        ("When was the collector released?", "The collector was released on 3 March.", False),
        ("When was the collector released?", "The collector was released as octal 755.", True),
        # Across languages keywords cannot match: without equivalents, never refused here.
        ("收集器默认启动多少个工作进程？", "The collector starts workers.", False),
        # No sentence about the question's words: the ranking says nothing, no refusal.
        ("How many workers does the collector start?", "Spans carry attributes.", False),
        # A person: a name, an e-mail address or a Chinese credits line.
        ("Who wrote the collector?", "The collector collects spans.", True),
        ("Who wrote the collector?", "The collector was written by Ada Lovelace.", False),
        ("Who wrote the collector?", "The collector: A.M. Kuchling.", False),
        ("Who wrote the collector?", "Report collector bugs to ada@example.org.", False),
        ("收集器是谁写的？", "收集器负责收集数据。", True),
        ("收集器是谁写的？", "收集器的作者：金步国。", False),
        # How long (多久) is answered by a frequency too (a new-user trial's 每周检查一次).
        ("多久检查一次蚜虫？", "温室里每周检查一次蚜虫。", False),
        ("多久检查一次蚜虫？", "温室里检查一次蚜虫。", True),
        ("How long between checks of the collector?", "Check the collector weekly.", False),
        # ... and how long or how fast by a complexity (corpus_l: "in linear time").
        ("How long does building the heap take?", "It builds the heap in linear time.", False),
        ("How long does building the heap take?", "Building the heap takes O(n) steps.", False),
        ("插入需要多长时间？", "插入操作只需要对数时间。", False),
        ("How long does building the heap take?", "It builds the heap in place.", True),
    ],
)
def test_answer_kind_missing(question: str, passage: str, missing: bool) -> None:
    from ragkb.language import keyword_tokens

    assert answer_kind_missing(question, keyword_tokens(question), [passage]) is missing


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("Which Python version added the key parameter?", True),
        ("What is the default port of the server?", True),
        ("What's the latest version?", True),
        ("Which ports does sshd use?", True),
        ("What is the maximum nesting depth bash allows?", True),
        ("rsync 守护进程默认监听哪个端口？", True),
        ("这个标志是从哪个 Linux 内核版本开始支持的？", True),  # the product named between
        ("哪个命令可以查看版本？", False),  # asks for a command
        ("Debian 12 什么时候发布的？", True),
        # Asking for something else, though a value word is in the question:
        ("Which type does this version of the collector not handle?", False),
        ("What does port forwarding do?", False),
        ("What is a release?", False),
        ("How do I raise the maximum number of open files?", False),
        ("什么时候应该使用索引？", False),
        ("这几个参数有什么区别？", False),
        ("用 argparse 时想知道用户把 -v 写了好几次，该用哪种 action？", False),
        ("Quelle est la taille maximum ?", False),  # only English and Chinese are read
        ("Who is the maintainer of the collector?", True),
        ("Who originally designed the enum module?", True),
        ("日志收集器最初是谁开发的？", True),
        # A role or a group is asked for, not a person:
        ("Who can read the whole journal?", False),
        ("如果没有配置处理器，日志事件由谁输出？", False),
    ],
)
def test_which_questions_ask_for_a_value(question: str, asks: bool) -> None:
    assert (asked_value(question) is not None) is asks


@pytest.mark.parametrize(
    ("passage", "missing"),
    [
        ("The collector starts workers.", True),
        ("The collector starts 4 workers.", False),
    ],
)
def test_answer_kind_missing_reads_the_other_language_through_equivalents(
    passage: str, missing: bool
) -> None:
    from ragkb.language import keyword_tokens

    question = "收集器默认启动多少个工作进程？"
    equivalents = {"收集器": {"collector"}, "启动": {"starts"}, "进程": {"workers"}}
    tokens = keyword_tokens(question)
    assert answer_kind_missing(question, tokens, [passage], equivalents=equivalents) is missing


def test_a_near_miss_is_refused_with_its_reason() -> None:
    near_miss = {
        "mode": "hybrid",
        "coverage": {"c1": 1.0},
        "min_score": 0.1,
        "min_relevance": 0.5,
        "question": "How many workers does the collector start?",
        "query_tokens": ["workers", "collector", "start"],
    }
    hit = Hit("c1", "The collector starts workers.", "/docs/a.txt", None, None, 0.95, 0.05)
    verdict = judge([hit], **near_miss)
    assert verdict.refused and "no value of the kind asked for" in (verdict.reason or "")
    assert not judge([hit], **near_miss, refuse_missing_numbers=False).refused


def test_the_answer_kind_check_is_on_by_default() -> None:
    from ragkb.config import load_settings

    assert load_settings({}, environ={}).retrieval.refuse_missing_numbers is True
