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
        '{"id": "last", "question": "How much watering?"}\n',
        encoding="utf-8",
    )
    capsys.readouterr()
    assert main(["ask", "--batch", str(batch)]) == errors.EXIT_USAGE  # the first bad line's
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["id"] for line in lines] == [1, 2, 3, "last"]
    assert "answer" in lines[0] and "answer" in lines[3]
    assert lines[1]["exit_code"] == lines[2]["exit_code"] == errors.EXIT_USAGE
    assert "invalid JSON" in lines[1]["error"] and "question" in lines[2]["error"]


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
