"""What both servers answer with: the CLI's JSON objects, from knowledge bases opened once.

Each knowledge base is opened on first use and kept, so its embedder, keyword index and
model load once for the life of the server. Requests run in threads: retrieval runs
concurrently (the catalog, the store and the encoder are safe across threads), while
answers are generated one at a time, since a llama.cpp context serves one sequence.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ragkb import __version__, schema
from ragkb.config import KB_NAME_RULE, is_valid_kb_name
from ragkb.errors import UsageError
from ragkb.index.catalog import CATALOG_FILE
from ragkb.index.inventory import survey_knowledge_bases
from ragkb.kb import DoneEvent, KnowledgeBase, SourcesEvent, TextEvent, parse_filter
from ragkb.settings import FIELDS_BY_NAME

if TYPE_CHECKING:
    from ragkb.config import Settings
    from ragkb.types import Filter

# The keys a request's "filter" object may hold, and parse_filter's names for them.
FILTER_KEYS = {
    "paths": "paths",
    "types": "types",
    "tags": "tags",
    "since": "since",
    "until": "until",
    "modified_since": "modified_since",
    "modified_until": "modified_until",
}
_LIST_KEYS = {"paths", "types", "tags"}


def read_filter(raw: Mapping[str, Any] | None) -> Filter | None:
    """Return the Filter a request's "filter" object describes (the keys of `--json`'s)."""
    if not raw:
        return None
    if not isinstance(raw, Mapping):
        raise UsageError('filter: expected an object such as {"types": ["pdf"]}')
    options: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in FILTER_KEYS:
            raise UsageError(f"filter key {key!r}: expected one of {', '.join(FILTER_KEYS)}")
        if key in _LIST_KEYS:
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise UsageError(f"filter {key}: expected a string or a list of strings")
            options[FILTER_KEYS[key]] = values
        else:
            if not isinstance(value, str):
                raise UsageError(f"filter {key}: expected a date, a date and time or an age")
            options[FILTER_KEYS[key]] = value
    return parse_filter(**options)


class Service:
    """The operations of the servers, each returning a JSON object of the CLI's contract."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._kbs: dict[str, tuple[KnowledgeBase, tuple[int, int] | None]] = {}
        self._opening = threading.Lock()
        self._generating = threading.Lock()
        self.started = time.time()

    def knowledge(self, name: str | None = None) -> KnowledgeBase:
        """Return knowledge base NAME (the configured one when None), opened once.

        One that was reset (or reset and made again, or imported over) since it was opened
        is opened again: a server must never answer from files the user deleted.
        """
        wanted = name or self._settings.store.kb
        if not is_valid_kb_name(wanted):  # named by the request, not by a --kb flag
            raise UsageError(f"kb name {wanted!r}: {KB_NAME_RULE}")
        with self._opening:
            if wanted in self._kbs:
                kb, identity = self._kbs[wanted]
                if _identity(kb) == identity:
                    return kb
                del self._kbs[wanted]
                _close(kb)
            settings = (
                self._settings
                if wanted == self._settings.store.kb
                else self._settings.replace(kb=wanted)  # checks the name
            )
            kb = KnowledgeBase(settings)
            kb.info()  # a knowledge base that does not exist is an error now, not later
            kb.warm_up()  # before request threads import the same libraries at once
            self._kbs[wanted] = (kb, _identity(kb))
            return kb

    def health(self) -> dict[str, Any]:
        """Return that the server is up, its version and the knowledge base it serves."""
        return {
            "status": "ok",
            "version": __version__,
            "kb": self._settings.store.kb,
            "uptime_s": round(time.time() - self.started, 1),
        }

    def list_kbs(self) -> dict[str, Any]:
        """Return `ragkb list --json`."""
        found = survey_knowledge_bases(self._settings)
        return {
            "knowledge_bases": [schema.kb_info_dict(i) for i in found.infos],
            "skipped": [{"name": name, "reason": why} for name, why in found.skipped],
        }

    def search(
        self,
        query: str,
        *,
        kb: str | None = None,
        k: int | None = None,
        mode: str | None = None,
        scope: Filter | None = None,
    ) -> dict[str, Any]:
        """Return `ragkb search --json`."""
        knowledge = self.knowledge(kb)
        _check(query, k, mode)
        found = knowledge.retrieve(query, k=k, mode=mode, scope=scope)
        used = mode or knowledge.settings.retrieval.mode
        return schema.search_dict(query, knowledge.name, knowledge.metric, used, found, scope)

    def ask(
        self,
        question: str,
        *,
        kb: str | None = None,
        k: int | None = None,
        mode: str | None = None,
        scope: Filter | None = None,
    ) -> dict[str, Any]:
        """Return `ragkb ask --json`."""
        for name, data in self.ask_events(question, kb=kb, k=k, mode=mode, scope=scope):
            if name == "done":
                return data
        raise AssertionError("ask ended without an answer")

    def ask_events(
        self,
        question: str,
        *,
        kb: str | None = None,
        k: int | None = None,
        mode: str | None = None,
        scope: Filter | None = None,
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Yield an answer as it is made: ("sources", {lead, sources}) once, ("text",
        {"text"}) per piece of the answer, then ("done", the `ask --json` object).

        The text pieces always add up to the answer's text: an extractive answer, which the
        library streams as the lead alone, is sent as one piece before "done".
        """
        knowledge = self.knowledge(kb)
        _check(question, k, mode)
        with self._generating:
            for event in knowledge.ask_stream(question, k=k, mode=mode, scope=scope):
                if isinstance(event, DoneEvent) and event.answer.finish_reason == "extractive":
                    yield "text", {"text": event.answer.text}
                if isinstance(event, SourcesEvent):
                    yield (
                        "sources",
                        {
                            "lead": schema.evidence_dict(event.lead) if event.lead else None,
                            "sources": [schema.hit_dict(h) for h in event.sources],
                            "refused": event.refused,
                        },
                    )
                elif isinstance(event, TextEvent):
                    yield "text", {"text": event.text}
                elif isinstance(event, DoneEvent):
                    yield "done", schema.answer_dict(event.answer, kb=knowledge.name, scope=scope)

    def document(
        self, path: str, *, kb: str | None = None, page: int | None = None
    ) -> dict[str, Any]:
        """Return one stored file's chunks in order (of one page when PAGE is given)."""
        knowledge = self.knowledge(kb)
        record, chunks = knowledge.document(path, page=page)
        return {
            "kb": knowledge.name,
            "file": schema.file_dict(record),
            "page": page,
            "chunks": [
                {
                    "chunk_id": c.chunk_id,
                    "index": c.index,
                    "page": c.page,
                    "section": c.heading,
                    "text": c.text,
                    "ocr": c.ocr,
                }
                for c in chunks
            ],
        }


def _identity(kb: KnowledgeBase) -> tuple[int, int] | None:
    """Return which catalog file KB's directory holds now (device and inode), or None."""
    try:
        found = os.stat(kb.directory / CATALOG_FILE)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _close(kb: KnowledgeBase) -> None:
    """Let go of a knowledge base whose files were replaced (best effort: they are gone)."""
    for part in (kb.parts.vectors, kb.parts.catalog):
        with contextlib.suppress(Exception):  # closing what was deleted may fail
            part.close()


def _check(text: str, k: int | None, mode: str | None) -> None:
    if not isinstance(text, str):  # an empty one is retrieve's to refuse, as for every caller
        raise UsageError("the question is not text")
    if k is not None and (not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 100):
        raise UsageError(f"k = {k!r}: expected a whole number from 1 to 100")
    modes = FIELDS_BY_NAME["mode"].choices  # the one declaration of the retrieval modes
    if mode is not None and mode not in modes:
        raise UsageError(f"mode = {mode!r}: expected {', '.join(modes)}")
