"""`ragkb chat`: the interactive loop (prompt_toolkit on a terminal, lines from a pipe)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

from ragkb import render
from ragkb.chat import ChatSession
from ragkb.config import Settings
from ragkb.errors import RagkbError
from ragkb.kb import DoneEvent, KnowledgeBase, TextEvent

HELP = """Commands:
  /k N            retrieve N chunks per question
  /kb NAME        switch knowledge base (the conversation is kept)
  /temp T         sampling temperature
  /mode M         vector, keyword or hybrid
  /sources        show the sources of the last answer
  /reset          forget the conversation
  /help           this help
  /exit           leave (also Ctrl-D)
Ctrl-C stops the current answer without leaving."""


def _lines(prompt: str, history_file: str | None) -> Iterator[str]:
    """Yield the user's lines: with history and editing on a terminal, plain from a pipe."""
    if sys.stdin.isatty():
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory, InMemoryHistory

        session: Any = PromptSession(
            history=FileHistory(history_file) if history_file else InMemoryHistory()
        )
        while True:
            try:
                yield session.prompt(prompt)
            except KeyboardInterrupt:
                continue
            except EOFError:
                return
    else:
        for line in sys.stdin:
            yield line.rstrip("\n")


def run_repl(settings: Settings, *, jsonl: bool) -> None:
    """Run the chat loop until /exit or end of input."""
    out, err = render.stdout_console(), render.stderr_console()
    knowledge = KnowledgeBase(settings)
    knowledge.info()  # fail at once, before the first prompt, if the KB does not exist
    session = ChatSession()
    k: int | None = None
    mode: str | None = None
    last_sources: tuple = ()
    settings.home.mkdir(parents=True, exist_ok=True)
    history_file = str(settings.home / "chat_history")
    interactive = sys.stdin.isatty() and not jsonl
    if interactive:
        err.print(f"[dim]ragkb chat · knowledge base '{knowledge.name}' · /help for commands[/dim]")
    for raw in _lines("> ", history_file if sys.stdin.isatty() else None):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("/"):
            command, _, arg = line[1:].partition(" ")
            arg = arg.strip()
            try:
                if command in ("exit", "quit", "q"):
                    return
                if command == "help":
                    err.print(render.safe(HELP))
                elif command == "reset":
                    session.reset()
                    err.print("conversation forgotten")
                elif command == "k":
                    k = int(arg)
                    err.print(f"k = {k}")
                elif command == "mode":
                    if arg not in ("vector", "keyword", "hybrid"):
                        raise ValueError(arg)
                    mode = arg
                    err.print(f"mode = {mode}")
                elif command == "temp":
                    knowledge = KnowledgeBase(knowledge.settings.replace(temperature=float(arg)))
                    err.print(f"temperature = {knowledge.settings.generation.temperature}")
                elif command == "kb":
                    candidate = KnowledgeBase(knowledge.settings.replace(kb=arg))
                    candidate.info()
                    knowledge = candidate
                    err.print(f"knowledge base = {knowledge.name}")
                elif command == "sources":
                    render.print_sources(out, last_sources)
                else:
                    err.print(f"unknown command /{render.safe(command)}; /help lists them")
            except (ValueError, RagkbError) as exc:
                err.print(f"[red]error:[/red] /{render.safe(command)}: {render.safe(str(exc))}")
            continue
        answer = None
        try:
            for event in knowledge.ask_stream(line, k=k, mode=mode, session=session):
                if isinstance(event, TextEvent) and not jsonl:
                    out.file.write(event.text)
                    out.file.flush()
                elif isinstance(event, DoneEvent):
                    answer = event.answer
        except KeyboardInterrupt:
            out.file.write("\n")
            err.print("[dim](answer stopped)[/dim]")
            continue
        except RagkbError as exc:
            err.print(f"[red]error:[/red] {render.safe(str(exc))}")
            continue
        if answer is None:
            continue
        last_sources = answer.sources
        if jsonl:
            render.write_jsonl(render.answer_dict(answer, kb=knowledge.name))
        elif answer.refused:
            out.print(render.safe(answer.text))
            render.print_refusal_reason(err, answer, knowledge.settings)
        else:
            out.file.write("\n")
            render.print_answer_footer(out, answer, err)
            out.print()
