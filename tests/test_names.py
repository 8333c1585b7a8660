"""Knowledge-base names: checked once, before anything touches the disk."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ragkb import errors
from ragkb.config import load_settings
from ragkb.index.catalog import kb_dir
from ragkb.index.vectors import collection_name

if TYPE_CHECKING:
    from pathlib import Path

BAD = ["..", ".", "a/b", "a\\b", ".hidden", "", "x" * 65, "tab\tname", "new\nline", "-lead"]
GOOD = ["default", "Docs_v2.1-x", "知识库", "知识库-2026", "a..b", "notes-", "x" * 64, "1.2.3.4"]


@pytest.mark.parametrize("name", BAD)
def test_a_name_that_could_leave_its_folder_is_refused(name: str) -> None:
    with pytest.raises(errors.UsageError, match="kb name"):
        load_settings({"kb": name})
    if name:  # an empty variable counts as unset
        with pytest.raises(errors.ConfigError, match="kb name") as raised:
            load_settings({}, environ={"RAGKB_KB": name})
        assert raised.value.exit_code == errors.EXIT_CONFIG  # from the environment: 3, not 2


@pytest.mark.parametrize("name", GOOD)
def test_good_names_stay_inside_the_data_home(name: str, tmp_path: Path) -> None:
    settings = load_settings({"kb": name})
    folder = kb_dir(settings.home, settings.store.kb)
    assert folder.parent == settings.home / "kbs" and folder.name == name


def test_reset_with_a_dotdot_name_deletes_nothing(capsys, tmp_path: Path) -> None:
    from ragkb.cli.main import main

    home = tmp_path / "home"
    (home / "kbs" / "keep").mkdir(parents=True)
    (home / "kbs" / "keep" / "catalog.sqlite").write_bytes(b"")
    for name in ("..", "."):
        assert main(["reset", "--kb", name, "--yes"]) == errors.EXIT_USAGE
    assert (home / "kbs" / "keep" / "catalog.sqlite").is_file()
    assert "kb name" in capsys.readouterr().err


def test_names_chroma_accepts_keep_their_collection_and_others_are_hashed() -> None:
    assert collection_name("default") == "ragkb_default"  # existing stores open as before
    assert collection_name("Docs_v2.1-x") == "ragkb_Docs_v2.1-x"
    hashed = {collection_name(n) for n in ("知识库", "知识库-2026", "a..b", "notes-", "x" * 64)}
    assert len(hashed) == 5 and all(n.startswith("ragkb_h") for n in hashed)


@pytest.mark.slow
@pytest.mark.parametrize("name", GOOD)
def test_every_good_name_maps_to_a_collection_chroma_accepts(name: str) -> None:
    from chromadb.api.segment import check_index_name

    check_index_name(collection_name(name))  # raises ValueError otherwise


@pytest.mark.slow
def test_a_chinese_knowledge_base_works_end_to_end(make_text_file) -> None:
    from ragkb.kb import KnowledgeBase

    path = make_text_file("notes.md", "# 笔记\n\n向量数据库用余弦相似度比较两个向量的方向。\n")
    kb = KnowledgeBase(load_settings({"kb": "知识库"}))
    report = kb.ingest([str(path)])
    assert report.added == (str(path),) and not report.failed
    assert kb.search("余弦相似度", k=1)[0].source == str(path)
    assert kb.info().name == "知识库"
