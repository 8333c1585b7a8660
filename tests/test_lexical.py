"""Keyword tokens: English words and jieba-segmented Chinese."""

from __future__ import annotations

from ragkb.language import keyword_tokens
from ragkb.query.names import WordSet, unknown_terms


def test_english_is_lowercased_without_stopwords_or_punctuation() -> None:
    assert keyword_tokens("The Quick BROWN fox is in the box!") == ["quick", "brown", "fox", "box"]


def test_words_with_digits_and_underscores() -> None:
    assert keyword_tokens("BM25 scores snake_case v2.1") == [
        "bm25",
        "scores",
        "snake",
        "case",
        "v2",
        "1",
    ]


def test_chinese_is_segmented_into_words() -> None:
    tokens = keyword_tokens("检索增强生成")
    assert {"检索", "增强", "生成"} <= set(tokens)
    assert "检索增强生成" not in tokens


def test_chinese_stopwords_are_removed() -> None:
    tokens = keyword_tokens("什么是余弦相似度的计算方法")
    assert "什么" not in tokens
    assert "是" not in tokens
    assert "的" not in tokens
    assert {"余弦", "计算", "方法"} <= set(tokens)


def test_mixed_text_with_spaces() -> None:
    tokens = keyword_tokens("用 BM25 and 向量 检索 the 文档")
    assert {"bm25", "向量", "检索", "文档"} <= set(tokens)
    assert "and" not in tokens
    assert "the" not in tokens


def test_mixed_text_without_spaces_is_split_at_the_script_change() -> None:
    tokens = keyword_tokens("GPU加速的检索增强生成用BM25")
    assert {"gpu", "加速", "检索", "bm25"} <= set(tokens)
    assert not any("gpu" in t and t != "gpu" for t in tokens)


def test_nothing_to_index() -> None:
    assert keyword_tokens("") == []
    assert keyword_tokens("the and of ？！。, ...") == []


def _common(word: str) -> bool:
    return word in {"threads", "install", "package", "pinyin"}


def test_unknown_terms_are_names_the_documents_never_use() -> None:
    vocabulary = WordSet({"command", "reconfigure", "locales", "package", "libtasn1", "apt"})
    question = keyword_tokens("Which command reconfigures locales with timedatectl and XER?")
    assert unknown_terms(question, vocabulary, _common) == ["timedatectl", "xer"]


def test_common_words_inflections_and_chinese_are_never_unknown() -> None:
    vocabulary = WordSet({"reconfigure", "thread"})
    tokens = ["threads", "reconfigures", "pinyin", "蓝牙耳机", "libtasn1"]
    assert unknown_terms(tokens, vocabulary, _common) == ["libtasn1"]
    assert unknown_terms([], vocabulary, _common) == []


def test_a_chinese_questions_latin_words_are_names_however_common() -> None:
    vocabulary = WordSet({"debian", "fi"})
    every_word_common = lambda word: True  # noqa: E731 - RAID, hostapd: one piece each
    question = "怎样在 Debian 上用 hostapd 把无线网卡设置成 Wi-Fi 热点，再配成 RAID 1？"
    # named as written ("wi-fi", not the token "wi"); digits are never names
    assert unknown_terms(
        keyword_tokens(question), vocabulary, every_word_common, question=question
    ) == ["hostapd", "wi-fi", "raid"]
    # an English question's common words may be the documents' Chinese words, translated
    english = "How do I set up RAID 1 with hostapd on Debian?"
    assert (
        unknown_terms(keyword_tokens(english), vocabulary, every_word_common, question=english)
        == []
    )
