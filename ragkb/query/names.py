"""Names in a question that the documents never use: the unknown-term refusal rule."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Protocol

from ragkb.language import has_han, keyword_tokens, language_of

_INFLECTION = re.compile(r"(?:ing|ed|es|s)$")
# "severities", "copied": the corpus says "severity", "copy".
_Y_INFLECTION = re.compile(r"(?:ies|ied)$")
_ALPHABETIC = "A-Za-z0-9\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff"  # Latin, Greek, Cyrillic
_LATIN_WORD = re.compile(f"[{_ALPHABETIC}][{_ALPHABETIC}_+]*(?:[.-][{_ALPHABETIC}_+]+)*")
# A plain word rarer than this in written English (wordfreq's large list) may be a name:
# pinyin 2.3, applet 2.3 and fallback 2.7 are words, timedatectl, nftables, ufw (2.0) not.
_KNOWN_ZIPF = 2.2
# European languages a Latin-script question may be written in instead of English.
_OTHER_LANGUAGES = ("de", "fr", "es", "it", "pt", "nl", "pl", "sv")
# Word-forming prefixes and suffixes; what is left must be a known word of 4 letters or more
# (so "restic" or "debconf" stay names).
_PREFIX = re.compile(r"^(?:re|un|pre|de|dis|non|over|sub|multi|mis)(?=[a-z]{4})")
_SUFFIX = re.compile(r"(?<=[a-z]{4})(?:i[sz](?:ers?|ations?|ed|es|ing|e)|(?:a|i)bl[ey]|ers?)$")
# Zipf 3 = once per million words: wordfreq's small English list holds exactly these.
_EVERYDAY_ZIPF = 3.0


def is_everyday_word(word: str) -> bool:
    """Return whether WORD is an everyday English word (wordfreq, loaded on first use)."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en", wordlist="small") >= _EVERYDAY_ZIPF


def is_known_english_word(word: str) -> bool:
    """Return whether WORD is a word of written English at all (pinyin, applet, fallback)."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en", wordlist="large") >= _KNOWN_ZIPF


def is_english_word_form(word: str) -> bool:
    """Return whether WORD is an English word or one made from one by a common prefix or
    suffix: "recomputing", "tokenizer" and "unparseable" are in no word list, but "computing",
    "token" and "parse" are, and none of them is a name."""
    if is_known_english_word(word):
        return True
    prefix = _PREFIX.match(word)
    if prefix and is_english_word_form(word[prefix.end() :]):
        return True
    suffix = _SUFFIX.search(word)
    return bool(suffix) and is_known_english_word(word[: suffix.start()])


def name_like_words(question: str, *, english: bool, chinese: bool) -> set[str]:
    """Return the words QUESTION writes as names, lowercased.

    Inner capitals, all capitals or digits (WireGuard, HiDPI, PPA, 7z) in any language; in an
    ENGLISH question (`reads_as_english`) also a capital not at a sentence start (Docker), and
    in a CHINESE one every Latin-script word (ufw, rsync: Chinese writes ordinary words in Han).
    """
    english = english and not chinese
    names = set()
    for match in _LATIN_WORD.finditer(question):
        word = match.group()
        at_start = match.start() == 0 or question[: match.start()].rstrip()[-1:] in ".?!"
        if (
            chinese
            or any(c.isdigit() for c in word)
            or any(c.isupper() for c in word[1:])
            or (english and word[0].isupper() and not at_start)
        ):
            names.add(word.lower())
            names.update(keyword_tokens(word))  # WireGuard-Tunnel: the keyword is wireguard
    return names


def reads_as_english(question: str) -> bool:
    """Return whether QUESTION's Latin-script words are English rather than another European
    language's: their summed wordfreq frequency is highest in English (a question of names
    alone, known to no language, counts as English)."""
    from wordfreq import zipf_frequency

    words = [m.group().lower() for m in _LATIN_WORD.finditer(question)]
    plain = [w for w in words if w.isalpha()]
    if not plain:
        return False
    english = sum(zipf_frequency(w, "en", wordlist="small") for w in plain)
    others = [
        sum(zipf_frequency(w, other, wordlist="small") for w in plain) for other in _OTHER_LANGUAGES
    ]
    return english >= max(others)


class Vocabulary(Protocol):
    """The keyword tokens the documents use, looked up where they are kept."""

    def __contains__(self, token: object) -> bool: ...
    def has_prefix(self, prefix: str) -> bool: ...


class WordSet(frozenset[str]):
    """A vocabulary held in memory."""

    def has_prefix(self, prefix: str) -> bool:
        """Return whether some word starts with PREFIX."""
        return any(word.startswith(prefix) for word in self)


def unknown_terms(
    query_tokens: Iterable[str],
    vocabulary: Vocabulary,
    is_common_word: Callable[[str], bool],
    question: str | None = None,
) -> list[str]:
    """Return the names in a question that the documents never use, in question order.

    A name (a command, product, format or acronym: timedatectl, WireGuard, XER) cannot be
    paraphrased, so documents that never contain it cannot be about it. A term counts when
    no chunk holds it, it is not a common word (IS_COMMON_WORD, e.g. one token of the
    embedder's vocabulary, nor an everyday English word by wordfreq), and it is not a form of
    a word the documents do use ("reconfigures" when they say "reconfigure"). Chinese words
    are left out: jieba's segmentation of a question rarely matches a rare name, and
    paraphrase is the norm.

    Given the QUESTION itself, a word written as a name (`name_like_words`) is judged in any
    language; a plain lowercase word only in a question that reads as English, and then only
    when written English does not know it either: a German or Japanese question is never
    refused because an English word list lacks its words.

    In a Chinese question a Latin-script word is a name however common it is (RAID, RSA):
    Chinese writes ordinary words in Han, and a name keeps its letters in documents of either
    language. An English question's common words are not judged so: over Chinese documents
    its "Toy Story" or "ISP" are there in Chinese.
    """
    unknown = []
    names: set[str] | None = None  # read once a term needs them (wordfreq loads its lists)
    english = False
    chinese = question is not None and language_of(question) == "zh"
    for token in dict.fromkeys(query_tokens):
        if token in vocabulary or has_han(token) or token.isdigit():
            continue
        if not (chinese and _LATIN_WORD.fullmatch(token)) and (
            is_common_word(token) or is_everyday_word(token)
        ):
            continue
        stems = (_INFLECTION.sub("", token), _Y_INFLECTION.sub("y", token))
        if any(len(stem) >= 4 and vocabulary.has_prefix(stem) for stem in stems):
            continue
        if question is not None:
            if names is None:
                english = reads_as_english(question)
                names = name_like_words(question, english=english, chinese=chinese)
            if token not in names and (not english or is_english_word_form(token)):
                continue
        unknown.append(token)
    written = _as_written(question) if unknown and question else {}
    return list(dict.fromkeys(written.get(t, t) for t in unknown))


def _as_written(question: str) -> dict[str, str]:
    """Map each keyword token of QUESTION's Latin-script words to the word it was cut from,
    so that a term is named as written: "wi-fi", not "wi"."""
    written: dict[str, str] = {}
    for match in _LATIN_WORD.finditer(question):
        word = match.group().lower()
        for token in keyword_tokens(word):
            written.setdefault(token, word)
    return written
