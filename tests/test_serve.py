"""`ragkb serve`: the real servers on localhost (HTTP through httpx, MCP over stdio through
the SDK's client) give what the CLI gives for the same question."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow
SAMPLE_DOCS = Path(__file__).resolve().parent.parent / "sample_docs"
QUESTION = "What is a trace tree?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "ragkb", *args, "--json"], env=env, capture_output=True, check=False
    )
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("serve")
    shutil.copytree(SAMPLE_DOCS, root / "docs")
    environ = {**os.environ, "RAGKB_HOME": str(root / "home")}
    environ.pop("RAGKB_SERVE_TOKEN", None)
    subprocess.run(
        [sys.executable, "-m", "ragkb", "ingest", str(root / "docs"), "-q"], env=environ, check=True
    )
    return environ


def _start(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragkb", "serve", "--http", "--port", str(port), *args],
        env=env,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode() if proc.stderr else "exited")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise AssertionError("the server did not start")


@pytest.fixture(scope="module")
def server(env: dict[str, str]) -> Iterator[str]:
    proc, url = _start(env)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def _same_hits(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    assert [(h["chunk_id"], round(h["score"], 4)) for h in a] == [
        (h["chunk_id"], round(h["score"], 4)) for h in b
    ]


def test_http_search_ask_and_listing_match_the_cli(env: dict[str, str], server: str) -> None:
    body = {"query": QUESTION, "k": 4, "filter": {"types": ["pdf", "docx"]}}
    got = httpx.post(server + "/search", json=body, timeout=60).json()
    cli = _cli(env, "search", QUESTION, "-k", "4", "--type", "pdf", "--type", "docx")
    assert got.keys() == cli.keys()
    assert got["filter"] == cli["filter"] == {"types": ["pdf", "docx"]}
    _same_hits(got["results"], cli["results"])

    answer = httpx.post(server + "/ask", json={"question": QUESTION}, timeout=120).json()
    cli_answer = _cli(env, "ask", QUESTION)
    assert answer["answer"] == cli_answer["answer"] and not answer["refused"]
    _same_hits(answer["sources"], cli_answer["sources"])
    assert [e["quote"] for e in answer["evidence"]] == [e["quote"] for e in cli_answer["evidence"]]

    assert httpx.get(server + "/kbs", timeout=30).json() == _cli(env, "list")
    path = answer["sources"][0]["source"]
    document = httpx.get(server + "/documents", params={"path": path}, timeout=30).json()
    assert document["file"]["path"] == path
    assert any(c["chunk_id"] == answer["sources"][0]["chunk_id"] for c in document["chunks"])


def test_http_streams_an_answer_as_server_sent_events(server: str) -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    body = {"question": QUESTION, "stream": True}
    with httpx.stream("POST", server + "/ask", json=body, timeout=120) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((str(name), json.loads(line.removeprefix("data: "))))
    assert events[0][0] == "sources" and events[-1][0] == "done"
    done = events[-1][1]
    assert [s["chunk_id"] for s in events[0][1]["sources"]] == [
        s["chunk_id"] for s in done["sources"]
    ]
    plain = httpx.post(server + "/ask", json={"question": QUESTION}, timeout=120).json()
    assert done["answer"] == plain["answer"]
    # The text events add up to the answer, extractive (the bundled model's default) or not:
    # a new-user trial's client, building the answer from them, showed nothing.
    assert done["finish_reason"] == "extractive"
    assert "".join(data["text"] for name, data in events if name == "text") == done["answer"]


def test_http_errors_are_one_line_with_their_status(server: str) -> None:
    missing = httpx.post(server + "/search", json={"query": "x", "kb": "nope"}, timeout=30)
    assert missing.status_code == 404 and missing.json()["exit_code"] == 4
    hostile = httpx.post(server + "/search", json={"query": "x", "kb": "../etc"}, timeout=30)
    assert hostile.status_code == 400 and "kb name '../etc'" in hostile.json()["error"]
    assert "--kb" not in hostile.json()["error"]  # the request named it, not a flag
    bad = httpx.post(server + "/search", json={"query": "x", "filter": {"since": "soon"}})
    assert bad.status_code == 400 and "--since 'soon'" in bad.json()["error"]
    empty = httpx.post(server + "/search", json={"k": 3}, timeout=30)
    assert empty.status_code == 400 and empty.json()["error"].startswith("bad request: query")
    # No coercion, no key ignored, no empty name standing for the default (a new-user trial).
    for body in (
        {"query": "x", "k": True},
        {"query": "x", "k": "5"},
        {"query": "x", "top_k": 3},
        {"query": "x", "kb": ""},
    ):
        refused = httpx.post(server + "/search", json=body, timeout=30)
        assert refused.status_code == 400 and refused.json()["exit_code"] == 2, body
    for method, route, status in (("GET", "/nowhere", 404), ("GET", "/search", 405)):
        wrong = httpx.request(method, server + route, timeout=30)
        assert wrong.status_code == status and set(wrong.json()) == {"error", "exit_code"}
    assert httpx.get(server + "/openapi.json", timeout=30).status_code == 404
    gone = httpx.get(server + "/documents", params={"path": "/etc/passwd"}, timeout=30)
    assert gone.status_code == 404  # only stored files, from the catalog, never the disk
    # A page the file does not have is not an empty page (a new-user trial got 200, no chunks).
    hit = httpx.post(server + "/search", json={"query": QUESTION}, timeout=60).json()["results"][0]
    pages = httpx.get(server + "/documents", params={"path": hit["source"]}, timeout=30).json()
    last = pages["file"]["pages"] or 0
    for page in (0, last + 1):
        past = httpx.get(
            server + "/documents", params={"path": hit["source"], "page": page}, timeout=30
        )
        assert past.status_code == 404 and f"no page {page}" in past.json()["error"]


def test_four_concurrent_clients_get_no_error_and_the_same_results(server: str) -> None:
    expected = httpx.post(server + "/search", json={"query": QUESTION}, timeout=60).json()

    def client(_: int) -> list[dict[str, Any]]:
        with httpx.Client(base_url=server, timeout=120) as http:
            return [http.post("/search", json={"query": QUESTION}).json() for _ in range(15)]

    with ThreadPoolExecutor(4) as pool:
        results = [r for batch in pool.map(client, range(4)) for r in batch]
    assert len(results) == 60
    for result in results:
        _same_hits(result["results"], expected["results"])


def test_a_token_is_required_when_set_and_beyond_loopback(env: dict[str, str]) -> None:
    proc, url = _start({**env, "RAGKB_SERVE_TOKEN": "s3cret"})
    try:
        assert httpx.get(url + "/kbs", timeout=30).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert httpx.get(url + "/kbs", headers=wrong, timeout=30).status_code == 401
        right = {"Authorization": "Bearer s3cret"}
        assert httpx.get(url + "/kbs", headers=right, timeout=30).status_code == 200
        assert httpx.get(url + "/health", timeout=30).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    exposed = subprocess.run(
        [sys.executable, "-m", "ragkb", "serve", "--http", "--host", "0.0.0.0"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert exposed.returncode == 3 and "needs a bearer token" in exposed.stderr
    assert "serving" not in exposed.stderr  # it never served: no line may say it does


def test_serve_watch_keeps_the_knowledge_base_in_sync(env: dict[str, str], tmp_path: Path) -> None:
    docs = tmp_path / "watched"
    docs.mkdir()
    home = {**env, "RAGKB_HOME": str(tmp_path / "home"), "RAGKB_WATCH_SETTLE_S": "0.5"}
    (docs / "tides.md").write_text("# Tides\n\nSpring tides follow the full moon.\n", "utf-8")
    proc, url = _start(home, "--watch", str(docs))  # no knowledge base yet: --watch makes it
    try:
        tides = httpx.post(url + "/search", json={"query": "spring tides"}, timeout=60).json()
        assert tides["results"][0]["source"] == str(docs / "tides.md")
        (docs / "wind.md").write_text("# Wind\n\nThe tramontane is a cold wind.\n", "utf-8")
        deadline, found = time.monotonic() + 90, []
        while time.monotonic() < deadline and not found:
            time.sleep(0.5)
            body = {"query": "tramontane", "mode": "keyword"}
            reply = httpx.post(url + "/search", json=body, timeout=30).json()
            assert "results" in reply, reply
            found = reply["results"]
        assert found and found[0]["source"] == str(docs / "wind.md")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    said = proc.stderr.read().decode() if proc.stderr else ""
    assert "ragkb: serving http://127.0.0.1:" in said and "ragkb: watch: applied" in said
    assert "ragkb: watch: made knowledge base 'default' (1 files)" in said
    assert "warning:" not in said  # starting and syncing are no problems


def test_mcp_over_stdio_gives_the_cli_objects(env: dict[str, str]) -> None:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    async def session() -> dict[str, Any]:
        params = StdioServerParameters(command=sys.executable, args=["-m", "ragkb", "serve"],
                                       env=env)  # fmt: skip
        async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            names = sorted(t.name for t in (await s.list_tools()).tools)
            search = await s.call_tool("search", {"query": QUESTION, "k": 4})
            ask = await s.call_tool("ask", {"question": QUESTION})
            kbs = await s.call_tool("list_knowledge_bases", {})
            source = ask.structured_content["sources"][0]["source"]
            document = await s.call_tool("get_document", {"path": source})
            failed = await s.call_tool("search", {"query": "x", "kb": "nope"})
            mistyped = await s.call_tool("search", {"query": "x", "k": "many"})
            return {
                "names": names,
                "search": search.structured_content,
                "ask": ask.structured_content,
                "kbs": kbs.structured_content,
                "document": document.structured_content,
                "failed": (failed.is_error, failed.content[0].text),
                "mistyped": (mistyped.is_error, mistyped.content[0].text),
            }

    got = asyncio.run(session())
    assert got["names"] == ["ask", "get_document", "list_knowledge_bases", "search"]
    _same_hits(got["search"]["results"], _cli(env, "search", QUESTION, "-k", "4")["results"])
    cli_answer = _cli(env, "ask", QUESTION)
    assert got["ask"]["answer"] == cli_answer["answer"]
    _same_hits(got["ask"]["sources"], cli_answer["sources"])
    assert got["kbs"] == _cli(env, "list")
    assert got["document"]["chunks"]
    is_error, message = got["failed"]
    assert is_error and "does not exist" in message and "exit code 4" in message
    is_error, message = got["mistyped"]  # one line with its exit code, as ragkb's own errors
    assert is_error and message.startswith("bad arguments: k:") and "(exit code 2)" in message
    assert "\n" not in message and "pydantic" not in message


def test_the_service_warms_a_knowledge_base_up_before_serving_it(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ragkb.config import load_settings
    from ragkb.kb import KnowledgeBase
    from ragkb.serve.service import Service

    warmed: list[str] = []
    original = KnowledgeBase.warm_up

    def recording(kb: KnowledgeBase) -> None:
        original(kb)  # really loads the encoder, the store and the lexicon
        warmed.append(kb.name)

    monkeypatch.setattr(KnowledgeBase, "warm_up", recording)
    service = Service(load_settings({}, environ=env))
    service.knowledge()
    service.knowledge()
    assert warmed == [service.knowledge().name]  # once, when it is opened


def test_a_reset_knowledge_base_is_never_served_from_what_was_deleted(tmp_path: Path) -> None:
    env = {**os.environ, "RAGKB_HOME": str(tmp_path / "home")}
    env.pop("RAGKB_SERVE_TOKEN", None)
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    (old / "lamp.md").write_text("# Lighthouse\n\nThe lamp is replaced every 18 months.\n")
    (new / "rollout.md").write_text("# Rollouts\n\nA Kubernetes rollout replaces pods in turn.\n")

    def ragkb(*args: str) -> None:
        subprocess.run([sys.executable, "-m", "ragkb", *args], env=env, check=True)

    ragkb("ingest", str(old), "-q")
    proc, url = _start(env)
    try:
        found = httpx.post(url + "/search", json={"query": "lighthouse lamp"}, timeout=60).json()
        assert [Path(h["source"]).name for h in found["results"]] == ["lamp.md"]
        ragkb("reset", "--yes")
        gone = httpx.post(url + "/search", json={"query": "lighthouse lamp"}, timeout=60)
        assert gone.status_code == 404 and gone.json()["exit_code"] == 4
        ragkb("ingest", str(new), "-q")
        found = httpx.post(url + "/search", json={"query": "lighthouse lamp"}, timeout=60).json()
        assert {Path(h["source"]).name for h in found["results"]} == {"rollout.md"}
        document = httpx.get(url + "/documents", params={"path": str(old / "lamp.md")}, timeout=60)
        assert document.status_code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=30)
