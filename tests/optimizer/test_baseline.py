"""The rule-based dispatch on tiny sites whose every number is worked out by hand."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.accounting import vented_kgco2e_per_m3
from optimizer.baseline import dispatch
from optimizer.errors import PlanningError
from optimizer.inputs import build_inputs, validate_inputs
from optimizer.state import State
from sites.load import load_site
from sites.timeindex import day_index
from tests.optimizer import tiny_sites as ts
from tests.optimizer.invariants import assert_plan_invariants, plan_problems

GRID_INPUTS = {
    "grid__import_price_per_kwh": 1.0,
    "grid__export_price_per_kwh": 0.3,
    "grid__carbon_kgco2_per_kwh": 0.5,
    "grid__available_pu": 1.0,
}


def run(site, index, state=None, **columns):
    table = dispatch(site, ts.frame(index, **columns), state)
    assert_plan_invariants(site, table, state)
    return table


def test_pv_surplus_charges_then_exports_and_the_evening_discharges():
    site = ts.tiny_site(
        ts.pv(),
        ts.battery(
            charge_efficiency_pu=1.0, discharge_efficiency_pu=0.9, soc_max_pu=0.9, end_soc_pu=0.1
        ),
        ts.grid(),
        ts.fixed_load(),
    )
    t = run(
        site, ts.hourly_index(3), pv__available_kw=[40, 40, 0], homes__forecast_kw=10, **GRID_INPUTS
    )
    # surplus 30: room 40 kWh → all charged; then 30 more: room 10 → 10 charged, 20 exported
    np.testing.assert_allclose(t["bat.charge_kw"], [30, 10, 0])
    np.testing.assert_allclose(t["grid.export_kw"], [0, 20, 0])
    # evening: 10 kW from the battery, 10 / 0.9 kWh out of it
    np.testing.assert_allclose(t["bat.discharge_kw"], [0, 0, 10])
    np.testing.assert_allclose(t["bat.soc_kwh"], [80, 90, 90 - 10 / 0.9])
    np.testing.assert_allclose(t["grid.import_kw"], 0)
    np.testing.assert_allclose(t["cost"], [0, -20 * 0.3, 0])


def test_battery_recharges_to_its_initial_soc_by_the_end():
    site = ts.tiny_site(
        ts.battery(charge_efficiency_pu=1.0, discharge_efficiency_pu=0.9),
        ts.grid(),
        ts.fixed_load(),
    )
    t = run(site, ts.hourly_index(2), homes__forecast_kw=10, **GRID_INPUTS)
    # t0: discharge 10 (floor 10 kWh); t1: back to 50 kWh at full charging power 50 kW
    np.testing.assert_allclose(t["bat.discharge_kw"], [10, 0])
    np.testing.assert_allclose(t["bat.charge_kw"], [0, 50 - (50 - 10 / 0.9)])
    np.testing.assert_allclose(t["bat.soc_kwh"], [50 - 10 / 0.9, 50])
    np.testing.assert_allclose(t["grid.import_kw"], [0, 10 + 10 / 0.9])


def test_self_discharge_follows_the_daily_rate():
    site = ts.tiny_site(ts.battery(self_discharge_pu_per_day=0.24, end_soc_pu=0.1), ts.grid())
    t = run(site, ts.hourly_index(2), **GRID_INPUTS)
    keep = 0.76 ** (1 / 24)
    np.testing.assert_allclose(t["bat.soc_kwh"], [50 * keep, 50 * keep**2])


def test_self_discharge_below_the_soc_window_is_made_up_before_load_is_served():
    site = ts.tiny_site(
        ts.battery(
            capacity_kwh=10,
            soc_min_pu=0.25,
            initial_soc_pu=0.25,
            charge_efficiency_pu=1.0,
            self_discharge_pu_per_day=0.03,
        ),
        ts.grid(),
        ts.fixed_load(),
    )
    capped = GRID_INPUTS | {"grid__import_limit_kw": 5.0}
    t = run(site, ts.hourly_index(2), homes__forecast_kw=10, **capped)
    # at the bottom of its window the battery loses 2.5 × (1 − 0.97^(1/24)) kWh an hour; the
    # import cap leaves the load short, and load is shed to make the loss up (as in the LP)
    lost = 2.5 * (1 - 0.97 ** (1 / 24))
    np.testing.assert_allclose(t["bat.soc_kwh"], 2.5)
    np.testing.assert_allclose(t["bat.charge_kw"], lost)
    np.testing.assert_allclose(t["grid.import_kw"], 5)
    np.testing.assert_allclose(t["unserved_kw"], 5 + lost)
    # with no supply and no load to shed, nothing makes it up: no load is shed either
    down = GRID_INPUTS | {"grid__available_pu": 0.0}
    t = dispatch(site, ts.frame(ts.hourly_index(2), homes__forecast_kw=0, **down))
    np.testing.assert_allclose(t["bat.soc_kwh"], [2.5 * 0.97 ** (1 / 24), 2.5 * 0.97 ** (2 / 24)])
    np.testing.assert_allclose(t["unserved_kw"], 0)
    assert [p.split(":")[0] for p in plan_problems(site, t)] == ["bat.soc_kwh"]


def test_shiftable_load_runs_first_in_its_window_at_full_power():
    site = ts.tiny_site(ts.grid(), ts.shiftable())  # 20 kWh, 10 kW, window 08–20 local
    t = run(site, ts.hourly_index(24), **GRID_INPUTS)
    expected = np.zeros(24)
    expected[8:10] = 10
    np.testing.assert_allclose(t["pump.demand_kw"], expected)
    np.testing.assert_allclose(t["grid.import_kw"], expected)


def test_shiftable_load_keeps_its_minimum_power_for_the_rest_of_the_window():
    site = ts.tiny_site(ts.grid(), ts.shiftable(min_power_kw=1))
    t = run(site, ts.hourly_index(24), **GRID_INPUTS)
    # 12 window hours: 9 kW first, so that 1 kW fits into each of the 11 hours after it
    expected = np.zeros(24)
    expected[8] = 9
    expected[9:20] = 1
    np.testing.assert_allclose(t["pump.demand_kw"], expected)


def test_shiftable_energy_already_served_is_not_served_again():
    # a re-plan at 10:00 inside today's 08–20 window, 15 of its 20 kWh served already
    site = ts.tiny_site(ts.grid(), ts.shiftable())
    index = ts.hourly_index(14, start="2026-06-01 10:00")
    t = run(site, index, State(served_kwh={"pump": 15.0}), **GRID_INPUTS)
    np.testing.assert_allclose(t["pump.demand_kw"], [5] + [0] * 13)


def test_biogas_genset_is_held_to_the_gas_that_refills_the_holder():
    # off grid: 14 kW load, 5 m³/h made, 0.5 m³/kWh; the holder must end at its 20 m³
    site = ts.tiny_site(
        ts.digester(),
        ts.biogas_genset(fuel={"type": "biogas", "digester": "dig", "m3_per_kwh": 0.5}),
        ts.fixed_load(),
    )
    t = run(
        site, ts.hourly_index(3), homes__forecast_kw=14, dig__production_m3=5, dig__cooking_m3=0
    )
    # floors 10, 15, 20 m³: 14 kW (7 m³) twice, then 1 m³ spare gives 2 kW and 12 kW unserved
    np.testing.assert_allclose(t["gas-gen.power_kw"], [14, 14, 2])
    np.testing.assert_allclose(t["gas-gen.fuel_m3"], [7, 7, 1])
    np.testing.assert_allclose(t["dig.gas_m3"], [18, 16, 20])
    np.testing.assert_allclose(t["unserved_kw"], [0, 0, 12])


def test_cooking_gas_comes_first():
    site = ts.tiny_site(ts.digester(), ts.biogas_genset(), ts.fixed_load())
    t = run(
        site,
        ts.hourly_index(2),
        homes__forecast_kw=14,
        dig__production_m3=5,
        dig__cooking_m3=[3, 2],
    )
    # floors: 20 − (5 − 2) = 17 then 20; level 20 + 5 − 3 = 22 → 5 m³ spare → 5 / 0.6 kW
    np.testing.assert_allclose(t["gas-gen.power_kw"], [5 / 0.6, 0])
    np.testing.assert_allclose(t["dig.gas_m3"], [17, 20])


@pytest.mark.parametrize("has_flare", [True, False])
def test_gas_above_the_top_is_flared_or_vented(has_flare):
    site = ts.tiny_site(ts.digester(holder_initial_m3=45, has_flare=has_flare), ts.grid())
    t = run(site, ts.hourly_index(3), dig__production_m3=5, dig__cooking_m3=0, **GRID_INPUTS)
    surplus = np.array([0, 5, 5])
    np.testing.assert_allclose(t["dig.gas_m3"], 50)
    np.testing.assert_allclose(t["dig.flared_m3"], surplus if has_flare else 0)
    np.testing.assert_allclose(t["dig.vented_m3"], 0 if has_flare else surplus)
    vented = 0 if has_flare else surplus * vented_kgco2e_per_m3(0.6)
    np.testing.assert_allclose(t["emissions_kgco2"], vented)


@pytest.mark.parametrize(("grid_price", "first"), [(1.0, "grid"), (3.0, "diesel")])
def test_grid_or_diesel_whichever_is_cheaper_first(grid_price, first):
    # diesel: 0.3 L/kWh × 8 per L = 2.4 per kWh
    site = ts.tiny_site(ts.grid(max_import_kw=4), ts.diesel_genset(), ts.fixed_load())
    columns = GRID_INPUTS | {"grid__import_price_per_kwh": grid_price}
    t = run(site, ts.hourly_index(2), homes__forecast_kw=10, **columns)
    expected = {"grid": (4, 6), "diesel": (0, 10)}[first]
    np.testing.assert_allclose(t["grid.import_kw"], expected[0])
    np.testing.assert_allclose(t["diesel.power_kw"], expected[1])
    np.testing.assert_allclose(t["diesel.fuel_l"], expected[1] * 0.3)


def test_an_outage_leaves_diesel_and_then_unserved_load():
    site = ts.tiny_site(ts.grid(), ts.diesel_genset(rated_kw=6), ts.fixed_load())
    columns = GRID_INPUTS | {"grid__available_pu": [1, 0]}
    t = run(site, ts.hourly_index(2), homes__forecast_kw=10, **columns)
    np.testing.assert_allclose(t["grid.import_kw"], [10, 0])
    np.testing.assert_allclose(t["diesel.power_kw"], [0, 6])
    np.testing.assert_allclose(t["unserved_kw"], [0, 4])


def test_ramp_limit_holds_a_unit_up_and_its_surplus_is_exported():
    site = ts.tiny_site(ts.grid(), ts.diesel_genset(max_ramp_kw_per_h=4), ts.fixed_load())
    columns = GRID_INPUTS | {"grid__import_price_per_kwh": 3.0}
    t = run(site, ts.hourly_index(4), homes__forecast_kw=[10, 10, 0, 0], **columns)
    np.testing.assert_allclose(t["diesel.power_kw"], [4, 8, 4, 0])
    np.testing.assert_allclose(t["grid.import_kw"], [6, 2, 0, 0])
    np.testing.assert_allclose(t["grid.export_kw"], [0, 0, 4, 0])


def test_chp_heat_first_then_the_electric_backup():
    # cold store 6 kW at COP 0.5 needs 12 kW of heat; the genset gives 1 kW heat per kW
    site = ts.tiny_site(
        ts.digester(holder_initial_m3=40),
        ts.biogas_genset(heat_recovery_pu=1.0),
        ts.fixed_load(),
        ts.heat_load(heat_to_demand_cop_pu=0.5, electric_backup_cop_pu=3.0),
        ts.grid(),
    )
    t = run(
        site,
        ts.hourly_index(1),
        homes__forecast_kw=10,
        cold__forecast_kw=6,
        dig__production_m3=10,
        dig__cooking_m3=0,
        **GRID_INPUTS,
    )
    # 10 m³ made above the 40 m³ the holder must keep allow up to 16.7 kW. 10 kW for the
    # homes gives 10 kW heat = 5 kW cold; 1 kW cold comes from 1/3 kW of backup, which the
    # genset (with gas to spare) also supplies
    np.testing.assert_allclose(t["cold.chp_heat_kw"], 10)
    np.testing.assert_allclose(t["cold.backup_kw"], 1 / 3)
    np.testing.assert_allclose(t["gas-gen.power_kw"], 10 + 1 / 3)
    np.testing.assert_allclose(t["cold.unserved_kw"], 0)


def test_heat_without_backup_or_chp_is_unserved():
    site = ts.tiny_site(
        ts.digester(), ts.biogas_genset(heat_recovery_pu=1.0), ts.heat_load(), ts.grid()
    )
    t = run(
        site,
        ts.hourly_index(1),
        cold__forecast_kw=6,
        dig__production_m3=0,
        dig__cooking_m3=0,
        **GRID_INPUTS,
    )
    np.testing.assert_allclose(t["cold.unserved_kw"], 6)


def test_invariants_catch_a_broken_balance_and_a_wrong_cost():
    site = ts.tiny_site(ts.grid(), ts.fixed_load())
    t = dispatch(site, ts.frame(ts.hourly_index(2), homes__forecast_kw=10, **GRID_INPUTS))
    broken = t.copy()
    broken.loc[broken.index[1], "grid.import_kw"] = 9.0
    assert any("bus balance" in p for p in plan_problems(site, broken))
    wrong = t.copy()
    wrong["cost"] = wrong["cost"] * 0.5
    assert any(p.startswith("cost") for p in plan_problems(site, wrong))


def test_inputs_the_planner_checked_are_not_checked_again_and_give_the_same_dispatch():
    site = load_site(Path(__file__).resolve().parents[2] / "sites" / "demo_village.yaml")
    index = day_index(site, date(2026, 6, 3), 2)
    raw = build_inputs(site, index)
    checked = validate_inputs(site, index, raw)
    pd.testing.assert_frame_equal(
        dispatch(site, checked, checked=True), dispatch(site, raw), check_exact=True
    )
    # unchecked inputs with a negative forecast are refused; "checked" skips exactly that
    bad = raw.copy()
    column = next(c for c in raw.columns if c.endswith(".forecast_kw"))
    bad[column] = -1.0
    with pytest.raises(PlanningError, match=column):
        dispatch(site, bad)
