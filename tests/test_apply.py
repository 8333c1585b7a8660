"""Applying a sync plan records exactly the bytes it parsed."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from fakes import make_fake_parts

from ragkb.config import load_settings
from ragkb.ingest.apply import Syncer
from ragkb.ingest.plan import plan_sync
from ragkb.kb import KnowledgeBase

if TYPE_CHECKING:
    from pathlib import Path


def test_a_file_that_changes_after_planning_is_recorded_with_the_parsed_bytes(
    tmp_path: Path,
) -> None:
    """A -> B during an ingest must not store B's text under A's hash (then A is never redone)."""
    settings = load_settings({})
    parts = make_fake_parts(settings)
    path = tmp_path / "notes.md"
    path.write_text("# Notes\n\nVersion A talks about apples.\n", encoding="utf-8")
    plan = plan_sync(parts.catalog, [str(path)], prune=True, rechunk=False, max_file_bytes=10**6)
    path.write_text("# Notes\n\nVersion B talks about bananas instead.\n", encoding="utf-8")
    b_hash = hashlib.sha256(path.read_bytes()).hexdigest()
    syncer = Syncer(
        kb="default",
        catalog=parts.catalog,
        vectors=parts.vectors,
        embedder=parts.embedder,
        before_first_file=lambda: None,
        chunk_tokens=64,
        overlap_tokens=8,
        file_timeout_s=30,
    )
    report = syncer.apply(plan)
    assert report.added == (str(path),)
    record = parts.catalog.file(str(path))
    assert record is not None and record.file_hash == b_hash
    assert record.size == path.stat().st_size
    assert "bananas" in " ".join(c.text for c in parts.catalog.iter_chunks())
    # Back to A: the next ingest sees the change (it would not with A's hash recorded).
    path.write_text("# Notes\n\nVersion A talks about apples.\n", encoding="utf-8")
    kb = KnowledgeBase(settings, parts=parts)
    assert kb.ingest([str(path)]).updated == (str(path),)
    assert "apples" in " ".join(c.text for c in parts.catalog.iter_chunks())
