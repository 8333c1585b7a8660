"""Split documents into chunks sized by the embedder's tokenizer.

Chunks follow paragraphs and sentences (English . ! ? and Chinese 。！？；…), never cross a
page or heading, and never exceed the embedder's window: a longer input would be silently
truncated by the model. Every chunk's text is an exact slice of its section's text, so a
quote taken from a chunk is a quote from the document; a table's chunks are slices of whole
rows after the table's header row (repeated in each).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePath

from ragkb.language import split_sentences, trimmed_span
from ragkb.types import Chunk, Document, Section

# Bump when the splitting rules change: knowledge bases built by another version re-chunk.
# 2: PDF contents/index lines dropped; 3: run-together pages re-read; 4: only contents
# entries dropped, other dot-leader lines kept; 5: the file title and heading trail are
# embedded and keyword-indexed with each chunk.
CHUNKER_VERSION = 5
# Tokens of the embedder's window kept for a chunk's context line (title > heading trail).
CONTEXT_TOKENS = 48

CountTokens = Callable[[str], int]
TokenOffsets = Callable[[str], list[tuple[int, int]]]


@dataclass(frozen=True, slots=True)
class _Unit:
    """A sentence (or table row, or piece of an over-long sentence) as a span of the section."""

    start: int
    end: int
    tokens: int


def chunk_document(
    document: Document,
    *,
    count_tokens: CountTokens,
    token_offsets: TokenOffsets,
    chunk_tokens: int,
    overlap_tokens: int,
    max_tokens: int,
) -> list[Chunk]:
    """Split every section of DOCUMENT into chunks of at most min(chunk_tokens, max_tokens)."""
    limit = max(1, min(chunk_tokens, max_tokens))
    overlap = min(overlap_tokens, limit // 2)
    chunks: list[Chunk] = []
    for section in document.sections:
        for text, tokens in _chunk_section(section, count_tokens, token_offsets, limit, overlap):
            chunks.append(
                Chunk(
                    text=text,
                    index=len(chunks),
                    page=section.page,
                    heading=section.heading,
                    tokens=tokens,
                    ocr=section.ocr,
                )
            )
    return chunks


def _chunk_section(
    section: Section,
    count_tokens: CountTokens,
    token_offsets: TokenOffsets,
    limit: int,
    overlap: int,
) -> Iterator[tuple[str, int]]:
    text = section.text
    if section.is_table:
        yield from _chunk_table(text, count_tokens, token_offsets, limit)
        return
    yield from _chunk_spans(
        text, split_sentences(text), count_tokens, token_offsets, limit, overlap
    )


def _chunk_table(
    text: str, count_tokens: CountTokens, token_offsets: TokenOffsets, limit: int
) -> Iterator[tuple[str, int]]:
    """Chunk a table between rows, its first row (the header) repeated at the top of each
    chunk: a row retrieved alone still says which column each value belongs to."""
    rows = _row_spans(text)
    header = text[rows[0][0] : rows[0][1]] if len(rows) > 1 else ""
    header_tokens = count_tokens(header) + 1 if header else 0
    if not header or header_tokens > limit // 2:  # no header, or one that would crowd out rows
        yield from _chunk_spans(text, rows, count_tokens, token_offsets, limit, 0)
        return
    for body, _ in _chunk_spans(
        text, rows[1:], count_tokens, token_offsets, limit - header_tokens, 0
    ):
        piece = f"{header}\n{body}"
        yield piece, count_tokens(piece)


def _chunk_spans(
    text: str,
    spans: list[tuple[int, int]],
    count_tokens: CountTokens,
    token_offsets: TokenOffsets,
    limit: int,
    overlap: int,
) -> Iterator[tuple[str, int]]:
    units: list[_Unit] = []
    for start, end in spans:
        tokens = count_tokens(text[start:end])
        if tokens <= limit:
            units.append(_Unit(start, end, tokens))
        else:
            units.extend(_split_long(text, start, end, token_offsets, count_tokens, limit))
    yield from _pack(text, units, count_tokens, limit, overlap)


def _row_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        spans.extend(trimmed_span(text, pos, pos + len(line)))
        pos += len(line) + 1
    return spans


def _split_long(
    text: str,
    start: int,
    end: int,
    token_offsets: TokenOffsets,
    count_tokens: CountTokens,
    limit: int,
) -> Iterator[_Unit]:
    """Cut an over-long sentence into pieces of at most LIMIT tokens, at word starts if possible."""
    piece = text[start:end]
    offsets = token_offsets(piece)
    i = 0
    while i < len(offsets):
        j = min(i + limit, len(offsets))
        if j < len(offsets):
            # Prefer to cut where the next token starts after whitespace (not inside a word).
            for k in range(j, i + limit // 2, -1):
                if offsets[k][0] > 0 and piece[offsets[k][0] - 1].isspace():
                    j = k
                    break
        while True:
            cut_end = offsets[j][0] if j < len(offsets) else len(piece)
            spans = trimmed_span(piece, offsets[i][0], cut_end)
            tokens = count_tokens(piece[spans[0][0] : spans[0][1]]) if spans else 0
            if tokens <= limit or j - i <= 1:
                break
            # Tokenisation of a slice can differ from the whole: shrink and cut again, so
            # no text between i and j is lost.
            j = max(i + 1, j - (tokens - limit))
        for s, e in spans:
            yield _Unit(start + s, start + e, tokens)
        i = j


def _pack(
    text: str,
    units: list[_Unit],
    count_tokens: CountTokens,
    limit: int,
    overlap: int,
) -> Iterator[tuple[str, int]]:
    """Greedily pack units into chunks; carry trailing units up to OVERLAP tokens forward."""
    i = 0
    while i < len(units):
        j = i
        total = 0
        while j < len(units) and total + units[j].tokens <= limit:
            total += units[j].tokens
            j += 1
        j = max(j, i + 1)
        chunk_text = text[units[i].start : units[j - 1].end]
        tokens = count_tokens(chunk_text)
        while tokens > limit and j - i > 1:  # joining can add tokens (spaces, newlines)
            j -= 1
            chunk_text = text[units[i].start : units[j - 1].end]
            tokens = count_tokens(chunk_text)
        yield chunk_text, tokens
        if j >= len(units):
            return
        # Step back over trailing units that fit in the overlap, but always make progress.
        back = j
        carried = 0
        while back - 1 > i and carried + units[back - 1].tokens <= overlap:
            back -= 1
            carried += units[back].tokens
        i = back


def document_title(path: str) -> str:
    """Return a file's name as words ("logging_howto.en.pdf" -> "logging howto en")."""
    return " ".join(re.split(r"[\s._-]+", PurePath(path).stem)).strip()


def context_line(
    title: str, heading: str | None, token_offsets: TokenOffsets, max_tokens: int
) -> str:
    """Return a chunk's context, "title > heading trail", cut to MAX_TOKENS tokens."""
    line = " > ".join(part for part in (title, heading) if part)
    offsets = token_offsets(line)
    if len(offsets) > max_tokens:
        line = line[: offsets[max_tokens][0]].rstrip()
    return line


def indexed_text(text: str, context: str) -> str:
    """Return what the embedder and the keyword index see for a chunk: its context, then TEXT.

    Headings are content: a question often names the section or the file ("the logging
    HOWTO", "GUI 系统"), and a chunk's own words may not. The stored text stays an exact slice
    of the page, so quotes are still quotes. Chunks are sized to leave CONTEXT_TOKENS (and
    the newline) of the window free for the context.
    """
    return f"{context}\n{text}" if context else text
