"""Inputs: every column from forecasts and the site, overrides checked field by field."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from forecasting.records import DEFAULT_TEMP_AIR_C, WeatherError
from forecasting.weather import weather_at
from optimizer.devices import REGISTRY
from optimizer.devices.fixed_load import FixedLoadModel
from optimizer.errors import PlanningError
from optimizer.inputs import build_inputs, input_columns
from sites.load import load_site
from sites.schema import FixedLoad
from sites.timeindex import day_index

DEMO = load_site("sites/demo_village.yaml")
IDX = day_index(DEMO, date(2026, 7, 1))


@pytest.fixture(scope="module")
def demo_inputs():
    return build_inputs(DEMO, IDX)


def test_every_input_column_is_built(demo_inputs):
    assert list(demo_inputs.columns) == list(input_columns(DEMO))
    assert demo_inputs.index.equals(IDX) and str(demo_inputs.index.tz) == "UTC"
    assert (demo_inputs.to_numpy() >= 0).all()
    # clear sky: PV at noon, none at midnight
    local = demo_inputs.index.tz_convert(DEMO.tz)
    pv = demo_inputs["school-roof.available_kw"]
    assert pv[local.hour == 12].min() > 10 and pv[local.hour == 0].max() == 0


def test_site_derived_columns(demo_inputs):
    local = demo_inputs.index.tz_convert(DEMO.tz)
    price = demo_inputs["grid.import_price_per_kwh"]
    assert price[local.hour == 3].unique().tolist() == [0.25]
    assert price[local.hour == 15].unique().tolist() == [1.10]
    assert (demo_inputs["grid.carbon_kgco2_per_kwh"] == 0.3869).all()  # grid_region: south
    assert (demo_inputs["grid.available_pu"] == 1).all()
    # 1200 kg/day × TS 0.2 × VS 0.8 × B0 0.29 × efficiency 0.78 / 0.6 CH4, spread evenly;
    # 10 m³ of cooking gas over the day
    assert demo_inputs["pig-digester.production_m3"].sum() == pytest.approx(
        1200 * 0.2 * 0.8 * 0.29 * 0.78 / 0.6)
    assert demo_inputs["pig-digester.cooking_m3"].sum() == pytest.approx(10)
    assert demo_inputs["households.forecast_kw"].sum() * DEMO.step_h == pytest.approx(600, rel=1e-6)


def test_overrides_replace_columns():
    over = pd.DataFrame({"grid.import_price_per_kwh": np.full(len(IDX), 0.7)}, index=IDX)
    table = build_inputs(DEMO, IDX, overrides=over)
    assert (table["grid.import_price_per_kwh"] == 0.7).all()


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("grid.price", 1.0, "unknown input column\\(s\\) 'grid.price'"),
        ("grid.import_price_per_kwh", -1.0, "'grid.import_price_per_kwh' must be ≥ 0, got -1"),
        ("grid.available_pu", 2.0, "'grid.available_pu' must be ≤ 1, got 2"),
        ("households.forecast_kw", np.nan, "'households.forecast_kw' must be finite"),
    ],
)
def test_bad_overrides_name_the_column(column, values, message):
    over = pd.DataFrame({column: np.full(len(IDX), values)}, index=IDX)
    with pytest.raises(PlanningError, match=message):
        build_inputs(DEMO, IDX, overrides=over)


def test_override_on_another_index_is_an_error():
    over = pd.DataFrame({"grid.import_price_per_kwh": 1.0}, index=IDX + pd.Timedelta(hours=1))
    with pytest.raises(PlanningError, match="must have the plan's index"):
        build_inputs(DEMO, IDX, overrides=over)


def test_naive_or_irregular_index_is_an_error():
    with pytest.raises(PlanningError, match="timezone-aware"):
        build_inputs(DEMO, IDX.tz_localize(None))
    with pytest.raises(PlanningError, match="step_minutes \\(15 min\\)"):
        build_inputs(DEMO, IDX[::2])


def test_outage_sets_availability_to_zero():
    from tests.optimizer.toy import grid, index, toy_site

    site = toy_site(
        grid(outages=[{"start": "2026-07-01T02:30+08:00", "end": "2026-07-01T04:00+08:00"}])
    )
    idx = index(site, 6)
    # an interval that overlaps the outage at all counts as out
    assert build_inputs(site, idx)["grid.available_pu"].tolist() == [1, 1, 0, 0, 1, 1]


class _AirLoad(FixedLoadModel):
    """A fixed load that also reads the air temperature: a device with a weather input."""

    inputs = ("forecast_kw", "ambient_c")
    weather_inputs = {"ambient_c": "temp_air_c"}


def test_weather_inputs_come_from_the_weather_at_interval_middles(monkeypatch):
    from tests.optimizer.toy import grid, index, load, toy_site

    monkeypatch.setitem(REGISTRY, FixedLoad, _AirLoad)
    site = toy_site(grid(), load())
    idx = index(site, 3)
    hours = pd.date_range(idx[0], periods=4, freq="h")
    weather = pd.DataFrame({"temp_air_c": [-10.0, -6.0, 2.0, 4.0]}, index=hours)
    table = build_inputs(site, idx, weather=weather)
    # linear in time at the middle of each hour: (-10 - 6)/2, (-6 + 2)/2, (2 + 4)/2
    assert table["load.ambient_c"].tolist() == pytest.approx([-8.0, -2.0, 3.0])
    # no weather: the weather module's default air temperature
    assert (build_inputs(site, idx)["load.ambient_c"] == DEFAULT_TEMP_AIR_C).all()
    # a temperature may be below zero, but not below absolute zero; power may not
    over = pd.DataFrame({"load.ambient_c": -300.0}, index=idx)
    with pytest.raises(PlanningError, match="'load.ambient_c' must be ≥ -273.15, got -300"):
        build_inputs(site, idx, overrides=over)
    over = pd.DataFrame({"load.ambient_c": -25.0}, index=idx)
    assert (build_inputs(site, idx, overrides=over)["load.ambient_c"] == -25).all()


def test_weather_at_names_a_column_it_cannot_give():
    with pytest.raises(WeatherError, match="unknown weather column 'temp_c'"):
        weather_at(None, IDX, DEMO.step, "temp_c")
    with pytest.raises(WeatherError, match="no 'ghi_wm2', and it has no default"):
        weather_at(None, IDX, DEMO.step, "ghi_wm2")
