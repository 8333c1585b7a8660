"""Gold-file parsing and rank bookkeeping of `ragkb eval` (no models needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragkb.errors import ConfigError, UsageError
from ragkb.evaluation import _metrics, _ranks, read_gold
from ragkb.types import Hit


def _hit(rank: int, source: str, page: int | None = None) -> Hit:
    return Hit(f"c{rank}", "text", f"/docs/{source}", page, None, 0.5, 0.5, rank)


def _gold(tmp_path: Path, *objects: dict) -> Path:
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(json.dumps(o) for o in objects) + "\n", encoding="utf-8")
    return path


def test_read_gold_single_multi_and_absent(tmp_path: Path) -> None:
    path = _gold(
        tmp_path,
        {"id": "a", "question": "q1", "source": "dir/a.pdf", "page": 3, "kind": "close"},
        {"id": "b", "question": "q2", "source": ["a.pdf", "b.docx"], "page": 9, "kind": "multi"},
        {"id": "c", "question": "什么是向量？", "unanswerable": True},
    )
    single, multi, absent = read_gold(path)
    assert single.sources == ("a.pdf",) and single.page == 3 and single.kind == "close"
    assert multi.sources == ("a.pdf", "b.docx") and multi.page is None  # page ignored for multi
    assert absent.sources == () and absent.unanswerable and absent.lang == "zh"


def test_read_gold_rejects_a_line_without_question(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=":2:"):
        read_gold(_gold(tmp_path, {"question": "ok", "source": "a.pdf"}, {"id": "x"}))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        # A natural guess at the format (a new-user trial): silently, every question was
        # answerable with no source, and the figures were wrong without a word.
        (
            {"question": "q", "sources": ["a.pdf"]},
            'unknown field "sources" (did you mean "source"?)',
        ),
        ({"question": "q", "absent": True}, 'unknown field "absent"'),
        ({"question": "q"}, 'an answerable question needs "source"'),
        ({"question": "q", "source": "a.pdf", "page": "3"}, '"page" must be a page number'),
        ({"question": "q", "source": "a.pdf", "answer_any": "x"}, '"answer_any" must be a list'),
        ({"question": "q", "unanswerable": "yes"}, '"unanswerable" must be true or false'),
        ({"question": "q", "source": 7}, '"source" must be a file name'),
    ],
)
def test_read_gold_names_what_is_wrong_with_a_line(
    tmp_path: Path, line: dict, message: str
) -> None:
    with pytest.raises(ConfigError, match=":1: ") as caught:
        read_gold(_gold(tmp_path, line))
    assert message in str(caught.value)


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_a_gold_file_without_questions_is_a_usage_error(tmp_path: Path, text: str) -> None:
    gold = tmp_path / "gold.jsonl"
    gold.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match="no gold questions"):
        read_gold(gold)


def test_read_gold_reports_a_line_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_text('{"question": "q", "source": "a.pdf"}\n{not json\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"gold.jsonl:2: not JSON"):
        read_gold(path)


def test_ranks_single_source_respects_the_page(tmp_path: Path) -> None:
    (q,) = read_gold(_gold(tmp_path, {"question": "q", "source": "a.pdf", "page": 2}))
    hits = [_hit(1, "a.pdf", 1), _hit(2, "b.pdf", 2), _hit(3, "a.pdf", 2)]
    assert _ranks(hits, q) == (3, 3)


def test_ranks_multi_source_needs_every_document(tmp_path: Path) -> None:
    (q,) = read_gold(_gold(tmp_path, {"question": "q", "source": ["a.pdf", "b.docx"]}))
    assert _ranks([_hit(1, "c.pdf"), _hit(2, "a.pdf"), _hit(3, "a.pdf")], q) == (2, None)
    hits = [_hit(1, "b.docx"), _hit(2, "a.pdf"), _hit(3, "c.pdf")]
    assert _ranks(hits, q) == (1, 2)


def _row(rank: int | None, *, refused: bool, absent: bool = False, near: bool = False) -> dict:
    return {
        "rank": rank,
        "covered_rank": rank,
        "refused": refused,
        "unanswerable": absent,
        "near_miss": near,
    }


def test_a_refused_answerable_question_is_not_a_hit() -> None:
    rows = [
        _row(1, refused=False),
        _row(1, refused=True),  # ranked first, but ask would refuse: a miss
        _row(None, refused=True, absent=True, near=True),
        _row(None, refused=False, absent=True),
    ]
    m = _metrics(rows, answers=False)
    assert m["hit@1"] == m["hit@5"] == m["mrr"] == 0.5
    assert m["ranked_hit@5"] == 1.0
    assert m["false_refusal_rate"] == 0.5
    assert m["refusal_rate_absent"] == 0.5 and m["refusal_rate_near_miss"] == 1.0
    assert m["refusal_precision"] == 0.5  # one of the two refusals was right


def test_only_a_generated_answer_can_loop() -> None:
    def answered(repeats: bool | None) -> dict:
        return {
            **_row(1, refused=False),
            "answer_has_span": True,
            "evidence_has_span": True,
            "answer_repeats": repeats,
            "language_match": True,
            "seconds": 1.0,
        }

    # The extractive answer (None) is the documents' own table: not the model looping.
    m = _metrics([answered(True), answered(False), answered(None)], answers=True)
    assert m["answers_repeating"] == 0.5


CHECK_GOLD = Path(__file__).resolve().parent.parent / "bench" / "data" / "check_gold.py"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("corpus", "gold"),
    [
        ("external", "gold.jsonl"),
        ("external", "heldout.jsonl"),
        ("corpus_b", "gold.jsonl"),
        ("corpus_c", "gold.jsonl"),
        ("corpus_d", "gold.jsonl"),
        ("corpus_e", "gold.jsonl"),
        ("corpus_f", "gold.jsonl"),
        ("corpus_g", "gold.jsonl"),
        ("corpus_h", "gold.jsonl"),
        ("corpus_i", "gold.jsonl"),
        ("corpus_j", "gold.jsonl"),
        ("corpus_k", "gold.jsonl"),
        ("corpus_l", "gold.jsonl"),
    ],
)
def test_gold_files_match_the_text_ragkb_extracts(corpus: str, gold: str) -> None:
    import subprocess
    import sys

    path = CHECK_GOLD.parent / corpus / gold
    done = subprocess.run(
        [sys.executable, str(CHECK_GOLD), corpus, "--gold", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith("OK")
