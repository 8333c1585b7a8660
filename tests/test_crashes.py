"""Faults on the real components: SIGKILLs at random moments, searches during an ingest,
a disk that fills up. Each ends with the knowledge base as one clean run would leave it."""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ragkb import errors
from ragkb.config import load_settings
from ragkb.index.keywords import INDEX_DIR
from ragkb.kb import KnowledgeBase

pytestmark = pytest.mark.slow

TOPICS = (
    "apples", "bananas", "cherries", "dates", "elderberries",
    "figs", "grapes", "honeydew", "kiwis", "lemons",
)  # fmt: skip
QUERIES = ("apples orchard", "banana ripening", "figs and dates", "lemon acidity", "kiwi")


def _write(docs: Path, topic: str, extra: str = "") -> Path:
    path = docs / f"{topic}.md"
    body = "\n\n".join(
        f"Section {i} about {topic}: the {topic} harvest {i} weighed {i * 13} kilograms. "
        f"Storage of {topic} needs {i + 2} degrees and dry air." * 3
        for i in range(1, 5)
    )
    path.write_text(f"# {topic.title()}\n\n{body}\n\n{extra}\n", encoding="utf-8")
    return path


def _ragkb(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    quiet = ["-q"] if args[0] == "ingest" else []
    return subprocess.Popen(
        [sys.executable, "-m", "ragkb", *args, *quiet],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, as a shell gives a command
    )


def _index_ids(kb: KnowledgeBase) -> list[str]:
    import tantivy

    searcher = tantivy.Index.open(str(kb.directory / INDEX_DIR)).searcher()
    found = searcher.search(tantivy.Query.all_query(), max(searcher.num_docs, 1))
    return sorted(searcher.doc(address)["chunk_id"][0] for _, address in found.hits)


def test_twenty_kills_then_reruns_end_as_one_clean_run(tmp_path: Path) -> None:
    rng = random.Random(2026)
    docs = tmp_path / "docs"
    docs.mkdir()
    for topic in TOPICS:
        _write(docs, topic)
    env = {**os.environ, "RAGKB_BATCH_CHUNKS": "4"}  # small batches: kills land between them
    kills = rounds = 0
    while kills < 20 and rounds < 60:
        rounds += 1
        topic = rng.choice(TOPICS)
        action = rng.choice(("ingest", "edit", "remove"))
        if action == "edit":
            _write(docs, topic, extra=f"Edited in round {rounds}.")
        argv = (
            ("remove", str(docs / f"{topic}.md")) if action == "remove" else ("ingest", str(docs))
        )
        proc = _ragkb(*argv, env=env)
        # An ingest of these files takes about 3 s (multilingual-e5-small, 2 cores).
        time.sleep(rng.uniform(0.3, 2.5))
        if proc.poll() is None:
            proc.kill()
            kills += 1
        proc.wait()
        again = _ragkb(*argv, env=env)  # the user runs the killed command again
        _, err = again.communicate(timeout=300)
        allowed = (0, errors.EXIT_NOT_FOUND) if action == "remove" else (0,)
        assert again.returncode in allowed, (argv, err.decode())
        assert b"Traceback" not in err
    assert kills >= 20, f"only {kills} kills landed in {rounds} rounds"
    final = _ragkb("ingest", str(docs), env=env)
    assert final.wait(timeout=300) == 0

    kb = KnowledgeBase(load_settings({}))
    clean = KnowledgeBase(load_settings({}, environ={"RAGKB_HOME": str(tmp_path / "clean")}))
    clean.ingest([str(docs)])
    expected = sorted(clean.parts.catalog.chunk_ids())
    assert sorted(kb.parts.catalog.chunk_ids()) == expected
    assert sorted(kb.parts.vectors.all_ids()) == expected
    assert _index_ids(kb) == expected
    for query in QUERIES:
        assert {h.chunk_id for h in kb.search(query)} == {h.chunk_id for h in clean.search(query)}


def test_searches_during_an_ingest_all_answer(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    first = _write(docs, "apples")
    KnowledgeBase(load_settings({})).ingest([str(first)])  # something to search from the start
    for topic in TOPICS[1:]:
        _write(docs, topic)
    env = {**os.environ, "RAGKB_BATCH_CHUNKS": "4"}
    writer = _ragkb("ingest", str(docs), env=env)
    failures: list[str] = []
    rounds = 0
    while writer.poll() is None or rounds < 2:
        rounds += 1
        readers = [
            subprocess.Popen(
                [sys.executable, "-m", "ragkb", "search", q, "--json"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for q in (*QUERIES, "storage degrees", "harvest weight", "dry air")
        ]
        for reader in readers:
            out, err = reader.communicate(timeout=300)
            if reader.returncode != 0 or not json.loads(out)["results"]:
                failures.append(err.decode())
        if rounds >= 6:
            break
    assert writer.wait(timeout=300) == 0
    assert not failures, failures[0]
    assert rounds >= 2


def test_a_full_disk_is_one_line_and_leaves_a_searchable_knowledge_base(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    first = _write(docs, "apples")
    KnowledgeBase(load_settings({})).ingest([str(first)])
    for topic in TOPICS[1:]:
        _write(docs, topic, extra="padding " * 4000)
    used = sum(p.stat().st_size for p in Path(os.environ["RAGKB_HOME"]).rglob("*") if p.is_file())

    def small_disk() -> None:  # writes past this size fail with EFBIG, as on a full disk
        limit = used + 64 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run(
        [sys.executable, "-m", "ragkb", "ingest", str(docs), "-q"],
        preexec_fn=small_disk,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode in (errors.EXIT_STORAGE, errors.EXIT_PARTIAL_INGEST), done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 2, done.stderr
    kb = KnowledgeBase(load_settings({}))
    assert kb.search("apples harvest", k=1)[0].source == str(first)
    assert sorted(kb.parts.catalog.chunk_ids()) == sorted(kb.parts.vectors.all_ids())
    signal.getsignal(signal.SIGINT)  # the parent is untouched by the child's limit


def test_a_read_only_data_home_is_one_line_and_loses_nothing(tmp_path: Path) -> None:
    """The home lives on its own tmpfs, remounted read-only (needs root, as CI runs)."""
    mount = tmp_path / "mnt"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(mount)], check=False).returncode:
        pytest.skip("cannot mount a tmpfs here (not root?)")
    try:
        home = mount / "home"
        env = {**os.environ, "RAGKB_HOME": str(home)}
        docs = tmp_path / "docs"
        docs.mkdir()
        first = _write(docs, "apples")
        # In a child: this process must hold no file of the home open, or it cannot remount.
        assert _ragkb("ingest", str(first), env=env).wait(timeout=300) == 0
        _write(docs, "bananas")
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        # A search too (a new-user trial): the embedded store writes even to read.
        for argv in (
            ["ingest", str(docs)],
            ["remove", str(first)],
            ["reset", "--yes"],
            ["search", "apples"],
        ):
            done = subprocess.run(
                [sys.executable, "-m", "ragkb", *argv, "-q"] if argv[0] == "ingest" else
                [sys.executable, "-m", "ragkb", *argv],
                env=env, capture_output=True, text=True, timeout=300, check=False,
            )  # fmt: skip
            assert done.returncode in (errors.EXIT_STORAGE, errors.EXIT_LOCKED), (argv, done)
            assert "Traceback" not in done.stderr
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr
            assert "Read-only" in done.stderr or "read-only" in done.stderr, done.stderr
        subprocess.run(["mount", "-o", "remount,rw", str(mount)], check=True)
        kb = KnowledgeBase(load_settings({}, environ=env))
        assert [f.path for f in kb.files()] == [str(first)]
        assert kb.search("apples harvest", k=1)[0].source == str(first)
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_killed_ingest_leaves_no_parser_process_behind(tmp_path: Path) -> None:
    import psutil

    docs = tmp_path / "docs"
    docs.mkdir()
    for topic in TOPICS:
        _write(docs, topic)
    ingest = _ragkb("ingest", str(docs), env={**os.environ, "RAGKB_BATCH_CHUNKS": "4"})
    parent = psutil.Process(ingest.pid)
    deadline = time.monotonic() + 120
    children: list[psutil.Process] = []
    while time.monotonic() < deadline and not children and ingest.poll() is None:
        children = [
            c for c in parent.children(recursive=True) if "spawn_main" in " ".join(c.cmdline())
        ]
        time.sleep(0.1)
    assert children, "the ingest finished before its parser child was seen"
    ingest.kill()
    ingest.wait()
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, [c.cmdline() for c in alive]


@pytest.mark.parametrize(
    ("sent", "group", "code", "said"),
    [
        (signal.SIGINT, False, errors.EXIT_INTERRUPTED, "interrupted"),
        (signal.SIGINT, True, errors.EXIT_INTERRUPTED, "interrupted"),
        (signal.SIGTERM, False, errors.EXIT_TERMINATED, "terminated"),
    ],
)
def test_an_interrupted_or_terminated_ingest_says_so_and_cleans_up(
    tmp_path: Path, sent: signal.Signals, group: bool, code: int, said: str
) -> None:
    # A new-user trial: Ctrl-C ended an ingest without a word (typer turns it into a silent
    # exit 130), and SIGTERM left "leaked semaphore objects" behind from the parse pool. A
    # later trial: Ctrl-C in a terminal reaches the whole process group, and the parsing
    # child printed a KeyboardInterrupt traceback of its own (GROUP).
    docs = tmp_path / "docs"
    docs.mkdir()
    for n in range(60):  # about half a minute of embedding here: the signal lands in it
        _write(docs, f"{TOPICS[n % len(TOPICS)]}{n}")
    ingest = _ragkb("ingest", str(docs), env={**os.environ, "RAGKB_BATCH_CHUNKS": "4"})
    time.sleep(6)  # the models are loaded, the parse pool is running
    assert ingest.poll() is None, "the ingest finished before the signal"
    if group:
        os.killpg(ingest.pid, sent)
    else:
        ingest.send_signal(sent)
    _, err = ingest.communicate(timeout=60)
    assert ingest.returncode == code, err.decode()
    assert err.decode().strip().splitlines()[-1] == said
    assert b"leaked" not in err and b"Traceback" not in err
    repaired = KnowledgeBase(load_settings({})).repair()
    assert (repaired.orphan_vectors, repaired.missing_vectors) == (0, 0)
