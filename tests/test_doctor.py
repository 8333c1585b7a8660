"""`ragkb doctor`: a report on the installation that reports problems instead of raising."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from ragkb import doctor
from ragkb.config import load_settings
from ragkb.index.catalog import Catalog, kb_dir

if TYPE_CHECKING:
    from pathlib import Path

SECTIONS = {
    "python",
    "packages",
    "llama_cpp",
    "model",
    "generation",
    "embedder",
    "ocr",
    "data",
    "warnings",
    "cross_lingual",
}


def test_defaults_report_every_section_as_json() -> None:
    report = doctor.diagnose(load_settings({}))

    assert set(report) == SECTIONS
    assert json.loads(json.dumps(report)) == report
    assert set(report["packages"]) >= {"ragkb", "llama-cpp-python", "chromadb", "rich"}
    assert report["packages"]["ragkb"] != "not installed"
    assert set(report["generation"]) == {
        "backend",
        "n_ctx",
        "n_threads",
        "n_gpu_layers",
        "extra_buffers",
        "max_tokens",
    }
    assert report["generation"]["n_ctx"] == 2048
    assert report["generation"]["n_threads"] >= 1  # 0 (half the cores) is shown as a count
    assert isinstance(report["warnings"], list)


def test_doctor_reports_the_dictionary_of_cross_lingual_search() -> None:
    info = doctor.diagnose(load_settings({"cross_lingual": False}))["cross_lingual"]
    assert info["enabled"] is False
    assert info["dictionary"].endswith(".txt.gz")
    assert "log" in info["example"]["日志"]


def test_missing_model_path_is_reported_not_raised(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.gguf"

    report = doctor.diagnose(load_settings({"model_path": str(missing)}))

    assert report["model"] == {"error": f"model_path {missing}: file not found"}
    assert set(report) == SECTIONS
    json.dumps(report)


def test_unreadable_gguf_is_reported_not_raised(tmp_path: Path) -> None:
    junk = tmp_path / "junk.Q4_0.gguf"
    junk.write_bytes(b"GGUF" + b"\x00" * 64)

    report = doctor.diagnose(load_settings({"model_path": str(junk)}))

    assert report["model"]["path"] == str(junk)
    assert report["model"]["error"].startswith("cannot read GGUF metadata")
    json.dumps(report)


def test_bad_embedder_folder_is_reported_not_raised(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-model"
    folder.mkdir()

    report = doctor.diagnose(load_settings({"embedder": str(folder)}))

    assert "not a sentence-transformers model folder" in report["embedder"]["error"]


def test_openai_backend_reports_the_server_not_a_file() -> None:
    settings = load_settings(
        {"backend": "openai", "base_url": "http://127.0.0.1:9/v1", "openai_model": "qwen3"}
    )

    report = doctor.diagnose(settings)

    assert report["model"] == {
        "backend": "openai",
        "base_url": "http://127.0.0.1:9/v1",
        "model": "qwen3",
        "prompt_style": "full",  # a server does not say its model's size
    }
    assert report["generation"]["backend"] == "openai"


def test_data_section_lists_home_and_knowledge_bases() -> None:
    settings = load_settings({})
    Catalog(kb_dir(settings.home, "papers")).set_meta("fingerprint", {})

    data = doctor.diagnose(settings)["data"]

    assert data["home"] == str(settings.home)
    assert data["cache"] == str(settings.cache)
    assert data["knowledge_bases"] == ["papers"]


@pytest.mark.parametrize(("gpu_offload", "warned"), [(False, True), (True, False)])
def test_gpu_layers_without_gpu_support_warn(
    monkeypatch: pytest.MonkeyPatch, gpu_offload: bool, warned: bool
) -> None:
    monkeypatch.setattr(
        doctor, "_llama_info", lambda: {"installed": True, "gpu_offload": gpu_offload}
    )

    report = doctor.diagnose(load_settings({"n_gpu_layers": -1}))

    assert any("no GPU support" in w for w in report["warnings"]) is warned


def test_cpu_only_settings_do_not_warn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "_llama_info", lambda: {"installed": True, "gpu_offload": False})

    assert doctor.diagnose(load_settings({"n_gpu_layers": 0}))["warnings"] == []


def test_doctor_reports_the_ocr_engine_its_models_and_languages() -> None:
    report = doctor.diagnose(load_settings({}))

    ocr = report["ocr"]
    assert (ocr["mode"], ocr["dpi"]) == ("auto", 200)
    assert ocr["engine"]["name"] == "rapidocr"
    assert ocr["engine"]["languages"] == ["Chinese", "English"]
    assert all("PP-OCR" in model for model in ocr["engine"]["models"])
    assert [e["name"] for e in ocr["other_engines"]] == ["tesseract"]


def test_doctor_prints_values_as_a_person_reads_them() -> None:
    # A new-user trial: the text report showed True, None and Python dicts.
    from ragkb.cli.commands.doctor import _shown

    assert _shown(True) == "yes" and _shown(None) == "none"
    assert _shown({"a": 1, "b": ["x", "y"]}) == "a: 1, b: x, y"
    assert _shown("line one\nline two") == "line one line two"
