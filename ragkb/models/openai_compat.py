"""A generator behind an OpenAI-compatible /v1/chat/completions endpoint (llama.cpp, vLLM)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ragkb.errors import ConfigError, ModelError
from ragkb.types import Delta, Message, Sampling

if TYPE_CHECKING:
    from ragkb.models.llama_cpp import LlamaCppGenerator

log = logging.getLogger(__name__)


class OpenAICompatibleGenerator:
    """A model behind an OpenAI-compatible /v1/chat/completions endpoint."""

    def __init__(
        self,
        base_url: str,
        *,
        model: str,
        api_key: str,
        n_ctx: int,
        no_think: bool,
        local_counter: LlamaCppGenerator,
    ) -> None:
        if not base_url:
            raise ConfigError("backend = openai needs base_url")
        self.base_url = base_url.rstrip("/")
        self.name = model or "default"
        self.n_ctx = n_ctx
        self._api_key = api_key
        self._no_think = no_think
        self._local_counter = local_counter  # counts tokens when the server cannot

    @property
    def parameters(self) -> None:
        """Return None: a server does not say how large its model is."""
        return None

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
        except httpx.HTTPError as exc:
            log.info("%s cannot tokenize (%s); counting with the local GGUF", root, exc)
        return self._local_counter.count_tokens(messages)

    def special_tokens(self) -> tuple[str, ...]:
        """Return the local GGUF's control tokens (the server's vocabulary is not readable;
        query/inert.py also breaks the common chat-template markers of every family)."""
        try:
            return self._local_counter.special_tokens()
        except (ConfigError, ModelError) as exc:  # no local GGUF: the generic markers remain
            log.info("no local vocabulary for special tokens: %s", exc)
            return ()

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
            "presence_penalty": sampling.presence_penalty,
            "frequency_penalty": sampling.frequency_penalty,
        }
        if self.name != "default":
            body["model"] = self.name
        if sampling.seed >= 0:
            body["seed"] = sampling.seed
        if self._no_think:
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
                    event = _event(payload, self.base_url)
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


def _event(payload: str, server: str) -> dict[str, Any]:
    """Parse one server-sent event's JSON, or raise ModelError naming the server."""
    try:
        event = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise ModelError(f"{server}: malformed streamed event ({exc}): {payload[:80]!r}") from exc
    if not isinstance(event, dict):
        raise ModelError(f"{server}: malformed streamed event: {payload[:80]!r}")
    return event
