"""Command-line options: each declared once.

Options that are settings come from their declaration in `ragkb.config` (name, help,
allowed values, flag spelling): `settings_options("kb", "k")` adds `--kb` and `-k/--k` to a
command and hands their values to it as one `flags` dict, ready for `load_settings`. The
options that are not settings (output format, logging, the config file) are declared here.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from ragkb.config import FIELDS_BY_NAME, Field

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Config file (else RAGKB_CONFIG or user dir).")
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Only results and errors: no progress or warnings.")
]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="Log each stage and its timing on stderr.")
]
BatchOpt = Annotated[
    str | None,
    typer.Option("--batch", help="File of questions (one per line or JSON lines); - = stdin."),
]

# Settings that retrieval commands take, and the generation settings ask and chat share.
RETRIEVAL_OPTIONS = ("kb", "k", "mode", "min_score", "min_relevance")
GENERATION_OPTIONS = (
    "temperature",
    "top_p",
    "top_k_sampling",
    "repeat_penalty",
    "max_tokens",
    "seed",
    "n_ctx",
    "n_threads",
    "n_gpu_layers",
    "model_path",
    "system_prompt",
    "show_thinking",
    "no_think",
    "backend",
    "evidence",
)


def flag_names(field: Field) -> tuple[str, ...]:
    """Return the flag spelling of a setting: --name, or --name/--no-name for a bool."""
    if field.flags:
        return field.flags
    long = "--" + field.name.replace("_", "-")
    return (f"{long}/--no-{long[2:]}",) if field.type is bool else (long,)


def _parameter(name: str) -> inspect.Parameter:
    field = FIELDS_BY_NAME[name]
    choices = f" One of: {', '.join(field.choices)}." if field.choices else ""
    option = typer.Option(*flag_names(field), help=field.help + choices, show_default=False)
    # None means "not given": the environment, the config file or the default decides.
    annotation = Annotated[field.type | None, option]  # type: ignore[name-defined]
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation
    )


def settings_options(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command the flags of the settings NAMES; it receives them as `flags`.

    The command declares a keyword-only `flags: dict[str, Any]` parameter, which is not an
    option: it holds {setting name: value or None} for the named settings.
    """

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(command, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name != "flags"]
        added = [_parameter(name) for name in names]

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            flags = {name: kwargs.pop(name) for name in names}
            return command(**kwargs, flags=flags)

        params = sorted([*own, *added], key=lambda p: p.kind)  # keyword-only after the rest
        wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        return wrapper

    return decorate
