"""What several commands share: opening the knowledge base, reading batch files."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ragkb import errors

if TYPE_CHECKING:
    from ragkb.config import Settings
    from ragkb.kb import KnowledgeBase


def open_kb(settings: Settings) -> KnowledgeBase:
    """Return the knowledge base SETTINGS name (cheap: nothing loads yet)."""
    from ragkb.kb import KnowledgeBase

    return KnowledgeBase(settings)


def run_batch(
    knowledge: KnowledgeBase, source: str, answer: Callable[[str], dict[str, Any]]
) -> None:
    """Answer every line of a batch file as one JSON line.

    A line that fails (malformed, or its question raises) gets its own error object
    (`{"id", "question", "error", "exit_code"}`) and the batch goes on; then the command
    exits with the first failed line's code. A missing knowledge base fails the whole batch.
    """
    from ragkb.cli.render import schema

    knowledge.info()

    code = errors.EXIT_OK
    for item_id, question, problem in _batch_lines(source):
        data: dict[str, Any] | None = None
        if problem is None and question is not None:
            try:
                data = answer(question)
            except errors.RagkbError as exc:
                problem = exc
        if problem is not None:
            code = code or problem.exit_code
            data = {"question": question, "error": str(problem), "exit_code": problem.exit_code}
        schema.write_jsonl({"id": item_id, **(data or {})})
    if code:
        raise typer.Exit(code)


def _batch_lines(source: str) -> Iterator[tuple[Any, str | None, errors.RagkbError | None]]:
    """Yield (id, question, problem) per non-blank line: plain text or {"id", "question"}."""
    try:
        stream = sys.stdin if source == "-" else Path(source).open(encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise errors.UsageError(f"{source}: cannot read batch file ({exc.strerror})") from exc
    try:
        for number, line in enumerate(stream, 1):
            text = line.strip()
            if not text:
                continue
            if not text.startswith("{"):
                yield number, text, None
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                yield number, None, errors.UsageError(f"{source}:{number}: invalid JSON ({exc})")
                continue
            if not isinstance(obj, dict):
                yield number, None, errors.UsageError(f"{source}:{number}: not a JSON object")
                continue
            item_id = obj.get("id", number)  # a failed line keeps its id: scripts match on it
            if "question" not in obj:
                yield item_id, None, errors.UsageError(f'{source}:{number}: missing "question"')
                continue
            question = str(obj["question"]).strip()
            if not question:  # as `ask ""` is
                yield item_id, None, errors.UsageError(f"{source}:{number}: empty question")
                continue
            yield item_id, question, None
    finally:
        if stream is not sys.stdin:
            stream.close()
