"""The ask pipeline: retrieve, refuse or pack the prompt, stream the answer, quote evidence."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ragkb.language import language_of
from ragkb.query.chat import MAX_REWRITE_TOKENS
from ragkb.query.evidence import drop_invalid_citations, select_evidence
from ragkb.query.prompting import (
    NO_THINK_SWITCH,
    REFUSAL_TEXT,
    PackedPrompt,
    Turn,
    pack_prompt,
    resolve_system_prompt,
    rewrite_messages,
)
from ragkb.query.repetition import RepetitionGuard, cut_repetition
from ragkb.query.thinking import ThinkingFilter
from ragkb.types import Answer, AskEvent, DoneEvent, Sampling, SourcesEvent, TextEvent, Usage

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ragkb.parts import Parts
    from ragkb.query.chat import ChatSession
    from ragkb.query.retrieve import Retrieval
    from ragkb.settings import AnswerSettings, GenerationSettings
    from ragkb.types import Evidence, Hit

log = logging.getLogger(__name__)

# (query, words the user typed) -> ranked hits and the verdict on them
Retrieve = Callable[[str, str], "Retrieval"]
# Follow-up rewriting is deterministic and short.
REWRITE_SAMPLING = Sampling(MAX_REWRITE_TOKENS, 0.0, 1.0, 1, 1.0, 0)


@dataclass(frozen=True, slots=True)
class AskOptions:
    """How an answer is prompted, sampled and shown (from the generation settings)."""

    system_prompt: str
    sampling: Sampling
    no_think: bool  # append Qwen3's /no_think switch to the question
    show_thinking: bool
    evidence: bool
    stop_on_repetition: bool = True
    refuse: bool = True  # False: answer from the best hits even when none is relevant

    @classmethod
    def from_settings(cls, g: GenerationSettings, answer: AnswerSettings) -> AskOptions:
        """Return the options the generation and answer settings give."""
        return cls(
            system_prompt=resolve_system_prompt(g.system_prompt),
            sampling=Sampling(
                max_tokens=g.max_tokens,
                temperature=g.temperature,
                top_p=g.top_p,
                top_k=g.top_k_sampling,
                repeat_penalty=g.repeat_penalty,
                presence_penalty=g.presence_penalty,
                frequency_penalty=g.frequency_penalty,
                seed=g.seed,
            ),
            no_think=g.no_think,
            show_thinking=g.show_thinking,
            evidence=answer.evidence,
            stop_on_repetition=g.stop_on_repetition,
            refuse=answer.refuse,
        )


def ask_stream(
    question: str,
    *,
    parts: Parts,
    options: AskOptions,
    retrieve: Retrieve,
    session: ChatSession | None = None,
) -> Iterator[AskEvent]:
    """Retrieve, then stream the answer; refuse without calling the model if nothing fits."""
    started = time.monotonic()
    query = question
    if session is not None:
        query = session.standalone_query(
            question, lambda history, q: rewrite(history, q, parts=parts, options=options)
        )
    retrieval = retrieve(query, question)
    timings = {"retrieve": time.monotonic() - started}
    usable = retrieval.relevant or (() if options.refuse else retrieval.hits)
    if not usable:
        yield SourcesEvent((), True, query)
        yield DoneEvent(_refusal(question, query, retrieval, started, timings))
        return
    packed = pack(question, usable, parts=parts, options=options, session=session)
    yield SourcesEvent(packed.sources, False, query)
    generated = _Generated()
    yield from _stream_answer(packed, parts=parts, options=options, into=generated)
    kept = (
        cut_repetition(generated.text)
        if generated.finish_reason == "repetition"
        else generated.text
    )
    text, invalid = drop_invalid_citations(kept.strip(), len(packed.sources))
    timings["first_token"] = generated.first_token_s
    timings["generate"] = generated.seconds
    quotes: tuple[Evidence, ...] = ()
    if options.evidence:
        evidence_started = time.monotonic()
        quotes = _evidence(query, text, packed, parts=parts)
        timings["evidence"] = time.monotonic() - evidence_started
    if session is not None:
        session.add(question, text, query)
    yield DoneEvent(
        Answer(
            question=question,
            text=text,
            sources=packed.sources,
            refused=False,
            usage=_usage(packed, generated, parts=parts, options=options),
            standalone_query=query,
            evidence=quotes,
            invalid_citations=invalid,
            thinking=generated.thinking or None,
            finish_reason=generated.finish_reason,
            seconds=time.monotonic() - started,
            timings=_rounded(timings),
        )
    )


def _evidence(query: str, text: str, packed: PackedPrompt, *, parts: Parts) -> tuple[Evidence, ...]:
    return select_evidence(
        query,
        text,
        packed.sources,
        embed=parts.query_encoder.embed_passages,
        idf=parts.keywords.idf(parts.catalog),
    )


def _refusal(
    question: str, query: str, retrieval: Retrieval, started: float, timings: dict[str, float]
) -> Answer:
    """Return the answer that refuses, in the question's language, saying why."""
    return Answer(
        question=question,
        text=REFUSAL_TEXT[language_of(question)],
        sources=(),
        refused=True,
        usage=None,
        standalone_query=query,
        seconds=time.monotonic() - started,
        timings=_rounded(timings),
        unknown_terms=retrieval.unknown_terms,
        refusal_reason=retrieval.verdict.reason,
        nearest=retrieval.hits[0] if retrieval.hits else None,
    )


def _usage(
    packed: PackedPrompt, generated: _Generated, *, parts: Parts, options: AskOptions
) -> Usage:
    return Usage(
        prompt_tokens=packed.prompt_tokens,
        completion_tokens=generated.completion_tokens,
        n_ctx=parts.generator.n_ctx,
        max_tokens=options.sampling.max_tokens,
        dropped_chunks=packed.dropped_chunks,
        trimmed_turns=packed.trimmed_turns,
    )


def pack(
    question: str,
    hits: Sequence[Hit],
    *,
    parts: Parts,
    options: AskOptions,
    session: ChatSession | None = None,
) -> PackedPrompt:
    """Return the exact messages the model gets for QUESTION over HITS."""
    generator = parts.generator
    packed = pack_prompt(
        question,
        hits,
        system_prompt=options.system_prompt,
        history=session.history if session else (),
        count_tokens=generator.count_tokens,
        n_ctx=generator.n_ctx,
        max_tokens=options.sampling.max_tokens,
        question_suffix=NO_THINK_SWITCH if options.no_think else "",
        special_tokens=generator.special_tokens(),
    )
    log.info(
        "prompt %d tokens + max_tokens %d <= n_ctx %d; %d chunks in, %d dropped for budget",
        packed.prompt_tokens,
        options.sampling.max_tokens,
        generator.n_ctx,
        len(packed.sources),
        packed.dropped_chunks,
    )
    return packed


def rewrite(history: list[Turn], question: str, *, parts: Parts, options: AskOptions) -> str:
    """Ask the model to make a follow-up QUESTION stand on its own."""
    suffix = NO_THINK_SWITCH if options.no_think else ""
    messages = rewrite_messages(history, question, suffix, parts.generator.special_tokens())
    return "".join(d.text for d in parts.generator.stream(messages, REWRITE_SAMPLING))


@dataclass(slots=True)
class _Generated:
    """What streaming produced: the shown text, its reasoning, token count and times."""

    text: str = ""
    thinking: str = ""
    completion_tokens: int = 0
    first_token_s: float = 0.0
    seconds: float = 0.0
    finish_reason: str = "stop"  # "stop" | "length" | "repetition"


def _stream_answer(
    packed: PackedPrompt, *, parts: Parts, options: AskOptions, into: _Generated
) -> Iterator[TextEvent]:
    """Stream the model's answer as TextEvents, <think> blocks held back unless shown.

    With `stop_on_repetition` the stream stops as soon as the answer repeats itself; what was
    shown stays, and `finish_reason` says why it ended.
    """
    thinking = ThinkingFilter()
    guard = RepetitionGuard() if options.stop_on_repetition else None
    pieces: list[str] = []
    started = time.monotonic()
    first_token_at: float | None = None
    deltas = 0
    stream = parts.generator.stream(packed.messages, options.sampling)
    try:
        for delta in stream:
            if delta.text:
                deltas += 1
                first_token_at = first_token_at or time.monotonic()
            if delta.completion_tokens is not None:
                into.completion_tokens = delta.completion_tokens
            shown = delta.text if options.show_thinking else thinking.feed(delta.text)
            if shown:
                pieces.append(shown)
                yield TextEvent(shown)
                if guard is not None and guard.feed(shown):
                    into.finish_reason = "repetition"
                    break
    finally:
        close = getattr(stream, "close", None)
        if close is not None:  # stop the model (or the server's stream) now
            close()
    into.completion_tokens = max(into.completion_tokens, deltas)
    if into.finish_reason == "stop" and into.completion_tokens >= options.sampling.max_tokens:
        into.finish_reason = "length"
    tail = "" if options.show_thinking else thinking.flush()
    if tail:
        pieces.append(tail)
        yield TextEvent(tail)
    finished = time.monotonic()
    into.text = "".join(pieces)
    into.thinking = thinking.thinking
    into.first_token_s = (first_token_at or finished) - started
    into.seconds = finished - started


def _rounded(timings: dict[str, float]) -> dict[str, float]:
    return {name: round(seconds, 3) for name, seconds in timings.items()}
