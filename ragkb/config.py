"""Settings: built-in defaults < config file < RAGKB_* environment < command-line flags.

The settings are declared in `ragkb.settings`; this module resolves them, and it is the
only module that reads the environment. Every setting has one name used
everywhere: `--n-gpu-layers`, `RAGKB_N_GPU_LAYERS`, `[generation] n_gpu_layers` and
`settings.generation.n_gpu_layers`.
"""

from __future__ import annotations

import difflib
import json
import logging
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ragkb.errors import ConfigError, UsageError
from ragkb.settings import (
    FIELDS,
    FIELDS_BY_NAME,
    SECTION_TYPES,
    SECTIONS,
    AnswerSettings,
    ChunkingSettings,
    EmbeddingSettings,
    Field,
    GenerationSettings,
    IngestSettings,
    RetrievalSettings,
    ServeSettings,
    StoreSettings,
)

APP_NAME = "ragkb"
# The most chunks a question may retrieve: the indexes allocate for k up front (a k of 10^9
# made the keyword index ask for 64 GB and abort), and no prompt holds a thousand passages.
MAX_K = 1000
# RAGKB_* variables that are no setting: where data, cache and config live, tracebacks, the
# default serve token, the install script's torch build and a bench override. Any other is a
# misspelt setting, named once so that it is not silently ignored (RAGKB_TOP_K for RAGKB_K).
_NOT_SETTINGS = frozenset(
    {
        "RAGKB_HOME",
        "RAGKB_CACHE",
        "RAGKB_CONFIG",
        "RAGKB_DEBUG",
        "RAGKB_SERVE_TOKEN",
        "RAGKB_TORCH",
        "RAGKB_BENCH_CMD",
    }
)
_named_unknown: set[str] = set()
log = logging.getLogger(__name__)


KB_NAME_MAX = 64
KB_NAME_RULE = (
    f"use 1 to {KB_NAME_MAX} letters (any script), digits, '-', '_' or '.', "
    "starting with a letter or digit"
)


def is_valid_kb_name(name: str) -> bool:
    """Return whether NAME may name a knowledge base: it becomes a folder under the data home,
    so it must not be empty, '.', '..', hidden, hold a path separator or be too long."""
    return (
        0 < len(name) <= KB_NAME_MAX
        and name[0].isalnum()
        and all(c.isalnum() or c in "-_." for c in name)
    )


@dataclass(frozen=True, slots=True)
class Settings:
    """All settings, resolved once, plus where each value came from."""

    home: Path
    cache: Path  # derived files that can be rebuilt (the ONNX query encoder)
    store: StoreSettings
    embedding: EmbeddingSettings
    chunking: ChunkingSettings
    ingest: IngestSettings
    retrieval: RetrievalSettings
    generation: GenerationSettings
    answer: AnswerSettings
    serve: ServeSettings
    sources: dict[str, str]  # setting name -> "flag" | "env" | "file <path>" | "default"
    config_path: Path | None = None

    def value(self, name: str) -> Any:
        """Return the effective value of the setting called NAME."""
        return getattr(getattr(self, FIELDS_BY_NAME[name].section), name)

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with some settings changed (as if given as flags)."""
        flat = {f.name: self.value(f.name) for f in FIELDS}
        sources = dict(self.sources)
        for name, value in changes.items():
            field = _field(name)
            flat[name] = _coerce(field, value, "flag")
            sources[name] = "flag"
        keys = (
            self.generation.api_key,
            self.embedding.embedding_api_key,
            self.serve.serve_token,
        )
        return _build((self.home, self.cache), flat, sources, self.config_path, keys)


# Defaults that earlier versions wrote into every `config init` file. They were MiniLM's
# thresholds on raw cosine; read from a file they mean "the default", which is now each
# embedder's own calibrated value (a flag or variable with the same number is still taken).
_LEGACY_DEFAULTS: dict[str, Any] = {"min_score": 0.3, "min_relevance": 0.62}


def _field(name: str) -> Field:
    try:
        return FIELDS_BY_NAME[name]
    except KeyError:
        raise ConfigError(f"unknown setting '{name}'{_did_you_mean(name)}") from None


def _coerce(field: Field, raw: Any, origin: str) -> Any:
    """Turn RAW (from TOML, env or a flag) into the field's type, or raise ConfigError."""
    try:
        if field.type is bool:
            if isinstance(raw, bool):
                value: Any = raw
            elif isinstance(raw, str) and raw.strip().lower() in {"1", "true", "yes", "on"}:
                value = True
            elif isinstance(raw, str) and raw.strip().lower() in {"0", "false", "no", "off"}:
                value = False
            else:
                raise ValueError(raw)
        elif field.type is int:
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError(raw)
            value = int(raw)
        elif field.type is float:
            if isinstance(raw, bool):
                raise ValueError(raw)
            value = float(raw)
            if not math.isfinite(value):  # nan passes every comparison a threshold makes
                raise ValueError(raw)
        else:
            if not isinstance(raw, str):
                raise ValueError(raw)
            value = raw
    except (TypeError, ValueError):
        raise _error_for(origin)(
            f"{field.name} = {_as_written(raw)} ({origin}): expected {_KINDS[field.type]}"
        ) from None
    if field.choices and value not in field.choices:
        raise _error_for(origin)(
            f"{field.name} = {_as_written(value)} ({origin}): expected one of "
            f"{', '.join(field.choices)}"
        )
    if field.bounds and not field.bounds[0] <= value <= field.bounds[1]:
        low, high = field.bounds
        raise _error_for(origin)(
            f"{field.name} = {_as_written(value)} ({origin}): expected a whole number from "
            f"{low} to {high}"
        )
    return value


# What each type of setting takes, in a user's words rather than Python's.
_KINDS: dict[type, str] = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "text (in quotes in a config file)",
}


def _as_written(raw: Any) -> str:
    """Return RAW as TOML writes it (true, "text", 3), not as Python does (True, 'text')."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str):
        return json.dumps(raw, ensure_ascii=False)
    return repr(raw)


def _did_you_mean(name: str, section: str | None = None) -> str:
    """Return "; did you mean 'k' in [retrieval]?" for the setting closest to NAME, or ""."""
    close = difflib.get_close_matches(name, list(FIELDS_BY_NAME), n=1)
    if not close:
        return ""
    field = FIELDS_BY_NAME[close[0]]
    where = "" if field.section == section else f" in [{field.section}]"
    return f"; did you mean '{field.name}'{where}?"


def default_home() -> Path:
    """Return the data home: RAGKB_HOME, else the platform's user data dir."""
    env = os.environ.get("RAGKB_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_path

    return user_data_path(APP_NAME)


def default_cache() -> Path:
    """Return the cache folder: RAGKB_CACHE, else the platform's user cache dir."""
    env = os.environ.get("RAGKB_CACHE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_path

    return user_cache_path(APP_NAME)


def default_config_path() -> Path:
    """Return the config file used when neither --config nor RAGKB_CONFIG is given."""
    from platformdirs import user_config_path

    return user_config_path(APP_NAME) / "config.toml"


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a TOML config file into {setting name: raw value}, rejecting unknown keys."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from exc
    flat: dict[str, Any] = {}
    for section, table in data.items():
        if section not in SECTIONS or not isinstance(table, dict):
            raise ConfigError(f"{path}: unknown section [{section}]; known: {', '.join(SECTIONS)}")
        for name, raw in table.items():
            field = FIELDS_BY_NAME.get(name)
            if field is None or field.section != section:
                raise ConfigError(
                    f"{path}: unknown setting '{name}' in [{section}]{_did_you_mean(name, section)}"
                )
            flat[name] = _coerce(field, raw, f"{path}")
    return flat


def load_settings(
    flags: dict[str, Any] | None = None,
    *,
    config_path: str | Path | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Resolve every setting: flag > RAGKB_* env > config file > default.

    Args:
        flags: values given on the command line (None values are ignored).
        config_path: explicit config file (--config); else RAGKB_CONFIG, else the user config dir.
        environ: the environment to read (defaults to os.environ).
    """
    env = os.environ if environ is None else environ
    flat = {f.name: f.default for f in FIELDS}
    sources = dict.fromkeys(flat, "default")

    path: Path | None = None
    if config_path is not None:
        path = Path(config_path).expanduser()
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
    elif env.get("RAGKB_CONFIG"):
        path = Path(env["RAGKB_CONFIG"]).expanduser()
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found (from RAGKB_CONFIG)")
    else:
        candidate = default_config_path()
        path = candidate if candidate.is_file() else None
    if path is not None:
        for name, value in read_config_file(path).items():
            if _LEGACY_DEFAULTS.get(name) == value:
                continue  # a file written by `config init` of an earlier version
            flat[name] = value
            sources[name] = f"file {path}"

    for declared in FIELDS:
        variable = f"RAGKB_{declared.name.upper()}"
        raw = env.get(variable)
        if raw is not None and raw != "":
            flat[declared.name] = _coerce(declared, raw, variable)
            sources[declared.name] = "env"

    _name_unknown_variables(env, flat)
    for name, raw in (flags or {}).items():
        if raw is None:
            continue
        flat[name] = _coerce(_field(name), raw, "flag")
        sources[name] = "flag"

    home_env = env.get("RAGKB_HOME")
    home = Path(home_env).expanduser() if home_env else default_home()
    cache_env = env.get("RAGKB_CACHE")
    cache = Path(cache_env).expanduser() if cache_env else default_cache()
    for folder, variable in ((home, "RAGKB_HOME"), (cache, "RAGKB_CACHE")):
        if folder.exists() and not folder.is_dir():  # else "no knowledge bases yet", or ENOTDIR
            raise ConfigError(f"{folder}: the {variable} folder is a file, not a folder")
    keys = (
        env.get(str(flat["api_key_env"]), ""),
        env.get(str(flat["embedding_api_key_env"]), ""),
        env.get(str(flat["serve_token_env"]), ""),
    )
    return _build((home, cache), flat, sources, path, keys)


def _name_unknown_variables(env: Mapping[str, str], flat: dict[str, Any]) -> None:
    """Warn, once per process, of each RAGKB_* variable that is no setting."""
    known = {f"RAGKB_{f.name.upper()}" for f in FIELDS} | _NOT_SETTINGS
    known |= {str(flat[name]) for name in ("api_key_env", "embedding_api_key_env")}
    known |= {str(flat["serve_token_env"])}
    for variable in sorted(env):
        if not variable.startswith("RAGKB_") or variable in known or variable in _named_unknown:
            continue
        _named_unknown.add(variable)
        close = difflib.get_close_matches(variable, sorted(known), n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        log.warning("%s is not a ragkb setting and is ignored%s", variable, hint)


def _build(
    folders: tuple[Path, Path],
    flat: dict[str, Any],
    sources: dict[str, str],
    config_path: Path | None,
    api_keys: tuple[str, str, str],
) -> Settings:
    parts: dict[str, Any] = {}
    for section, cls in SECTION_TYPES.items():
        kwargs = {f.name: flat[f.name] for f in fields(cls) if f.name in FIELDS_BY_NAME}
        if cls is GenerationSettings:
            kwargs["api_key"] = api_keys[0]
        if cls is EmbeddingSettings:
            kwargs["embedding_api_key"] = api_keys[1]
        if cls is ServeSettings:
            kwargs["serve_token"] = api_keys[2]
        parts[section] = cls(**kwargs)
    _validate(flat, sources)
    home, cache = folders
    return Settings(home=home, cache=cache, sources=sources, config_path=config_path, **parts)


def _origin(name: str, sources: dict[str, str]) -> str:
    """Say where setting NAME's value came from: a flag, its variable or a file."""
    source = sources.get(name, "default")
    if source == "env":
        return f"RAGKB_{name.upper()}"
    return "--" + name.replace("_", "-") if source == "flag" else source


def _error_for(origin: str) -> type[ConfigError]:
    """A bad value from a flag is a usage error (exit 2); from a file or env, a config error."""
    return UsageError if origin == "flag" else ConfigError


def _validate(flat: dict[str, Any], sources: dict[str, str]) -> None:
    """Reject values that are well-typed but impossible."""

    def reject(names: tuple[str, ...], message: str) -> None:
        flagged = any(sources.get(n) == "flag" for n in names)
        given = dict.fromkeys(_origin(n, sources) for n in names if sources.get(n) != "default")
        where = f" (from {', '.join(given)})" if given else ""
        raise _error_for("flag" if flagged else "setting")(message + where)

    positive = ("k", "chunk_tokens", "n_ctx", "max_tokens", "batch_size", "watch_settle_s")
    for name in positive:
        if flat[name] <= 0:
            reject((name,), f"{name} must be positive (got {flat[name]})")
    if flat["k"] > MAX_K:
        reject(("k",), f"k must be at most {MAX_K} (got {flat['k']})")
    if flat["overlap_tokens"] < 0 or flat["overlap_tokens"] >= flat["chunk_tokens"]:
        reject(
            ("overlap_tokens", "chunk_tokens"),
            f"overlap_tokens must be in [0, chunk_tokens) (got {flat['overlap_tokens']})",
        )
    if flat["max_tokens"] >= flat["n_ctx"]:
        reject(
            ("max_tokens", "n_ctx"),
            f"max_tokens ({flat['max_tokens']}) must be smaller than n_ctx ({flat['n_ctx']})",
        )
    if not 0.0 <= flat["top_p"] <= 1.0:
        reject(("top_p",), f"top_p must be in [0, 1] (got {flat['top_p']})")
    if flat["temperature"] < 0:
        reject(("temperature",), f"temperature must be >= 0 (got {flat['temperature']})")
    if not is_valid_kb_name(flat["kb"]):
        reject(("kb",), f"kb name {flat['kb']!r}: {KB_NAME_RULE}")
    limits = ("max_file_mb", "file_timeout_s", "batch_chunks", "ocr_dpi", "ocr_page_timeout_s")
    if any(flat[name] <= 0 for name in limits):
        reject(limits, f"{', '.join(limits[:-1])} and {limits[-1]} must be positive")
