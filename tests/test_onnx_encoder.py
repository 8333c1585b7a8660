"""The ONNX twin of the embedder: built and verified against sentence-transformers, used only
when verified, and a cold search that never imports torch."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from ragkb.config import load_settings
from ragkb.errors import ModelError
from ragkb.kb import KnowledgeBase
from ragkb.models.onnx_twin import FORMAT_VERSION, MANIFEST, MODEL_FILE, encoder_dir, read_manifest


def _write_export(folder: Path, **manifest: object) -> Path:
    folder.mkdir(parents=True)
    (folder / MODEL_FILE).write_bytes(b"onnx")
    body = {"format": FORMAT_VERSION, "min_cosine": 0.99999, **manifest}
    (folder / MANIFEST).write_text(json.dumps(body), encoding="utf-8")
    return folder


def test_read_manifest_accepts_only_a_verified_export(tmp_path: Path) -> None:
    assert read_manifest(_write_export(tmp_path / "ok")) is not None
    assert read_manifest(_write_export(tmp_path / "bad", min_cosine=0.99)) is None
    assert read_manifest(_write_export(tmp_path / "old", format=FORMAT_VERSION - 1)) is None
    no_model = _write_export(tmp_path / "gone")
    (no_model / MODEL_FILE).unlink()
    assert read_manifest(no_model) is None
    assert read_manifest(tmp_path / "missing") is None


def test_encoder_folder_changes_when_the_model_files_change(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"1234")
    first = encoder_dir(tmp_path / "cache", "my-model", str(model))
    assert first == encoder_dir(tmp_path / "cache", "my-model", str(model))
    (model / "weights.bin").write_bytes(b"12345")
    assert encoder_dir(tmp_path / "cache", "my-model", str(model)) != first
    assert encoder_dir(tmp_path / "cache", "other", str(model)) != first


@pytest.mark.slow
def test_export_gives_the_same_vectors_and_token_counts(tmp_path: Path) -> None:
    import numpy as np

    from ragkb.models.embedders import SentenceTransformerEmbedder
    from ragkb.models.onnx_twin import OnnxEmbedder, build

    reference = SentenceTransformerEmbedder("", query_prefix="q: ")
    folder = tmp_path / "enc"
    manifest = build(reference, folder, ["A chunk of the user's own corpus."])
    assert manifest["min_cosine"] >= 0.999 and manifest["probes"] == 7
    twin = OnnxEmbedder(folder, query_prefix="q: ")
    texts = ["How long are traces kept?", "混合检索如何融合两个排序？", "word " * 400]
    a = np.asarray([reference.embed_query(t) for t in texts])
    b = np.asarray([twin.embed_query(t) for t in texts])
    assert np.min(np.sum(a * b, axis=1)) >= 0.999
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    # A batch (padded) gives the vectors of one-at-a-time encoding.
    singles = np.asarray([twin.embed_passages([t])[0] for t in texts])
    assert np.allclose(np.asarray(twin.embed_passages(texts)), singles, atol=1e-5)
    assert [twin.count_tokens(t) for t in texts] == [reference.count_tokens(t) for t in texts]
    assert twin.max_tokens == reference.max_tokens == 254


@pytest.mark.slow
def test_failed_export_falls_back_to_sentence_transformers_once(
    tmp_path: Path,
    make_docx,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import ragkb.models.onnx_twin as onnx_encoder
    from ragkb.models.embedders import SentenceTransformerEmbedder

    calls = []

    def broken_export(*args: object) -> dict:
        calls.append(args)
        raise ModelError("exporter unavailable")

    monkeypatch.setattr(onnx_encoder, "_export", broken_export)
    environ = {"RAGKB_HOME": str(tmp_path / "home"), "RAGKB_CACHE": str(tmp_path / "cache")}
    doc = make_docx("notes.docx", [("p", "The quokka battery lasts nine hours.")])
    minilm = {"embedding_backend": "sentence-transformers"}
    with caplog.at_level(logging.WARNING, logger="ragkb"):
        KnowledgeBase(load_settings(minilm, environ=environ)).ingest([str(doc)])
    assert "searches will use sentence-transformers: exporter unavailable" in caplog.text
    kb = KnowledgeBase(load_settings(minilm, environ=environ))
    assert type(kb.parts.query_encoder.active) is SentenceTransformerEmbedder
    assert Path(kb.search("quokka battery")[0].source).name == "notes.docx"
    kb.ingest([str(doc)])
    assert len(calls) == 1  # the failure is remembered, not retried on every ingest


@pytest.mark.slow
def test_cold_cli_search_uses_onnx_and_never_imports_torch(tmp_path: Path, make_pdf) -> None:
    doc = make_pdf("handbook.pdf", ["Intro.", "A trace tree is the tree of all spans."])
    ingest = [sys.executable, "-m", "ragkb", "ingest", str(doc), "-q"]
    subprocess.run(ingest, check=True, capture_output=True)
    probe = (
        "import json, sys\n"
        "from ragkb.cli.main import main\n"
        "code = main(['search', 'what is a trace tree', '--json', '-k', '1'])\n"
        "names = ('torch', 'sentence_transformers', 'transformers')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print(json.dumps({'code': code, 'heavy': heavy}), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    status = json.loads(done.stderr.strip().splitlines()[-1])
    assert status == {"code": 0, "heavy": []}, done.stderr
    (hit,) = json.loads(done.stdout)["results"]
    assert Path(hit["source"]).name == "handbook.pdf" and hit["page"] == 2


@pytest.mark.slow
def test_local_path_embedder_with_instruction_prefixes(tmp_path: Path, make_docx) -> None:
    # How a user wires in a downloaded bilingual model (BCEmbedding, bge-m3, e5...): a local
    # folder plus the prefixes the model card asks for. MiniLM's folder stands in for it.
    import shutil

    import numpy as np

    from ragkb.models.embedders import SentenceTransformerEmbedder, bundled_embedder_dir
    from ragkb.models.onnx_twin import OnnxEmbedder

    folder = tmp_path / "my-bilingual-model"
    shutil.copytree(bundled_embedder_dir(), folder)
    flags = {"embedder": str(folder), "query_prefix": "query: ", "passage_prefix": "passage: "}
    environ = {"RAGKB_HOME": str(tmp_path / "home")}
    doc = make_docx("notes.docx", [("p", "The quokka battery lasts nine hours.")])
    kb = KnowledgeBase(load_settings(flags, environ=environ))
    kb.ingest([str(doc)])
    assert kb.info().embedder == str(folder.resolve())  # the path is the identity
    stored = kb.parts.vectors.embeddings(kb.parts.catalog.chunk_ids())
    reference = SentenceTransformerEmbedder(str(folder))
    (vector,) = stored.values()
    # The prefix was embedded, then the file's title and the chunk's text (headings are content).
    expected = reference.embed_passages(["passage: notes\nThe quokka battery lasts nine hours."])
    assert float(np.dot(vector, expected[0])) > 0.9999
    fresh = KnowledgeBase(load_settings(flags, environ=environ))
    assert isinstance(fresh.parts.query_encoder.active, OnnxEmbedder)  # its own verified twin
    query = fresh.parts.query_encoder.active.embed_query("battery life")
    assert float(np.dot(query, reference.embed_passages(["query: battery life"])[0])) > 0.999
    assert Path(fresh.search("battery life")[0].source).name == "notes.docx"
