"""What several commands share: opening the knowledge base, reading batch files."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragkb import errors

if TYPE_CHECKING:
    from ragkb.config import Settings
    from ragkb.kb import KnowledgeBase


def open_kb(settings: Settings) -> KnowledgeBase:
    """Return the knowledge base SETTINGS name (cheap: nothing loads yet)."""
    from ragkb.kb import KnowledgeBase

    return KnowledgeBase(settings)


def batch_items(source: str) -> Iterator[tuple[Any, str]]:
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
