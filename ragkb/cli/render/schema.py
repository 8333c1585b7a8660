"""Writing the JSON contract (built in ragkb.schema) to stdout: one document, or one line."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from ragkb.schema import (
    answer_dict,
    evidence_dict,
    file_dict,
    hit_dict,
    ingest_dict,
    kb_info_dict,
    repair_dict,
    search_dict,
    watch_dict,
)

__all__ = [
    "answer_dict",
    "evidence_dict",
    "file_dict",
    "hit_dict",
    "ingest_dict",
    "kb_info_dict",
    "repair_dict",
    "search_dict",
    "watch_dict",
    "write_json",
    "write_jsonl",
]


def write_json(data: Any, stream: TextIO | None = None) -> None:
    """Write one JSON document and a newline."""
    out = stream or sys.stdout
    out.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    out.flush()


def write_jsonl(data: Any, stream: TextIO | None = None) -> None:
    """Write one JSON object on one line."""
    out = stream or sys.stdout
    out.write(json.dumps(data, ensure_ascii=False) + "\n")
    out.flush()
