"""A typical year placed on a calendar year at a site: solar time, leap days, sky transfer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.studies.typical_year import place_on_year, station_location, typical_year
from sites.load import load_site
from sites.schema import Location

SITES = Path(__file__).resolve().parents[3] / "sites"


@pytest.fixture(scope="module")
def demo():
    return load_site(SITES / "demo_village.yaml")


def _hours_of(year: int, tz: str) -> pd.DatetimeIndex:
    return pd.date_range(f"{year}-01-01 00:30", f"{year}-12-31 23:30", freq="h", tz=tz)


def test_solar_noon_stays_solar_noon(demo) -> None:
    # a station at 75° W whose values peak at its local mean solar noon (UTC 17:00)
    station = Location(latitude_deg=24, longitude_deg=-75, timezone="UTC")
    index = _hours_of(1990, "Etc/GMT+5")  # the file's own standard time
    utc_hour = index.tz_convert("UTC").hour + index.minute / 60
    weather = pd.DataFrame({"temp_air_c": -np.abs(utc_hour - 17.5)}, index=index)
    placed = place_on_year(weather, demo, 2026, station)
    # at the site, mean solar noon is 12:00 − 113.05°/15 h UTC = 04:28 UTC
    peak = placed["temp_air_c"].groupby(placed.index.hour + placed.index.minute / 60).mean()
    assert abs(peak.idxmax() - (12 - 113.05 / 15 + 0.5)) < 0.5 + 1e-9


def test_the_year_is_covered_with_its_look_ahead(demo) -> None:
    station = station_location({}, demo)  # no coordinates: the file is the site's
    weather = pd.DataFrame({"temp_air_c": 20.0}, index=_hours_of(1990, "UTC"))
    placed = place_on_year(weather, demo, 2028, station)  # a leap year
    local = placed.index.tz_convert(demo.tz)
    days = set(local.date)
    assert pd.Timestamp("2028-02-29").date() in days
    assert pd.Timestamp("2029-01-03").date() in days  # look-ahead past 31 December
    assert placed.index.is_monotonic_increasing and placed.index.is_unique


def test_naive_weather_is_refused(demo) -> None:
    weather = pd.DataFrame({"temp_air_c": 20.0}, index=pd.date_range("1990-01-01", periods=3))
    with pytest.raises(ValueError, match="tz-aware"):
        place_on_year(weather, demo, 2026, demo.location)


def test_a_far_station_keeps_its_clear_sky_index(demo) -> None:
    from forecasting.pv import sky

    station = {"latitude_deg": 36.1, "longitude_deg": -79.95, "altitude_m": 273}
    there = demo.model_copy(
        update={"location": Location(latitude_deg=36.1, longitude_deg=-79.95, timezone="UTC")}
    )
    index = pd.date_range("1990-06-01", "1990-06-30 23:00", freq="h", tz="UTC")
    clear = np.asarray(sky(there, index).ghi_clear)
    weather = pd.DataFrame(
        {"ghi_wm2": 0.6 * clear, "dhi_wm2": 0.3 * clear, "temp_air_c": 25.0}, index=index
    )
    moved = typical_year(weather, station, demo, 2026)
    june = moved[(moved.index.month == 6) & (moved.index.day > 2) & (moved.index.day < 28)]
    site_clear = np.asarray(sky(demo, pd.DatetimeIndex(june.index)).ghi_clear)
    day = site_clear > 100
    assert np.allclose(june["ghi_wm2"].to_numpy()[day] / site_clear[day], 0.6, atol=0.02)
    assert np.allclose((june["dhi_wm2"] / june["ghi_wm2"]).to_numpy()[day], 0.5, atol=1e-6)
    assert "dni_wm2" not in moved


def test_a_file_for_the_site_is_only_moved_in_time(demo) -> None:
    loc = demo.location
    station = {"latitude_deg": loc.latitude_deg, "longitude_deg": loc.longitude_deg}
    weather = pd.DataFrame({"ghi_wm2": 100.0, "temp_air_c": 20.0}, index=_hours_of(1990, "UTC"))
    moved = typical_year(weather, station, demo, 2026)
    assert (moved["ghi_wm2"] == 100.0).all()
