"""Stopping an answer that loops: the detector, and the ask pipeline with a looping model."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from fakes import make_fake_parts

from ragkb.config import load_settings
from ragkb.kb import KnowledgeBase
from ragkb.query.repetition import RepetitionGuard, cut_repetition, repeats

if TYPE_CHECKING:
    from pathlib import Path

LOOP = "Trace trees are a type of trace context. Trace trees are a type of trace context. "


@pytest.mark.parametrize(
    ("text", "loops"),
    [
        ("Trace trees link spans [1]. They show which call caused which [2].", False),
        (LOOP, True),
        ("Trace trees link spans [1]. Trace trees link spans [2].", True),  # citations ignored
        ("Yes. Yes. Yes.", False),  # short sentences may repeat
        ("The root span has no parent and the entry point is the gateway and the root span "
         "has no parent and the entry point is the gateway", True),  # a ten-word run
        ("根节点没有父节点，它代表请求的入口。根节点没有父节点，它代表请求的入口。", True),
        ("根节点没有父节点。其他每个跨度都记录其父节点的标识。", False),
    ],
)  # fmt: skip
def test_repeats(text: str, loops: bool) -> None:
    assert repeats(text) is loops


def test_the_guard_fires_on_the_piece_that_completes_the_repeat() -> None:
    guard = RepetitionGuard()
    pieces = LOOP.split(" ")
    fired = [guard.feed(piece + " ") for piece in pieces]
    assert fired.index(True) == pieces.index("context.", 8)  # the second sentence's end


def _kb(tmp_path: Path, reply: str, **flags: object) -> KnowledgeBase:
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "trace.md").write_text(
        "# Traces\n\nA trace tree is the tree formed by all spans of a single request.\n",
        encoding="utf-8",
    )
    settings = load_settings({"min_relevance": 0.0, "min_score": 0.0, **flags})
    kb = KnowledgeBase(settings, parts=make_fake_parts(settings, replies=lambda _: reply))
    kb.ingest([str(docs)])
    return kb


def test_a_looping_answer_is_stopped_where_it_repeats(tmp_path: Path) -> None:
    kb = _kb(tmp_path, LOOP * 20)
    answer = kb.ask("What is a trace tree?")
    assert answer.finish_reason == "repetition"
    assert answer.text == "Trace trees are a type of trace context."  # the repeat is not kept
    assert not repeats(answer.text)
    assert answer.usage is not None and answer.usage.completion_tokens < 40


def test_the_guard_can_be_turned_off(tmp_path: Path) -> None:
    kb = _kb(tmp_path, LOOP * 3, stop_on_repetition=False)
    answer = kb.ask("What is a trace tree?")
    assert answer.finish_reason == "stop"
    assert answer.text == (LOOP * 3).strip()


def test_finish_reason_length_at_max_tokens(tmp_path: Path) -> None:
    words = " ".join(f"word{i}" for i in range(300))
    kb = _kb(tmp_path, words, max_tokens=50)
    assert kb.ask("What is a trace tree?").finish_reason == "length"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (LOOP * 3, "Trace trees are a type of trace context."),
        ("Roots have no parent and the entry point is the gateway and roots have no parent and "
         "the entry point is the gateway", "Roots have no parent and the entry point is the "
         "gateway and"),
        ("根节点没有父节点，它代表请求的入口。根节点没有父节点，它代表请求的入口。",
         "根节点没有父节点，它代表请求的入口。"),
        ("No loop here [1]. Fine.", "No loop here [1]. Fine."),
    ],
)  # fmt: skip
def test_cut_repetition_keeps_the_text_before_the_repeat(text: str, kept: str) -> None:
    assert cut_repetition(text) == kept


def test_the_penalties_reach_the_sampling_of_every_answer() -> None:
    from ragkb.query.ask import AskOptions

    settings = load_settings({"frequency_penalty": 0.3, "presence_penalty": 0.2})
    sampling = AskOptions.from_settings(settings.generation, settings.answer).sampling
    assert (sampling.frequency_penalty, sampling.presence_penalty) == (0.3, 0.2)
    default = load_settings({})
    plain = AskOptions.from_settings(default.generation, default.answer).sampling
    assert (plain.frequency_penalty, plain.presence_penalty) == (0.0, 0.0)


def test_a_numbered_list_that_starts_over_is_a_repeat() -> None:
    # The bundled model, asked about an outline, listed its headings again and again.
    text = (
        "1. Zephyr rollout 2. Phase one of the pilot 3. Phase two of the pilot "
        "4. Zephyr rollout 5. Phase one of the pilot 6. Phase two of the pilot "
    )
    assert repeats(text)
    kept = "1. Zephyr rollout 2. Phase one of the pilot 3. Phase two of the pilot"
    assert cut_repetition(text) == kept
    # Different figures in otherwise different sentences are not a loop.
    assert not repeats("The default is 10 seconds. The maximum is 60 seconds for a query.")
