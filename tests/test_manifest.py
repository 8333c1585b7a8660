"""One fingerprint, one check, one error (ragkb.index.manifest)."""

from __future__ import annotations

from typing import Any

import pytest

from ragkb.errors import EXIT_MISMATCH, StoreMismatchError
from ragkb.index.manifest import (
    HARD_KEYS,
    SOFT_KEYS,
    check_fingerprint,
    effective_metric,
    fingerprint,
)


def _fingerprint(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "embedder": "fake-hash-64",
        "query_prefix": "",
        "passage_prefix": "",
        "metric": "cosine",
        "chunk_tokens": 200,
        "overlap_tokens": 32,
        "chunker_version": 3,
        "dimension": 64,
    }
    values.update(changes)
    return fingerprint(**values)


def test_fingerprint_records_every_key() -> None:
    assert set(_fingerprint()) == set(HARD_KEYS) | set(SOFT_KEYS)
    assert "dimension" not in _fingerprint(dimension=None)


@pytest.mark.parametrize(
    ("stored", "current"),
    [
        (None, _fingerprint()),
        ({}, _fingerprint()),
        (_fingerprint(), _fingerprint()),
        # no dimension before the embedder loads, on either side: not a difference
        (_fingerprint(), _fingerprint(dimension=None)),
        (_fingerprint(dimension=None), _fingerprint()),
    ],
)
def test_check_fingerprint_no_change(
    stored: dict[str, Any] | None, current: dict[str, Any]
) -> None:
    assert check_fingerprint(stored, current, kb="docs") is False


@pytest.mark.parametrize(
    ("key", "stored_value", "current_value"),
    [
        ("embedder", "fake-hash-64", "other-model"),
        ("dimension", 64, 384),
        ("normalized", False, True),
        ("passage_prefix", "", "passage: "),
        ("query_prefix", "", "query: "),
        ("metric", "cosine", "l2"),
    ],
)
def test_check_fingerprint_hard_key_differs(
    key: str, stored_value: Any, current_value: Any
) -> None:
    stored = {**_fingerprint(), key: stored_value}
    current = {**_fingerprint(), key: current_value}
    with pytest.raises(StoreMismatchError) as caught:
        check_fingerprint(stored, current, kb="docs")
    message = str(caught.value)
    assert f"{key}: stored {stored_value!r}, now {current_value!r}" in message
    assert "knowledge base 'docs'" in message
    assert "ragkb reset --kb docs" in message
    assert caught.value.exit_code == EXIT_MISMATCH == 7
    if key == "metric":
        assert "the metric is fixed at creation" in message
    else:
        assert "the metric is fixed" not in message
        assert "vectors from different settings cannot be mixed" in message


def test_check_fingerprint_names_every_hard_difference() -> None:
    stored = _fingerprint()
    current = _fingerprint(embedder="other-model", metric="l2", chunk_tokens=100)
    with pytest.raises(StoreMismatchError) as caught:
        check_fingerprint(stored, current, kb="docs")
    message = str(caught.value)
    assert "embedder: stored 'fake-hash-64', now 'other-model'" in message
    assert "metric: stored 'cosine', now 'l2'" in message
    assert "chunk_tokens" not in message  # soft keys are no mismatch
    assert "the metric is fixed" not in message


@pytest.mark.parametrize(
    ("key", "value"), [("chunk_tokens", 100), ("overlap_tokens", 0), ("chunker_version", 4)]
)
def test_check_fingerprint_soft_key_means_rechunk(key: str, value: int) -> None:
    assert check_fingerprint(_fingerprint(), _fingerprint(**{key: value}), kb="docs") is True


@pytest.mark.parametrize(
    ("stored", "configured", "explicit", "expected"),
    [
        (None, "cosine", False, "cosine"),  # no stored fingerprint: configured
        (None, "l2", True, "l2"),
        ({}, "l2", False, "l2"),
        ({"embedder": "x"}, "l2", False, "l2"),  # an older fingerprint without a metric
        ({"metric": "l2"}, "cosine", False, "l2"),  # the stored metric wins
        ({"metric": "cosine"}, "l2", False, "cosine"),
        ({"metric": "l2"}, "cosine", True, "cosine"),  # unless set explicitly
        ({"metric": "l2"}, "l2", True, "l2"),
    ],
)
def test_effective_metric(
    stored: dict[str, Any] | None, configured: str, explicit: bool, expected: str
) -> None:
    assert effective_metric(stored, configured, explicit=explicit) == expected
