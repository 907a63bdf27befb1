"""Weather the PV chain would bridge is reported; irradiance in the wrong unit is refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.quality import check_irradiance, describe_gaps, weather_gaps
from forecasting.weather import WeatherError


def _day(scale: float = 1.0) -> pd.DataFrame:
    t = pd.date_range("2026-06-20T16:00Z", periods=25, freq="1h")
    local_hour = (t.hour + 8) % 24
    ghi = np.clip(900 * np.sin((local_hour - 6) / 12 * np.pi), 0, None) * scale
    return pd.DataFrame({"ghi_wm2": ghi, "temp_air_c": 25.0}, index=t)


def test_irradiance_in_kw_per_m2_is_refused_naming_column_and_peak():
    with pytest.raises(WeatherError, match=r"ghi_wm2 peaks at 0\.9 over 24 h"):
        check_irradiance(_day(1 / 1000))
    check_irradiance(_day())  # W/m²: fine
    check_irradiance(_day(1 / 1000).iloc[:6])  # a night-only span cannot tell


def test_missing_values_and_holes_are_counted_inside_the_horizon_only():
    w = _day()
    w.iloc[3:5, 0] = np.nan  # two values missing at 19:00-20:00 UTC
    w = w.drop(w.index[10:14])  # no records 02:00-05:00 UTC
    start, end = pd.Timestamp("2026-06-20T16:00Z"), pd.Timestamp("2026-06-21T16:00Z")
    gaps = weather_gaps(w, start, end, "Asia/Shanghai")
    assert gaps["missing_values"] == {"ghi_wm2": 2}
    assert gaps["holes"] == [["2026-06-21T09:00:00+08:00", "2026-06-21T14:00:00+08:00"]]
    lines = describe_gaps(gaps)
    assert lines[0].startswith("weather: 2 missing ghi_wm2 value(s) filled by linear")
    assert "no records from 2026-06-21T09:00:00+08:00 to 2026-06-21T14:00:00+08:00" in lines[1]
    # outside the horizon nothing counts
    inside = pd.Timestamp("2026-06-21T06:00Z"), pd.Timestamp("2026-06-21T08:00Z")
    assert weather_gaps(w, *inside) == {}
