"""Command-line options: each declared once.

Options that are settings come from their declaration in `ragkb.settings` (name, help,
allowed values, flag spelling): `with_settings("kb", "k")` adds `--kb`, `-k/--k` and
`--config` to a command and hands it the resolved Settings. The options that are not
settings (output format, logging, batch files) are declared here.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from ragkb.cli.render.logs import configure_logging
from ragkb.config import load_settings
from ragkb.settings import FIELDS_BY_NAME, Field

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

# The filter options of every retrieval command (search, ask, chat, eval): which files count.
_FILTER_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("filter_paths", Annotated[list[str] | None, typer.Option(
        "--path", help="Only files matching this glob, file or folder (repeatable).")]),
    ("filter_types", Annotated[list[str] | None, typer.Option(
        "--type", help="Only files of this kind: pdf, docx, md, txt, image (repeatable).")]),
    ("filter_tags", Annotated[list[str] | None, typer.Option(
        "--tag", help="Only files with this tag, given by `ingest --tag` (repeatable).")]),
    ("since", Annotated[str | None, typer.Option(
        "--since", help="Only files ingested at or after this date, time or age (7d, 2w).")]),
    ("until", Annotated[str | None, typer.Option(
        "--until", help="Only files ingested before this date, time or age.")]),
    ("modified_since", Annotated[str | None, typer.Option(
        "--modified-since", help="Only files last modified at or after this date or age.")]),
    ("modified_until", Annotated[str | None, typer.Option(
        "--modified-until", help="Only files last modified before this date or age.")]),
)  # fmt: skip


def with_filter(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command the filter options; pass it the Filter they describe as `scope`."""
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != "scope"]
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=kind)
        for name, kind in _FILTER_OPTIONS
    ]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        from ragkb.kb import parse_filter

        raw = {name: kwargs.pop(name) for name, _ in _FILTER_OPTIONS}
        scope = parse_filter(
            paths=raw["filter_paths"] or (),
            types=raw["filter_types"] or (),
            tags=raw["filter_tags"] or (),
            since=raw["since"],
            until=raw["until"],
            modified_since=raw["modified_since"],
            modified_until=raw["modified_until"],
        )
        return command(**kwargs, scope=scope)

    params = sorted([*own, *added], key=lambda p: p.kind)
    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


# Settings that retrieval commands take, and the generation settings ask and chat share.
RETRIEVAL_OPTIONS = ("kb", "k", "mode", "min_score", "min_relevance")
GENERATION_OPTIONS = (
    "temperature",
    "top_p",
    "top_k_sampling",
    "repeat_penalty",
    "presence_penalty",
    "frequency_penalty",
    "max_tokens",
    "seed",
    "n_ctx",
    "n_threads",
    "n_gpu_layers",
    "model_path",
    "system_prompt",
    "prompt_style",
    "match_language",
    "answer_style",
    "show_thinking",
    "no_think",
    "backend",
    "evidence",
    "stop_on_repetition",
    "refuse",
    "answer_check",
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


def with_settings(
    *names: str, logs: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command `--config` and the flags of the settings NAMES; pass it the result.

    The command declares a keyword-only `settings: Settings` parameter, which is not an
    option: it receives the settings resolved from those flags (a flag not given is None,
    so the environment, the config file or the default decides). With LOGS the command also
    gets --quiet and --verbose, and the log level is set before it runs; a command that
    declares a keyword-only `quiet: bool` receives that flag too.
    """

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(command, eval_str=True)
        injected = {"settings", "quiet"}
        wants_quiet = "quiet" in signature.parameters
        own = [p for p in signature.parameters.values() if p.name not in injected]
        added = [_parameter(name) for name in names]
        if logs:
            added += [_plain("quiet", QuietOpt, False), _plain("verbose", VerboseOpt, False)]
        params = [*own, *added, _plain("config", ConfigOpt, None)]

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            if logs:
                quiet = kwargs.pop("quiet")
                configure_logging(verbose=kwargs.pop("verbose"), quiet=quiet)
                if wants_quiet:
                    kwargs["quiet"] = quiet
            flags = {name: kwargs.pop(name) for name in names}
            settings = load_settings(flags, config_path=kwargs.pop("config"))
            return command(**kwargs, settings=settings)

        params.sort(key=lambda p: p.kind)  # keyword-only after the rest (a stable sort)
        wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        return wrapper

    return decorate


def _plain(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )
