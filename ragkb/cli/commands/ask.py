"""`ragkb ask` and `ragkb chat`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ragkb import errors
from ragkb.cli.app import app
from ragkb.cli.commands.common import open_kb, run_batch
from ragkb.cli.options import (
    GENERATION_OPTIONS,
    RETRIEVAL_OPTIONS,
    BatchOpt,
    JsonOpt,
    with_filter,
    with_settings,
)
from ragkb.config import Settings
from ragkb.types import Filter

if TYPE_CHECKING:
    from ragkb.kb import KnowledgeBase
    from ragkb.types import Answer


@app.command()
@with_settings(*RETRIEVAL_OPTIONS, *GENERATION_OPTIONS, logs=True)
@with_filter
def ask(
    question: Annotated[str | None, typer.Argument(help="Your question.")] = None,
    show_prompt: Annotated[
        bool, typer.Option("--show-prompt", help="Print the exact messages sent to the model.")
    ] = False,
    batch: BatchOpt = None,
    json_out: JsonOpt = False,
    *,
    quiet: bool,
    scope: Filter,
    settings: Settings,
) -> None:
    """Answer QUESTION from the knowledge base with the local model, citing file and page."""
    from ragkb.cli.render import schema, terminal

    if batch is not None and question:
        raise typer.BadParameter("give a QUESTION or --batch FILE, not both")
    knowledge = open_kb(settings)
    if batch is not None:

        def answer_line(text: str) -> dict[str, Any]:
            answer = knowledge.ask(text, scope=scope)
            _log_timings(answer)
            return schema.answer_dict(answer, kb=knowledge.name, scope=scope)

        run_batch(knowledge, batch, answer_line)
        return
    if not question:
        raise typer.BadParameter("give a QUESTION or --batch FILE")
    if show_prompt:
        packed = knowledge.prompt_for(question, scope=scope)
        terminal.print_prompt(terminal.stderr_console(), packed.messages, packed.prompt_tokens)
    if json_out:
        answer = knowledge.ask(question, scope=scope)
        schema.write_json(schema.answer_dict(answer, kb=knowledge.name, scope=scope))
    else:
        answer = _stream(knowledge, question, quiet=quiet, scope=scope)
    _log_timings(answer)
    if answer.refused:
        raise typer.Exit(errors.EXIT_REFUSED)


def _stream(knowledge: KnowledgeBase, question: str, *, quiet: bool, scope: Filter) -> Answer:
    """Stream the answer to the terminal, then its sources and evidence (or why it refused)."""
    from ragkb.cli.render import terminal
    from ragkb.types import DoneEvent

    out, err = terminal.stdout_console(), terminal.stderr_console()
    answer = None
    for event in knowledge.ask_stream(question, scope=scope):
        if isinstance(event, DoneEvent):
            answer = event.answer
        else:
            terminal.show_event(out, err, event)
    assert answer is not None
    if answer.refused:
        out.print(terminal.safe(answer.text))
        if not quiet:
            terminal.print_refusal_reason(err, answer)
    else:
        terminal.print_answer_footer(out, answer, err)
    return answer


def _log_timings(answer: Answer) -> None:
    """--verbose: where the time went (after the answer, so it never splits the stream)."""
    stages = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in answer.timings.items())
    tokens = answer.usage.completion_tokens if answer.usage else 0
    logging.getLogger("ragkb").info("%s; %d tokens; total %.2f s", stages, tokens, answer.seconds)


@app.command()
@with_settings("kb", "k", "mode", *GENERATION_OPTIONS, logs=True)
@with_filter
def chat(
    jsonl: Annotated[bool, typer.Option("--jsonl", help="One JSON object per turn.")] = False,
    *,
    scope: Filter,
    settings: Settings,
) -> None:
    """Talk with the knowledge base; follow-up questions use the conversation. /help inside."""
    from ragkb.cli.repl import run_repl

    run_repl(settings, jsonl=jsonl, scope=scope)
