"""The CC-CEDICT lexicon: real look-ups, and the cache that spares each search the parse."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ragkb.models.lexicon import MAX_HEADWORDS, Lexicon, bundled_lexicon


@pytest.fixture(scope="module")
def lexicon_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lexicon-cache")


@pytest.fixture(scope="module")
def lexicon(lexicon_cache: Path) -> Lexicon:
    built = bundled_lexicon(lexicon_cache)
    built.prepare()
    return built


def test_chinese_words_give_their_english_glosses(lexicon: Lexicon) -> None:
    assert "log" in lexicon.translations("日志")
    assert "processor" in lexicon.translations("处理器")
    assert "signal" in lexicon.translations("信号")


def test_english_words_give_the_chinese_words_that_gloss_them(lexicon: Lexicon) -> None:
    assert "信号" in lexicon.translations("signal")
    assert "信号" in lexicon.translations("signals")  # the plural finds the headword
    assert "处理器" in lexicon.translations("processors")[0].split()  # cut as the index cuts
    assert "内核" in lexicon.translations("kernel")  # its fourth sense, "(computing) kernel"
    assert "大写 锁定" in lexicon.translations("caps lock")  # a two-word sense
    assert len(lexicon.translations("file")) <= MAX_HEADWORDS  # the most frequent, not all


def test_equivalents_come_cut_into_the_index_s_keyword_tokens(lexicon: Lexicon) -> None:
    assert any("控制台" in e.split() for e in lexicon.translations("console"))
    assert "haven t" in lexicon.translations("没有")  # "haven't", as the index cuts it


def test_unknown_words_and_function_words_translate_to_nothing(lexicon: Lexicon) -> None:
    assert lexicon.translations("xyzzyplugh") == ()
    assert lexicon.translations("鿏鿏鿏") == ()
    assert "the" not in lexicon.translations("日志")  # gloss stop words are dropped


def test_the_parsed_tables_are_kept_in_the_cache(lexicon: Lexicon, lexicon_cache: Path) -> None:
    kept = list(lexicon_cache.glob("lexicon-*.sqlite3"))
    assert len(kept) == 1
    again = Lexicon(lexicon.path, cache=lexicon_cache)
    assert again.translations("日志") == lexicon.translations("日志")
    assert again._memory is None  # read from the cached file, not parsed again


def test_a_damaged_cache_is_rebuilt(lexicon: Lexicon, tmp_path: Path) -> None:
    Lexicon(lexicon.path, cache=tmp_path).prepare()
    (kept,) = tmp_path.glob("lexicon-*.sqlite3")
    kept.write_bytes(b"not a database")
    damaged = Lexicon(lexicon.path, cache=tmp_path)
    assert "log" in damaged.translations("日志")  # parsed in memory this time
    assert not kept.exists()  # and the next process builds the file again


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_cache_still_translates(lexicon: Lexicon, tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        assert "log" in Lexicon(lexicon.path, cache=tmp_path).translations("日志")
    finally:
        tmp_path.chmod(0o700)


def test_a_cache_folder_that_cannot_be_made_still_translates(
    lexicon: Lexicon, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    assert "log" in Lexicon(lexicon.path, cache=blocker / "cache").translations("日志")


def test_a_relative_cache_folder_works(
    lexicon: Lexicon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert "log" in Lexicon(lexicon.path, cache=Path("cache")).translations("日志")
    assert list((tmp_path / "cache").glob("lexicon-*.sqlite3"))


def test_the_cache_is_named_by_content_and_stale_files_go(lexicon: Lexicon, tmp_path: Path) -> None:
    # Named by the file time, each new virtualenv wrote an 11 MB copy, never removed.
    stale = [
        tmp_path / "lexicon-3-3817593-1796610548.sqlite3",  # an earlier format
        tmp_path / "lexicon-4-3817593-1796614371.sqlite3",  # named by size and time
    ]
    other = tmp_path / "lexicon-4-0123456789abcdef.sqlite3"  # another install's dictionary
    for path in (*stale, other):
        path.write_bytes(b"old")
    copy = tmp_path / "dictionary" / lexicon.path.name
    copy.parent.mkdir()
    copy.write_bytes(lexicon.path.read_bytes())
    os.utime(copy, (1, 1))  # another install: same content, another file time
    Lexicon(lexicon.path, cache=tmp_path).prepare()
    Lexicon(copy, cache=tmp_path).prepare()
    kept = sorted(p.name for p in tmp_path.glob("lexicon-*.sqlite3"))
    assert len(kept) == 2 and other.name in kept  # one file for both, and the other's
    assert not any(path.exists() for path in stale)
