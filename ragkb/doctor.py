"""`ragkb doctor`: what is installed, what the model is, whether the GPU can be used."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from typing import Any

from ragkb.catalog import list_kb_names
from ragkb.config import Settings
from ragkb.embedding import resolve_embedder
from ragkb.errors import RagkbError
from ragkb.generation import resolve_model_path

_PACKAGES = (
    "ragkb",
    "llama-cpp-python",
    "sentence-transformers",
    "torch",
    "chromadb",
    "pypdf",
    "python-docx",
    "bm25s",
    "jieba",
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
            "n_threads": g.n_threads or os.cpu_count(),
            "n_gpu_layers": g.n_gpu_layers,
            "max_tokens": g.max_tokens,
        },
        "embedder": _embedder_info(settings),
        "data": {
            "home": str(settings.home),
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
        return {"backend": "openai", "base_url": g.base_url, "model": g.openai_model or None}
    try:
        path = resolve_model_path(g.model_path)
    except RagkbError as exc:
        return {"error": str(exc)}
    info: dict[str, Any] = {"path": str(path), "size_mb": round(path.stat().st_size / 1e6, 1)}
    try:
        from llama_cpp import Llama

        llama = Llama(model_path=str(path), vocab_only=True, verbose=False)
        meta = llama.metadata
        info.update({k: meta.get(k) for k in _GGUF_KEYS if k in meta})
        arch = meta.get("general.architecture", "")
        info["trained_context_length"] = meta.get(f"{arch}.context_length")
        info["quantization"] = path.stem.rsplit(".", 1)[-1] if "." in path.stem else None
        template = meta.get("tokenizer.chat_template")
        info["chat_template"] = (template[:120] + "…") if template else None
        del llama
    except Exception as exc:  # a broken GGUF is what doctor is for: report, don't crash
        info["error"] = f"cannot read GGUF metadata: {exc}"
    return info


def _embedder_info(settings: Settings) -> dict[str, Any]:
    e = settings.embedding
    try:
        name, target = resolve_embedder(e.embedder)
    except RagkbError as exc:
        return {"error": str(exc)}
    info: dict[str, Any] = {"name": name, "location": target, "device_setting": e.device}
    try:
        import torch

        info["cuda_available"] = torch.cuda.is_available()
        info["mps_available"] = bool(
            getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
        )
    except ImportError:
        info["torch"] = "not installed"
    return info
