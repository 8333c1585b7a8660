"""Value types shared by the pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Section:
    """A run of text from one place in a document: a PDF page or a DOCX/MD heading block."""

    text: str
    page: int | None = None  # 1-based page number (PDF only)
    heading: str | None = None  # heading trail, e.g. "Install > GPU"
    is_table: bool = False  # tables are kept row-aligned by the chunker


@dataclass(frozen=True, slots=True)
class Document:
    """A loaded file: its sections in reading order plus facts about the file."""

    path: str
    kind: str  # "pdf" | "docx" | "txt" | "md"
    sections: tuple[Section, ...]
    pages: int | None = None
    warnings: tuple[str, ...] = ()  # e.g. pages skipped because their text was glyph junk


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a document sized to fit the embedder's window."""

    text: str
    index: int  # position of the chunk in its document, from 0
    page: int | None = None
    heading: str | None = None
    tokens: int = 0  # counted with the embedder's tokenizer, special tokens excluded


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved chunk with its rank and scores."""

    chunk_id: str
    text: str
    source: str
    page: int | None
    heading: str | None
    score: float  # similarity in [0, 1], higher is better (same scale for cosine and l2)
    distance: float | None  # raw distance from the vector store; None for keyword-only hits
    rank: int = 0


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
    unknown_terms: tuple[str, ...] = ()  # why it refused: names no document uses


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
