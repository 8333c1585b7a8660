"""The `ragkb` command: parse flags, make one KnowledgeBase call, render the result."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ragkb import errors
from ragkb.config import Settings, load_settings, render_config_toml

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ragkb.kb import KnowledgeBase

app = typer.Typer(
    name="ragkb",
    help="A local, private knowledge base: ingest PDF/DOCX/TXT/MD, search, and ask a local model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    rich_markup_mode=None,
)
config_app = typer.Typer(help="Show or create the configuration.", no_args_is_help=True)


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


app.add_typer(config_app, name="config")

# Options shared by several commands. None means "not given": lower layers decide.
KbOpt = Annotated[str | None, typer.Option("--kb", help="Knowledge base name.")]
MinScoreOpt = Annotated[
    float | None, typer.Option("--min-score", help="Similarity a relevant chunk needs.")
]
MinRelevanceOpt = Annotated[
    float | None,
    typer.Option(
        "--min-relevance", help="Similarity + 0.75 x keyword coverage a relevant chunk needs."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Config file (else RAGKB_CONFIG or user dir).")
]
KOpt = Annotated[int | None, typer.Option("-k", "--k", help="Number of chunks to retrieve.")]
ModeOpt = Annotated[
    str | None, typer.Option("--mode", help="Retrieval mode: vector, keyword or hybrid.")
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


class _LogFormatter(logging.Formatter):
    """`warning: ...` for problems, `ragkb: ...` for --verbose detail; plain text, no colour."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = "ragkb" if record.levelno < logging.WARNING else record.levelname.lower()
        return f"{prefix}: {record.getMessage()}"


def _configure_logging(*, verbose: bool = False, quiet: bool = False) -> None:
    """Send the library's log records to stderr at the level the flags ask for."""
    logger = logging.getLogger("ragkb")
    for handler in [h for h in logger.handlers if getattr(h, "ragkb_cli", False)]:
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)  # the current stderr (tests swap it)
    handler.setFormatter(_LogFormatter())
    handler.ragkb_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.ERROR if quiet else logging.INFO if verbose else logging.WARNING)
    logger.propagate = False


def _settings(config: Path | None, **flags: Any) -> Settings:
    return load_settings(flags, config_path=config)


def _open(settings: Settings) -> KnowledgeBase:
    from ragkb.kb import KnowledgeBase

    return KnowledgeBase(settings)


def _out() -> Any:
    from ragkb.render import stdout_console

    return stdout_console()


def _err() -> Any:
    from ragkb.render import stderr_console

    return stderr_console()


# -- ingest ---------------------------------------------------------------------------------
@app.command()
def ingest(
    paths: Annotated[list[str], typer.Argument(help="Files or folders to ingest.")],
    kb: KbOpt = None,
    metric: Annotated[
        str | None, typer.Option("--metric", help="cosine or l2; fixed when the KB is created.")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan only.")] = False,
    prune: Annotated[
        bool | None,
        typer.Option("--prune/--no-prune", help="Remove files gone from ingested folders."),
    ] = None,
    chunk_tokens: Annotated[int | None, typer.Option("--chunk-tokens")] = None,
    overlap_tokens: Annotated[int | None, typer.Option("--overlap-tokens")] = None,
    embedder: Annotated[str | None, typer.Option("--embedder", help="Name or path.")] = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Make a knowledge base match PATHS: add new files, update changed ones, prune gone ones."""
    from ragkb import render

    _configure_logging(verbose=verbose, quiet=quiet)
    settings = _settings(
        config,
        kb=kb,
        metric=metric,
        chunk_tokens=chunk_tokens,
        overlap_tokens=overlap_tokens,
        embedder=embedder,
    )
    knowledge = _open(settings)
    err = render.stderr_console()
    with _progress(err, enabled=not quiet and not json_out) as progress:
        report = knowledge.ingest(paths, dry_run=dry_run, prune=prune, progress=progress)
    if json_out:
        render.write_json(render.ingest_dict(report))
    else:
        render.print_ingest(render.stdout_console(), report, err, warnings=not quiet)
    if report.failed:
        raise typer.Exit(errors.EXIT_PARTIAL_INGEST)


class _progress:
    """A rich progress bar on stderr, shown only on a terminal."""

    def __init__(self, console: Any, *, enabled: bool) -> None:
        self._console = console
        self._enabled = enabled and console.is_terminal
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Any:
        if not self._enabled:
            return None
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files · {task.fields[chunks]} chunks · {task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self._console,
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task("ingest", total=None, chunks=0, rate="")
        return self._update

    def _update(self, event: Any) -> None:
        task = self._bar.tasks[0]
        elapsed = task.elapsed or 0.0
        rate = f"{event.chunks_done / elapsed:.0f} chunks/s" if elapsed > 0 else ""
        self._bar.update(
            self._task,
            total=event.files_total or None,
            completed=event.files_done,
            chunks=event.chunks_done,
            rate=rate,
            description=event.stage,
        )

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


# -- search ---------------------------------------------------------------------------------
@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="What to look for.")] = None,
    kb: KbOpt = None,
    k: KOpt = None,
    mode: ModeOpt = None,
    min_score: MinScoreOpt = None,
    min_relevance: MinRelevanceOpt = None,
    batch: BatchOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Show the chunks closest to QUERY: file, page, score, text, and which would answer."""
    from ragkb import render

    _configure_logging(verbose=verbose, quiet=quiet)
    settings = _settings(
        config, kb=kb, k=k, mode=mode, min_score=min_score, min_relevance=min_relevance
    )
    knowledge = _open(settings)
    mode_used = settings.retrieval.mode
    if batch is not None:
        for item_id, text in _batch_items(batch):
            found = knowledge.retrieve(text, k=k)
            data = render.search_dict(text, knowledge.name, knowledge.metric, mode_used, found)
            render.write_jsonl({"id": item_id, **data})
        return
    if not query:
        raise typer.BadParameter("give a QUERY or --batch FILE")
    found = knowledge.retrieve(query, k=k)
    if json_out:
        render.write_json(
            render.search_dict(query, knowledge.name, knowledge.metric, mode_used, found)
        )
    else:
        render.print_hits(render.stdout_console(), query, knowledge.metric, mode_used, found)


def _batch_items(source: str) -> Iterator[tuple[Any, str]]:
    """Yield (id, question) from a batch file: plain lines or {"id", "question"} objects."""
    stream = sys.stdin if source == "-" else Path(source).open(encoding="utf-8")  # noqa: SIM115
    try:
        for number, line in enumerate(stream, 1):
            text = line.strip()
            if not text:
                continue
            if text.startswith("{"):
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise errors.UsageError(f"{source}:{number}: invalid JSON ({exc})") from exc
                if "question" not in obj:
                    raise errors.UsageError(f'{source}:{number}: missing "question"')
                yield obj.get("id", number), str(obj["question"])
            else:
                yield number, text
    finally:
        if stream is not sys.stdin:
            stream.close()


# -- ask ------------------------------------------------------------------------------------
# Generation options that ask and chat share (typer needs each command to declare them).
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
)


def _generation_flags(arguments: dict[str, Any]) -> dict[str, Any]:
    """Pick the generation options out of a command's arguments (its locals())."""
    return {name: arguments[name] for name in GENERATION_OPTIONS}


TempOpt = Annotated[float | None, typer.Option("--temperature", help="Sampling temperature.")]
TopPOpt = Annotated[float | None, typer.Option("--top-p", help="Nucleus sampling mass.")]
TopKSOpt = Annotated[
    int | None, typer.Option("--top-k-sampling", help="Sample from the K likeliest tokens.")
]
RepeatOpt = Annotated[float | None, typer.Option("--repeat-penalty")]
MaxTokOpt = Annotated[int | None, typer.Option("--max-tokens", help="Answer length limit.")]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Sampling seed (-1 = random).")]
NCtxOpt = Annotated[int | None, typer.Option("--n-ctx", help="Context window in tokens.")]
ThreadsOpt = Annotated[int | None, typer.Option("--n-threads", help="CPU threads (0 = all).")]
GpuOpt = Annotated[
    int | None, typer.Option("--n-gpu-layers", help="Layers on the GPU (0 = CPU, -1 = all).")
]
ModelOpt = Annotated[str | None, typer.Option("--model-path", help="GGUF model file.")]
SystemOpt = Annotated[
    str | None, typer.Option("--system-prompt", help="System prompt text or @file.")
]
ThinkOpt = Annotated[
    bool | None, typer.Option("--show-thinking/--hide-thinking", help="Show <think> blocks.")
]
NoThinkOpt = Annotated[
    bool | None,
    typer.Option("--no-think/--think", help="Ask reasoning models (Qwen3) not to think."),
]
BackendOpt = Annotated[str | None, typer.Option("--backend", help="llama_cpp or openai.")]
EvidenceOpt = Annotated[
    bool | None, typer.Option("--evidence/--no-evidence", help="Quote supporting sentences.")
]


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="Your question.")] = None,
    kb: KbOpt = None,
    k: KOpt = None,
    mode: ModeOpt = None,
    min_score: MinScoreOpt = None,
    min_relevance: MinRelevanceOpt = None,
    temperature: TempOpt = None,
    top_p: TopPOpt = None,
    top_k_sampling: TopKSOpt = None,
    repeat_penalty: RepeatOpt = None,
    max_tokens: MaxTokOpt = None,
    seed: SeedOpt = None,
    n_ctx: NCtxOpt = None,
    n_threads: ThreadsOpt = None,
    n_gpu_layers: GpuOpt = None,
    model_path: ModelOpt = None,
    system_prompt: SystemOpt = None,
    show_thinking: ThinkOpt = None,
    no_think: NoThinkOpt = None,
    backend: BackendOpt = None,
    evidence: EvidenceOpt = None,
    show_prompt: Annotated[
        bool, typer.Option("--show-prompt", help="Print the exact messages sent to the model.")
    ] = False,
    batch: BatchOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Answer QUESTION from the knowledge base with the local model, citing file and page."""
    from ragkb import render
    from ragkb.kb import DoneEvent, SourcesEvent, TextEvent

    flags = _generation_flags(locals())
    _configure_logging(verbose=verbose, quiet=quiet)
    settings = _settings(
        config,
        kb=kb,
        k=k,
        mode=mode,
        min_score=min_score,
        min_relevance=min_relevance,
        evidence=evidence,
        **flags,
    )
    knowledge = _open(settings)
    if batch is not None:
        for item_id, text in _batch_items(batch):
            answer = knowledge.ask(text)
            render.write_jsonl(render.answer_dict(answer, kb=knowledge.name, with_id=item_id))
            _log_timings(answer)
        return
    if not question:
        raise typer.BadParameter("give a QUESTION or --batch FILE")
    if show_prompt:
        packed = knowledge.prompt_for(question)
        render.print_prompt(render.stderr_console(), packed.messages, packed.prompt_tokens)
    if json_out:
        answer = knowledge.ask(question)
        render.write_json(render.answer_dict(answer, kb=knowledge.name))
    else:
        out, err = render.stdout_console(), render.stderr_console()
        answer = None
        for event in knowledge.ask_stream(question):
            if isinstance(event, SourcesEvent) and event.refused:
                continue
            if isinstance(event, TextEvent):
                out.file.write(event.text)
                out.file.flush()
            elif isinstance(event, DoneEvent):
                answer = event.answer
        assert answer is not None
        if answer.refused:
            out.print(render.safe(answer.text))
            if not quiet:
                render.print_refusal_reason(err, answer, settings)
        else:
            out.file.write("\n")
            render.print_answer_footer(out, answer, err)
    _log_timings(answer)
    if answer.refused:
        raise typer.Exit(errors.EXIT_REFUSED)


def _log_timings(answer: Any) -> None:
    """--verbose: where the time went (after the answer, so it never splits the stream)."""
    stages = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in answer.timings.items())
    tokens = answer.usage.completion_tokens if answer.usage else 0
    logging.getLogger("ragkb").info("%s; %d tokens; total %.2f s", stages, tokens, answer.seconds)


# -- chat -----------------------------------------------------------------------------------
@app.command()
def chat(
    kb: KbOpt = None,
    k: KOpt = None,
    mode: ModeOpt = None,
    temperature: TempOpt = None,
    top_p: TopPOpt = None,
    top_k_sampling: TopKSOpt = None,
    repeat_penalty: RepeatOpt = None,
    max_tokens: MaxTokOpt = None,
    seed: SeedOpt = None,
    n_ctx: NCtxOpt = None,
    n_threads: ThreadsOpt = None,
    n_gpu_layers: GpuOpt = None,
    model_path: ModelOpt = None,
    system_prompt: SystemOpt = None,
    show_thinking: ThinkOpt = None,
    no_think: NoThinkOpt = None,
    backend: BackendOpt = None,
    evidence: EvidenceOpt = None,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="One JSON object per turn.")] = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Talk with the knowledge base; follow-up questions use the conversation. /help inside."""
    from ragkb.repl import run_repl

    flags = _generation_flags(locals())
    _configure_logging(verbose=verbose, quiet=quiet)
    settings = _settings(config, kb=kb, k=k, mode=mode, evidence=evidence, **flags)
    run_repl(settings, jsonl=jsonl)


# -- management -----------------------------------------------------------------------------
@app.command("list")
def list_(json_out: JsonOpt = False, config: ConfigOpt = None) -> None:
    """List knowledge bases with their metric, files, chunks and size."""
    from ragkb import render
    from ragkb.inventory import list_knowledge_bases

    infos = list_knowledge_bases(_settings(config))
    if json_out:
        render.write_json({"knowledge_bases": [render.kb_info_dict(i) for i in infos]})
    else:
        render.print_kb_list(render.stdout_console(), infos)


@app.command()
def stats(kb: KbOpt = None, json_out: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Show one knowledge base's settings fingerprint, counts and size."""
    from ragkb import render
    from ragkb.inventory import kb_info

    info = kb_info(_settings(config, kb=kb))
    if json_out:
        render.write_json(render.kb_info_dict(info))
    else:
        render.print_kb_stats(render.stdout_console(), info)


@app.command()
def files(kb: KbOpt = None, json_out: JsonOpt = False, config: ConfigOpt = None) -> None:
    """List the files of a knowledge base: status, chunks, pages, hash, time."""
    from ragkb import render
    from ragkb.inventory import kb_files

    settings = _settings(config, kb=kb)
    records = kb_files(settings)
    if json_out:
        render.write_json(
            {"kb": settings.store.kb, "files": [render.file_dict(r) for r in records]}
        )
    else:
        render.print_files(render.stdout_console(), records)


@app.command()
def remove(
    paths: Annotated[list[str], typer.Argument(help="Files to drop from the knowledge base.")],
    kb: KbOpt = None,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Drop files' chunks from a knowledge base (the files on disk are not touched)."""
    from ragkb import render

    knowledge = _open(_settings(config, kb=kb))
    removed = knowledge.remove(paths)
    if json_out:
        render.write_json(
            {"kb": knowledge.name, "removed": [{"path": p, "chunks": n} for p, n in removed]}
        )
    else:
        out = render.stdout_console()
        for path, n in removed:
            out.print(f"removed {render.safe(render.shown_path(path))} ({n} chunks)")


@app.command()
def reset(
    kb: KbOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Delete a knowledge base entirely."""
    from ragkb import render

    knowledge = _open(_settings(config, kb=kb))
    info = knowledge.info()
    if not yes:
        if not sys.stdin.isatty():
            raise errors.UsageError("reset needs --yes when not run from a terminal")
        typer.confirm(
            f"Delete knowledge base '{info.name}' ({info.files} files, {info.chunks} chunks)?",
            abort=True,
            err=True,
        )
    knowledge.reset()
    if json_out:
        render.write_json({"kb": info.name, "deleted": True})
    else:
        render.stdout_console().print(f"deleted knowledge base '{render.safe(info.name)}'")


# -- config ---------------------------------------------------------------------------------
@config_app.command("show")
def config_show(json_out: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Print every effective setting and where it came from (flag, env, file, default)."""
    from ragkb import render
    from ragkb.config import FIELDS

    settings = _settings(config)
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
        render.write_json(
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
            f"{row['section']}.{row['name']}", render.safe(repr(row["value"])), row["source"]
        )
    render.stdout_console().print(table)


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


# -- doctor and eval ------------------------------------------------------------------------
@app.command()
def doctor(json_out: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Check the installation: versions, GPU support, model files, data home."""
    from ragkb import render
    from ragkb.doctor import diagnose

    report = diagnose(_settings(config))
    if json_out:
        render.write_json(report)
        return
    out = render.stdout_console()
    for section, values in report.items():
        out.print(f"[bold]{section}[/bold]")
        if isinstance(values, dict):
            for key, value in values.items():
                out.print(f"  {key}: {render.safe(str(value))}")
        elif isinstance(values, list):
            for value in values:
                out.print(f"  {render.safe(str(value))}")
        else:
            out.print(f"  {render.safe(str(values))}")


@app.command("eval")
def eval_(
    gold: Annotated[Path, typer.Argument(help="Gold file (JSON lines).")],
    kb: KbOpt = None,
    k: KOpt = None,
    mode: ModeOpt = None,
    answers: Annotated[
        bool, typer.Option("--answers", help="Also generate and score answers.")
    ] = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Score retrieval (hit@1, hit@5, MRR, refusals) on a gold question file."""
    from ragkb import render
    from ragkb.evaluation import evaluate

    _configure_logging(verbose=verbose, quiet=quiet)
    knowledge = _open(_settings(config, kb=kb, k=k, mode=mode))
    report = evaluate(knowledge, gold, answers=answers)
    if json_out:
        render.write_json(report)
    else:
        render.print_eval(render.stdout_console(), report)


# -- entry point ----------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """Run the CLI and map every failure to its documented exit code, in one place."""
    _configure_logging()
    try:
        result = app(args=argv, prog_name="ragkb", standalone_mode=False)
        return int(result) if isinstance(result, int) else 0
    except errors.RagkbError as exc:
        _report_error(exc)
        return exc.exit_code
    except typer.Abort:
        _err().print("aborted")
        return errors.EXIT_INTERRUPTED
    except typer.TyperException as exc:  # usage errors (typer vendors click's classes)
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            _err().print(f"error: {exc}")
        return errors.EXIT_USAGE
    except KeyboardInterrupt:
        _err().print("interrupted")
        return errors.EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly.
        sys.stderr.close()
        return errors.EXIT_INTERNAL


def _report_error(exc: errors.RagkbError) -> None:
    from ragkb.render import debug_enabled, safe

    if debug_enabled():
        import traceback

        traceback.print_exception(exc)
    _err().print(f"[red]error:[/red] {safe(str(exc))}")


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
