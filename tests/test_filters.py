"""Filters: which files a search may draw on, applied inside the vector and keyword search."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from fakes import make_fake_parts

from ragkb.config import load_settings
from ragkb.errors import UsageError
from ragkb.kb import KnowledgeBase
from ragkb.query.filters import _matches, parse_filter
from ragkb.types import Filter

if TYPE_CHECKING:
    from pathlib import Path

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_times_are_dates_datetimes_or_ages() -> None:
    scope = parse_filter(since="7d", until="2026-12-01T10:00+00:00", now=NOW)
    assert scope.since == datetime(2026, 11, 24, 12, 0, tzinfo=UTC).timestamp()
    assert scope.until == datetime(2026, 12, 1, 10, 0, tzinfo=UTC).timestamp()
    assert parse_filter(modified_since="2w", now=NOW).modified_since == (
        datetime(2026, 11, 17, 12, 0, tzinfo=UTC).timestamp()
    )
    assert parse_filter(since="2026-11-01").since == datetime(2026, 11, 1).timestamp()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"since": "last tuesday"}, "--since 'last tuesday'"),
        ({"modified_until": "7 days"}, "--modified-until"),
        ({"types": ["pdf", "xlsx"]}, "--type 'xlsx': expected one of pdf, docx, md, txt, image"),
    ],
)
def test_a_bad_filter_is_a_usage_error_naming_the_option(options: dict[str, Any], message) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")) as caught:
        parse_filter(**options)
    assert caught.value.exit_code == 2


def test_globs_match_whole_paths_or_any_tail() -> None:
    assert _matches("/home/a/contracts/2026/lease.pdf", "*/contracts/*")
    assert _matches("/home/a/contracts/2026/lease.pdf", "contracts/*.pdf")  # * crosses folders
    assert _matches("/home/a/contracts/lease.pdf", "lease.pdf")
    assert not _matches("/home/a/contracts/lease.pdf", "/contracts/*")  # absolute: from the root
    assert not _matches("/home/a/notes/lease.md", "*.pdf")


def test_an_existing_folder_means_everything_under_it(tmp_path: Path) -> None:
    (tmp_path / "contracts").mkdir()
    scope = parse_filter(paths=[str(tmp_path / "contracts")])
    assert scope.paths == (str((tmp_path / "contracts").resolve()) + "/*",)


def test_describe_lists_only_what_is_set() -> None:
    assert Filter().describe() == {} and Filter().is_empty()
    scope = parse_filter(types=["PDF"], tags=["x"], since="2026-11-01T00:00+00:00")
    assert scope.describe() == {
        "types": ["pdf"],
        "tags": ["x"],
        "since": "2026-11-01T00:00:00+00:00",
    }


def _corpus(root: Path) -> tuple[Path, Path]:
    """Twelve files on caches in one folder, two weaker ones in another."""
    strong, weak = root / "strong", root / "weak"
    strong.mkdir(parents=True)
    weak.mkdir()
    for i in range(12):
        (strong / f"cache-{i}.md").write_text(
            f"# Cache {i}\n\nThe cache eviction policy {i} evicts the least recently used "
            "cache entry when the cache is full.\n",
            encoding="utf-8",
        )
    for i in range(2):
        text = "\n\n".join(
            f"## Part {j}\n\nGardening note {i}.{j}: the cache of seeds is kept dry."
            for j in range(4)
        )
        (weak / f"garden-{i}.txt").write_text(text + "\n", encoding="utf-8")
    return strong, weak


def _kb(**flags: Any) -> KnowledgeBase:
    settings = load_settings({"chunk_tokens": 24, "overlap_tokens": 0, **flags})
    return KnowledgeBase(settings, parts=make_fake_parts(settings))


@pytest.mark.parametrize("mode", ["hybrid", "vector", "keyword"])
def test_a_filter_returns_k_hits_from_inside_it(tmp_path: Path, mode: str) -> None:
    """Trimming the global top k to the filter would return fewer than k here: the twelve
    strong files outrank most chunks of the weak folder."""
    _, weak = _corpus(tmp_path / "docs")
    kb = _kb()
    kb.ingest([str(tmp_path / "docs")])
    unfiltered = kb.search("cache eviction", k=5, mode=mode)
    assert sum(h.source.startswith(str(weak)) for h in unfiltered) < 3
    hits = kb.search("cache eviction", k=5, mode=mode, scope=parse_filter(paths=[str(weak)]))
    assert len(hits) == 5
    assert all(h.source.startswith(str(weak)) for h in hits)
    by_type = kb.search("cache", k=3, mode=mode, scope=parse_filter(types=["txt"]))
    assert by_type and all(h.source.endswith(".txt") for h in by_type)


def test_a_filter_that_matches_nothing_finds_nothing(tmp_path: Path) -> None:
    _corpus(tmp_path / "docs")
    kb = _kb()
    kb.ingest([str(tmp_path / "docs")])
    retrieval = kb.retrieve("cache eviction", scope=parse_filter(types=["pdf"]))
    assert retrieval.hits == () and retrieval.relevant == ()


def test_tags_are_given_at_ingest_and_kept_by_later_runs(tmp_path: Path) -> None:
    strong, weak = _corpus(tmp_path / "docs")
    kb = _kb()
    kb.ingest([str(strong)], tags=["project-x"])
    kb.ingest([str(weak)], prune=False)
    (strong / "cache-0.md").write_text("# Cache 0\n\nThe cache is now write-through.\n", "utf-8")
    kb.ingest([str(tmp_path / "docs")])  # no --tag: cache-0 changed, its tag stays
    tagged = {r.path for r in kb.files() if "project-x" in r.tags}
    assert tagged == {str(p) for p in strong.iterdir()}
    hits = kb.search("cache", k=20, scope=parse_filter(tags=["project-x"]))
    assert hits and {h.source for h in hits} <= tagged
    assert any(h.source.endswith("cache-0.md") for h in hits)


def test_ingest_and_modification_times_scope_a_search(tmp_path: Path) -> None:
    import os

    strong, weak = _corpus(tmp_path / "docs")
    old = datetime(2020, 1, 1, tzinfo=UTC).timestamp()
    for path in weak.iterdir():
        os.utime(path, (old, old))
    kb = _kb()
    kb.ingest([str(tmp_path / "docs")])
    recent = kb.search("cache seeds", k=20, scope=parse_filter(modified_since="2021-01-01"))
    assert recent and all(h.source.startswith(str(strong)) for h in recent)
    before = kb.search("cache seeds", k=20, scope=parse_filter(modified_until="2021-01-01"))
    assert before and all(h.source.startswith(str(weak)) for h in before)
    assert kb.search("cache", scope=parse_filter(since="1h"))  # all ingested just now
    assert kb.search("cache", scope=parse_filter(until="1h")) == []
    record = next(r for r in kb.files() if r.path.startswith(str(weak)))
    assert record.mtime == old
