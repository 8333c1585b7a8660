"""Rank fusion and the one score scale for both distance metrics."""

from __future__ import annotations

import pytest

from ragkb.errors import ConfigError
from ragkb.index.vectors import distance_to_score
from ragkb.query.candidates import RRF_K, fuse_rankings


def test_fuse_rankings_sums_reciprocal_ranks() -> None:
    fused = fuse_rankings([["a", "b", "c"], ["c", "d"]])
    assert fused == pytest.approx(
        {
            "a": 1 / (RRF_K + 1),
            "b": 1 / (RRF_K + 2),
            "c": 1 / (RRF_K + 3) + 1 / (RRF_K + 1),
            "d": 1 / (RRF_K + 2),
        }
    )
    assert next(iter(fused)) == "c"  # found by both lists


def test_ids_in_both_lists_rank_first() -> None:
    vector = [f"v{i}" for i in range(10)] + ["both1", "both2"]
    keyword = ["both2", "k1", "k2", "both1", "k3"]
    ranked = list(fuse_rankings([vector, keyword]))
    assert set(ranked[:2]) == {"both1", "both2"}
    assert ranked.index("both2") < ranked.index("both1")
    assert len(ranked) == len(set(vector) | set(keyword))


def test_fuse_rankings_is_sorted_best_first_and_uses_k() -> None:
    fused = fuse_rankings([["x", "y"], ["y"]], k=0)
    assert fused == pytest.approx({"y": 1 / 2 + 1 / 1, "x": 1.0})
    assert list(fused) == ["y", "x"]
    scores = list(fuse_rankings([list("abcdef"), list("fedcba")]).values())
    assert scores == sorted(scores, reverse=True)


def test_fuse_rankings_of_nothing() -> None:
    assert fuse_rankings([]) == {}
    assert fuse_rankings([[], []]) == {}


def test_distance_to_score_per_metric() -> None:
    assert distance_to_score(0.0, "cosine") == 1.0
    assert distance_to_score(0.25, "cosine") == pytest.approx(0.75)
    assert distance_to_score(0.0, "l2") == 1.0
    assert distance_to_score(0.5, "l2") == pytest.approx(0.75)
    assert distance_to_score(4.0, "l2") == pytest.approx(-1.0)  # opposite unit vectors
    with pytest.raises(ConfigError, match="ip"):
        distance_to_score(0.1, "ip")


def test_both_metrics_give_the_cosine_similarity() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    for _ in range(50):
        a, b = rng.normal(size=(2, 384))
        a /= np.linalg.norm(a)
        b /= np.linalg.norm(b)
        cosine = float(a @ b)
        # What Chroma reports: cosine distance 1 - cos, and the *squared* L2 distance.
        cosine_distance = 1.0 - cosine
        squared_l2 = float(np.sum((a - b) ** 2))
        assert distance_to_score(cosine_distance, "cosine") == pytest.approx(cosine, abs=1e-9)
        assert distance_to_score(squared_l2, "l2") == pytest.approx(cosine, abs=1e-9)
