"""forecasting.load: profiles, daily energy with shapes, heat loads, DST days."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from forecasting.load import SHAPES, forecast_loads
from sites.timeindex import day_index, local_hours
from tests.forecasting.conftest import array, make_site

DAY = dt.date(2026, 6, 21)


def household_site(shape: str, **kw) -> object:
    return make_site(
        [
            array("pv", 25, 180),
            {
                "name": "homes",
                "kind": "load",
                "type": "fixed",
                "daily_energy_kwh": 240.0,
                "shape": shape,
            },
        ],
        **kw,
    )


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_daily_energy_is_conserved_at_every_step(shape):
    for step in (15, 30, 60):
        site = household_site(shape, step_minutes=step)
        df = forecast_loads(site, day_index(site, DAY, days=2))
        assert df["homes.forecast_kw"].sum() * site.step_h == pytest.approx(480.0)


def test_shapes_have_their_character():
    for shape, w in SHAPES.items():
        assert len(w) == 24 and sum(w) == pytest.approx(1.0) and min(w) > 0, shape
    house = np.asarray(SHAPES["rural_household"])
    assert 18 <= int(np.argmax(house)) <= 21 and house.max() > 3.5 * house.min()
    school = np.asarray(SHAPES["school"])
    assert school[8:17].mean() > 5 * np.r_[school[:7], school[19:]].mean()
    assert np.ptp(SHAPES["flat"]) == 0


def test_profiles_follow_local_hours_and_heat_loads_are_forecast():
    # a milking parlour and the absorption cooling of a milk store, hour by hour
    parlour = [10.0] * 5 + [60, 80, 70] + [20.0] * 9 + [70, 80, 60] + [10.0] * 4
    cooling = [20.0] * 6 + [35, 40] + [25.0] * 10 + [40, 45] + [20.0] * 4
    site = make_site(
        [
            {"name": "chp", "kind": "genset", "rated_kw": 100, "heat_recovery_pu": 1.2,
             "fuel": {"type": "diesel", "l_per_kwh": 0.3, "price_per_l": 7.0}},
            {"name": "milking-parlour", "kind": "load", "type": "fixed", "profile_kw": parlour},
            {"name": "milk-cold-store", "kind": "heat_load", "profile_kw": cooling,
             "chp_units": ["chp"], "heat_to_demand_cop_pu": 0.7},
        ],
        step_minutes=60,
    )  # fmt: skip
    idx = day_index(site, DAY)
    df = forecast_loads(site, idx)
    assert set(df.columns) == {"milking-parlour.forecast_kw", "milk-cold-store.forecast_kw"}
    hours = local_hours(site, idx).astype(int)
    assert (df["milking-parlour.forecast_kw"].to_numpy() == np.asarray(parlour)[hours]).all()
    assert (df["milk-cold-store.forecast_kw"].to_numpy() == np.asarray(cooling)[hours]).all()


def test_dst_days_have_23_and_25_hours_of_load():
    site = household_site("flat", timezone="Europe/Berlin", latitude=52.5, longitude=13.4)
    for day, hours in ((dt.date(2026, 3, 29), 23), (dt.date(2026, 10, 25), 25)):
        df = forecast_loads(site, day_index(site, day))
        assert len(df) == hours * 4
        assert df["homes.forecast_kw"].sum() * site.step_h == pytest.approx(10.0 * hours)


def test_bad_inputs_name_the_problem():
    site = household_site("flat")
    idx = day_index(site, DAY)
    with pytest.raises(ValueError, match="tz-aware"):
        forecast_loads(site, idx.tz_localize(None))
    with pytest.raises(ValueError, match="'pumps' not fixed loads"):
        forecast_loads(site, idx, history={"pumps": None})
