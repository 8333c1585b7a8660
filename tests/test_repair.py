"""`ragkb repair`: catalog, vectors and keyword index agree again after an accident."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from fakes import make_fake_parts

import ragkb.build
from ragkb.config import load_settings
from ragkb.index.keywords import INDEX_DIR
from ragkb.kb import KnowledgeBase

if TYPE_CHECKING:
    from pathlib import Path


def _consistent(kb: KnowledgeBase) -> bool:
    return sorted(kb.parts.catalog.chunk_ids()) == sorted(kb.parts.vectors.all_ids())


@pytest.fixture
def kb(tmp_path: Path) -> KnowledgeBase:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, words in (("a.md", "apples and pears"), ("b.md", "bananas"), ("c.md", "cherries")):
        (docs / name).write_text(f"# {name}\n\nThis file is about {words}.\n", encoding="utf-8")
    settings = load_settings({})
    knowledge = KnowledgeBase(settings, parts=make_fake_parts(settings))
    knowledge.ingest([str(docs)])
    assert _consistent(knowledge)
    return knowledge


def test_orphan_vectors_are_deleted(kb: KnowledgeBase) -> None:
    kb.parts.vectors.upsert(["orphan-1", "orphan-2"], [[1.0] + [0.0] * 63] * 2, [{}, {}], ["", ""])
    report = kb.repair()
    assert report.orphan_vectors == 2 and report.missing_vectors == 0
    assert _consistent(kb)


def test_files_whose_vectors_are_missing_are_reingested_or_forgotten(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    kb.parts.vectors.delete_source(str(docs / "b.md"))
    kb.parts.vectors.delete_source(str(docs / "c.md"))
    (docs / "c.md").unlink()
    report = kb.repair()
    assert report.reingested == (str(docs / "b.md"),)
    assert report.vanished == (str(docs / "c.md"),)
    assert report.ingest is not None and report.ingest.added == (str(docs / "b.md"),)
    assert _consistent(kb)
    assert {r.path for r in kb.files()} == {str(docs / "a.md"), str(docs / "b.md")}
    assert kb.search("bananas", k=1)[0].source == str(docs / "b.md")


def test_a_broken_keyword_index_is_rebuilt(kb: KnowledgeBase) -> None:
    for path in (kb.directory / INDEX_DIR).glob("*.term"):
        path.write_bytes(b"broken")
    kb.repair()
    fresh = KnowledgeBase(kb.settings, parts=make_fake_parts(kb.settings))
    assert fresh.parts.keywords.is_current(fresh.parts.catalog)
    assert fresh.search("cherries", k=1, mode="keyword")[0].source.endswith("c.md")


def test_repair_on_the_command_line(kb: KnowledgeBase, monkeypatch, capsys) -> None:
    from ragkb.cli.main import main

    monkeypatch.setattr(ragkb.build, "build_parts", lambda settings: kb.parts)
    kb.parts.vectors.upsert(["orphan"], [[1.0] + [0.0] * 63], [{}], [""])
    assert main(["repair", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["orphan_vectors"] == 1 and data["keyword_index_rebuilt"] is True
    assert data["ingest"] is None
    assert main(["repair", "--kb", "missing"]) == 4
