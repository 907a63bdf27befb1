"""Representative days: clustering finds planted groups, weights count the days."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optimizer.studies.representative import choose_days, daily_features, k_medoids

TZ = "Asia/Shanghai"


def _year(days: int = 60) -> pd.DataFrame:
    """Days of three kinds (sunny, cloudy, high load) with a little noise."""
    rng = np.random.default_rng(3)
    index = pd.date_range("2026-01-01", periods=24 * days, freq="h", tz=TZ).tz_convert("UTC")
    hour = np.arange(24)
    sun = np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None)
    kinds = np.arange(days) % 3
    pv = np.concatenate([sun * (1.0 if k != 1 else 0.2) for k in kinds])
    load = np.concatenate([np.full(24, 1.0 if k != 2 else 3.0) for k in kinds])
    pv = pv + rng.normal(0, 0.01, pv.size).clip(0)
    return pd.DataFrame({"pv.available_kw": pv, "home.forecast_kw": load, "flat": 1.0}, index=index)


def test_features_are_scaled_local_hours() -> None:
    table = _year(6)
    features = daily_features(table, TZ)
    assert features.shape == (6, 2 * 24)  # the flat column is dropped
    assert features.to_numpy().max() == pytest.approx(1.0)
    assert str(features.index[0]) == "2026-01-01"


def test_k_medoids_finds_planted_clusters() -> None:
    points = np.array([0.0, 0.1, 0.2, 5.0, 5.1, 9.0, 9.2, 9.1])
    d = np.abs(points[:, None] - points[None, :])
    medoids, labels = k_medoids(d, 3)
    assert sorted(points[medoids]) == [0.1, 5.0, 9.1] or sorted(points[medoids]) == [0.1, 5.1, 9.1]
    assert len(set(labels[:3])) == 1 and len(set(labels[5:])) == 1
    assert labels[0] != labels[3] != labels[5]


def test_weights_are_cluster_sizes() -> None:
    table = _year(60)
    rep = choose_days(table, TZ, 3)
    assert len(rep.days) == 3
    assert sum(rep.weights) == 60
    assert sorted(rep.weights) == [20, 20, 20]
    # each calendar day maps to a representative of its own kind
    kinds = {d: i % 3 for i, d in enumerate(rep.assignment.index)}
    for day, representative in rep.assignment.items():
        assert kinds[day] == kinds[representative]


def test_hardest_day_is_added() -> None:
    table = _year(30)
    table.iloc[24 * 7 : 24 * 8, 1] = 10.0  # day 8 has a huge load
    residual = table["home.forecast_kw"] - table["pv.available_kw"]
    rep = choose_days(table, TZ, 2, residual_load=residual)
    hardest = rep.assignment.index[7]
    assert hardest in rep.days
    assert dict(zip(rep.days, rep.weights, strict=True))[hardest] == 1
    assert sum(rep.weights) == 30


def test_naive_index_is_refused() -> None:
    table = _year(3)
    table.index = table.index.tz_localize(None)
    with pytest.raises(ValueError, match="tz-aware"):
        daily_features(table, TZ)
