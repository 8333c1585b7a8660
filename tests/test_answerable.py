"""The answerability check's reading of a model's reply."""

from __future__ import annotations

import pytest

from ragkb.query.answerable import read_reply


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ("yes", True),
        (" Yes, the passages say 64 MB.", True),
        ("**No**", False),
        ("no.", False),
        ("是", True),
        ("有。", True),
        ("否", False),
        ("不是", False),
        ("没有写出", False),
        ("“否”", False),
        ("nothing", None),  # a word that starts like no is not a no
        ("Not sure", None),
        ("", None),
        ("The answer is", None),
        ("可能", None),
    ],
)
def test_a_reply_is_a_yes_a_no_or_nothing(reply: str, verdict: bool | None) -> None:
    assert read_reply(reply) is verdict
