"""Value types shared by the pipeline stages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

Message = dict[str, str]  # {"role": ..., "content": ...}


def location(path: str, page: int | None, section: str | None) -> str:
    """Return "PATH, page N (section)": how a source is named in prompts and output."""
    label = path
    if page is not None:
        label += f", page {page}"
    if section:
        label += f" ({section})"
    return label


@dataclass(frozen=True, slots=True)
class Section:
    """A run of text from one place in a document: a PDF page or a DOCX/MD heading block."""

    text: str
    page: int | None = None  # 1-based page number (PDF only)
    heading: str | None = None  # heading trail, e.g. "Install > GPU"
    is_table: bool = False  # tables are kept row-aligned by the chunker
    ocr: bool = False  # read from the page's image, not from a text layer


@dataclass(frozen=True, slots=True)
class Document:
    """A loaded file: its sections in reading order plus facts about the file."""

    path: str
    kind: str  # "pdf" | "docx" | "txt" | "md"
    sections: tuple[Section, ...]
    pages: int | None = None
    warnings: tuple[str, ...] = ()  # e.g. pages skipped because their text was glyph junk
    sha256: str = ""  # of the bytes that were parsed (the file may change after planning)
    size: int = 0
    ocr_pages: int = 0  # pages (or image frames) read by OCR


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a document sized to fit the embedder's window."""

    text: str
    index: int  # position of the chunk in its document, from 0
    page: int | None = None
    heading: str | None = None
    tokens: int = 0  # counted with the embedder's tokenizer, special tokens excluded
    ocr: bool = False


@dataclass(frozen=True, slots=True)
class Filter:
    """Which files a search may draw on; an empty field does not narrow it.

    A file passes when it matches any of PATHS (globs), any of TYPES and any of TAGS, and
    its ingest and modification times fall in the ranges (seconds since the epoch; since
    inclusive, until exclusive). `query.filters.parse_filter` builds one from what a person
    types; `describe()` is its JSON form.
    """

    paths: tuple[str, ...] = ()
    types: tuple[str, ...] = ()  # pdf, docx, md, txt, image
    tags: tuple[str, ...] = ()
    since: float | None = None
    until: float | None = None
    modified_since: float | None = None
    modified_until: float | None = None

    def is_empty(self) -> bool:
        """Return whether the filter lets every file through."""
        return self == Filter()

    def describe(self) -> dict[str, object]:
        """Return the filter's fields that are set (times as ISO 8601 UTC), for output."""
        out: dict[str, object] = {}
        for name in self.__slots__:  # type: ignore[attr-defined]
            value = getattr(self, name)
            if isinstance(value, float):
                out[name] = datetime.fromtimestamp(value, tz=UTC).isoformat()
            elif value:
                out[name] = list(value)
        return out


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved chunk with its rank and scores."""

    chunk_id: str
    text: str
    source: str
    page: int | None
    heading: str | None
    # Vector and hybrid mode: similarity to the question in [0, 1], the same scale for cosine
    # and l2. Keyword mode: the BM25 score (not bounded). Higher is better in both.
    score: float
    distance: float | None  # raw distance from the vector store; None in keyword mode
    rank: int = 0
    ocr: bool = False  # the chunk's text was read by OCR (it may hold misread words)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token accounting for one generation."""

    prompt_tokens: int
    completion_tokens: int
    n_ctx: int
    max_tokens: int
    dropped_chunks: int = 0
    trimmed_turns: int = 0


@dataclass(frozen=True, slots=True)
class Evidence:
    """A verbatim quote from a retrieved chunk that supports an answer."""

    source: str
    page: int | None
    section: str | None
    chunk_id: str
    quote: str
    start: int  # character offset of the quote in the chunk's text
    end: int
    trimmed: bool = False  # the sentence goes on past the quote (shown with an ellipsis)
    ocr: bool = False  # quoted from OCR text: verbatim from the recognised page, not the file


@dataclass(frozen=True, slots=True)
class AnswerSentence:
    """One sentence of a generated answer, and whether the passages the model read support it."""

    text: str
    supported: bool


@dataclass(frozen=True, slots=True)
class Answer:
    """The result of asking a question."""

    question: str
    text: str
    sources: tuple[Hit, ...]
    refused: bool
    usage: Usage | None
    standalone_query: str | None = None
    evidence: tuple[Evidence, ...] = ()
    invalid_citations: tuple[int, ...] = ()
    thinking: str | None = None
    seconds: float = 0.0
    # Stage times in seconds: retrieve, first_token, generate, evidence (when they ran).
    timings: dict[str, float] = field(default_factory=dict)
    unknown_terms: tuple[str, ...] = ()  # names no document uses (then it refused)
    refusal_reason: str | None = None  # why it refused, in words; None when it answered
    nearest: Hit | None = None  # on a refusal, the best passage found, for the user to judge
    # Why generation ended: "stop" (the model finished), "length" (max_tokens), "repetition"
    # (it began to repeat itself and was stopped), "extractive" (no model was called: the
    # answer is the lead sentence); None for a refusal.
    finish_reason: str | None = None
    lead: Evidence | None = None  # the one sentence that best answers it, shown first
    sentences: tuple[AnswerSentence, ...] = ()  # the generated text, sentence by sentence
    # Whether the answer is in the question's language (None: refused, or too short to tell),
    # and whether the model was asked a second time because its first answer was not.
    language_match: bool | None = None
    language_retry: bool = False


@dataclass(frozen=True, slots=True)
class FileFailure:
    """A file that could not be ingested, and why, in words a user understands."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What one ingest run did."""

    kb: str
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    failed: tuple[FileFailure, ...] = ()
    chunks_added: int = 0
    chunks_removed: int = 0
    seconds: float = 0.0
    dry_run: bool = False
    warnings: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """Where an ingest is; the CLI draws it."""

    stage: str  # "parse" | "ocr" | "load" (the embedder) | "embed"
    files_done: int  # read (parsed, or failed); their chunks may still be embedding
    files_total: int
    chunks_done: int
    path: str = ""
    pages_done: int = 0  # stage "ocr": pages of PATH read so far, of pages_total
    pages_total: int = 0


Progress = Callable[[ProgressEvent], None]


@dataclass(frozen=True, slots=True)
class Calibration:
    """Where an embedder's similarities sit, and the relevance thresholds chosen for it.

    Thresholds are on the calibrated scale (cosine - floor) / (1 - floor), and were chosen
    with bench/calibrate.py on corpora other than those they are reported on.
    """

    similarity_floor: float  # median cosine of unrelated question/passage pairs
    min_score: float
    min_relevance: float


# all-MiniLM-L6-v2 on raw cosine, min_relevance chosen leave-one-corpus-out by
# bench/calibrate.py (0.42 in three folds of four; the earlier 0.62, tuned in-sample on two
# corpora, refused 46 % of corpus_b's answerable questions). Also the starting point for a
# model nobody calibrated (run `ragkb eval` with your own gold).
RAW_COSINE = Calibration(similarity_floor=0.0, min_score=0.0, min_relevance=0.42)


@dataclass(frozen=True, slots=True)
class VectorMatch:
    """A raw match from the vector store."""

    chunk_id: str
    distance: float


@dataclass(frozen=True, slots=True)
class Sampling:
    """Sampling settings for one generation."""

    max_tokens: int
    temperature: float
    top_p: float
    top_k: int
    repeat_penalty: float
    seed: int
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0


@dataclass(frozen=True, slots=True)
class Delta:
    """A piece of streamed output; the last one carries the completion token count."""

    text: str
    completion_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class SourcesEvent:
    """Retrieval is done: these sources will be shown (empty and refused if none is relevant)."""

    sources: tuple[Hit, ...]
    refused: bool
    standalone_query: str
    lead: Evidence | None = None  # the extractive lead line, shown before the model's answer


@dataclass(frozen=True, slots=True)
class RetryEvent:
    """The text streamed so far is withdrawn; a second answer follows (REASON says why)."""

    reason: str


@dataclass(frozen=True, slots=True)
class TextEvent:
    """A piece of the streamed answer."""

    text: str


@dataclass(frozen=True, slots=True)
class DoneEvent:
    """The finished answer."""

    answer: Answer


AskEvent = SourcesEvent | TextEvent | RetryEvent | DoneEvent
