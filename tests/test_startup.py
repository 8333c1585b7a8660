"""Cheap commands must not import the heavy libraries (as typer's test_rich_import does)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ragkb.index.catalog import Catalog, ChunkRecord, FileRecord, kb_dir

HEAVY = ("torch", "sentence_transformers", "chromadb", "llama_cpp", "transformers", "pydantic")
# Listing commands read the catalog only; none of the pipeline's stages is imported.
PIPELINE = ("ragkb.kb", "ragkb.build", "ragkb.ingest", "ragkb.query", "ragkb.models")

# Runs the CLI in-process, then reports its exit code and the heavy modules it imported.
_WRAPPER = """
import json, sys
from ragkb.cli.main import main
heavy = {heavy!r}
code = main(sys.argv[1:])
loaded = sorted(
    m for m in sys.modules
    if m.split(".")[0] in heavy or any(m == p or m.startswith(p + ".") for p in {pipeline!r})
)
sys.stderr.write("\\n" + json.dumps({{"code": code, "loaded": loaded}}) + "\\n")
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Return an environment with a private home and config dir."""
    return {
        **os.environ,
        "RAGKB_HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "NO_COLOR": "1",
    }


def run_cli(args: list[str], env: dict[str, str]) -> tuple[int, list[str], str]:
    """Run ragkb ARGS in a fresh interpreter; return (exit code, heavy modules, stdout)."""
    result = subprocess.run(
        [sys.executable, "-c", _WRAPPER.format(heavy=set(HEAVY), pipeline=set(PIPELINE)), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    report = json.loads(result.stderr.strip().splitlines()[-1])
    return report["code"], report["loaded"], result.stdout


@pytest.mark.parametrize(
    ("args", "expected_out"),
    [
        (["--help"], "ingest"),
        (["list"], "No knowledge bases yet"),
        (["list", "--json"], "knowledge_bases"),
        (["config", "show"], "n_gpu_layers"),
        (["config", "show", "--json"], "n_gpu_layers"),
    ],
)
def test_cheap_commands_import_nothing_heavy(
    args: list[str], expected_out: str, env: dict[str, str]
) -> None:
    code, loaded, stdout = run_cli(args, env)
    assert code == 0
    assert expected_out in stdout
    assert loaded == []


def test_stats_and_files_read_only_the_catalog(env: dict[str, str], tmp_path: Path) -> None:
    directory = kb_dir(Path(env["RAGKB_HOME"]), "notes")
    catalog = Catalog(directory)
    catalog.set_meta("fingerprint", {"metric": "cosine", "embedder": "some-model"})
    record = FileRecord("/docs/a.pdf", "ab" * 32, 10, 1, 1, 0.0, "ok")
    catalog.record_file(record, [ChunkRecord("c1", "/docs/a.pdf", 0, 1, None, "text", "text")])
    for args, expected in (
        (["stats", "--kb", "notes", "--json"], '"chunks": 1'),
        (["files", "--kb", "notes", "--json"], "/docs/a.pdf"),
        (["list"], "notes"),
    ):
        code, loaded, stdout = run_cli(args, env)
        assert code == 0
        assert expected in stdout
        assert loaded == []


def test_wrapper_would_notice_a_heavy_import(env: dict[str, str]) -> None:
    # Guard the guard: the same wrapper does report a heavy module once one is imported.
    script = "import chromadb.api\n" + _WRAPPER.format(heavy=set(HEAVY), pipeline=set(PIPELINE))
    result = subprocess.run(
        [sys.executable, "-c", script, "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    assert "chromadb" in json.loads(result.stderr.strip().splitlines()[-1])["loaded"]


def test_importing_the_package_and_cli_is_light(env: dict[str, str]) -> None:
    code = (
        "import sys, ragkb, ragkb.cli, ragkb.config, ragkb.kb; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {set(HEAVY)!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("command", [["ragkb"], [sys.executable, "-m", "ragkb"]])
def test_help_with_importtime(command: list[str], env: dict[str, str]) -> None:
    if command == ["ragkb"]:
        script = Path(sys.executable).parent / "ragkb"  # the installed console script
        if not script.is_file():
            pytest.skip("ragkb console script not installed next to the interpreter")
        command = [str(script)]
    result = subprocess.run(
        [*command, "--help"],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPROFILEIMPORTTIME": "1"},
        timeout=120,
    )
    assert result.returncode == 0
    assert "Usage" in result.stdout
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "ragkb" in imported  # the report is real
    assert not imported & set(HEAVY)
