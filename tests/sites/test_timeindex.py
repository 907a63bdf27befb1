"""Time indexes: local days in UTC, DST-correct, labelled by interval start."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from sites.load import site_from_data
from sites.timeindex import day_index, horizon_index, hourly_to_index, local_hours

from .test_schema import minimal


def site(tz: str = "Asia/Shanghai", step: int = 15):  # type: ignore[no-untyped-def]
    data = minimal()
    data["location"]["timezone"] = tz
    data["step_minutes"] = step
    return site_from_data(data)


def test_a_local_day_starts_at_local_midnight_in_utc() -> None:
    index = day_index(site(), date(2026, 7, 1))
    assert len(index) == 96
    assert str(index.tz) == "UTC"
    assert index[0] == datetime(2026, 6, 30, 16, 0, tzinfo=UTC)  # 00:00 at UTC+8
    assert local_hours(site(), index)[[0, 4, 95]].tolist() == [0.0, 1.0, 23.75]


@pytest.mark.parametrize(
    ("day", "hours"), [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 6, 1), 24)]
)
def test_daylight_saving_days_have_the_right_number_of_intervals(day: date, hours: int) -> None:
    berlin = site("Europe/Berlin", 15)
    index = day_index(berlin, day)
    assert len(index) == hours * 4
    assert index.tz_convert("Europe/Berlin")[0].hour == 0


def test_several_days_and_steps() -> None:
    assert len(day_index(site(step=60), date(2026, 1, 1), days=3)) == 72
    with pytest.raises(ValueError, match="days must be ≥ 1"):
        day_index(site(), date(2026, 1, 1), days=0)


def test_horizon_from_now_is_floored_and_refuses_naive_times() -> None:
    start = datetime(2026, 7, 1, 10, 7, tzinfo=UTC)
    index = horizon_index(site(), start, 2)
    assert index[0] == datetime(2026, 7, 1, 10, 0, tzinfo=UTC) and len(index) == 8
    with pytest.raises(ValueError, match="timezone-aware"):
        horizon_index(site(), datetime(2026, 7, 1, 10), 2)


def test_hourly_profile_maps_on_local_hours() -> None:
    s = site(step=30)
    index = day_index(s, date(2026, 7, 1))
    values = hourly_to_index(s, index, tuple(float(h) for h in range(24)))
    assert np.array_equal(values, np.repeat(np.arange(24.0), 2))
