"""A search-time twin of the embedder on onnxruntime, so a cold search need not import torch.

Ingest keeps encoding with sentence-transformers; this module exports that same model
(tokenizer, transformer, pooling, normalisation) to ONNX once, checks that it gives the same
vectors on real text, and keeps it in the data home. A query encoded here lands where the
stored chunks' vectors were made to be found, so one knowledge base never holds or compares
vectors from two encoders that disagree. Anything unverified is never used. The export lives
in the cache folder, keyed by the embedder's files, so every knowledge base of that embedder
shares it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragkb.errors import ModelError
from ragkb.models.embedders import TokenizedEmbedder, load_counting_tokenizer

if TYPE_CHECKING:
    from onnxruntime import InferenceSession
    from tokenizers import Tokenizer

    from ragkb.models.embedders import SentenceTransformerEmbedder

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MIN_COSINE = 0.999  # every probe must agree at least this well, or the export is discarded
MANIFEST = "manifest.json"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")

# Fixed probes cover what a knowledge base's own chunks might not: Chinese, a window-filling
# text (truncation must match), a one-word query, punctuation.
FIXED_PROBES = (
    "What is a trace tree?",
    "retention",
    "向量数据库如何计算余弦相似度？",
    "Le modèle répond en français, n'est-ce pas ?",
    "Section 4.2 (Sampling): head-based sampling keeps 10% of traces; tail-based keeps errors.",
    " ".join(["The window of the encoder is finite, so long inputs are cut."] * 40),
)


def encoder_dir(cache: Path, name: str, target: str) -> Path:
    """Return where the ONNX twin of an embedder lives; the name changes when its files do.

    NAME and TARGET are what `resolve_embedder` returns: finding the folder loads nothing.
    """
    signature = json.dumps([FORMAT_VERSION, name, _files_signature(target)])
    key = hashlib.sha256(signature.encode()).hexdigest()[:16]
    return cache / "encoders" / key


def _files_signature(target: str) -> list[Any]:
    folder = Path(target)
    if not folder.is_dir():
        return [target]  # a hub name: its cached snapshot is named by the name
    return sorted(
        (str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.parts)
    )


class OnnxEmbedder(TokenizedEmbedder):
    """Encodes queries (and evidence sentences) with the exported model; never used for ingest."""

    def __init__(self, folder: Path, *, query_prefix: str = "", passage_prefix: str = "") -> None:
        manifest = read_manifest(folder)
        if manifest is None:
            raise ModelError(f"{folder}: no verified ONNX encoder here")
        self.folder = folder
        self.manifest = manifest
        self.name = str(manifest["embedder"])
        self.window = int(manifest["max_seq_length"])
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        prefix_tokens = self.count_tokens(passage_prefix) if passage_prefix else 0
        self.max_tokens = self.window - 2 - prefix_tokens

    def _tok(self) -> Tokenizer:
        return load_counting_tokenizer(str(self.folder))

    def _encode(self, texts: list[str]) -> list[list[float]]:
        import numpy as np

        session = _session(str(self.folder / MODEL_FILE))
        tokenizer = _model_tokenizer(
            str(self.folder / TOKENIZER_FILE),
            self.window,
            int(self.manifest["pad_id"]),
            str(self.manifest["pad_token"]),
        )
        out: list[list[float]] = []
        for start in range(0, len(texts), 32):
            batch = tokenizer.encode_batch(texts[start : start + 32])
            columns = {
                "input_ids": [e.ids for e in batch],
                "attention_mask": [e.attention_mask for e in batch],
                "token_type_ids": [e.type_ids for e in batch],
            }
            feed = {n: np.asarray(columns[n], dtype=np.int64) for n in self.manifest["inputs"]}
            vectors = session.run(None, feed)[0]
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            out.extend((vectors / np.maximum(norms, 1e-12)).tolist())
        return out


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """Return the manifest of a verified export in FOLDER, or None."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if manifest.get("format") != FORMAT_VERSION or not (folder / MODEL_FILE).is_file():
        return None
    return manifest if manifest.get("min_cosine", 0) >= MIN_COSINE else None


def build(
    embedder: SentenceTransformerEmbedder, folder: Path, probes: Sequence[str] = ()
) -> dict[str, Any]:
    """Export EMBEDDER to FOLDER and verify it on the fixed probes plus PROBES.

    Returns the manifest. Raises ModelError, leaving nothing behind, when the export fails
    or any probe's vector differs from sentence-transformers' by more than MIN_COSINE.
    """
    started = time.monotonic()
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".building-", dir=folder.parent))
    try:
        manifest = _export(embedder, work)
        texts = [embedder.query_prefix + t for t in (*FIXED_PROBES, *probes)]
        manifest["min_cosine"] = _agreement(embedder, work, manifest, texts)
        manifest["probes"] = len(texts)
        manifest["build_seconds"] = round(time.monotonic() - started, 2)
        if manifest["min_cosine"] < MIN_COSINE:
            raise ModelError(
                f"ONNX export of {embedder.name} disagrees with sentence-transformers "
                f"(cosine {manifest['min_cosine']:.5f} < {MIN_COSINE}); not used"
            )
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(work, folder)
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _export(embedder: SentenceTransformerEmbedder, work: Path) -> dict[str, Any]:
    try:
        import torch
    except ImportError as exc:
        raise ModelError("torch is not installed") from exc
    model = embedder.cpu_model()
    # `preprocess` replaced `tokenize` in sentence-transformers 6 (which warns on the old name).
    preprocess = getattr(model, "preprocess", None) or model.tokenize
    features = preprocess(["probe"])
    names = [n for n in INPUT_NAMES if n in features]

    class Pipeline(torch.nn.Module):
        """The whole sentence-transformers stack (transformer, pooling, dense, normalise)."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: Any) -> Any:
            return self.model(dict(zip(names, tensors, strict=True)))["sentence_embedding"]

    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer chatter about shape-dependent branches
            torch.onnx.export(
                Pipeline().eval(),
                tuple(features[n] for n in names),
                str(work / MODEL_FILE),
                input_names=names,
                output_names=["embedding"],
                dynamic_axes={**axes, "embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
    except Exception as exc:  # any exporter failure means "fall back", never a crash
        raise ModelError(f"cannot export {embedder.name} to ONNX: {exc}") from exc
    hf_tokenizer = model.tokenizer
    hf_tokenizer.backend_tokenizer.save(str(work / TOKENIZER_FILE))
    return {
        "format": FORMAT_VERSION,
        "embedder": embedder.name,
        "max_seq_length": int(model.max_seq_length),
        "inputs": names,
        "pad_id": int(hf_tokenizer.pad_token_id or 0),
        "pad_token": str(hf_tokenizer.pad_token or "[PAD]"),
        "torch": torch.__version__,
    }


def _agreement(
    embedder: SentenceTransformerEmbedder, work: Path, manifest: dict[str, Any], texts: list[str]
) -> float:
    import numpy as np

    reference = embedder.cpu_model().encode(
        texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    (work / MANIFEST).write_text(json.dumps({**manifest, "min_cosine": 1.0}), encoding="utf-8")
    twin = OnnxEmbedder(work)
    try:
        exported = np.asarray(twin._encode(texts))
    finally:
        _session.cache_clear()  # the session was opened on the temporary path
        _model_tokenizer.cache_clear()
        load_counting_tokenizer.cache_clear()
    return float(np.min(np.sum(reference * exported, axis=1)))


@functools.cache
def _session(path: str) -> InferenceSession:
    try:
        import onnxruntime
    except ImportError as exc:
        raise ModelError("onnxruntime is not installed: pip install onnxruntime") from exc
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: its warnings are not for our users
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


@functools.cache
def _model_tokenizer(path: str, window: int, pad_id: int, pad_token: str) -> Tokenizer:
    """The tokenizer as sentence-transformers runs it: truncated at the window, padded per batch."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(path)
    tokenizer.enable_truncation(window)
    tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)
    return tokenizer
