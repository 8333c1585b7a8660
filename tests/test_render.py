"""Rendering: what people see (rich, escaped) and what scripts get (the JSON contract)."""

from __future__ import annotations

import io
import json

import pytest
from contract import (
    ANSWER_KEYS,
    EVIDENCE_KEYS,
    FILE_KEYS,
    HIT_KEYS,
    INGEST_KEYS,
    SEARCH_KEYS,
    USAGE_KEYS,
)
from rich.console import Console  # noqa: TID251 (the renderers take a rich Console)

from ragkb.cli.render import schema, terminal
from ragkb.index.catalog import FileRecord
from ragkb.query.ask import MODEL_SAYS_NO
from ragkb.query.relevance import Verdict
from ragkb.query.retrieve import Retrieval
from ragkb.types import (
    Answer,
    AnswerSentence,
    Evidence,
    FileFailure,
    Hit,
    IngestReport,
    RetryEvent,
    SourcesEvent,
    TextEvent,
    Usage,
)

ESC = "\x1b"


def console(*, terminal_like: bool = False, width: int = 200) -> Console:
    return Console(
        file=io.StringIO(),
        width=width,
        force_terminal=terminal_like,
        color_system=None,
        highlight=False,
        _environ={},
    )


def output(c: Console) -> str:
    assert isinstance(c.file, io.StringIO)
    return c.file.getvalue()


def hit(rank: int, text: str, *, score: float = 0.8, source: str = "/docs/guide.pdf") -> Hit:
    return Hit(
        chunk_id=f"c{rank}",
        text=text,
        source=source,
        page=rank,
        heading=None,
        score=score,
        distance=round(1 - score, 6),
        rank=rank,
    )


STRONG = hit(1, "Cosine similarity compares the angle between two vectors.", score=0.71)
WEAK = hit(2, "The weather was pleasant on the day of the meeting.", score=0.12)


def answer(**changes) -> Answer:
    fields = {
        "question": "What does cosine similarity measure?",
        "text": "It measures the angle between two vectors [1].",
        "sources": (STRONG,),
        "refused": False,
        "usage": Usage(prompt_tokens=120, completion_tokens=11, n_ctx=2048, max_tokens=256),
        "standalone_query": "What does cosine similarity measure?",
        "evidence": (
            Evidence(
                source=STRONG.source,
                page=1,
                section=None,
                chunk_id="c1",
                quote="Cosine similarity compares the angle between two vectors.",
                start=0,
                end=57,
            ),
        ),
        "seconds": 1.23456,
        "timings": {"retrieve": 0.01, "generate": 1.2},
    }
    fields.update(changes)
    return Answer(**fields)


# -- safe() --------------------------------------------------------------------------------------


def test_safe_strips_control_characters_including_esc() -> None:
    dirty = f"red{ESC}[31m text\x07 bell\x00 nul\x9b csi\ttab\nnewline"

    cleaned = terminal.safe(dirty)

    assert ESC not in cleaned
    assert "\x07" not in cleaned
    assert "\x00" not in cleaned
    assert "\x9b" not in cleaned
    assert "\t" in cleaned  # layout characters stay
    assert "\n" in cleaned


def test_safe_keeps_rich_markup_literal() -> None:
    c = console()
    c.print(terminal.safe("a [bold]loud[/bold] word and [link=http://x]here[/link]"))

    assert "a [bold]loud[/bold] word and [link=http://x]here[/link]" in output(c)


def test_document_text_cannot_write_escape_codes_to_a_terminal() -> None:
    c = console(terminal_like=True)
    evil = hit(1, f"clear{ESC}[2J screen{ESC}]0;title\x07 [red]red[/red]", score=0.9)

    terminal.print_hits(c, "screen", "cosine", "hybrid", Retrieval((evil,), Verdict((evil,))))

    shown = output(c)
    assert ESC not in shown
    assert "[red]red[/red]" in shown


def test_a_line_break_in_a_file_name_cannot_forge_an_output_line() -> None:
    c = console()
    forged = hit(1, "pumps need oil", score=0.9, source="/docs/new\nline.txt  score 0.999.txt")
    terminal.print_hits(c, "pumps", "cosine", "hybrid", Retrieval((forged,), Verdict((forged,))))
    shown = output(c)
    assert "/docs/new\\nline.txt  score 0.999.txt" in shown  # written as JSON writes it
    assert not any(line.startswith("line.txt") for line in shown.splitlines())


# -- people's output -----------------------------------------------------------------------------


def test_print_hits_marks_weak_hits_and_unknown_terms() -> None:
    c = console()
    verdict = Verdict((STRONG,), unknown_terms=("wireguard",))

    terminal.print_hits(c, "cosine wireguard", "l2", "vector", Retrieval((STRONG, WEAK), verdict))

    shown = output(c)
    lines = shown.splitlines()
    strong_line = next(line for line in lines if "score 0.710" in line)
    weak_line = next(line for line in lines if "score 0.120" in line)
    assert "below the relevance bar" not in strong_line
    assert "(below the relevance bar)" in weak_line
    assert "the documents never mention: wireguard" in shown
    assert "2 results · metric l2 · mode vector" in shown
    assert "angle between two vectors" in shown


def test_print_hits_with_no_hits_says_so() -> None:
    c = console()

    terminal.print_hits(c, "[x] nothing", "cosine", "hybrid", Retrieval((), Verdict((), "none")))

    assert "No results for [x] nothing." in output(c)


def test_print_refusal_reason_prints_the_answers_reason() -> None:
    err = console()
    reason = "no retrieved passage passed the relevance threshold (min_score 0.3)"

    terminal.print_refusal_reason(err, answer(refused=True, sources=(), refusal_reason=reason))

    shown = output(err)
    assert reason in shown
    assert "the model was not called" in shown
    assert "refuse_unknown_terms" not in shown


def test_print_refusal_reason_for_unknown_terms_names_the_switch() -> None:
    err = console()
    refused = answer(
        refused=True,
        sources=(),
        unknown_terms=("wireguard",),
        refusal_reason="the documents never mention: wireguard",
    )

    terminal.print_refusal_reason(err, refused)

    shown = output(err)
    assert "the documents never mention: wireguard" in shown
    assert "refuse_unknown_terms = false" in shown


def test_print_refusal_reason_of_the_answer_check_says_the_model_judged() -> None:
    err = console()
    refused = answer(
        refused=True,
        sources=(),
        refusal_reason=MODEL_SAYS_NO,
        timings={"retrieve": 0.1, "check": 1.2},
    )

    terminal.print_refusal_reason(err, refused)

    shown = output(err)
    assert MODEL_SAYS_NO in shown
    assert "answer_check = off" in shown
    assert "the model was not called" not in shown


def test_print_ingest_lists_every_failure_with_its_reason() -> None:
    out, err = console(), console()
    report = IngestReport(
        kb="notes",
        added=("/docs/a.txt",),
        failed=(
            FileFailure("/docs/broken.pdf", "corrupt or truncated PDF"),
            FileFailure("/docs/locked.pdf", "encrypted (password needed)"),
            FileFailure("/docs/[weird].docx", "corrupt or not a real DOCX file"),
        ),
        chunks_added=4,
        warnings=("scan.pdf: page 2 has no text",),
    )

    terminal.print_ingest(out, report, err)

    shown = output(out)
    assert "failed: /docs/broken.pdf: corrupt or truncated PDF" in shown
    assert "failed: /docs/locked.pdf: encrypted (password needed)" in shown
    assert "failed: /docs/[weird].docx: corrupt or not a real DOCX file" in shown
    assert "chunks added 4" in shown
    assert "scan.pdf: page 2 has no text" in output(err)
    assert "page 2" not in shown  # warnings go to stderr only


def test_print_ingest_quiet_drops_warnings() -> None:
    out, err = console(), console()
    report = IngestReport(kb="notes", warnings=("something odd",))

    terminal.print_ingest(out, report, err, warnings=False)

    assert output(err) == ""


def test_print_answer_footer_shows_sources_evidence_and_bad_citations() -> None:
    out, err = console(), console()

    terminal.print_answer_footer(out, answer(invalid_citations=(7,)), err)

    shown = output(out)
    assert "[1] /docs/guide.pdf, page 1" in shown
    assert "Evidence" in shown
    assert "“Cosine similarity compares the angle between two vectors.”" in shown
    assert "[7]" in output(err)


def test_print_answer_footer_flags_unsupported_sentences_and_the_wrong_language() -> None:
    out, err = console(), console()
    sentences = (
        AnswerSentence("It measures the angle [1].", True),
        AnswerSentence("It was invented in 1802.", False),
    )
    terminal.print_answer_footer(
        out, answer(sentences=sentences, language_match=False, language_retry=True), err
    )
    warned = output(err)
    assert "not supported by the passages (1 of 2 sentences)" in warned
    assert "“It was invented in 1802.”" in warned and "angle" not in warned
    assert "did not answer in the question's language even when asked again" in warned


def test_print_answer_footer_says_an_extractive_answer_is_quoted_not_translated() -> None:
    out, err = console(), console()
    terminal.print_answer_footer(out, answer(language_match=False, finish_reason="extractive"), err)
    warned = output(err)
    assert "answered with the documents' own sentence, quoted in their language" in warned
    assert "the model did not answer" not in warned  # no model wrote it


def test_show_event_prints_the_lead_line_and_a_retry_note() -> None:
    out, err = console(), console()
    lead = answer().evidence[0]
    terminal.show_event(out, err, SourcesEvent((STRONG,), False, "q", lead))
    terminal.show_event(out, err, TextEvent("In English"))
    terminal.show_event(out, err, RetryEvent("wrong language"))
    terminal.show_event(out, err, TextEvent("用中文"))
    shown = output(out)
    assert shown.startswith("“Cosine similarity compares the angle between two vectors.”")
    assert "— /docs/guide.pdf, page 1" in shown
    assert shown.endswith("In English\n用中文")
    assert "(wrong language; asking again)" in output(err)


# -- the JSON contract -------------------------------------------------------------------------


def test_answer_dict_has_exactly_the_documented_keys() -> None:
    data = schema.answer_dict(answer(), kb="notes")

    assert set(data) == ANSWER_KEYS
    assert data["kb"] == "notes"
    assert data["seconds"] == 1.235
    assert [set(s) for s in data["sources"]] == [HIT_KEYS]
    assert data["sources"][0]["section"] is None
    assert [set(e) for e in data["evidence"]] == [EVIDENCE_KEYS]
    assert set(data["usage"]) == USAGE_KEYS


def test_answer_dict_of_a_refusal() -> None:
    refused = answer(
        refused=True, sources=(), evidence=(), usage=None, refusal_reason="nothing relevant"
    )

    data = schema.answer_dict(refused, kb="notes")

    assert set(data) == ANSWER_KEYS
    assert data["refused"] is True
    assert data["usage"] is None
    assert data["sources"] == []
    assert data["evidence"] == []
    assert data["refusal_reason"] == "nothing relevant"


def test_answer_dict_adds_thinking_only_when_there_is_some() -> None:
    assert "thinking" not in schema.answer_dict(answer(thinking=None), kb="notes")
    assert schema.answer_dict(answer(thinking="hmm"), kb="notes")["thinking"] == "hmm"


def test_search_dict_has_the_documented_keys_and_marks_relevance() -> None:
    retrieval = Retrieval((STRONG, WEAK), Verdict((STRONG,)))

    data = schema.search_dict("cosine", "notes", "cosine", "hybrid", retrieval)

    assert set(data) == SEARCH_KEYS
    assert [set(r) for r in data["results"]] == [{*HIT_KEYS, "relevant"}] * 2
    assert [r["relevant"] for r in data["results"]] == [True, False]
    assert data["refusal_reason"] is None


def test_search_dict_of_a_refused_search_carries_the_reason() -> None:
    retrieval = Retrieval((WEAK,), Verdict((), "the documents never mention: xer", ("xer",)))

    data = schema.search_dict("xer", "notes", "cosine", "hybrid", retrieval)

    assert data["refusal_reason"] == "the documents never mention: xer"
    assert data["unknown_terms"] == ["xer"]
    assert data["results"][0]["relevant"] is False


def test_ingest_dict_has_the_documented_keys() -> None:
    report = IngestReport(
        kb="notes",
        added=("/a.txt", "/b.txt"),
        removed=("/c.txt",),
        failed=(FileFailure("/d.pdf", "corrupt or truncated PDF"),),
        seconds=0.12345,
    )

    data = schema.ingest_dict(report)

    assert set(data) == INGEST_KEYS
    assert data["failed"] == [{"path": "/d.pdf", "reason": "corrupt or truncated PDF"}]
    assert data["counts"] == {"added": 2, "updated": 0, "unchanged": 0, "removed": 1, "failed": 1}
    assert data["seconds"] == 0.123


def test_file_dict_keys() -> None:
    record = FileRecord("/a.pdf", "abc123", 2048, 5, 3, 1_700_000_000.0, "failed", "encrypted")

    data = schema.file_dict(record)

    assert set(data) == FILE_KEYS
    assert data["size_bytes"] == 2048
    assert data["reason"] == "encrypted"


@pytest.mark.parametrize("writer", [schema.write_json, schema.write_jsonl])
def test_json_output_parses_and_keeps_chinese_unescaped(writer) -> None:
    stream = io.StringIO()
    chinese = answer(question="余弦相似度是什么？", text="余弦相似度衡量两个向量的夹角。")

    writer(schema.answer_dict(chinese, kb="中文"), stream)

    written = stream.getvalue()
    assert "余弦相似度衡量两个向量的夹角。" in written
    assert "\\u" not in written
    assert written.endswith("\n")
    assert json.loads(written)["kb"] == "中文"


def test_write_jsonl_writes_one_line_per_object() -> None:
    stream = io.StringIO()
    for n in range(3):
        schema.write_jsonl({"id": n, "text": "two\nlines"}, stream)

    lines = stream.getvalue().splitlines()

    assert [json.loads(line)["id"] for line in lines] == [0, 1, 2]


def test_log_lines_carry_no_control_characters() -> None:
    """Log messages name files and folders, which may hold escape sequences."""
    import logging

    from ragkb.cli.render.logs import _LogFormatter

    record = logging.LogRecord(
        "ragkb", logging.WARNING, "", 0, "skipped %s", ("a\x1b]52;c;x\x07",), None
    )
    assert _LogFormatter().format(record) == "warning: skipped a]52;c;x"


def test_the_progress_bar_is_drawn_on_a_terminal_but_not_under_no_color(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ragkb.cli.render.progress import IngestProgress
    from ragkb.types import ProgressEvent

    def drawn(console: Console) -> str:
        with IngestProgress(console, enabled=True) as update:
            if update is not None:
                update(ProgressEvent(stage="embed", files_done=1, files_total=2, chunks_done=3))
        return console.file.getvalue()

    colour = Console(file=io.StringIO(), force_terminal=True, color_system="standard")
    assert "\x1b[" in drawn(colour)  # the bar itself (and the check below can fail)
    # NO_COLOR on a terminal (a new-user trial saw ESC[2K, ESC[1A, ESC[?25l from the bar).
    monkeypatch.setenv("NO_COLOR", "1")
    plain = Console(file=io.StringIO(), force_terminal=True, color_system=terminal._color_system())
    assert drawn(plain) == ""
