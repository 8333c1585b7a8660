"""The command line: a thin layer of commands over `ragkb.kb.KnowledgeBase`."""

from __future__ import annotations

from ragkb.cli.main import main, run

__all__ = ["main", "run"]
