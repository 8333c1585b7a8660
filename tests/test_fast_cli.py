"""The CLI contract (exit codes, JSON keys, streams) in-process, over fakes (tests/fakes.py).

`ragkb.build.build_parts` is patched, so every command that opens a knowledge base gets the
real catalog and keyword index with the fake embedder, vector store and generator.
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

import pytest
from contract import ANSWER_KEYS, INFO_KEYS, INGEST_KEYS, RESULT_KEYS, SEARCH_KEYS
from fakes import FAKE_EMBEDDER_NAME, make_fake_parts

import ragkb.build
from ragkb.cli.main import main
from ragkb.errors import (
    EXIT_MISMATCH,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_PARTIAL_INGEST,
    EXIT_REFUSED,
    EXIT_STORAGE,
    EXIT_USAGE,
)
from ragkb.ingest.documents.reasons import EMPTY
from ragkb.query.prompting import REFUSAL_TEXT

if TYPE_CHECKING:
    from pathlib import Path

    from ragkb.config import Settings
    from ragkb.parts import Parts

REPLY = "The cache size defaults to 64 megabytes [1]."
ANSWERABLE = "How big is the frobnicator cache?"
UNKNOWN = "How do I configure zorblatt?"


class Built:
    """The patched build_parts: every Parts it made; one vector store per kb (one folder)."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.parts: list[Parts] = []

    def __call__(self, settings: Settings) -> Parts:
        parts = make_fake_parts(
            settings,
            replies=lambda _messages: REPLY,
            records=self.records.setdefault(settings.store.kb, {}),
        )
        self.parts.append(parts)
        return parts

    def generator_calls(self) -> int:
        return sum(len(p.generator.calls) for p in self.parts)  # type: ignore[attr-defined]


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> Built:
    built = Built()
    monkeypatch.setattr(ragkb.build, "build_parts", built)
    return built


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "cache.txt").write_text(
        "The frobnicator keeps a cache of parsed pages. Its cache size defaults to 64 "
        "megabytes and can be raised with the cache_size option.\n",
        encoding="utf-8",
    )
    (folder / "garden.md").write_text(
        "# Garden\n\nTomatoes need full sun and regular watering. Prune the tomato plants "
        "weekly in summer.\n",
        encoding="utf-8",
    )
    return folder


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `ragkb ARGS`; return the exit code, stdout and stderr (never with ANSI escapes)."""
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "\x1b[" not in out, out
    assert "\x1b[" not in err, err
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code, out, _ = run(capsys, *args)
    return code, json.loads(out)


@pytest.fixture
def ingested(built: Built, docs: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    code, _, err = run(capsys, "ingest", str(docs), "--json")
    assert code == EXIT_OK, err
    return docs


def test_ingest_json(built: Built, docs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(capsys, "ingest", str(docs), "--json")
    assert code == EXIT_OK
    assert set(data) == INGEST_KEYS
    assert data["kb"] == "default"
    assert data["dry_run"] is False
    assert sorted(data["added"]) == [str(docs / "cache.txt"), str(docs / "garden.md")]
    assert data["counts"] == {"added": 2, "updated": 0, "unchanged": 0, "removed": 0, "failed": 0}
    assert data["chunks_added"] == 2
    assert data["failed"] == []
    code, again = run_json(capsys, "ingest", str(docs), "--json")
    assert code == EXIT_OK
    assert again["counts"]["unchanged"] == 2
    assert again["counts"]["added"] == 0


def test_ingest_dry_run_json(built: Built, docs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(capsys, "ingest", str(docs), "--dry-run", "--json")
    assert code == EXIT_OK
    assert data["dry_run"] is True
    assert data["counts"]["added"] == 2
    code, listed = run_json(capsys, "list", "--json")
    assert listed == {"knowledge_bases": [], "skipped": []}


def test_ingest_verbose_off_a_terminal_says_where_it_is(
    built: Built, docs: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A new-user trial: `ingest -v` into a pipe printed nothing for a 25-minute file.
    from ragkb.cli.render import progress

    monkeypatch.setattr(progress, "LINE_INTERVAL_S", 0.0)
    code, out, err = run(capsys, "ingest", str(docs), "-v")
    assert code == EXIT_OK
    assert f"ragkb: read {docs / 'cache.txt'}: " in err and " chunks to embed" in err
    assert "embedding: 2/2 files read, " in err and " chunks embedded (" in err
    assert "embedding" not in out  # progress is stderr's


def test_ingest_with_a_bad_file_exits_5_and_names_it(
    built: Built, docs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = docs / "empty.txt"
    empty.write_text("", encoding="utf-8")
    code, data = run_json(capsys, "ingest", str(docs), "--json")
    assert code == EXIT_PARTIAL_INGEST == 5
    assert [f["path"] for f in data["failed"]] == [str(empty)]
    assert EMPTY in data["failed"][0]["reason"]
    assert data["counts"]["added"] == 2  # the run goes on
    code, out, err = run(capsys, "ingest", str(empty))
    assert code == EXIT_PARTIAL_INGEST
    assert "empty.txt" in out + err
    assert EMPTY in out + err


def test_search_json(ingested: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(capsys, "search", "frobnicator cache size", "--json")
    assert code == EXIT_OK
    assert set(data) == SEARCH_KEYS
    assert data["query"] == "frobnicator cache size"
    assert (data["kb"], data["metric"], data["mode"]) == ("default", "cosine", "hybrid")
    assert data["unknown_terms"] == []
    assert data["refusal_reason"] is None
    assert data["results"]
    for result in data["results"]:
        assert set(result) == RESULT_KEYS
    top = data["results"][0]
    assert top["rank"] == 1
    assert top["source"] == str(ingested / "cache.txt")
    assert top["relevant"] is True
    assert "frobnicator" in top["text"]
    assert top["page"] is None


def test_search_json_unknown_term(ingested: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(capsys, "search", UNKNOWN, "--json")
    assert code == EXIT_OK  # search shows what it found; only ask refuses
    assert data["unknown_terms"] == ["zorblatt"]
    assert data["refusal_reason"] == "the documents never mention: zorblatt"
    assert all(r["relevant"] is False for r in data["results"])


def test_a_question_as_long_as_a_document_is_a_usage_error(
    ingested: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in ("search", "ask"):
        code, out, err = run(capsys, command, "cache " * 1000)  # 6,000 characters
        assert code == EXIT_USAGE and not out
        assert "6,000 characters long; at most 4,000" in err and len(err.splitlines()) == 1


def test_a_blank_question_or_a_question_with_a_batch_is_a_usage_error(
    ingested: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A new-user trial: `ask "   "` was searched and refused (exit 8), and `search x --batch -`
    # dropped x without a word.
    for command in ("search", "ask"):
        code, out, err = run(capsys, command, "   ")
        assert code == EXIT_USAGE and not out
        assert "the question is empty" in err and len(err.splitlines()) == 1
        code, out, err = run(capsys, command, "cache", "--batch", "-")
        assert code == EXIT_USAGE and not out
        assert "or --batch FILE, not both" in err


def test_ask_json(ingested: Path, built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(capsys, "ask", ANSWERABLE, "--json")
    assert code == EXIT_OK
    assert set(data) == ANSWER_KEYS
    assert data["question"] == data["standalone_query"] == ANSWERABLE
    assert data["kb"] == "default"
    assert data["answer"] == REPLY
    assert data["refused"] is False
    assert data["unknown_terms"] == []
    assert data["refusal_reason"] is None
    assert data["sources"][0]["source"] == str(ingested / "cache.txt")
    assert data["evidence"]
    assert data["invalid_citations"] == []
    assert data["usage"]["n_ctx"] == 2048
    assert data["usage"]["max_tokens"] == 256
    assert isinstance(data["seconds"], float)
    assert "retrieve" in data["timings"]
    assert built.generator_calls() == 1


def test_refused_ask_exits_8_and_prints_the_refusal(
    ingested: Path, built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "ask", UNKNOWN)
    assert code == EXIT_REFUSED == 8
    assert REFUSAL_TEXT["en"] in out
    assert "zorblatt" in err  # why it refused, on stderr
    code, data = run_json(capsys, "ask", UNKNOWN, "--json")
    assert code == EXIT_REFUSED
    assert data["refused"] is True
    assert data["answer"] == REFUSAL_TEXT["en"]
    assert data["unknown_terms"] == ["zorblatt"]
    assert data["usage"] is None
    assert built.generator_calls() == 0
    # The nearest passage is named, on stderr and in JSON, so the user can judge the refusal.
    assert "nearest: " in err and "--no-refuse" in err
    assert data["nearest"] is not None and data["nearest"]["source"]


def test_ask_batch_writes_json_lines_with_ids(
    ingested: Path, tmp_path: Path, built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = tmp_path / "questions.txt"
    batch.write_text(
        f"{ANSWERABLE}\n\n" + json.dumps({"id": "q2", "question": UNKNOWN}) + "\n",
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "ask", "--batch", str(batch))
    assert code == EXIT_OK
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == [1, "q2"]
    assert [r["refused"] for r in rows] == [False, True]
    assert [r["question"] for r in rows] == [ANSWERABLE, UNKNOWN]
    assert all(set(r) == ANSWER_KEYS | {"id"} for r in rows)
    assert built.generator_calls() == 1


def test_search_on_a_missing_kb_exits_4(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "search", "anything", "--json")
    assert code == EXIT_NOT_FOUND == 4
    assert out == ""
    assert "knowledge base 'default' does not exist" in err


def test_reset_needs_yes_without_a_tty(
    ingested: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _, err = run(capsys, "reset")
    assert code == EXIT_USAGE == 2
    assert "--yes" in err
    code, listed = run_json(capsys, "list", "--json")
    assert [kb["name"] for kb in listed["knowledge_bases"]] == ["default"]


def test_reset_yes_then_list_shows_none(ingested: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(capsys, "reset", "--yes", "--json")
    assert code == EXIT_OK
    assert data == {"kb": "default", "deleted": True}
    code, listed = run_json(capsys, "list", "--json")
    assert code == EXIT_OK
    assert listed == {"knowledge_bases": [], "skipped": []}
    code, _, _ = run(capsys, "stats", "--json")
    assert code == EXIT_NOT_FOUND


def test_stats_and_list_json(ingested: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(capsys, "stats", "--json")
    assert code == EXIT_OK
    assert set(data) == INFO_KEYS
    assert (data["name"], data["metric"], data["embedder"]) == (
        "default",
        "cosine",
        FAKE_EMBEDDER_NAME,
    )
    assert (data["files"], data["failed_files"], data["chunks"]) == (2, 0, 2)
    assert data["size_bytes"] > 0
    assert data["fingerprint"]["dimension"] == 64
    code, listed = run_json(capsys, "list", "--json")
    assert listed == {"knowledge_bases": [data], "skipped": []}


def test_files_and_remove_json(
    ingested: Path, built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    cache, garden = str(ingested / "cache.txt"), str(ingested / "garden.md")
    code, data = run_json(capsys, "files", "--json")
    assert code == EXIT_OK
    assert data["kb"] == "default"
    assert [f["path"] for f in data["files"]] == [cache, garden]
    assert all(f["status"] == "ok" and f["chunks"] == 1 for f in data["files"])
    assert {"reason", "pages", "size_bytes", "file_hash", "ingested_at"} <= set(data["files"][0])
    code, removed = run_json(capsys, "remove", garden, "--json")
    assert code == EXIT_OK
    assert removed == {"kb": "default", "removed": [{"path": garden, "chunks": 1}]}
    code, data = run_json(capsys, "files", "--json")
    assert [f["path"] for f in data["files"]] == [cache]
    assert all(r.metadata["source"] != garden for r in built.records["default"].values())
    code, found = run_json(capsys, "search", "prune tomato plants", "--json")
    assert all(r["source"] != garden for r in found["results"])
    code, _, err = run(capsys, "remove", garden)
    assert code == EXIT_NOT_FOUND
    assert "not in knowledge base 'default'" in err


def test_remove_a_folder_drops_every_file_under_it(
    ingested: Path, built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    (ingested / "sub").mkdir()
    (ingested / "sub" / "pump.md").write_text("# Pump\n\nOil the pump weekly.\n", "utf-8")
    (ingested / "sub" / "pumpkin.md").write_text("# Pumpkin\n\nSow in May.\n", "utf-8")
    assert run(capsys, "ingest", str(ingested))[0] == EXIT_OK
    code, removed = run_json(capsys, "remove", str(ingested / "sub"), "--json")
    assert code == EXIT_OK
    assert [r["path"] for r in removed["removed"]] == [
        str(ingested / "sub" / "pump.md"),
        str(ingested / "sub" / "pumpkin.md"),
    ]
    code, data = run_json(capsys, "files", "--json")
    assert [f["path"] for f in data["files"]] == [
        str(ingested / n) for n in ("cache.txt", "garden.md")
    ]
    # A folder's name is no prefix of a sibling's: "sub" does not take "subway".
    assert run(capsys, "remove", str(ingested / "su"))[0] == EXIT_NOT_FOUND


def test_piped_tables_keep_each_row_whole(
    ingested: Path,
    built: Built,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    long = ingested / ("a-name-long-enough-to-wrap-at-eighty-columns-" * 2 + ".txt")
    long.write_text("The frobnicator rotates its spool every night.\n", encoding="utf-8")
    assert run(capsys, "ingest", str(ingested))[0] == EXIT_OK
    code, out, _ = run(capsys, "files")
    assert code == EXIT_OK
    assert any(str(long) in line for line in out.splitlines()), out


def test_flags_reach_the_settings(ingested: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(capsys, "ask", ANSWERABLE, "--n-ctx", "777", "--json")
    assert code == EXIT_OK
    assert data["usage"]["n_ctx"] == 777
    code, data = run_json(capsys, "ask", ANSWERABLE, "--max-tokens", "100", "--json")
    assert data["usage"]["max_tokens"] == 100
    code, data = run_json(capsys, "search", "frobnicator", "-k", "1", "--json")
    assert len(data["results"]) == 1
    code, data = run_json(capsys, "search", "frobnicator", "--mode", "keyword", "--json")
    assert data["mode"] == "keyword"
    assert all(r["distance"] is None for r in data["results"])


def test_impossible_flags_are_a_usage_error(
    ingested: Path, built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    before = len(built.parts)
    code, out, err = run(capsys, "ask", ANSWERABLE, "--max-tokens", "5000", "--n-ctx", "100")
    assert code == EXIT_USAGE == 2
    assert out == ""
    assert "max_tokens (5000) must be smaller than n_ctx (100)" in err
    assert len(built.parts) == before  # rejected before anything was opened
    code, _, _ = run(capsys, "search", "x", "--mode", "fuzzy")
    assert code == EXIT_USAGE


def test_metric_flag_on_a_cosine_kb_exits_7(
    ingested: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "ingest", str(ingested), "--metric", "l2", "--json")
    assert code == EXIT_MISMATCH == 7
    assert out == ""
    assert "the metric is fixed at creation" in err
    code, data = run_json(capsys, "stats", "--json")
    assert data["metric"] == "cosine"


def test_other_kb_is_separate(ingested: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(capsys, "ingest", str(ingested / "garden.md"), "--kb", "notes", "--json")
    assert code == EXIT_OK
    assert data["kb"] == "notes"
    code, listed = run_json(capsys, "list", "--json")
    assert [(kb["name"], kb["files"]) for kb in listed["knowledge_bases"]] == [
        ("default", 2),
        ("notes", 1),
    ]
    code, found = run_json(capsys, "search", "frobnicator cache", "--kb", "notes", "--json")
    assert all(r["source"].endswith("garden.md") for r in found["results"])


def test_human_output_has_no_ansi_escapes(
    built: Built, docs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # run() asserts that neither stream holds "\x1b[" (NO_COLOR is set by conftest), even
    # when a document itself holds an escape sequence
    (docs / "escape.txt").write_text(
        "The frobnicator logs \x1b[31mred warnings\x1b[0m about its spool.\n", encoding="utf-8"
    )
    code, out, _ = run(capsys, "ingest", str(docs))
    assert code == EXIT_OK
    assert "ingest into 'default'" in out
    code, out, _ = run(capsys, "search", "frobnicator red warnings spool")
    assert code == EXIT_OK
    assert "escape.txt" in out
    code, out, _ = run(capsys, "search", "frobnicator cache size")
    assert code == EXIT_OK
    assert "cache.txt" in out
    code, out, _ = run(capsys, "ask", ANSWERABLE)
    assert code == EXIT_OK
    assert REPLY in out
    for command in ("stats", "files", "list"):
        code, out, _ = run(capsys, command)
        assert code == EXIT_OK
        assert out.strip()


def test_ask_prints_the_lead_line_then_the_answer_then_flags_unsupported_sentences(
    ingested: Path, built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "ask", ANSWERABLE)
    assert code == EXIT_OK
    lead = out.index("“")
    assert "cache.txt" in out[lead : out.index(REPLY)]  # the lead line, cited, comes first
    assert "not supported" not in err
    code, data = run_json(capsys, "ask", ANSWERABLE, "--json")
    assert data["lead"]["source"] == str(ingested / "cache.txt")
    assert data["sentences"] == [{"text": REPLY, "supported": True}]
    assert data["language_match"] is True and data["language_retry"] is False
    code, out, _ = run(capsys, "ask", ANSWERABLE, "--answer-style", "generative")
    assert "“" not in out.split(REPLY)[0]


def test_list_names_a_knowledge_base_it_cannot_read_instead_of_saying_there_is_none(
    ingested: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A new-user trial's read-only home: every catalog failed to open and `list` said "No
    # knowledge bases yet" with exit 0. A damaged catalog fails the same way, without root.
    from ragkb.config import load_settings
    from ragkb.index.catalog import CATALOG_FILE, kb_dir

    catalog = kb_dir(load_settings({}).home, "default") / CATALOG_FILE
    for journal in catalog.parent.glob(f"{CATALOG_FILE}-*"):  # its WAL would still be read
        journal.unlink()
    catalog.write_bytes(b"not a database" * 100)
    code, out, err = run(capsys, "list")
    assert code == EXIT_STORAGE
    assert "No knowledge bases yet" not in out
    assert "skipped default" in err and "no knowledge base could be read (1 skipped)" in err
    code, listed = run_json(capsys, "list", "--json")
    assert code == EXIT_STORAGE
    assert listed["knowledge_bases"] == []
    assert [s["name"] for s in listed["skipped"]] == ["default"]
    # `repair` cannot rebuild it (the catalog is its record) and says what can be done.
    code, out, err = run(capsys, "repair")
    assert (
        code == EXIT_STORAGE and "the catalog is damaged: `ragkb reset` it and ingest again" in err
    )
    # ... and it can be deleted: reset does not need to read what it deletes (the trial's
    # `reset --yes` on a damaged catalog exited 10, leaving only `rm -rf`).
    code, out, err = run(capsys, "reset", "--yes")
    assert code == EXIT_OK, err
    assert "deleted knowledge base 'default'" in out
    assert not catalog.parent.exists()
