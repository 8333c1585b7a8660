"""What a model or a server sends back is untrusted too: escape codes, broken streams;
and one bad line of a batch spoils only itself."""

from __future__ import annotations

import http.server
import json
import threading
from typing import TYPE_CHECKING, Any

import pytest
from fakes import make_fake_parts

import ragkb.build
from ragkb import errors
from ragkb.cli.main import main

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from ragkb.config import Settings
    from ragkb.parts import Parts

HOSTILE_REPLY = (
    "Tomatoes need sun [1].\x1b]52;c;ZXZpbA==\x07\x1b[2J\x1b[1;1H\x9b31m done\x1b[0m\r\n"
)


@pytest.fixture
def garden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "garden.md").write_text(
        "# Garden\n\nTomatoes need full sun and regular watering.\n", encoding="utf-8"
    )
    records: dict[str, Any] = {}

    def build(settings: Settings) -> Parts:
        return make_fake_parts(settings, replies=lambda _: HOSTILE_REPLY, records=records)

    monkeypatch.setattr(ragkb.build, "build_parts", build)
    assert main(["ingest", str(docs), "-q"]) == 0
    return docs


def test_a_streamed_answer_reaches_the_terminal_without_escape_codes(garden, capsys) -> None:
    capsys.readouterr()
    assert main(["ask", "What do tomatoes need?"]) == 0
    out = capsys.readouterr().out
    assert "Tomatoes need sun [1]." in out and "done" in out
    assert not any(ch in out for ch in "\x1b\x07\x9b\r")


def test_json_keeps_the_answer_exact_but_escaped(garden, capsys) -> None:
    capsys.readouterr()
    assert main(["ask", "What do tomatoes need?", "--json"]) == 0
    raw = capsys.readouterr().out
    assert "\x1b" not in raw  # JSON escapes it as \u001b
    assert "\x1b]52" in json.loads(raw)["answer"]


def test_a_poisoned_batch_line_spoils_only_itself(garden, tmp_path: Path, capsys) -> None:
    batch = tmp_path / "q.jsonl"
    batch.write_text(
        'What do tomatoes need?\n{"id": "x", "question": \n{"id": 7}\n'
        '{"id": "e", "question": "  "}\n{"id": "last", "question": "How much watering?"}\n',
        encoding="utf-8",
    )
    capsys.readouterr()
    assert main(["ask", "--batch", str(batch)]) == errors.EXIT_USAGE  # the first bad line's
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # A line that fails keeps the id it gave; unreadable JSON has only its line number.
    assert [line["id"] for line in lines] == [1, 2, 7, "e", "last"]
    assert "answer" in lines[0] and "answer" in lines[4]
    assert {line["exit_code"] for line in lines[1:4]} == {errors.EXIT_USAGE}
    assert "invalid JSON" in lines[1]["error"] and "question" in lines[2]["error"]
    assert "empty question" in lines[3]["error"]  # as `ask ""` is


class _BrokenSSE(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint whose stream breaks off into junk."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        good = {"choices": [{"delta": {"content": "Tomatoes"}}]}
        self.wfile.write(f"data: {json.dumps(good)}\n\ndata: {{not json\n\n".encode())

    def log_message(self, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def broken_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BrokenSSE)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_malformed_server_sent_events_are_a_model_error(broken_server: str) -> None:
    from ragkb.models.llama_cpp import LlamaCppGenerator
    from ragkb.models.openai_compat import OpenAICompatibleGenerator
    from ragkb.types import Sampling

    generator = OpenAICompatibleGenerator(
        broken_server,
        model="m",
        api_key="",
        n_ctx=2048,
        no_think=False,
        local_counter=LlamaCppGenerator("", n_ctx=2048, n_threads=1, n_gpu_layers=0),
    )
    pieces = []
    with pytest.raises(errors.ModelError, match="malformed streamed event") as raised:
        for delta in generator.stream(
            [{"role": "user", "content": "hi"}], Sampling(8, 0, 1, 1, 1, 0)
        ):
            pieces.append(delta.text)
    assert pieces == ["Tomatoes"]
    assert broken_server in str(raised.value)
    assert raised.value.exit_code == errors.EXIT_MODEL


CHAT_WITH_FAKES = """
import sys
sys.path.insert(0, sys.argv[1])
from fakes import make_fake_parts
import ragkb.build
from ragkb.cli.main import main
reply = {reply!r}
ragkb.build.build_parts = lambda settings: make_fake_parts(settings, replies=lambda _: reply)
main(["ingest", sys.argv[2], "-q"])
sys.exit(main(["chat"]))
"""


def test_the_chat_screen_gets_no_escape_sequence_from_the_model(tmp_path: Path) -> None:
    """The REPL on a real pseudo-terminal (prompt_toolkit and rich see a terminal)."""
    import os
    import pty
    import select
    import subprocess
    import sys
    import time
    from pathlib import Path as RealPath

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "garden.md").write_text("# Garden\n\nTomatoes need full sun.\n", encoding="utf-8")
    master, slave = pty.openpty()
    tests_dir = str(RealPath(__file__).parent)
    proc = subprocess.Popen(
        [sys.executable, "-c", CHAT_WITH_FAKES.format(reply=HOSTILE_REPLY), tests_dir, str(docs)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        # Every fake hit counts as relevant, so the model is called.
        env={
            **os.environ,
            "TERM": "xterm-256color",
            "RAGKB_MIN_RELEVANCE": "0",
            "RAGKB_MIN_SCORE": "0",
        },
    )
    os.close(slave)
    screen = b""
    deadline = time.monotonic() + 60
    sent = exited = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                screen += os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
        if not sent and b"/help for commands" in screen:
            os.write(master, b"What do tomatoes need?\r")
            sent = True
        if sent and not exited and b"done" in screen:
            os.write(master, b"/exit\r")
            exited = True
        if proc.poll() is not None and not ready:
            break
    proc.wait(timeout=30)
    os.close(master)
    assert sent and b"Tomatoes need sun [1]." in screen, screen[-2000:]
    assert b"\x1b]52" not in screen  # no clipboard write from the model
    assert b"\x07" not in screen and "\x9b".encode() not in screen
    assert b"\x1b[2J" not in screen  # nor a screen wipe
