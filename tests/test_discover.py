"""Discovery and pruning: a folder that cannot be listed loses none of its files."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from fakes import make_fake_parts

from ragkb.config import load_settings
from ragkb.ingest import discover as discover_module
from ragkb.ingest.discover import discover
from ragkb.ingest.documents.reasons import BROKEN_LINK, NOT_FOUND, UNREADABLE_FOLDER
from ragkb.kb import KnowledgeBase

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def _tree(root: Path) -> tuple[Path, Path]:
    (root / "private").mkdir(parents=True)
    top = root / "top.md"
    top.write_text("# Top\n\nThe top file talks about apples.\n", encoding="utf-8")
    inner = root / "private" / "inner.md"
    inner.write_text("# Inner\n\nThe inner file talks about bananas.\n", encoding="utf-8")
    return top, inner


def _unlistable(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make os.walk fail on FOLDER as it does without read permission (root reads anything,
    so the permission itself cannot be taken away in a test run as root)."""
    real_walk = os.walk

    def walk(top, onerror=None, **kwargs):
        for root, dirs, names in real_walk(top, onerror=onerror, **kwargs):
            if folder.name in dirs:
                dirs.remove(folder.name)
                if onerror is not None:
                    onerror(PermissionError(13, "Permission denied", str(folder)))
            yield root, dirs, names

    monkeypatch.setattr(discover_module.os, "walk", walk)


def test_an_unlistable_folder_is_reported(monkeypatch, tmp_path: Path) -> None:
    top, _ = _tree(tmp_path / "docs")
    _unlistable(monkeypatch, tmp_path / "docs" / "private")
    found = discover([str(tmp_path / "docs")])
    assert found.files == [top]
    assert found.unreadable == [tmp_path / "docs" / "private"]
    assert [(f.path, f.reason) for f in found.failures] == [
        (str(tmp_path / "docs" / "private"), UNREADABLE_FOLDER)
    ]


def test_files_of_an_unlistable_folder_are_not_pruned(monkeypatch, tmp_path: Path) -> None:
    top, inner = _tree(tmp_path / "docs")
    settings = load_settings({})
    kb = KnowledgeBase(settings, parts=make_fake_parts(settings))
    assert len(kb.ingest([str(tmp_path / "docs")]).added) == 2
    _unlistable(monkeypatch, tmp_path / "docs" / "private")
    report = kb.ingest([str(tmp_path / "docs")])
    assert report.removed == ()
    assert [f.reason for f in report.failed] == [UNREADABLE_FOLDER]
    assert {r.path for r in kb.files()} == {str(top), str(inner)}  # no folder "file" either
    assert kb.search("bananas", k=1)[0].source == str(inner)
    monkeypatch.undo()
    inner.unlink()  # a file really gone is still pruned
    assert kb.ingest([str(tmp_path / "docs")]).removed == (str(inner),)


def test_broken_links_are_named_as_given_and_reported_in_a_folder(tmp_path: Path) -> None:
    # A new-user trial: a dangling link was reported by its target ("/nonexistent: not
    # found"), a named loop of links was an internal error, and one in a folder said nothing.
    top, _ = _tree(tmp_path / "docs")
    dangling = tmp_path / "docs" / "dangling.md"
    dangling.symlink_to(tmp_path / "nowhere.md")
    loop = tmp_path / "docs" / "loop.md"
    loop.symlink_to(loop)
    (tmp_path / "docs" / "loop.bin").symlink_to(tmp_path / "docs" / "loop.bin")  # not ours
    named = discover([str(dangling), str(loop), str(tmp_path / "gone.md")])
    assert [(f.path, f.reason) for f in named.failures] == [
        (str(dangling), BROKEN_LINK),
        (str(loop), BROKEN_LINK),
        (str(tmp_path / "gone.md"), NOT_FOUND),
    ]
    walked = discover([str(tmp_path / "docs")])
    assert sorted((f.path, f.reason) for f in walked.failures) == [
        (str(dangling), BROKEN_LINK),
        (str(loop), BROKEN_LINK),
    ]
    assert top in walked.files
