"""Cross-lingual keyword search: the question's words in the other language (Chinese <-> English).

The multilingual embedder crosses languages weakly, and BM25 not at all: a Chinese question
shares no keyword with the English passage that answers it. Searching the keyword index once
more with the question's words translated gives the fusion a ranking that does; the best
passage it finds may take a place in the top; and a passage's coverage of the question counts
the translations too (bench/README.md, "Cross-lingual questions").
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING

from ragkb.language import has_han, language_of
from ragkb.query.relevance import weighted_coverage

if TYPE_CHECKING:
    from ragkb.index.catalog import Catalog
    from ragkb.parts import KeywordSearch, Translator

# Inflected forms of an English translation that the index may hold instead ("log" is found
# as "logs", "logged", "logging", "proxy" as "proxies"): BM25 matches whole tokens, and the
# index does not stem.
_SUFFIXES = ("s", "es", "d", "ed", "ing")
_DOUBLING = ("ed", "ing")  # after a doubled final consonant: log -> logging
MAX_ALTERNATIVES = 4  # translations used per word, among those the index holds


def translated_groups(
    tokens: Sequence[str], translator: Translator, known: Callable[[str], bool] | None = None
) -> list[list[str]]:
    """Return, for each word (and English word pair) of TOKENS, the keyword tokens of its
    translations.

    A translation comes as its keyword tokens (Chinese cut as the index cuts text); English
    ones bring their inflected forms. With KNOWN (the index's vocabulary), only tokens the
    index holds are kept, at most MAX_ALTERNATIVES translations per word: the dictionary's
    most frequent senses are not always the ones a knowledge base uses ("kernel": 颗粒
    before 内核).
    """
    asked = set(tokens)
    groups: list[list[str]] = []
    for phrase in _phrases(tokens):
        group: dict[str, None] = {}
        used = 0
        for word in translator.translations(phrase):
            cut = word.split()
            forms = cut if len(cut) > 1 or has_han(word) else [word, *_inflections(word)]
            found = [f for f in forms if f not in asked and (known is None or known(f))]
            if found:
                group.update(dict.fromkeys(found))
                used += 1
            if used == MAX_ALTERNATIVES:
                break
        if group:
            groups.append(list(group))
    return groups


def other_language_hits(
    tokens: Sequence[str],
    language: str,
    n: int,
    sources: Sequence[str] | None,
    catalog: Catalog,
    keywords: KeywordSearch,
    translator: Translator,
) -> list[tuple[str, float]]:
    """Search the keyword index with a query's TOKENS translated; return the (chunk id, BM25
    score) pairs of the passages not written in its LANGUAGE, best first.

    Passages in the question's own language are left to the first keyword search: counted
    by both, they would push a passage that only the vector search ranks first out of the
    top (bench/README.md, "Cross-lingual questions").
    """
    vocabulary = keywords.vocabulary(catalog)
    known = None if vocabulary is None else vocabulary.__contains__
    groups = translated_groups(tokens, translator, known)
    if not groups:
        return []
    found = keywords.search_alternatives(catalog, groups, n, sources)
    records = catalog.chunks_by_id([cid for cid, _ in found])
    return [
        (cid, score)
        for cid, score in found
        if cid in records and language_of(records[cid].text) != language
    ]


def make_room_for_the_other_language(
    ids: list[str],
    best_other: str,
    *,
    k: int,
    tokens: Sequence[str],
    equivalents: Mapping[str, Collection[str]],
    catalog: Catalog,
    keywords: KeywordSearch,
) -> list[str]:
    """Put BEST_OTHER (the best passage in the other language) at place K when it holds more
    of the question's TOKENS, or of their EQUIVALENTS, than every passage of the top K.

    Fusion favours passages that several rankings found, and a passage in the other language
    is found by one or two: a Chinese question's own words fill the top with Chinese passages
    that each hold a few of them, however well an English passage answers it. The first place
    is never taken (K = 1): it would drop the best passage of either language for one that a
    dictionary translation of a single word found.
    """
    top = ids[:k]
    if k < 2 or best_other in top or not top:
        return ids
    wanted = set(tokens)
    idf = keywords.idf(catalog)
    records = catalog.chunks_by_id([*top, best_other])
    if best_other not in records:
        return ids

    def coverage(cid: str) -> float:
        record = records.get(cid)
        return weighted_coverage(wanted, record.keywords, idf, equivalents) if record else 0.0

    if coverage(best_other) <= max(coverage(cid) for cid in top):
        return ids
    rest = [cid for cid in ids if cid != best_other]
    return [*rest[: k - 1], best_other, *rest[k - 1 :]]


def equivalents(tokens: Sequence[str], translator: Translator | None) -> dict[str, frozenset[str]]:
    """Return, for each word of TOKENS worth translating, the keyword tokens that stand for it
    in the other language (its translations and their inflected forms).

    The coverage of a question's words by a passage counts a word as present when one of
    these is: an English question is covered by the Chinese sentence that answers it.
    """
    if translator is None:
        return {}
    found: dict[str, frozenset[str]] = {}
    for word in _phrases(tokens):
        if " " in word:
            continue  # a pair's words are counted one by one
        forms: set[str] = set()
        for translation in translator.translations(word):
            forms.update(translation.split())
            if not has_han(translation):
                forms.update(_inflections(translation))
        if forms:
            found[word] = frozenset(forms)
    return found


def _phrases(tokens: Sequence[str]) -> list[str]:
    """Return the words of TOKENS worth translating, and their two-word English phrases.

    A single Chinese character ("把", "用", "包") has too many senses to translate alone,
    and so has an English word under three letters; numbers are the same in both languages.
    """
    words = [t for t in tokens if not t.isdigit() and (len(t) >= 2 if has_han(t) else len(t) >= 3)]
    pairs = [
        f"{a} {b}"
        for a, b in pairwise(tokens)
        if a.isalpha() and b.isalpha() and not has_han(a + b)
    ]
    return list(dict.fromkeys([*words, *pairs]))


def _inflections(word: str) -> list[str]:
    """Return the forms of the English WORD that a plural or suffix makes."""
    if len(word) < 3 or " " in word:
        return []
    forms = [word + s for s in _SUFFIXES]
    if word[-1] not in "aeiouwxy":
        forms.extend(word + word[-1] + s for s in _DOUBLING)
    if word[-1] == "y" and word[-2] not in "aeiou":  # proxy -> proxies, copy -> copied
        forms.extend((word[:-1] + "ies", word[:-1] + "ied"))
    if word[-1] == "e":  # use -> using
        forms.append(word[:-1] + "ing")
    return forms
