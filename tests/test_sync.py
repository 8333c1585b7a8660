"""Ingest you can trust: sync, bad files, crash safety and the writer lock, on real files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ragkb import errors
from ragkb.config import load_settings
from ragkb.ingest.documents.reasons import NO_TEXT_EVEN_OCR
from ragkb.ingest.lock import acquire_lock
from ragkb.kb import KnowledgeBase

pytestmark = pytest.mark.slow


def _kb(home: Path | None = None, **flags: object) -> KnowledgeBase:
    env = {"RAGKB_HOME": str(home or os.environ["RAGKB_HOME"])}
    return KnowledgeBase(load_settings(flags, environ=env))


def _pages(topic: str, n: int) -> list[str]:
    return [
        f"{topic} page {i}. " + f"The {topic} fact number {i} is {i * 7} units. " * 12
        for i in range(1, n + 1)
    ]


@pytest.fixture
def folder(make_pdf, make_docx, make_text_file, docs_dir: Path) -> Path:
    make_pdf("alpha.pdf", _pages("alpha", 3))
    make_docx("beta.docx", [("h1", "Beta"), ("p", "Beta widgets weigh 12 grams each.")])
    make_text_file("gamma.md", "# Gamma\n\nGamma rays are energetic photons.\n")
    return docs_dir


def test_reingest_is_a_no_op_without_loading_the_embedder(folder: Path) -> None:
    first = _kb().ingest([str(folder)])
    assert len(first.added) == 3 and not first.failed
    ids_before = sorted(_kb().parts.catalog.chunk_ids())
    kb = _kb()
    again = kb.ingest([str(folder)])
    assert (again.added, again.updated, again.removed) == ((), (), ())
    assert len(again.unchanged) == 3 and again.chunks_added == 0
    assert "embedder" not in kb.__dict__
    assert sorted(kb.parts.catalog.chunk_ids()) == ids_before
    assert sorted(kb.parts.vectors.all_ids()) == ids_before


def test_edit_and_delete_replace_only_that_files_chunks(folder: Path, make_text_file) -> None:
    _kb().ingest([str(folder)])
    kb = _kb()
    alpha_ids = kb.parts.catalog.chunk_ids(str(folder / "alpha.pdf"))
    make_text_file("gamma.md", "# Gamma\n\nGamma detectors use scintillator crystals.\n")
    report = _kb().ingest([str(folder)])
    assert [Path(p).name for p in report.updated] == ["gamma.md"]
    kb = _kb()
    assert kb.parts.catalog.chunk_ids(str(folder / "alpha.pdf")) == alpha_ids
    hits = kb.search("scintillator crystals", k=1)
    assert "scintillator" in hits[0].text
    assert not any("energetic photons" in h.text for h in kb.search("energetic photons", k=10))

    (folder / "beta.docx").unlink()
    report = _kb().ingest([str(folder)])
    assert [Path(p).name for p in report.removed] == ["beta.docx"]
    kb = _kb()
    assert all(Path(h.source).name != "beta.docx" for h in kb.search("widgets grams", k=10))
    assert sorted(kb.parts.vectors.all_ids()) == sorted(kb.parts.catalog.chunk_ids())
    # --no-prune keeps files that vanished.
    (folder / "gamma.md").unlink()
    assert _kb().ingest([str(folder)], prune=False).removed == ()


def test_dry_run_writes_nothing(folder: Path) -> None:
    report = _kb().ingest([str(folder)], dry_run=True)
    assert report.dry_run and len(report.added) == 3
    assert not _kb().exists()


def test_a_missing_path_creates_no_knowledge_base(tmp_path: Path) -> None:
    report = _kb(kb="typo").ingest([str(tmp_path / "nope")])
    assert [(Path(f.path).name, f.reason) for f in report.failed] == [("nope", "not found")]
    assert not _kb(kb="typo").exists()
    assert not (tmp_path / "nope").exists()


def test_bad_files_are_reported_and_the_rest_ingested(
    capsys,
    folder: Path,
    make_encrypted_pdf,
    make_image_only_pdf,
    make_truncated_pdf,
    make_fake_docx,
    make_empty_file,
    make_gbk_txt,
) -> None:
    from ragkb.cli.main import main

    make_encrypted_pdf("locked.pdf", ["Secret text."])
    make_image_only_pdf("scan.pdf")
    make_truncated_pdf("broken.pdf")
    make_fake_docx("zip.docx")
    make_empty_file("empty.txt")
    make_gbk_txt("gbk.txt")
    code = main(["ingest", str(folder), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == errors.EXIT_PARTIAL_INGEST
    reasons = {Path(f["path"]).name: f["reason"] for f in report["failed"]}
    assert reasons["locked.pdf"].startswith("encrypted")
    assert reasons["scan.pdf"] == NO_TEXT_EVEN_OCR  # a drawing without writing, read by OCR
    assert reasons["broken.pdf"].startswith("corrupt")
    assert reasons["zip.docx"].startswith("corrupt")
    assert reasons["empty.txt"].startswith("empty")
    assert {Path(p).name for p in report["added"]} == {
        "alpha.pdf",
        "beta.docx",
        "gamma.md",
        "gbk.txt",
    }
    kb = _kb()
    statuses = {Path(r.path).name: r.status for r in kb.files()}
    assert statuses["locked.pdf"] == "failed" and statuses["gbk.txt"] == "ok"
    assert sorted(kb.parts.vectors.all_ids()) == sorted(kb.parts.catalog.chunk_ids())


def test_parse_time_limit_reports_and_goes_on(folder: Path) -> None:
    report = _kb(file_timeout_s=0.001).ingest([str(folder)])
    assert report.failed and all("timed out" in f.reason for f in report.failed)


def test_size_limit(folder: Path) -> None:
    report = _kb(max_file_mb=0.000001).ingest([str(folder)])
    assert len(report.failed) == 3 and all("too large" in f.reason for f in report.failed)


def test_rechunk_when_chunk_settings_change(folder: Path) -> None:
    _kb().ingest([str(folder)])
    before = _kb().parts.catalog.chunk_count()
    report = _kb(chunk_tokens=40, overlap_tokens=8).ingest([str(folder)])
    assert len(report.updated) == 3
    assert _kb().parts.catalog.chunk_count() > before


def test_second_writer_fails_at_once(folder: Path) -> None:
    kb = _kb()
    kb.ingest([str(folder)])
    lock = acquire_lock(kb.directory)
    try:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "ragkb", "ingest", str(folder)],
            capture_output=True,
            text=True,
            env=os.environ.copy(),
            timeout=120,
        )
        assert done.returncode == errors.EXIT_LOCKED
        assert f"pid {os.getpid()}" in done.stderr
        assert time.monotonic() - started < 60
        # Readers are not blocked by a writer.
        assert _kb().search("gamma rays", k=1)
    finally:
        lock.release()


def test_kill_during_ingest_then_rerun_matches_a_clean_run(
    make_pdf, docs_dir: Path, tmp_path: Path
) -> None:
    for i in range(12):
        make_pdf(f"doc{i:02d}.pdf", _pages(f"topic{i}", 4))
    clean_home = tmp_path / "clean"
    _kb(clean_home).ingest([str(docs_dir)])
    clean = _kb(clean_home)
    expected = sorted(clean.parts.catalog.chunk_ids())

    # Small batches, so that files are recorded batch by batch and the kill can land between.
    env = {**os.environ, "RAGKB_BATCH_CHUNKS": "4"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragkb", "ingest", str(docs_dir), "-q"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    kb_dir = Path(env["RAGKB_HOME"]) / "kbs" / "default"
    deadline = time.monotonic() + 120
    # Kill it once some files are stored but not all.
    while time.monotonic() < deadline:
        if (kb_dir / "catalog.sqlite").exists() and 0 < _stored_files(kb_dir) < 12:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _stored_files(kb_dir) < 12

    report = _kb().ingest([str(docs_dir)])
    assert not report.failed
    kb = _kb()
    assert sorted(kb.parts.catalog.chunk_ids()) == expected
    assert sorted(kb.parts.vectors.all_ids()) == expected


def _stored_files(kb_dir: Path) -> int:
    import sqlite3

    try:
        db = sqlite3.connect(kb_dir / "catalog.sqlite", timeout=5)
        try:
            return int(db.execute("SELECT COUNT(*) FROM files WHERE status='ok'").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return 0
