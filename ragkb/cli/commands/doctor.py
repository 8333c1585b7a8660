"""`ragkb doctor` and `ragkb eval`: check the installation, score retrieval on a gold file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ragkb.cli.app import app
from ragkb.cli.commands.common import open_kb
from ragkb.cli.options import JsonOpt, with_filter, with_settings
from ragkb.config import Settings
from ragkb.types import Filter


@app.command()
@with_settings()
def doctor(json_out: JsonOpt = False, *, settings: Settings) -> None:
    """Check the installation: versions, GPU support, model files, data home."""
    from ragkb.cli.render import schema, terminal
    from ragkb.doctor import diagnose

    report = diagnose(settings)
    if json_out:
        schema.write_json(report)
        return
    out = terminal.stdout_console()
    for section, values in report.items():
        out.print(f"[bold]{section}[/bold]")
        if isinstance(values, dict):
            for key, value in values.items():
                out.print(f"  {key}: {terminal.safe(_shown(value))}")
        elif isinstance(values, list):
            for value in values:
                out.print(f"  {terminal.safe(_shown(value))}")
            if not values:
                out.print("  none")
        else:
            out.print(f"  {terminal.safe(_shown(values))}")


def _shown(value: object) -> str:
    """Return VALUE as a person reads it, on one line: yes/no, none, "a: 1, b: 2"."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_shown(v)}" for k, v in value.items()) or "none"
    if isinstance(value, list | tuple):
        return ", ".join(_shown(v) for v in value) or "none"
    return " ".join(str(value).split())


@app.command("eval")
@with_settings("kb", "k", "mode", logs=True)
@with_filter
def eval_(
    gold: Annotated[Path, typer.Argument(help="Gold file (JSON lines).")],
    answers: Annotated[
        bool, typer.Option("--answers", help="Also generate and score answers.")
    ] = False,
    json_out: JsonOpt = False,
    *,
    scope: Filter,
    settings: Settings,
) -> None:
    """Score retrieval (hit@1, hit@5, MRR, refusals) on a gold question file."""
    from ragkb.cli.render import schema, terminal
    from ragkb.evaluation import evaluate

    report = evaluate(open_kb(settings), gold, answers=answers, scope=scope)
    if json_out:
        schema.write_json(report)
    else:
        terminal.print_eval(terminal.stdout_console(), report)
