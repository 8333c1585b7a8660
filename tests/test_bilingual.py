"""Cross-lingual keyword search: translated query tokens, and the extra ranking they give."""

from __future__ import annotations

from pathlib import Path

from fakes import DictionaryTranslator, make_fake_parts

from ragkb.config import load_settings
from ragkb.kb import KnowledgeBase
from ragkb.query.bilingual import MAX_ALTERNATIVES, translated_groups

PAIRS = {
    "日志": ("journal", "log"),
    "轮转": ("rotate",),
    "signals": ("信号", "讯号"),
    "console": ("控制台",),
}


def test_each_word_gives_one_group_of_new_tokens() -> None:
    translator = DictionaryTranslator({**PAIRS, "文件": ("file", "log")})
    groups = translated_groups(["日志", "文件", "日志", "log"], translator)
    assert [g[0] for g in groups] == ["journal", "file"]
    assert "log" not in {t for g in groups for t in g}  # the question has it already
    assert translator.looked_up == ["日志", "文件", "log"]  # each word once


def test_a_translation_brings_each_of_its_tokens() -> None:
    (group,) = translated_groups(["没有"], DictionaryTranslator({"没有": ("haven t",)}))
    assert group == ["haven", "t"]  # no inflections of a cut phrase
    (group,) = translated_groups(["console"], DictionaryTranslator({"console": ("控制 控制台",)}))
    assert group == ["控制", "控制台"]


def test_only_what_the_index_holds_is_kept_with_its_inflections() -> None:
    index = {"logs", "logging", "rotated", "journal"}
    groups = translated_groups(["日志", "轮转"], DictionaryTranslator(PAIRS), index.__contains__)
    assert groups == [["journal", "logs", "logging"], ["rotated"]]


def test_a_word_keeps_its_first_few_translations_the_index_holds() -> None:
    words = tuple(f"w{i}" for i in range(20))
    held = set(words[1:])  # the dictionary's first sense is not in this knowledge base
    (group,) = translated_groups(["包裹"], DictionaryTranslator({"包裹": words}), held.__contains__)
    assert group == list(words[1 : 1 + MAX_ALTERNATIVES])


def test_unknown_words_translate_to_nothing() -> None:
    assert translated_groups(["xyzzy", "的"], DictionaryTranslator(PAIRS)) == []


def _kb(docs: Path, translator: DictionaryTranslator | None) -> KnowledgeBase:
    settings = load_settings({"mode": "keyword"})
    kb = KnowledgeBase(settings, parts=make_fake_parts(settings, translator=translator))
    kb.ingest([str(docs)])
    return kb


def _write_docs(docs: Path) -> Path:
    docs.mkdir()
    (docs / "logging.md").write_text(
        "# Logging\n\nThe handler rotates the logs every night and keeps seven of them.\n"
    )
    (docs / "signals.md").write_text("# 信号\n\n进程收到信号后会退出，除非它处理了这个信号。\n")
    (docs / "other.md").write_text("# Other\n\nNothing here is about the question at all.\n")
    return docs


def test_a_chinese_question_finds_the_english_passage_through_its_translation(
    tmp_path: Path,
) -> None:
    docs = _write_docs(tmp_path / "docs")
    question = "日志 多久 轮转 一次"
    assert not _kb(docs, None).search(question, k=3)  # no word in common
    hits = _kb(docs, DictionaryTranslator(PAIRS)).search(question, k=3)
    assert [Path(h.source).name for h in hits[:1]] == ["logging.md"]


def test_an_english_question_finds_the_chinese_passage(tmp_path: Path) -> None:
    docs = _write_docs(tmp_path / "docs")
    hits = _kb(docs, DictionaryTranslator(PAIRS)).search("what happens on signals", k=3)
    assert [Path(h.source).name for h in hits[:1]] == ["signals.md"]


def test_the_translated_search_keeps_a_filter(tmp_path: Path) -> None:
    from ragkb.types import Filter

    docs = _write_docs(tmp_path / "docs")
    kb = _kb(docs, DictionaryTranslator(PAIRS))
    scoped = kb.search("日志 轮转", k=3, scope=Filter(paths=("*other*",)))
    assert all(Path(h.source).name == "other.md" for h in scoped)


def test_single_characters_short_words_and_numbers_are_not_translated() -> None:
    translator = DictionaryTranslator({"把": ("hold",), "of": ("的",), "25": ("二十五",)})
    assert translated_groups(["把", "of", "25"], translator) == []
    assert translator.looked_up == []


def test_english_word_pairs_are_looked_up_as_phrases() -> None:
    translator = DictionaryTranslator({"caps lock": ("大写 锁定",), "lock": ("锁",)})
    groups = translated_groups(["caps", "lock", "key"], translator)
    assert any("锁定" in g for g in groups)  # only the phrase gives it: "lock" alone is 锁
    assert "caps lock" in translator.looked_up


def test_the_translated_search_adds_only_passages_in_the_other_language(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "mixed.md").write_text("# 说明\n\n这个程序把 log 写进一个文件，每天换一个新的文件。\n")
    kb = _kb(docs, DictionaryTranslator(PAIRS))
    # "日志" translates to "log", which only a Chinese passage holds: the first keyword
    # search already covers the question's own language, so nothing is added.
    assert kb.search("日志", k=3) == []
    assert [Path(h.source).name for h in kb.search("log", k=3)] == ["mixed.md"]
