"""Files in the repository that must stay true to the code."""

from __future__ import annotations

import tomllib
from pathlib import Path

from ragkb.cli.commands.config import render_config_toml
from ragkb.config import FIELDS, read_config_file

ROOT = Path(__file__).resolve().parent.parent


def test_config_toml_documents_every_setting_at_its_default() -> None:
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    assert text == render_config_toml(), "regenerate config.toml from ragkb.config"
    values = read_config_file(ROOT / "config.toml")
    assert values == {f.name: f.default for f in FIELDS}
    assert set(tomllib.loads(text)) == {f.section for f in FIELDS}


def test_readme_mentions_every_command_and_exit_code() -> None:
    from ragkb import errors
    from ragkb.cli.app import app

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        assert f"ragkb {name}" in readme, name
    for code in (
        errors.EXIT_OK,
        errors.EXIT_CONFIG,
        errors.EXIT_NOT_FOUND,
        errors.EXIT_PARTIAL_INGEST,
        errors.EXIT_LOCKED,
        errors.EXIT_MISMATCH,
        errors.EXIT_REFUSED,
        errors.EXIT_MODEL,
        errors.EXIT_STORAGE,
        errors.EXIT_INTERRUPTED,
    ):
        assert f"| {code} |" in readme, code
