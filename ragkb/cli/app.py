"""The typer application that every command module registers on."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

app = typer.Typer(
    name="ragkb",
    help="A local, private knowledge base: ingest PDF/DOCX/TXT/MD, search, and ask a local model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    rich_markup_mode=None,
)
config_app = typer.Typer(help="Show or create the configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")


def _print_version(value: bool) -> None:
    if value:
        from ragkb import __version__

        sys.stdout.write(f"ragkb {__version__}\n")
        raise typer.Exit()


@app.callback()
def _top_level(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Top-level options (the app's help text is set on the Typer object)."""
