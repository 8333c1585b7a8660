"""export / import: one archive moves a knowledge base to another data home, unchanged."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import pytest

from ragkb.config import load_settings
from ragkb.errors import StoreMismatchError, UsageError
from ragkb.kb import KnowledgeBase, import_archive

pytestmark = pytest.mark.slow
SAMPLE_DOCS = Path(__file__).resolve().parent.parent / "sample_docs"
QUESTIONS = ["What is a trace tree?", "向量检索是什么？", "How do I set the temperature?"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[KnowledgeBase, Path]:
    root = tmp_path_factory.mktemp("archive")
    shutil.copytree(SAMPLE_DOCS, root / "docs")
    (root / "docs" / "broken.pdf").write_bytes(b"%PDF-1.4 not really")  # recorded as failed
    kb = KnowledgeBase(load_settings({}, environ={"RAGKB_HOME": str(root / "home")}))
    kb.ingest([str(root / "docs")], tags=["samples"])
    manifest = kb.export(root / "kb.tar.gz")
    assert manifest.chunks == kb.parts.catalog.chunk_count()
    assert (manifest.files, manifest.failed_files) == (6, 1)  # counted as `list` counts them
    return kb, root / "kb.tar.gz"


def _results(kb: KnowledgeBase) -> list[list[tuple[str, float]]]:
    return [
        [(h.chunk_id, round(h.score, 5)) for h in kb.search(q, k=5, mode=mode)]
        for q in QUESTIONS
        for mode in ("hybrid", "keyword", "vector")
    ]


@pytest.mark.parametrize("name", [None, "moved"])
def test_a_round_trip_gives_the_same_results_on_another_home(
    exported: tuple[KnowledgeBase, Path], tmp_path: Path, name: str | None
) -> None:
    original, archive = exported
    settings = load_settings({}, environ={"RAGKB_HOME": str(tmp_path / "other")})
    imported = import_archive(settings, archive, name=name)
    assert imported.name == (name or "default")
    assert _results(imported) == _results(original)
    assert [(f.path, f.file_hash, f.tags) for f in imported.files()] == [
        (f.path, f.file_hash, f.tags) for f in original.files()
    ]
    assert imported.parts.keywords.is_current(imported.parts.catalog)
    assert (imported.info().files, imported.info().failed_files) == (6, 1)
    assert [p.name for p in (tmp_path / "other" / "kbs").iterdir()] == [imported.name]


def test_an_archive_from_another_embedder_is_refused_naming_it(
    exported: tuple[KnowledgeBase, Path], tmp_path: Path
) -> None:
    _, archive = exported
    environ = {
        "RAGKB_HOME": str(tmp_path / "other"),
        "RAGKB_EMBEDDING_BACKEND": "sentence-transformers",
    }
    with pytest.raises(StoreMismatchError, match="embedder") as caught:
        import_archive(load_settings({}, environ=environ), archive)
    assert caught.value.exit_code == 7
    assert list((tmp_path / "other" / "kbs").iterdir()) == []  # nothing left behind


def test_an_existing_name_and_a_hostile_archive_are_refused(
    exported: tuple[KnowledgeBase, Path], tmp_path: Path
) -> None:
    original, archive = exported
    with pytest.raises(UsageError, match="already exists"):
        import_archive(original.settings, archive)
    hostile = tmp_path / "hostile.tar.gz"
    with tarfile.open(hostile, "w:gz") as tar:
        data = b"owned"
        member = tarfile.TarInfo("../../escaped.txt")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    settings = load_settings({}, environ={"RAGKB_HOME": str(tmp_path / "home")})
    with pytest.raises(UsageError, match="not a readable ragkb archive"):
        import_archive(settings, hostile)
    assert not (tmp_path / "escaped.txt").exists()
    assert not any((tmp_path / "home" / "kbs").iterdir())


def test_export_into_a_missing_folder_or_onto_a_folder_is_refused_and_makes_nothing(
    exported: tuple[KnowledgeBase, Path], tmp_path: Path
) -> None:
    kb, _ = exported
    missing = tmp_path / "typo" / "deeper"
    with pytest.raises(UsageError, match="no such folder"):
        kb.export(missing / "kb.tar.gz")
    assert not (tmp_path / "typo").exists()  # a new-user trial found the folders made
    with pytest.raises(UsageError, match="is a folder"):
        kb.export(tmp_path)
