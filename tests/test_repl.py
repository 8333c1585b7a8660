"""`ragkb chat`: the loop driven by lines from a pipe, over a knowledge base built with fakes."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

import pytest
from fakes import make_fake_parts

import ragkb.build
from ragkb.cli.repl import HELP, run_repl
from ragkb.config import load_settings
from ragkb.errors import KnowledgeBaseNotFoundError
from ragkb.kb import KnowledgeBase
from ragkb.query.prompting import REFUSAL_TEXT

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from ragkb.config import Settings
    from ragkb.parts import Parts

REPLY = "Cosine similarity measures the angle between two vectors [1]."
ANSWERED = "What is cosine similarity?"
REFUSED = "How do I configure wireguard tunnels?"


class Built:
    """Every Parts the patched build_parts made, sharing one vector store (one folder)."""

    def __init__(self) -> None:
        self.records: dict = {}
        self.parts: list[Parts] = []
        self.reply = REPLY

    def __call__(self, settings: Settings) -> Parts:
        parts = make_fake_parts(
            settings, replies=lambda _messages: self.reply, records=self.records
        )
        self.parts.append(parts)
        return parts

    def generator_calls(self) -> int:
        return sum(len(p.generator.calls) for p in self.parts)


@pytest.fixture
def settings() -> Settings:
    return load_settings({})


@pytest.fixture
def built(
    settings: Settings, make_text_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> Built:
    """Ingest two text files with fakes, and make KnowledgeBase(settings) build fakes too."""
    built = Built()
    monkeypatch.setattr(ragkb.build, "build_parts", built)
    make_text_file(
        "cosine.txt",
        "Cosine similarity measures the angle between two vectors. "
        "A cosine similarity of one means the vectors point the same way.",
    )
    last = make_text_file(
        "chunking.txt", "Chunking splits long documents into overlapping pieces of text."
    )
    report = KnowledgeBase(settings).ingest([str(last.parent)])
    assert len(report.added) == 2, report
    built.parts.clear()  # count only what the loop builds and calls
    return built


def chat(monkeypatch: pytest.MonkeyPatch, settings: Settings, *lines: str, jsonl=False) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{line}\n" for line in lines)))
    run_repl(settings, jsonl=jsonl)


def test_a_question_is_answered_on_stdout(
    built: Built, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    chat(monkeypatch, settings, ANSWERED)

    out, err = capsys.readouterr()
    assert REPLY in out
    assert "Sources" in out
    assert "cosine.txt" in out
    assert REPLY not in err
    assert built.generator_calls() == 1
    assert "ragkb chat" not in err  # the banner is for terminals only


def test_streamed_model_output_cannot_write_escape_codes(
    built: Built, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    built.reply = "Cosine \x1b[2Jsimilarity \x1b]0;pwned\x07measures angles [1]."

    chat(monkeypatch, settings, ANSWERED)

    out, _ = capsys.readouterr()
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "similarity" in out


def test_a_refused_question_prints_the_refusal_and_its_reason(
    built: Built, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    chat(monkeypatch, settings, REFUSED)

    out, err = capsys.readouterr()
    assert REFUSAL_TEXT["en"] in out
    assert "the documents never mention: wireguard" in err
    assert "the model was not called" in err
    assert built.generator_calls() == 0


def test_commands_change_the_loop_and_errors_do_not_end_it(
    built: Built, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    chat(
        monkeypatch,
        settings,
        "/k 2",
        "/mode keyword",
        "/mode bogus",
        "/kb missing",
        "/k many",
        "/k 1000000000",
        "/temp warm",
        "/frobnicate",
        "/help",
        "",
        ANSWERED,
    )

    out, err = capsys.readouterr()
    assert "k = 2" in err
    assert "mode = keyword" in err
    assert 'error: /mode: mode = "bogus" (flag): expected one of vector, keyword, hybrid' in err
    assert "error: /kb: knowledge base 'missing' does not exist (known: default)" in err
    assert 'error: /k: k = "many" (flag): expected a whole number' in err
    assert 'error: /temp: temperature = "warm" (flag): expected a number' in err
    assert "could not convert" not in err  # no Python message (a new-user trial)
    assert "error: /k: k must be at most 1000 (got 1000000000)" in err
    assert "unknown command /frobnicate; /help lists them" in err
    assert HELP.splitlines()[1] in err
    # The loop went on after every error and answered the question.
    assert REPLY in out
    assert built.generator_calls() == 1


def test_k_and_mode_reach_retrieval(
    built: Built, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    seen: list[tuple] = []
    original = KnowledgeBase.retrieve

    def spy(self, query, *, k=None, mode=None, user_words=None, scope=None):
        seen.append((k, mode))
        return original(self, query, k=k, mode=mode, user_words=user_words, scope=scope)

    monkeypatch.setattr(KnowledgeBase, "retrieve", spy)

    chat(monkeypatch, settings, ANSWERED, "/k 2", "/mode keyword", ANSWERED)

    assert seen == [(None, None), (2, "keyword")]


def test_sources_shows_the_last_answers_sources(
    built: Built, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    chat(monkeypatch, settings, "/sources", ANSWERED)
    before_answer, _ = capsys.readouterr()
    assert "Sources" not in before_answer.split(REPLY)[0]

    chat(monkeypatch, settings, ANSWERED, "/sources")
    out, _ = capsys.readouterr()
    # Once under the answer, once more for /sources.
    assert out.count("Sources") == 2
    assert out.count("cosine.txt") >= 2


def test_reset_forgets_the_conversation(
    built: Built, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    # REPLY (with its "[1]") is in no document: in a prompt it can only come from history.
    chat(monkeypatch, settings, ANSWERED, "/reset", "What is cosine similarity used for?")

    _, err = capsys.readouterr()
    assert "conversation forgotten" in err
    last_prompt = built.parts[-1].generator.calls[-1]
    assert not any(REPLY in m["content"] for m in last_prompt)


def test_history_is_kept_without_reset(
    built: Built, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    chat(monkeypatch, settings, ANSWERED, "What is cosine similarity used for?")

    last_prompt = built.parts[-1].generator.calls[-1]
    assert any(REPLY in m["content"] for m in last_prompt)


def test_exit_stops_before_later_lines(
    built: Built, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    chat(monkeypatch, settings, "/k 3", "/exit", ANSWERED, "/k 4")

    out, err = capsys.readouterr()
    assert "k = 3" in err
    assert "k = 4" not in err
    assert REPLY not in out
    assert built.generator_calls() == 0


def test_jsonl_gives_one_object_per_answer(
    built: Built, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    chat(monkeypatch, settings, ANSWERED, "/k 2", REFUSED, jsonl=True)

    out, err = capsys.readouterr()
    objects = [json.loads(line) for line in out.splitlines()]
    assert [o["question"] for o in objects] == [ANSWERED, REFUSED]
    assert [o["refused"] for o in objects] == [False, True]
    assert objects[0]["answer"] == REPLY
    assert objects[0]["kb"] == "default"
    assert objects[0]["sources"]
    assert objects[1]["refusal_reason"] == "the documents never mention: wireguard"
    assert "k = 2" in err


def test_a_missing_knowledge_base_fails_before_the_first_prompt(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setattr(ragkb.build, "build_parts", Built())

    with pytest.raises(KnowledgeBaseNotFoundError, match="'default' does not exist"):
        chat(monkeypatch, settings, ANSWERED)

    assert capsys.readouterr().out == ""


def test_jsonl_stdout_stays_json_lines_after_sources(
    built: Built, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    # STYLE.md: in --jsonl mode no human text reaches stdout; /sources must not break that.
    chat(monkeypatch, settings, ANSWERED, "/sources", jsonl=True)

    out, _ = capsys.readouterr()
    lines = [line for line in out.splitlines() if line.strip()]
    assert [json.loads(line)["question"] for line in lines] == [ANSWERED]
