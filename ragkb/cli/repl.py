"""`ragkb chat`: the interactive loop (prompt_toolkit on a terminal, lines from a pipe)."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ragkb.cli.render import schema, terminal
from ragkb.errors import RagkbError
from ragkb.kb import KnowledgeBase, parse_filter
from ragkb.query.chat import ChatSession
from ragkb.types import DoneEvent, Filter

if TYPE_CHECKING:
    from rich.console import Console

    from ragkb.config import Settings
    from ragkb.types import Hit

HELP = """Commands:
  /k N            retrieve N chunks per question
  /kb NAME        switch knowledge base (the conversation is kept)
  /temp T         sampling temperature
  /mode M         vector, keyword or hybrid
  /filter ...     only some files: path=GLOB type=pdf tag=T since=7d until=DATE
                  modified-since=… modified-until=… (repeat a key for more);
                  /filter alone shows it, /filter off clears it
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


@dataclass(slots=True)
class _State:
    """What the loop keeps between lines: the knowledge base, the conversation, the choices."""

    knowledge: KnowledgeBase
    jsonl: bool
    session: ChatSession = field(default_factory=ChatSession)
    k: int | None = None
    mode: str | None = None
    scope: Filter = field(default_factory=Filter)
    last_sources: tuple[Hit, ...] = ()


def run_repl(settings: Settings, *, jsonl: bool, scope: Filter | None = None) -> None:
    """Run the chat loop until /exit or end of input; SCOPE is the filter it starts with."""
    out, err = terminal.stdout_console(), terminal.stderr_console()
    state = _State(KnowledgeBase(settings), jsonl, scope=scope or Filter())
    state.knowledge.info()  # fail at once, before the first prompt, if the KB does not exist
    settings.home.mkdir(parents=True, exist_ok=True)
    history_file = str(settings.home / "chat_history")
    if sys.stdin.isatty() and not jsonl:
        name = terminal.safe(state.knowledge.name)
        err.print(f"[dim]ragkb chat · knowledge base '{name}' · /help for commands[/dim]")
    for raw in _lines("> ", history_file if sys.stdin.isatty() else None):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("/"):
            if not _command(state, line, out, err):
                return
            continue
        _answer(state, line, out, err, jsonl=jsonl)


def _command(state: _State, line: str, out: Console, err: Console) -> bool:
    """Carry out a /command; return False when the loop should end."""
    command, _, arg = line[1:].partition(" ")
    arg = arg.strip()
    try:
        if command in ("exit", "quit", "q"):
            return False
        if command == "help":
            err.print(terminal.safe(HELP))
        elif command == "reset":
            state.session.reset()
            err.print("conversation forgotten")
        # Values are checked as the flags are, with the same messages ("expected one of ...").
        elif command == "k":
            state.k = state.knowledge.settings.replace(k=arg).retrieval.k
            err.print(f"k = {state.k}")
        elif command == "mode":
            state.mode = state.knowledge.settings.replace(mode=arg).retrieval.mode
            err.print(f"mode = {state.mode}")
        elif command == "temp":
            state.knowledge = KnowledgeBase(state.knowledge.settings.replace(temperature=arg))
            err.print(f"temperature = {state.knowledge.settings.generation.temperature}")
        elif command == "kb":
            candidate = KnowledgeBase(state.knowledge.settings.replace(kb=arg))
            candidate.info()
            state.knowledge = candidate
            err.print(f"knowledge base = {terminal.safe(state.knowledge.name)}")
        elif command == "filter":
            if arg == "off":
                state.scope = Filter()
            elif arg:
                state.scope = _parse_filter(arg)
            shown = json.dumps(state.scope.describe(), ensure_ascii=False)
            err.print(f"filter = {terminal.safe(shown)}")
        elif command == "sources":
            # JSON Lines mode keeps stdout for JSON: the listing goes to stderr.
            terminal.print_sources(err if state.jsonl else out, state.last_sources)
        else:
            err.print(f"unknown command /{terminal.safe(command)}; /help lists them")
    except (ValueError, RagkbError) as exc:
        err.print(f"[red]error:[/red] /{terminal.safe(command)}: {terminal.safe(str(exc))}")
    return True


_FILTER_KEYS = {
    "path": "paths",
    "type": "types",
    "tag": "tags",
    "since": "since",
    "until": "until",
    "modified-since": "modified_since",
    "modified-until": "modified_until",
}


def _parse_filter(arg: str) -> Filter:
    """Read `/filter key=value ...` (shell quoting; a list key may repeat)."""
    lists: dict[str, list[str]] = {"paths": [], "types": [], "tags": []}
    times: dict[str, str] = {}
    for word in shlex.split(arg):
        key, sep, value = word.partition("=")
        name = _FILTER_KEYS.get(key)
        if not sep or name is None:
            raise ValueError(
                f"{word!r}: expected KEY=VALUE with KEY one of {', '.join(_FILTER_KEYS)}"
            )
        if name in lists:
            lists[name].append(value)
        else:
            times[name] = value
    return parse_filter(**lists, **times)


def _answer(state: _State, line: str, out: Console, err: Console, *, jsonl: bool) -> None:
    """Answer one question, streaming it unless the output is JSON lines."""
    answer = None
    try:
        events = state.knowledge.ask_stream(
            line, k=state.k, mode=state.mode, session=state.session, scope=state.scope
        )
        for event in events:
            if isinstance(event, DoneEvent):
                answer = event.answer
            elif not jsonl:
                terminal.show_event(out, err, event)
    except KeyboardInterrupt:
        out.file.write("\n")
        err.print("[dim](answer stopped)[/dim]")
        return
    except RagkbError as exc:
        err.print(f"[red]error:[/red] {terminal.safe(str(exc))}")
        return
    if answer is None:
        return
    state.last_sources = answer.sources
    if jsonl:
        schema.write_jsonl(schema.answer_dict(answer, kb=state.knowledge.name, scope=state.scope))
    elif answer.refused:
        out.print(terminal.safe(answer.text))
        terminal.print_refusal_reason(err, answer)
    else:
        terminal.print_answer_footer(out, answer, err)
        out.print()
