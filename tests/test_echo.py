"""The model's echo of the question line is dropped from the start of its streamed answer."""

from __future__ import annotations

import pytest

from ragkb.query.echo import EchoFilter


def stream(*pieces: str) -> str:
    echo = EchoFilter()
    return "".join(echo.feed(p) for p in pieces) + echo.flush()


@pytest.mark.parametrize(
    ("pieces", "shown"),
    [
        # The bundled model's habit (a new-user trial): the line is dropped, in any pieces.
        (
            ("Question: What does ffi_prep_cif do?\nIt prepares a call interface [1].",),
            "It prepares a call interface [1].",
        ),
        (("Ques", "tion: What is it", "?\n", "It is a cache [1]."), "It is a cache [1]."),
        (("  问题：GGUF 是什么？\n", "GGUF 是模型文件格式 [1]。"), "GGUF 是模型文件格式 [1]。"),
        # Anything else passes unchanged, the start held back no longer than it must be.
        (
            ("Questions of size are answered below [1].",),
            "Questions of size are answered below [1].",
        ),
        (("The cache ", "holds 64 MB [1]."), "The cache holds 64 MB [1]."),
        (("Question: only the echo, nothing after",), "Question: only the echo, nothing after"),
        (("",), ""),
    ],
)
def test_the_echoed_question_line_is_dropped(pieces: tuple[str, ...], shown: str) -> None:
    assert stream(*pieces) == shown


def test_text_that_cannot_be_the_label_is_shown_at_once() -> None:
    echo = EchoFilter()
    assert echo.feed("The") == "The"
    assert echo.feed(" cache") == " cache"
    held = EchoFilter()
    assert held.feed("Quest") == ""  # it may still become "Question:"
    assert held.feed("s are") == "Quests are"
