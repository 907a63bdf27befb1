"""Limits as input changes: hand-checked caps, overlaps and critical-peak prices."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from api.services.limit_inputs import Limit, apply_limits, input_limits, limit_errors
from sites.load import load_site
from sites.timeindex import day_index

SITE = load_site(Path(__file__).parents[2] / "sites" / "demo_village.yaml")
INDEX = day_index(SITE, date(2026, 7, 1))
ARRAYS = [a.name for a in SITE.devices if a.kind == "pv_array"]


def local(hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 7, 1, hh, mm, tzinfo=SITE.tz)


def inputs() -> pd.DataFrame:
    frame = pd.DataFrame({a: np.full(len(INDEX), 10.0 * (i + 1)) for i, a in
                          enumerate(f"{n}.available_kw" for n in ARRAYS)}, index=INDEX)
    frame["grid.export_limit_kw"] = 100.0
    frame["grid.import_price_per_kwh"] = 0.6
    return frame


def at(frame: pd.DataFrame, hh: int, mm: int = 0) -> pd.Series:
    return frame.loc[pd.Timestamp(local(hh, mm)).tz_convert(UTC)]


def test_curtailment_scales_every_array_by_the_same_share() -> None:
    limits = input_limits(SITE, INDEX, [Limit(1, "curtailment", local(11), local(12), 30.0)])
    out = apply_limits(inputs(), limits)
    total = 10 + 20 + 30 + 40 + 50  # 150 kW available, capped to 30: a fifth of each
    row = at(out, 11, 30)
    assert row[[f"{a}.available_kw" for a in ARRAYS]].tolist() == pytest.approx(
        [v * 30 / total for v in (10, 20, 30, 40, 50)])
    assert at(out, 12)[f"{ARRAYS[0]}.available_kw"] == 10  # the cap has ended
    assert at(out, 10, 45)[f"{ARRAYS[0]}.available_kw"] == 10  # not yet begun


def test_overlapping_caps_meet_at_the_smaller_and_partial_intervals_count_whole() -> None:
    caps = [Limit(1, "export_cap", local(11), local(13), 40.0),
            Limit(2, "export_cap", local(12, 10), local(14), 25.0)]
    limits = input_limits(SITE, INDEX, caps)
    out = apply_limits(inputs(), limits)
    assert at(out, 11)["grid.export_limit_kw"] == 40
    assert at(out, 12)["grid.export_limit_kw"] == 25  # 12:00–12:15 overlaps the second
    assert at(out, 13, 45)["grid.export_limit_kw"] == 25
    assert at(out, 14)["grid.export_limit_kw"] == 100
    assert [r["limit_id"] for r in limits.records] == [1, 2]  # type: ignore[union-attr]


def test_limits_outside_the_index_change_nothing() -> None:
    far = [Limit(1, "import_cap", local(11).replace(day=5), local(12).replace(day=5), 0.0)]
    assert input_limits(SITE, INDEX, far) is None
    assert apply_limits(inputs(), None).equals(inputs())


def test_critical_peak_prices_only_inside_its_bands_and_period() -> None:
    grid = next(d for d in SITE.devices if d.kind == "grid")
    banded = SITE.model_copy(update={"devices": tuple(
        d if d is not grid else grid.model_copy(update={"critical_peak_bands": (
            type(grid.import_tariff[0])(start_h=19, end_h=21, price_per_kwh=2.5),)})
        for d in SITE.devices)})
    limits = input_limits(banded, INDEX, [Limit(1, "critical_peak", local(0), local(20))])
    out = apply_limits(inputs(), limits)
    assert at(out, 19)["grid.import_price_per_kwh"] == 2.5
    assert at(out, 19, 45)["grid.import_price_per_kwh"] == 2.5
    assert at(out, 20)["grid.import_price_per_kwh"] == 0.6  # the period has ended
    assert at(out, 18, 45)["grid.import_price_per_kwh"] == 0.6
    assert limit_errors(SITE, "critical_peak", None)  # no bands declared
    assert limit_errors(banded, "critical_peak", None) == []
    assert "no PvArray named 'grid'" in limit_errors(SITE, "curtailment", "grid")[0]
