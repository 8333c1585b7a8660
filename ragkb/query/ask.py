"""The ask pipeline: retrieve, refuse or pack the prompt, stream the answer, quote evidence."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Generator, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ragkb.language import keyword_tokens, language_of, split_sentences, written_in
from ragkb.query import bilingual
from ragkb.query.answerable import passages_state_answer
from ragkb.query.chat import MAX_REWRITE_TOKENS
from ragkb.query.echo import EchoFilter
from ragkb.query.evidence import MAX_QUOTES, SentencePool, drop_invalid_citations
from ragkb.query.prompting import (
    LANGUAGE_RETRY,
    NO_THINK_SWITCH,
    REFUSAL_TEXT,
    PackedPrompt,
    Turn,
    answer_style,
    pack_prompt,
    prompt_style,
    resolve_system_prompt,
    rewrite_messages,
)
from ragkb.query.relevance import Verdict
from ragkb.query.repetition import RepetitionGuard, cut_repetition
from ragkb.query.thinking import ThinkingFilter
from ragkb.types import (
    Answer,
    AskEvent,
    DoneEvent,
    RetryEvent,
    Sampling,
    SourcesEvent,
    TextEvent,
    Usage,
)

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
# Why ask refuses when the answerability check (answer_check = "model") says no.
MODEL_SAYS_NO = "the model read the relevant passages and judged that they do not state the answer"
# Follow-up rewriting is deterministic and short.
REWRITE_SAMPLING = Sampling(MAX_REWRITE_TOKENS, 0.0, 1.0, 1, 1.0, 0)


# The focused prompt shows the best sentences of the retrieved chunks, this many, with this
# many neighbours on either side (bench/README.md, "Answers": 3 and 0 put the fact in the most
# answers of the tuning corpora).
FOCUSED_SENTENCES = 3
FOCUSED_NEIGHBOURS = 0
# A focused answer is one or two sentences: a small model told so still rambles on, and
# what it adds after them is mostly unsupported (bench/README.md, "Answers"), so the stream
# stops when a third sentence begins, and never runs past FOCUSED_MAX_TOKENS.
FOCUSED_MAX_TOKENS = 96
FOCUSED_MAX_SENTENCES = 2
# A "sentence" of fewer letters is a list marker or a citation, not a claim.
_CLAIM_LETTERS = 4
# A finished answer this short still tells its language ("默认是 64 MB。"); while streaming,
# language.written_in waits for more, as an answer may open with a name.
FINAL_MIN_LETTERS = 4


@dataclass(frozen=True, slots=True)
class AskOptions:
    """How an answer is prompted, sampled and shown (from the generation and answer settings)."""

    system_prompt: str  # "" = the prompt style's own
    sampling: Sampling
    no_think: bool  # append Qwen3's /no_think switch to the question
    show_thinking: bool
    evidence: bool
    stop_on_repetition: bool = True
    refuse: bool = True  # False: answer from the best hits even when none is relevant
    answer_check: str = "off"  # "model": the model says whether the passages hold the answer
    prompt_style: str = "auto"  # "auto" | "focused" | "full"
    answer_style: str = "generative"  # "auto" | "both" | "extractive" | "generative"
    match_language: bool = False

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
            answer_check=answer.answer_check,
            prompt_style=g.prompt_style,
            answer_style=answer.answer_style,
            match_language=g.match_language,
        )


def ask_stream(
    question: str,
    *,
    parts: Parts,
    options: AskOptions,
    retrieve: Retrieve,
    session: ChatSession | None = None,
) -> Iterator[AskEvent]:
    """Retrieve, then stream the answer; refuse without calling the model if nothing fits.

    With answer_style both or extractive, the sentence of the passages that best answers
    the question comes first (in SourcesEvent); extractive stops there, without the model
    (prompting.answer_style says which a model gets under auto).
    """
    started = time.monotonic()
    query = question
    alone: dict[str, Retrieval] = {}  # a short question tried on its own, kept if it stands

    def stands_alone(q: str) -> bool:
        alone[q] = retrieve(q, q)
        return bool(alone[q].relevant)

    if session is not None:
        query = session.standalone_query(
            question,
            lambda history, q: rewrite(history, q, parts=parts, options=options),
            stands_alone=stands_alone,
        )
    retrieval = alone.get(query) or retrieve(query, question)
    timings = {"retrieve": time.monotonic() - started}
    usable = retrieval.relevant or (() if options.refuse else retrieval.hits)
    if usable and options.refuse and options.answer_check == "model":
        checked = time.monotonic()
        states = passages_state_answer(  # the standalone query: what was retrieved for
            query, usable, generator=parts.generator, no_think=options.no_think
        )
        timings["check"] = time.monotonic() - checked
        if states is False:  # None (neither yes nor no) decides nothing
            usable, retrieval = (), replace(retrieval, verdict=Verdict((), MODEL_SAYS_NO))
    if not usable:
        yield SourcesEvent((), True, query)
        yield DoneEvent(_refusal(question, query, retrieval, started, timings))
        return
    style = answer_style(options.answer_style, parts.generator.parameters)
    ranking = time.monotonic()
    pool = sentence_pool(query, usable, parts=parts, equivalents=retrieval.equivalents)
    lead = pool.lead() if style != "generative" else None
    timings["sentences"] = time.monotonic() - ranking  # embedding them for the lead line
    context = _Context(question, query, usable, pool, lead, session, started, timings)
    if style == "extractive":
        answer = yield from _extractive(context, options=options)
    else:
        answer = yield from _generative(context, parts=parts, options=options)
    if session is not None:
        session.add(question, answer.text, query)
    yield DoneEvent(answer)


@dataclass(frozen=True, slots=True)
class _Context:
    """What retrieval settled for one answer."""

    question: str
    query: str  # the standalone query it was retrieved with
    hits: Sequence[Hit]  # the usable hits, best first
    pool: SentencePool
    lead: Evidence | None
    session: ChatSession | None
    started: float
    timings: dict[str, float]


def _generative(
    context: _Context, *, parts: Parts, options: AskOptions
) -> Generator[AskEvent, None, Answer]:
    """Stream the model's answer (asked twice if it began in another language); return it."""
    language = language_of(context.question)
    packed = _pack(context, parts=parts, options=options)
    options = _sized(options, packed.style)
    yield SourcesEvent(packed.sources, False, context.query, context.lead)
    generated = _Generated()
    check = language if options.match_language else None
    limit = FOCUSED_MAX_SENTENCES if packed.style == "focused" else None
    yield from _stream_answer(
        packed, parts=parts, options=options, into=generated, language=check, sentences=limit
    )
    retried = generated.finish_reason == "language"
    if retried:
        yield RetryEvent("the model began to answer in another language than the question's")
        packed = _pack(context, parts=parts, options=options, retry_language=language)
        generated = _Generated()
        yield from _stream_answer(
            packed, parts=parts, options=options, into=generated, sentences=limit
        )
    kept = generated.text
    if generated.finish_reason == "repetition":
        kept = cut_repetition(kept)
    elif generated.finish_reason == "sentences" and limit:
        kept = _first_sentences(kept, limit) or kept
    text, invalid = drop_invalid_citations(kept.strip(), len(packed.sources))
    timings = context.timings
    timings["first_token"] = generated.first_token_s
    timings["generate"] = generated.seconds
    judged_at = time.monotonic()
    sentences, supporting = context.pool.support(
        text, floor=parts.query_encoder.calibration.similarity_floor, shown=packed.sources
    )
    quotes: tuple[Evidence, ...] = ()
    if options.evidence:
        found = context.pool.quotes(text, shown=packed.sources)
        # A quote that supports no sentence of the answer is not evidence for it.
        quotes = tuple(q for q in found if _supports(q, supporting))
    timings["evidence"] = time.monotonic() - judged_at
    return Answer(
        question=context.question,
        text=text,
        sources=packed.sources,
        refused=False,
        usage=_usage(packed, generated, parts=parts, options=options),
        standalone_query=context.query,
        evidence=quotes,
        invalid_citations=invalid,
        thinking=generated.thinking or None,
        finish_reason=generated.finish_reason,
        seconds=time.monotonic() - context.started,
        timings=_rounded(timings),
        lead=context.lead,
        sentences=sentences,
        language_match=written_in(text, language, min_letters=FINAL_MIN_LETTERS),
        language_retry=retried,
    )


def _sized(options: AskOptions, style: str) -> AskOptions:
    """Return OPTIONS with max_tokens capped at FOCUSED_MAX_TOKENS for the focused style."""
    if style != "focused" or options.sampling.max_tokens <= FOCUSED_MAX_TOKENS:
        return options
    return replace(options, sampling=replace(options.sampling, max_tokens=FOCUSED_MAX_TOKENS))


def _pack(
    context: _Context, *, parts: Parts, options: AskOptions, retry_language: str | None = None
) -> PackedPrompt:
    return pack(
        context.question,
        context.hits,
        parts=parts,
        options=options,
        session=context.session,
        pool=context.pool,
        retry_language=retry_language,
    )


def sentence_pool(
    query: str,
    hits: Sequence[Hit],
    *,
    parts: Parts,
    equivalents: Mapping[str, Collection[str]] | None = None,
) -> SentencePool:
    """Return the sentences of HITS, ranked with the query encoder and the keyword index.

    EQUIVALENTS are the query's words in the other language when retrieval already looked
    them up (Retrieval.equivalents); looked up here otherwise.
    """
    if equivalents is None:
        equivalents = bilingual.equivalents(keyword_tokens(query), parts.translator)
    return SentencePool(
        query,
        hits,
        embed=parts.query_encoder.embed_passages,
        idf=parts.keywords.idf(parts.catalog),
        equivalents=equivalents,
    )


def _supports(quote: Evidence, supporting: set[str]) -> bool:
    """Whether QUOTE (perhaps a shortened sentence) is one of the supporting sentences."""
    flat = " ".join(quote.quote.split())
    return any(flat in " ".join(s.split()) for s in supporting)


def _within(quote: Evidence, lead: Evidence | None) -> bool:
    """Whether QUOTE repeats (part of) the LEAD: its slice of the passage, or the same words
    in another passage (chunks overlap, and a copied file holds the same sentences)."""
    if lead is None:
        return False
    if quote.chunk_id == lead.chunk_id and lead.start <= quote.start and quote.end <= lead.end:
        return True
    return " ".join(quote.quote.split()) in " ".join(lead.quote.split())


def _extractive(context: _Context, *, options: AskOptions) -> Generator[AskEvent, None, Answer]:
    """Answer with the lead sentence itself; the next best sentences are its evidence."""
    lead = context.lead
    yield SourcesEvent(context.pool.sources, False, context.query, lead)
    others = context.pool.quotes("", MAX_QUOTES + 2) if options.evidence else ()
    quotes = tuple(q for q in others if not _within(q, lead))[:MAX_QUOTES]
    text = lead.quote if lead else ""
    return Answer(
        question=context.question,
        text=text,
        sources=context.pool.sources,
        refused=False,
        usage=None,
        standalone_query=context.query,
        evidence=quotes,
        finish_reason="extractive",
        seconds=time.monotonic() - context.started,
        timings=_rounded(context.timings),
        lead=lead,
        language_match=written_in(
            text, language_of(context.question), min_letters=FINAL_MIN_LETTERS
        ),
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
    pool: SentencePool | None = None,
    retry_language: str | None = None,
) -> PackedPrompt:
    """Return the exact messages the model gets for QUESTION over HITS.

    The prompt style follows the model's size (prompting.prompt_style); the focused style
    shows POOL's best sentences instead of whole chunks. RETRY_LANGUAGE adds the line that
    asks again for an answer in that language.
    """
    generator = parts.generator
    language = language_of(question)
    style = prompt_style(options.prompt_style, generator.parameters, language)
    texts = None
    if style.name == "focused":
        pool = pool or sentence_pool(question, hits, parts=parts)
        windows = pool.windows(FOCUSED_SENTENCES, FOCUSED_NEIGHBOURS)
        hits, texts = [hit for hit, _ in windows], [text for _, text in windows]
    suffixes = [LANGUAGE_RETRY[retry_language]] if retry_language else []
    if options.no_think:
        suffixes.append(NO_THINK_SWITCH)
    packed = pack_prompt(
        question,
        hits,
        system_prompt=options.system_prompt,
        history=session.history if session else (),
        count_tokens=generator.count_tokens,
        n_ctx=generator.n_ctx,
        max_tokens=_sized(options, style.name).sampling.max_tokens,
        question_suffix="\n".join(suffixes),
        special_tokens=generator.special_tokens(),
        style=style,
        texts=texts,
    )
    log.info(
        "%s prompt %d tokens + max_tokens %d <= n_ctx %d; %d chunks in, %d dropped for budget",
        style.name,
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
    finish_reason: str = "stop"  # "stop" | "length" | "repetition" | "language" | "sentences"


def _first_sentences(text: str, limit: int) -> str | None:
    """Return TEXT up to the end of its LIMIT-th sentence once another one has begun, else
    None (sentences of fewer than _CLAIM_LETTERS letters, like "1.", are not counted)."""
    claims = [
        (start, end)
        for start, end in split_sentences(text)
        if sum(ch.isalpha() for ch in text[start:end]) >= _CLAIM_LETTERS
    ]
    return text[: claims[limit - 1][1]] if len(claims) > limit else None


def _stream_answer(
    packed: PackedPrompt,
    *,
    parts: Parts,
    options: AskOptions,
    into: _Generated,
    language: str | None = None,
    sentences: int | None = None,
) -> Iterator[TextEvent]:
    """Stream the model's answer as TextEvents, <think> blocks held back unless shown.

    With `stop_on_repetition` the stream stops as soon as the answer repeats itself; what was
    shown stays, and `finish_reason` says why it ended. With LANGUAGE it stops, as
    "language", as soon as the answer's first words are in another language; with SENTENCES,
    as "sentences", when a sentence after that many begins.
    """
    thinking = ThinkingFilter()
    echo = EchoFilter()
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
            shown = echo.feed(delta.text if options.show_thinking else thinking.feed(delta.text))
            if shown:
                pieces.append(shown)
                so_far = "".join(pieces)
                yield TextEvent(shown)
                if guard is not None and guard.feed(shown):
                    into.finish_reason = "repetition"
                    break
                if language and written_in(so_far, language) is False:
                    into.finish_reason = "language"
                    break
                if sentences and _first_sentences(so_far, sentences) is not None:
                    into.finish_reason = "sentences"
                    break
    finally:
        close = getattr(stream, "close", None)
        if close is not None:  # stop the model (or the server's stream) now
            close()
    into.completion_tokens = max(into.completion_tokens, deltas)
    if into.finish_reason == "stop" and into.completion_tokens >= options.sampling.max_tokens:
        into.finish_reason = "length"
    tail = echo.feed("" if options.show_thinking else thinking.flush()) + echo.flush()
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
