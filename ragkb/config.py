"""Settings: built-in defaults < config file < RAGKB_* environment < command-line flags.

This is the only module that reads the environment. Every setting has one name used
everywhere: `--n-gpu-layers`, `RAGKB_N_GPU_LAYERS`, `[generation] n_gpu_layers` and
`settings.generation.n_gpu_layers`.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ragkb.errors import ConfigError, UsageError

APP_NAME = "ragkb"


def setting(
    default: Any,
    help: str,
    *,
    choices: tuple[str, ...] = (),
    flags: tuple[str, ...] = (),
) -> Any:
    """Declare a setting: its default, help text, allowed values and (optional) flag names.

    Everything else is derived from the declaration: the config file's key and section, the
    RAGKB_<NAME> variable, the --<name> flag (a bool gets --<name>/--no-<name>), the
    `config show` row and the commented `config init` file.
    """
    return field(default=default, metadata={"help": help, "choices": choices, "flags": flags})


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """Where and how vectors are stored."""

    kb: str = setting("default", "Knowledge base (one Chroma collection) to use.")
    metric: str = setting(
        "cosine",
        "Distance metric, fixed when a knowledge base is created.",
        choices=("cosine", "l2"),
    )
    store_url: str = setting(
        "", "Chroma server URL (e.g. http://localhost:8000); empty = embedded store."
    )


@dataclass(frozen=True, slots=True)
class EmbeddingSettings:
    """Which embedder turns text into vectors."""

    embedder: str = setting(
        "", "sentence-transformers name or local path; empty = bundled all-MiniLM-L6-v2."
    )
    device: str = setting("cpu", "Embedder device: cpu, cuda, mps or auto.")
    batch_size: int = setting(
        32, "Chunks embedded per batch (ordered by token count, so batches pad little)."
    )
    query_prefix: str = setting("", "Text put before every query (e.g. 'query: ' for e5 models).")
    passage_prefix: str = setting("", "Text put before every chunk when embedding it.")
    query_encoder: str = setting(
        "onnx",
        "Search-time encoder: onnx (an onnxruntime export of the embedder, built and "
        "checked against it by ingest; starts in a fraction of the time) or "
        "sentence-transformers.",
        choices=("onnx", "sentence-transformers"),
    )


@dataclass(frozen=True, slots=True)
class ChunkingSettings:
    """How documents are split."""

    chunk_tokens: int = setting(
        200, "Target chunk size in embedder tokens (capped at the model window)."
    )
    overlap_tokens: int = setting(32, "Tokens repeated between neighbouring chunks.")


@dataclass(frozen=True, slots=True)
class IngestSettings:
    """Limits and behaviour of ingest."""

    max_file_mb: float = setting(100.0, "Files larger than this are skipped.")
    file_timeout_s: float = setting(120.0, "Time limit for parsing one file.")
    batch_chunks: int = setting(
        512,
        "Chunks embedded and stored per batch: lower uses less memory, higher writes less often.",
    )
    prune: bool = setting(True, "Remove files that vanished from an ingested folder.")


@dataclass(frozen=True, slots=True)
class RetrievalSettings:
    """How chunks are found and judged."""

    k: int = setting(5, "Chunks retrieved per question.", flags=("-k", "--k"))
    mode: str = setting("hybrid", "Retrieval mode.", choices=("vector", "keyword", "hybrid"))
    min_score: float = setting(0.3, "Vector similarity below which nothing counts as relevant.")
    min_relevance: float = setting(
        0.62,
        "Similarity + 0.75 x keyword coverage (IDF-weighted share of the question's words "
        "found in the chunk) a chunk needs to count as relevant; 0 = similarity alone "
        "decides.",
    )
    refuse_unknown_terms: bool = setting(
        True,
        "Refuse when the question names something the documents never mention (a term no "
        "chunk contains that is not a common word, e.g. a command or product name).",
    )
    mmr: bool = setting(False, "Diversify results with maximal marginal relevance.")
    rerank: bool = setting(
        False, "Reorder the top candidates with a cross-encoder (needs rerank_model)."
    )
    rerank_model: str = setting(
        "", "Cross-encoder name or local folder, e.g. BAAI/bge-reranker-base (downloaded by you)."
    )
    rerank_candidates: int = setting(20, "How many first-stage candidates to rerank.")


@dataclass(frozen=True, slots=True)
class GenerationSettings:
    """The language model and its sampling."""

    backend: str = setting("llama_cpp", "Generator backend.", choices=("llama_cpp", "openai"))
    model_path: str = setting("", "GGUF file; empty = bundled SmolLM2-135M-Instruct.")
    n_ctx: int = setting(2048, "Context window in tokens (prompt + answer).")
    n_threads: int = setting(0, "CPU threads for llama.cpp; 0 = all cores.")
    n_gpu_layers: int = setting(0, "Layers offloaded to the GPU: 0 = CPU only, -1 = all.")
    temperature: float = setting(0.2, "Sampling temperature; 0 = greedy.")
    top_p: float = setting(0.9, "Nucleus sampling probability mass.")
    top_k_sampling: int = setting(40, "Sample only from the K most likely tokens.")
    repeat_penalty: float = setting(1.1, "Penalty for repeated tokens.")
    max_tokens: int = setting(256, "Maximum tokens in an answer.")
    seed: int = setting(-1, "Sampling seed; -1 = random.")
    system_prompt: str = setting("", "System prompt text, or @path to a file; empty = built-in.")
    show_thinking: bool = setting(
        False,
        "Show <think> blocks of reasoning models.",
        flags=("--show-thinking/--hide-thinking",),
    )
    no_think: bool = setting(
        False,
        "Ask reasoning models not to think: appends Qwen3's /no_think switch to the "
        "question (and sends enable_thinking=false to OpenAI-compatible servers).",
        flags=("--no-think/--think",),
    )
    base_url: str = setting("http://127.0.0.1:8080/v1", "OpenAI-compatible server URL.")
    openai_model: str = setting("", "Model name sent to the OpenAI-compatible server.")
    api_key_env: str = setting("OPENAI_API_KEY", "Environment variable holding the API key.")
    api_key: str = field(default="", repr=False)  # read from api_key_env; never shown


@dataclass(frozen=True, slots=True)
class AnswerSettings:
    """What is printed with an answer."""

    evidence: bool = setting(True, "Print verbatim supporting quotes under each answer.")


_SECTION_TYPES: dict[str, type] = {
    "store": StoreSettings,
    "embedding": EmbeddingSettings,
    "chunking": ChunkingSettings,
    "ingest": IngestSettings,
    "retrieval": RetrievalSettings,
    "generation": GenerationSettings,
    "answer": AnswerSettings,
}


@dataclass(frozen=True, slots=True)
class Field:
    """One setting as declared: where it lives, its type, default and meaning."""

    section: str
    name: str
    type: type
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()


def _declared() -> tuple[Field, ...]:
    out = []
    for section, cls in _SECTION_TYPES.items():
        for f in fields(cls):
            if "help" not in f.metadata:
                continue  # derived, not a setting (api_key)
            meta = f.metadata
            out.append(
                Field(
                    section,
                    f.name,
                    type(f.default),
                    f.default,
                    meta["help"],
                    meta["choices"],
                    meta["flags"],
                )
            )
    return tuple(out)


FIELDS: tuple[Field, ...] = _declared()
FIELDS_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
SECTIONS: tuple[str, ...] = tuple(_SECTION_TYPES)


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
        return _build(
            (self.home, self.cache), flat, sources, self.config_path, self.generation.api_key
        )


def _field(name: str) -> Field:
    try:
        return FIELDS_BY_NAME[name]
    except KeyError:
        raise ConfigError(f"unknown setting '{name}'") from None


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
        else:
            if not isinstance(raw, str):
                raise ValueError(raw)
            value = raw
    except (TypeError, ValueError):
        raise _error_for(origin)(
            f"{field.name} = {raw!r} ({origin}): expected {field.type.__name__}"
        ) from None
    if field.choices and value not in field.choices:
        raise _error_for(origin)(
            f"{field.name} = {value!r} ({origin}): expected one of {', '.join(field.choices)}"
        )
    return value


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
                raise ConfigError(f"{path}: unknown setting '{name}' in [{section}]")
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
            flat[name] = value
            sources[name] = f"file {path}"

    for declared in FIELDS:
        variable = f"RAGKB_{declared.name.upper()}"
        raw = env.get(variable)
        if raw is not None and raw != "":
            flat[declared.name] = _coerce(declared, raw, variable)
            sources[declared.name] = "env"

    for name, raw in (flags or {}).items():
        if raw is None:
            continue
        flat[name] = _coerce(_field(name), raw, "flag")
        sources[name] = "flag"

    home_env = env.get("RAGKB_HOME")
    home = Path(home_env).expanduser() if home_env else default_home()
    cache_env = env.get("RAGKB_CACHE")
    cache = Path(cache_env).expanduser() if cache_env else default_cache()
    api_key = env.get(str(flat["api_key_env"]), "")
    return _build((home, cache), flat, sources, path, api_key)


def _build(
    folders: tuple[Path, Path],
    flat: dict[str, Any],
    sources: dict[str, str],
    config_path: Path | None,
    api_key: str,
) -> Settings:
    parts: dict[str, Any] = {}
    for section, cls in _SECTION_TYPES.items():
        kwargs = {f.name: flat[f.name] for f in fields(cls) if f.name in FIELDS_BY_NAME}
        if cls is GenerationSettings:
            kwargs["api_key"] = api_key
        parts[section] = cls(**kwargs)
    _validate(flat, sources)
    home, cache = folders
    return Settings(home=home, cache=cache, sources=sources, config_path=config_path, **parts)


def _error_for(origin: str) -> type[ConfigError]:
    """A bad value from a flag is a usage error (exit 2); from a file or env, a config error."""
    return UsageError if origin == "flag" else ConfigError


def _validate(flat: dict[str, Any], sources: dict[str, str]) -> None:
    """Reject values that are well-typed but impossible."""

    def reject(names: tuple[str, ...], message: str) -> None:
        flagged = any(sources.get(n) == "flag" for n in names)
        raise _error_for("flag" if flagged else "setting")(message)

    positive = ("k", "chunk_tokens", "n_ctx", "max_tokens", "batch_size")
    for name in positive:
        if flat[name] <= 0:
            reject((name,), f"{name} must be positive (got {flat[name]})")
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
    if not flat["kb"] or not all(c.isalnum() or c in "-_." for c in flat["kb"]):
        reject(("kb",), f"kb name {flat['kb']!r}: use letters, digits, '-', '_' or '.'")
    limits = ("max_file_mb", "file_timeout_s", "batch_chunks")
    if any(flat[name] <= 0 for name in limits):
        reject(limits, "max_file_mb, file_timeout_s and batch_chunks must be positive")
