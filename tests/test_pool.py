"""The parse pool: files parsed in a child process, with a time limit, one failure at a time.

The pool starts its child with the "spawn" method, so a monkeypatch in this process is not
inherited by the child's copy of the module. The hang test replaces `_parse` with a
module-level function of this file instead: it is pickled by reference, and the spawned
child imports this module (its folder is on the sys.path the parent passes on) to run it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from ragkb.ingest import pool as pool_module
from ragkb.ingest.documents.reasons import CORRUPT_PDF, EMPTY, NOT_FOUND
from ragkb.ingest.pool import ParsePool

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

HANG_MARK = "hang"
CRASH_MARK = "crash"


def parse_or_hang(path: str, display_path: str, ocr):
    """Stand-in for pool._parse, run in the child: sleep on a file named *hang*, else parse."""
    from pathlib import Path

    from ragkb.ingest.pool import _parse

    if HANG_MARK in Path(path).name:
        time.sleep(120)
    if CRASH_MARK in Path(path).name:
        import os
        import signal

        os.kill(os.getpid(), signal.SIGKILL)  # as a segfault in a C parser would end it

    return _parse(path, display_path, ocr)


def parse(files: list[Path], *, timeout_s: float = 60.0):
    with ParsePool(timeout_s=timeout_s) as pool:
        return list(pool.parse_all((str(f), f.name) for f in files))


def text_of(result) -> str:
    assert result.document is not None, result.reason
    return " ".join(s.text for s in result.document.sections)


def test_parses_real_files_in_a_child_in_order(
    make_text_file: Callable[..., Path], make_pdf: Callable[..., Path]
) -> None:
    note = make_text_file("note.txt", "The parse pool reads plain text.")
    paper = make_pdf("paper.pdf", ["First page about cosine similarity.", "Second page."])

    results = parse([note, paper])

    assert [r.path for r in results] == [str(note), str(paper)]
    assert [r.display_path for r in results] == ["note.txt", "paper.pdf"]
    assert all(r.reason is None for r in results)
    assert "plain text" in text_of(results[0])
    assert results[1].document is not None
    assert results[1].document.kind == "pdf"
    assert results[1].document.pages == 2
    assert "cosine similarity" in text_of(results[1])


def test_failures_are_reported_and_the_next_file_is_parsed(
    make_text_file: Callable[..., Path],
    make_truncated_pdf: Callable[..., Path],
    make_empty_file: Callable[..., Path],
    docs_dir: Path,
) -> None:
    broken = make_truncated_pdf("broken.pdf")
    empty = make_empty_file("empty.txt")
    missing = docs_dir / "gone.txt"
    after = make_text_file("after.txt", "Still parsed after three failures.")

    results = parse([broken, empty, missing, after])

    assert [r.display_path for r in results] == ["broken.pdf", "empty.txt", "gone.txt", "after.txt"]
    assert results[0].document is None
    assert results[0].reason == CORRUPT_PDF
    assert results[1].reason == EMPTY
    assert results[2].reason == NOT_FOUND
    assert results[3].reason is None
    assert "three failures" in text_of(results[3])


def test_a_hanging_parse_times_out_and_a_fresh_child_goes_on(
    make_text_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool_module, "_parse", parse_or_hang)
    before = make_text_file("before.txt", "Parsed before the hang.")
    stuck = make_text_file(f"{HANG_MARK}.txt", "Never parsed.")
    queued = make_text_file("queued.txt", "Queued behind the hang, parsed by a new child.")

    started = time.monotonic()
    results = parse([before, stuck, queued], timeout_s=3)
    elapsed = time.monotonic() - started

    assert [r.display_path for r in results] == ["before.txt", "hang.txt", "queued.txt"]
    assert "before the hang" in text_of(results[0])
    assert results[1].document is None
    assert results[1].reason == "timed out (parsing took over 3 s)"
    assert "new child" in text_of(results[2])
    assert elapsed < 30  # the hung child (asleep for 120 s) was killed, not waited for


def test_a_parser_that_dies_is_reported_at_once_and_the_next_file_parsed(
    monkeypatch: pytest.MonkeyPatch, make_text_file: Callable[..., Path]
) -> None:
    monkeypatch.setattr(pool_module, "_parse", parse_or_hang)
    before = make_text_file("before.txt", "Parsed before the crash.")
    crash = make_text_file("crash.txt", "This one kills its parser.")
    after = make_text_file("after.txt", "Parsed by a fresh child.")
    started = time.monotonic()
    results = parse([before, crash, after], timeout_s=60)
    assert time.monotonic() - started < 30  # not after the time limit
    assert [r.reason for r in results] == [None, pool_module.CRASHED, None]
    assert "fresh child" in text_of(results[2])


def test_a_parser_that_dies_while_the_caller_is_busy_is_reported_in_its_turn(
    monkeypatch: pytest.MonkeyPatch, make_text_file: Callable[..., Path]
) -> None:
    # The caller embeds the first file while the child goes on to the second and dies: the
    # next file is then handed to a pool that is already broken (CI once failed on this race).
    monkeypatch.setattr(pool_module, "_parse", parse_or_hang)
    files = [
        make_text_file("before.txt", "Parsed before the crash."),
        make_text_file("crash.txt", "This one kills its parser."),
        make_text_file("after.txt", "Parsed by a fresh child."),
        make_text_file("last.txt", "Parsed last."),
    ]
    results = []
    with ParsePool(timeout_s=60) as pool:
        for result in pool.parse_all((str(f), f.name) for f in files):
            results.append(result)
            time.sleep(3)  # long enough for the child to be dead before the next submit
    assert [r.display_path for r in results] == [f.name for f in files]
    assert [r.reason for r in results] == [None, pool_module.CRASHED, None, None]
    assert "fresh child" in text_of(results[2])


@pytest.mark.slow
def test_ocr_pages_are_reported_and_each_gets_its_own_time_limit(tmp_path: Path) -> None:
    from test_ocr import SAMPLES, image_pdf, scan_pages

    from ragkb.ingest.documents.scans import OcrOptions

    scan = image_pdf(scan_pages(SAMPLES / "tracing-handbook.pdf"), tmp_path / "scan.pdf")
    reports: list[tuple[str, int, int]] = []

    # Reading 7 pages at 300 dpi takes about 17 s here, twice the file's own limit: each
    # page has ocr_page_timeout_s instead.
    with ParsePool(
        timeout_s=8,
        ocr=OcrOptions(dpi=300),
        ocr_page_timeout_s=30,
        on_ocr_page=lambda *report: reports.append(report),
    ) as pool:
        [result] = list(pool.parse_all([(str(scan), "scan.pdf")]))
    with ParsePool(timeout_s=30, ocr_page_timeout_s=0.2) as pool:
        [slow] = list(pool.parse_all([(str(scan), "scan.pdf")]))

    assert result.document is not None and result.document.ocr_pages == 7
    # The last report ("7 of 7 read") may arrive after the result, which does not wait for it.
    assert reports[:7] == [("scan.pdf", n, 7) for n in range(7)]
    assert reports[7:] in ([], [("scan.pdf", 7, 7)])
    assert slow.document is None
    assert slow.reason == "timed out (OCR of page 1 of 7 took over 0.2 s; see ocr_page_timeout_s)"
