"""`ragkb watch` on the real components: a running watcher applies each settled change."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ragkb.config import load_settings
from ragkb.ingest.watch import split_changes
from ragkb.kb import KnowledgeBase

pytestmark = pytest.mark.slow


class Watcher:
    """`python -m ragkb watch DOCS --json` in its own process, its JSON lines in a queue."""

    def __init__(self, docs: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ragkb", "watch", str(docs), "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def batch(self, timeout_s: float = 120) -> dict[str, Any]:
        try:
            return self.lines.get(timeout=timeout_s)
        except queue.Empty:
            self.stop()
            raise AssertionError(f"no batch in {timeout_s} s: {self.proc.stderr.read()}") from None

    def quiet_for(self, seconds: float) -> bool:
        try:
            self.lines.get(timeout=seconds)
        except queue.Empty:
            return True
        return False

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "RAGKB_HOME": str(home), "RAGKB_WATCH_SETTLE_S": "1", **extra}


def _state(home: Path) -> dict[str, str]:
    kb = KnowledgeBase(load_settings({}, environ={"RAGKB_HOME": str(home)}))
    catalog, vectors = kb.parts.catalog, kb.parts.vectors
    assert sorted(catalog.chunk_ids()) == sorted(vectors.all_ids())  # store and catalog agree
    assert kb.parts.keywords.is_current(catalog)
    return {Path(f.path).name: f.file_hash for f in kb.files()}


def test_edits_renames_and_deletes_are_applied_as_they_settle(tmp_path: Path) -> None:
    docs, home = tmp_path / "docs", tmp_path / "home"
    docs.mkdir()
    (docs / "tides.md").write_text("# Tides\n\nSpring tides follow the full moon.\n", "utf-8")
    watcher = Watcher(docs, _env(home))
    first = watcher.batch()
    assert first["initial"] and first["added"] == [str(docs / "tides.md")]

    (docs / "wind.md").write_text("# Wind\n\nThe mistral blows down the Rhone.\n", "utf-8")
    assert watcher.batch()["added"] == [str(docs / "wind.md")]
    assert set(_state(home)) == {"tides.md", "wind.md"}

    (docs / "wind.md").write_text("# Wind\n\nThe tramontane is a cold north wind.\n", "utf-8")
    assert watcher.batch()["updated"] == [str(docs / "wind.md")]
    kb = KnowledgeBase(load_settings({}, environ={"RAGKB_HOME": str(home)}))
    assert kb.search("tramontane", k=1, mode="keyword")[0].source == str(docs / "wind.md")

    (docs / "wind.md").rename(docs / "winds.md")
    moved = watcher.batch()
    assert moved["added"] == [str(docs / "winds.md")] and moved["removed"] == [
        str(docs / "wind.md")
    ]

    (docs / "tides.md").unlink()
    assert watcher.batch()["removed"] == [str(docs / "tides.md")]
    (docs / ".notes.md").write_text("hidden", "utf-8")  # passed over, as ingest does
    assert watcher.quiet_for(3)
    assert set(_state(home)) == {"winds.md"}
    assert watcher.stop() == 0


def test_a_burst_of_500_files_is_one_batch(tmp_path: Path) -> None:
    docs, home = tmp_path / "docs", tmp_path / "home"
    docs.mkdir()
    watcher = Watcher(docs, _env(home, RAGKB_WATCH_SETTLE_S="2"))
    assert watcher.batch()["initial"]
    (docs / "sub").mkdir()
    for i in range(500):  # a `git checkout` of 500 files
        (docs / "sub" / f"note-{i:03d}.txt").write_text(f"Note {i} about item {i}.\n", "utf-8")
    burst = watcher.batch(timeout_s=600)
    assert burst["counts"]["added"] == 500 and not burst["failed"]
    assert watcher.quiet_for(3)
    assert len(_state(home)) == 500
    assert watcher.stop() == 0


def test_a_watcher_killed_mid_batch_restarts_into_the_clean_state(tmp_path: Path) -> None:
    docs, home, clean = tmp_path / "docs", tmp_path / "home", tmp_path / "clean"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nAlpha.\n", "utf-8")
    watcher = Watcher(docs, _env(home))
    assert watcher.batch()["initial"]
    lock_pid = home / "kbs" / "default" / "write.pid"
    synced = lock_pid.stat().st_mtime_ns
    for i in range(200):
        (docs / f"b-{i:03d}.md").write_text(f"# B {i}\n\nBeta number {i}.\n", "utf-8")
    (docs / "a.md").unlink()
    deadline = time.monotonic() + 60
    while lock_pid.stat().st_mtime_ns == synced and time.monotonic() < deadline:
        time.sleep(0.02)  # until the batch's ingest takes the writer lock
    time.sleep(0.5)
    watcher.proc.kill()
    watcher.proc.wait(timeout=30)
    assert watcher.lines.empty()  # killed before the batch was applied

    again = Watcher(docs, _env(home))
    assert again.batch()["initial"]
    assert again.stop() == 0
    subprocess.run(
        [sys.executable, "-m", "ragkb", "ingest", str(docs), "-q"], env=_env(clean), check=True
    )
    assert _state(home) == _state(clean)


def test_what_a_path_is_now_decides_not_the_event(tmp_path: Path) -> None:
    (tmp_path / "keep.md").write_text("x", "utf-8")
    (tmp_path / "moved-in").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "index.md").write_text("x", "utf-8")
    (tmp_path / "image.bmp").write_text("x", "utf-8")
    raw = [
        (2, str(tmp_path / "keep.md")),  # "modified", and "deleted" by an editor's rename
        (3, str(tmp_path / "keep.md")),
        (1, str(tmp_path / "moved-in")),
        (3, str(tmp_path / "gone.pdf")),
        (2, str(tmp_path / ".git" / "index.md")),
        (1, str(tmp_path / "image.bmp")),
        (1, str(tmp_path / "~$report.docx")),
    ]
    changes = split_changes(raw, [tmp_path])
    assert changes.upsert == (str(tmp_path / "keep.md"), str(tmp_path / "moved-in"))
    assert changes.gone == (str(tmp_path / "gone.pdf"),)


def test_a_path_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    from ragkb.errors import UsageError
    from ragkb.ingest.watch import ChangeFeed

    with pytest.raises(UsageError, match="not found"):
        ChangeFeed([str(tmp_path / "nope")], stop=threading.Event(), settle_s=1.0)


def test_a_running_watch_is_the_one_writer(tmp_path: Path) -> None:
    """Another writer is refused while a watch runs (a trial's `reset` under a watch deleted
    the catalog it was writing to, and its next batch died with exit 10)."""
    docs, other, home = tmp_path / "docs", tmp_path / "other", tmp_path / "home"
    docs.mkdir()
    other.mkdir()
    (docs / "a.md").write_text("# A\n\nAlpha.\n", "utf-8")
    (other / "b.md").write_text("# B\n\nBeta.\n", "utf-8")
    env = _env(home)
    watcher = Watcher(docs, env)
    assert watcher.batch()["initial"]
    for args in (["ingest", str(other)], ["reset", "--yes"], ["remove", str(docs / "a.md")]):
        done = subprocess.run(
            [sys.executable, "-m", "ragkb", *args], env=env, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 6, (args, done.stderr)
        assert f"ragkb watch (pid {watcher.proc.pid}) is writing" in done.stderr
    (docs / "c.md").write_text("# C\n\nGamma.\n", "utf-8")
    assert watcher.batch()["counts"]["added"] == 1  # its own batches still take the lock
    assert set(_state(home)) == {"a.md", "c.md"}
    assert watcher.stop() == 0
    done = subprocess.run(
        [sys.executable, "-m", "ragkb", "ingest", str(other), "-q"], env=env, check=False
    )
    assert done.returncode == 0  # stopped: the lock is free again
