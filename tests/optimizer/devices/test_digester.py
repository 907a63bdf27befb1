"""Digester and holder: flaring only when full, venting counts methane, cooking gas first."""

from __future__ import annotations

import numpy as np
import pytest

from optimizer.accounting import METHANE_DENSITY_KG_PER_M3, METHANE_GWP100_NON_FOSSIL
from optimizer.errors import InfeasibleError
from optimizer.state import State
from tests.optimizer.toy import grid, load, plan, toy_site


def digester(**fields):
    # 240 kg/day × 0.1 m³/kg = 24 m³/day = 1 m³ per hour
    spec = {
        "name": "dig", "kind": "digester", "holder_min_m3": 0, "holder_max_m3": 3,
        "holder_initial_m3": 1,
        "feedstocks": [{"name": "manure", "kg_per_day": 240, "biogas_yield_m3_per_kg": 0.1}],
    }  # fmt: skip
    spec.update(fields)
    return spec


def biogas_genset(**fields):
    spec = {
        "name": "gen", "kind": "genset", "rated_kw": 10,
        "fuel": {"type": "biogas", "digester": "dig", "m3_per_kwh": 0.5},
    }  # fmt: skip
    spec.update(fields)
    return spec


def test_production_is_spread_evenly():
    site = toy_site(grid(), digester())
    p = plan(site, 4)
    assert p.table["dig.production_m3"].tolist() == pytest.approx([1, 1, 1, 1])


def test_flaring_only_when_the_holder_is_full():
    site = toy_site(grid(), digester())
    p = plan(site, 4)
    t = p.table
    assert t["dig.gas_m3"].tolist() == pytest.approx([2, 3, 3, 3])
    assert t["dig.flared_m3"].tolist() == pytest.approx([0, 0, 1, 1])
    full = np.isclose(t["dig.gas_m3"], 3)
    assert (t["dig.flared_m3"][~full] == 0).all()
    assert t["emissions_kgco2"].sum() == pytest.approx(0)  # flared biogas is biogenic CO2


def test_venting_without_a_flare_emits_methane():
    site = toy_site(grid(), digester(has_flare=False, methane_fraction_pu=0.6))
    p = plan(site, 4)
    t = p.table
    assert t["dig.vented_m3"].tolist() == pytest.approx([0, 0, 1, 1])
    assert t["dig.flared_m3"].sum() == 0
    per_m3 = 0.6 * METHANE_DENSITY_KG_PER_M3 * METHANE_GWP100_NON_FOSSIL
    assert t["emissions_kgco2"].tolist() == pytest.approx([0, 0, per_m3, per_m3])


def test_cooking_gas_is_served_before_the_genset():
    site = toy_site(
        grid(), load(), digester(holder_max_m3=10, holder_initial_m3=2), biogas_genset()
    )
    p = plan(site, 4, dig__cooking_m3=[0, 2, 0, 0], load__forecast_kw=10)
    t = p.table
    # 4 m³ made − 2 m³ cooked, holder back at 2 m³: 2 m³ left for the genset = 4 kWh
    assert t["gen.fuel_m3"].sum() == pytest.approx(2)
    assert t["gen.power_kw"].sum() == pytest.approx(4)
    assert t["dig.gas_m3"].iloc[-1] == pytest.approx(2)
    assert p.objective_terms["cost"] == pytest.approx(40 - 4)


def test_holder_level_follows_the_gas_balance():
    site = toy_site(
        grid(), load(), digester(holder_max_m3=10, holder_initial_m3=2), biogas_genset()
    )
    p = plan(site, 4, dig__cooking_m3=[0, 2, 0, 0], load__forecast_kw=10)
    t = p.table
    level = 2 + np.cumsum(
        t["dig.production_m3"]
        - t["dig.cooking_m3"]
        - t["gen.fuel_m3"]
        - t["dig.flared_m3"]
        - t["dig.vented_m3"]
    )
    assert t["dig.gas_m3"].tolist() == pytest.approx(level.tolist())


def test_initial_level_comes_from_the_state():
    site = toy_site(
        grid(), load(), digester(holder_max_m3=10, holder_initial_m3=2), biogas_genset()
    )
    p = plan(site, 2, state=State(holder_m3={"dig": 6.0}), load__forecast_kw=10)
    assert p.table["dig.gas_m3"].iloc[-1] == pytest.approx(6)
    assert p.table["gen.power_kw"].sum() == pytest.approx(2 / 0.5)


def test_cooking_beyond_production_and_holder_names_the_parameters():
    site = toy_site(grid(), digester(cooking_gas_m3_per_day=200))
    with pytest.raises(InfeasibleError, match="dig: cooking gas.*cooking_gas_m3_per_day 200"):
        plan(site, 24)
