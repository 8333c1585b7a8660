"""`ragkb config show` and `ragkb config init`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ragkb import errors
from ragkb.cli.app import config_app
from ragkb.cli.options import JsonOpt, with_settings
from ragkb.config import Settings
from ragkb.settings import FIELDS, SECTIONS


@config_app.command("show")
@with_settings()
def config_show(json_out: JsonOpt = False, *, settings: Settings) -> None:
    """Print every effective setting and where it came from (flag, env, file, default)."""
    from ragkb.cli.render import schema, terminal

    rows = [
        {
            "section": f.section,
            "name": f.name,
            "value": settings.value(f.name),
            "source": settings.sources[f.name],
        }
        for f in FIELDS
    ]
    if json_out:
        schema.write_json(
            {
                "home": str(settings.home),
                "config_file": str(settings.config_path) if settings.config_path else None,
                "settings": rows,
            }
        )
        return
    from rich.table import Table

    table = Table(title=f"data home: {settings.home}", title_justify="left")
    for col in ("setting", "value", "source"):
        table.add_column(col)
    for row in rows:
        table.add_row(
            f"{row['section']}.{row['name']}", terminal.safe(repr(row["value"])), row["source"]
        )
    terminal.stdout_console().print(table)


@config_app.command("init")
def config_init(
    path: Annotated[Path | None, typer.Argument(help="Where to write (default: user dir).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented config file with every setting at its default."""
    from ragkb.config import default_config_path

    target = path or default_config_path()
    if target.exists() and not force:
        raise errors.UsageError(f"{target} exists; use --force to overwrite")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_config_toml(), encoding="utf-8")
    typer.echo(str(target))


def render_config_toml() -> str:
    """Return a commented config file listing every setting at its default."""
    lines = [
        "# ragkb configuration. Precedence: flag > RAGKB_* environment > this file > default.",
        "# Every key can also be set as RAGKB_<KEY> (e.g. RAGKB_N_GPU_LAYERS=-1).",
        "",
    ]
    for section in SECTIONS:
        lines.append(f"[{section}]")
        for field in (f for f in FIELDS if f.section == section):
            choices = f" ({' | '.join(field.choices)})" if field.choices else ""
            lines.append(f"# {field.help}{choices}")
            lines.append(f"{field.name} = {_toml_value(field.default)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)
