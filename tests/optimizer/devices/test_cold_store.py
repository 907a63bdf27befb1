"""Cold store: a hard temperature band, pre-cooling, the exact step solution, absorption cooling.

The numbers are chosen so that a hand calculation gives the plan: with C = 10 kWh/K and
UA = 1 kW/K the store keeps a = e^(−0.1) of its distance to equilibrium per hour; at 24 °C
outside it gains 20 kW through the walls at 4 °C, which a 10 kW chiller at COP 2 just covers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import solve_ivp

from api.services.compact import compact_table
from optimizer.baseline import rule_based_plan
from optimizer.devices.cold_store import keep_pu, temperatures_c
from optimizer.errors import InfeasibleError, PlanningError
from optimizer.inputs import build_inputs
from optimizer.operation import operate
from optimizer.plan import Plan
from optimizer.planner import Planner, make_plan
from optimizer.site_columns import site_columns
from optimizer.state import State
from sites.load import SiteError, load_site
from sites.schema import HeatLoad
from sites.timeindex import day_index
from tests.optimizer import tiny_sites as ts
from tests.optimizer.devices.test_digester import biogas_genset, digester
from tests.optimizer.invariants import expected_accounts, plan_problems
from tests.optimizer.toy import grid, index, inputs, load, pv, toy_site

#: The planner as it is, unwrapped by tests/optimizer/conftest.py, to pass it options the
#: shared ``plan`` helper does not take; every plan here is checked by ``_check``, which runs
#: the shared invariants too.
_PLAN = Planner.plan

TOL = 1e-6


def store(**fields):
    spec = {
        "name": "store", "kind": "cold_store", "chiller_kw": 20, "cop_pu": 2.0,
        "thermal_mass_kwh_per_k": 10, "ua_kw_per_k": 1.0, "min_c": 0, "max_c": 4,
        "initial_c": 4,
    }  # fmt: skip
    spec.update(fields)
    return spec


def _shared_problems(site, p: Plan) -> list[str]:
    """The shared invariants the plan breaks (tests/optimizer/invariants.py: the bus through
    the declared column signs, cost and emissions recomputed), and cost and emissions
    checked here once more."""
    problems = plan_problems(site, p)
    cost, emissions = expected_accounts(site, p.table)
    if not np.allclose(p.table["cost"], cost, atol=TOL):
        problems.append("cost")
    if not np.allclose(p.table["emissions_kgco2"], emissions, atol=TOL):
        problems.append("emissions_kgco2")
    return problems


def _check(site, p: Plan, start_c: float | None = None) -> pd.DataFrame:
    """Bus balance by the declared column signs, the hard band, the chiller's rating, the
    temperature by the step solution from ``start_c`` (default: the site file's), and the
    shared invariants."""
    t = p.table
    s = site.device("store")
    bus = sum(c.column.sign * t[c.name] for c in site_columns(site) if c.name in t)
    assert np.abs(bus.to_numpy()).max() < TOL, "bus balance"
    temperature = t["store.temperature_c"].to_numpy()
    assert temperature.min() >= s.min_c - TOL and temperature.max() <= s.max_c + TOL, "band"
    assert (t["store.chiller_kw"] <= s.chiller_kw + TOL).all()
    cooling = s.cop_pu * t["store.chiller_kw"] + s.absorption_cop_pu * t["store.chp_heat_kw"]
    assert t["store.cooling_kw"].to_numpy() == pytest.approx(cooling.to_numpy(), abs=TOL)
    keep = keep_pu(s.ua_kw_per_k, s.thermal_mass_kwh_per_k, site.step_h)
    start = s.initial_c if start_c is None else start_c
    stepped = temperatures_c(start, t["store.ambient_c"].to_numpy(),
                             t["store.produce_kw"].to_numpy(), cooling.to_numpy(), keep,
                             s.ua_kw_per_k)  # fmt: skip
    assert temperature == pytest.approx(stepped, abs=1e-5)
    if s.chp_units:  # one unit here: the store's heat and the heat loads' within its heat
        (unit,) = s.chp_units
        drawn = t["store.chp_heat_kw"] + sum(
            t[f"{h.name}.chp_heat_kw"] for h in site.of_type(HeatLoad) if unit in h.chp_units
        )
        assert (drawn <= t[f"{unit}.heat_kw"] + TOL).all(), "CHP heat drawn"
    assert not _shared_problems(site, p)
    return t


def solve(site, n: int, *, weather=None, **columns) -> pd.DataFrame:
    """Plan the first ``n`` hours (LP only, no carbon guard) and check it."""
    idx = index(site, n)
    if weather is None:
        table = inputs(site, idx, **columns)
    else:
        over = pd.DataFrame({k.replace("__", "."): v for k, v in columns.items()}, index=idx)
        table = build_inputs(site, idx, weather=weather, overrides=over)
    p = _PLAN(Planner(keep=1), site, idx, table, carbon_guard=False, assess_plan=False)
    return _check(site, p)


def test_the_store_precools_before_a_price_peak_and_never_leaves_its_band():
    site = toy_site(grid(), store())
    price = [1.0, 1.0, 1.0, 5.0, 5.0, 1.0]
    t = solve(site, 6, grid__import_price_per_kwh=price, store__ambient_c=24.0)
    holding_kw = 1.0 * (24 - 4) / 2.0  # UA (T_amb − T_max) / COP = 10 kW keeps it at 4 °C
    power = t["store.chiller_kw"].to_numpy()
    temperature = t["store.temperature_c"].to_numpy()
    assert temperature[2] < 4 - 1.0  # cold stored before the peak
    assert power[3:5].sum() < 2 * holding_kw - 1.0  # and spent in it
    assert power[2] > holding_kw + 1.0
    # cheaper than holding the warm edge all along: 6 h × 10 kW at these prices
    held = holding_kw * np.asarray(price)
    assert t["cost"].sum() < held.sum() - 1.0


def test_with_a_flat_price_the_store_holds_the_warm_edge():
    # 24 kWh of produce heat a day, evenly: 1 kW; held at 4 °C: (20 + 1) / 2 = 10.5 kW
    site = toy_site(grid(), store(produce_heat_kwh_per_day=24))
    t = solve(site, 6, store__ambient_c=24.0)
    assert t["store.temperature_c"].tolist() == pytest.approx([4.0] * 6, abs=TOL)
    assert t["store.chiller_kw"].tolist() == pytest.approx([10.5] * 6, abs=TOL)


def test_a_cold_store_warms_to_the_edge_first_and_ends_where_it_started():
    # a chiller big enough to cool from 4 °C back to 0 °C within the last hour
    site = toy_site(grid(), store(produce_heat_kwh_per_day=24, initial_c=0, chiller_kw=40))
    t = solve(site, 6, store__ambient_c=24.0)
    a = math.exp(-0.1)
    temperature, power = t["store.temperature_c"].to_numpy(), t["store.chiller_kw"].to_numpy()
    # chiller off in the first hour: 0 → (1 − a)(24 + 1 / 1) = 2.379 °C
    assert power[0] == pytest.approx(0.0, abs=TOL)
    assert temperature[0] == pytest.approx((1 - a) * 25, abs=TOL)
    # then it holds the warm edge (no cold bought earlier than it must be) ...
    assert temperature[1:5] == pytest.approx([4.0] * 4, abs=TOL)
    assert power[2:5] == pytest.approx([10.5] * 3, abs=TOL)
    # ... and the soft end target (initial_c) is worth more than the cold costs: back at
    # 0 °C in the last hour, 0 = a·4 + (1 − a)(25 − Q) with Q = 2 P
    assert temperature[-1] == pytest.approx(0.0, abs=TOL)
    assert power[-1] == pytest.approx((25 + a * 4 / (1 - a)) / 2, abs=TOL)
    assert t["store.stored_cold_kwh"].iloc[-1] == pytest.approx(40.0, abs=TOL)


def test_the_plan_follows_the_exact_step_solution_of_the_heat_balance():
    site = toy_site(
        grid(),
        store(chiller_kw=12, cop_pu=2.5, thermal_mass_kwh_per_k=5, ua_kw_per_k=0.8, max_c=6,
              initial_c=3, produce_heat_kwh_per_day=48,
              produce_profile_pu=[0] * 5 + [4, 4, 4] + [1] * 8 + [4, 4, 4] + [0] * 5),
    )  # fmt: skip
    idx = index(site, 8)
    air = [14.0, 12.0, 13.0, 18.0, 24.0, 29.0, 30.0, 27.0, 25.0]  # hourly, from 23:00 before
    weather = pd.DataFrame({"temp_air_c": air}, index=idx[0] - pd.Timedelta("1h") + pd.to_timedelta(
        np.arange(9), "h"))  # fmt: skip
    price = [0.5, 0.5, 1.0, 2.0, 2.0, 1.0, 0.5, 0.5]
    t = solve(site, 8, weather=weather, grid__import_price_per_kwh=price)
    ambient = t["store.ambient_c"].to_numpy()
    assert ambient.tolist() == pytest.approx(np.interp(np.arange(8) + 1.5, range(9), air))
    produce = t["store.produce_kw"].to_numpy()
    cooling = t["store.cooling_kw"].to_numpy()
    assert cooling == pytest.approx(2.5 * t["store.chiller_kw"].to_numpy())
    temperature = t["store.temperature_c"].to_numpy()
    # the formula, step by step
    keep = keep_pu(0.8, 5.0, 1.0)
    assert temperature == pytest.approx(temperatures_c(3.0, ambient, produce, cooling, keep, 0.8),
                                        abs=TOL)  # fmt: skip
    # and the ODE C dT/dt = UA (T_amb − T) + Q_p − Q_c, integrated finely hour by hour
    level, integrated = 3.0, []
    for h in range(8):
        rhs = lambda _, x, h=h: (0.8 * (ambient[h] - x) + produce[h] - cooling[h]) / 5.0  # noqa: E731
        level = solve_ivp(rhs, (0.0, 1.0), [level], rtol=1e-11, atol=1e-12).y[0, -1]
        integrated.append(level)
    assert temperature == pytest.approx(integrated, abs=1e-6)
    assert cooling.max() > 0 and len(set(np.round(cooling, 6))) > 2  # a real schedule


def test_absorption_cooling_uses_free_chp_heat_first():
    # 1 m³/h of biogas → 2 kW from the genset (its rating: the gas cannot be moved to other
    # hours) → 2 kW of heat → 0.5 × 2 = 1 kW of cold;
    # the store gains 0.1 × (24 − 4) = 2 kW at 4 °C: 1 kW absorption + 1 kW electric cold
    site = toy_site(
        grid(), load(), digester(holder_max_m3=10, holder_initial_m3=0),
        biogas_genset(heat_recovery_pu=1.0, rated_kw=2),
        store(ua_kw_per_k=0.1, chp_units=["gen"], absorption_cop_pu=0.5),
    )  # fmt: skip
    t = solve(site, 3, store__ambient_c=24.0, load__forecast_kw=5.0)
    assert t["gen.power_kw"].tolist() == pytest.approx([2, 2, 2])
    assert t["store.chp_heat_kw"].tolist() == pytest.approx([2, 2, 2], abs=TOL)
    assert t["store.chiller_kw"].tolist() == pytest.approx([0.5, 0.5, 0.5], abs=TOL)
    assert t["store.temperature_c"].tolist() == pytest.approx([4, 4, 4], abs=TOL)


def test_with_chp_heat_to_spare_the_store_rests_at_the_warm_edge():
    # 2 kW of CHP heat could give 2 kW of cold, holding 4 °C needs 0.05 × (24 − 4) = 1 kW: any
    # temperature in the band costs the same, and the tie-break on cold delivered picks 4 °C
    site = toy_site(
        grid(), load(), digester(holder_max_m3=10, holder_initial_m3=0),
        biogas_genset(heat_recovery_pu=1.0, rated_kw=2),
        store(ua_kw_per_k=0.05, chp_units=["gen"], absorption_cop_pu=1.0),
    )  # fmt: skip
    t = solve(site, 3, store__ambient_c=24.0, load__forecast_kw=5.0)
    assert t["gen.heat_kw"].tolist() == pytest.approx([2, 2, 2])
    assert t["store.temperature_c"].tolist() == pytest.approx([4, 4, 4], abs=TOL)
    assert t["store.chp_heat_kw"].tolist() == pytest.approx([1, 1, 1], abs=TOL)
    assert t["store.chiller_kw"].tolist() == pytest.approx([0, 0, 0], abs=TOL)


def test_a_chiller_too_small_for_the_hottest_hour_is_a_named_conflict():
    site = toy_site(grid(), store(chiller_kw=8))  # 16 kW of cold against 20 kW of gain at 4 °C
    idx = index(site, 12)
    hot = inputs(site, idx, store__ambient_c=[18.0] * 6 + [30.0] * 6)
    with pytest.raises(InfeasibleError) as err:
        _PLAN(Planner(keep=1), site, idx, hot, carbon_guard=False, assess_plan=False)
    message = str(err.value)
    assert "above max_c 4" in message and "chiller_kw 8 × cop_pu 2" in message
    assert "ambient_c 30 °C" in message


def test_a_store_without_heater_in_frost_is_a_named_conflict():
    site = toy_site(grid(), store(min_c=2, initial_c=2))
    idx = index(site, 4)
    frost = inputs(site, idx, store__ambient_c=-15.0)
    with pytest.raises(InfeasibleError, match="below min_c 2, .* it has no heater"):
        _PLAN(Planner(keep=1), site, idx, frost, carbon_guard=False, assess_plan=False)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"min_c": 5}, "min_c (5.0) must be < max_c (4.0)"),
        ({"initial_c": 7}, "initial_c must lie in [min_c, max_c] = [0.0, 4.0], got 7.0"),
        ({"end_c": -1}, "end_c must lie in [min_c, max_c]"),
        ({"cop_pu": 0}, "cop_pu"),
        ({"ua_kw_per_k": -1}, "ua_kw_per_k"),
        ({"produce_profile_pu": [1.0] * 23}, "produce_profile_pu must have 24 hourly values"),
        ({"chp_units": ["grid"]}, "chp_units: 'grid' is not a genset with heat_recovery_pu > 0"),
    ],
)
def test_bad_spec_values_name_the_field(change, words):
    with pytest.raises(SiteError) as err:
        toy_site(grid(), store(**change))
    assert words in str(err.value)


def test_a_replan_with_new_air_temperatures_reuses_the_model_and_matches_a_fresh_one():
    site = toy_site(grid(), store(produce_heat_kwh_per_day=24))
    idx = index(site, 6)
    planner = Planner(keep=1)
    first = inputs(site, idx, store__ambient_c=24.0)
    second = inputs(site, idx, store__ambient_c=[30.0, 30.0, 18.0, 18.0, 26.0, 26.0])
    _PLAN(planner, site, idx, first, carbon_guard=False, assess_plan=False)
    again = _PLAN(planner, site, idx, second, carbon_guard=False, assess_plan=False)
    assert "refresh_s" in planner.last_timings  # the kept model, new bounds only
    fresh = _PLAN(Planner(keep=1), site, idx, second, carbon_guard=False, assess_plan=False)
    _check(site, again)
    for column in ("store.temperature_c", "store.chiller_kw"):
        assert again.table[column].to_numpy() == pytest.approx(fresh.table[column].to_numpy(),
                                                               abs=TOL)  # fmt: skip
    # held at 4 °C: (UA (T_amb − 4) + 1 kW of produce) / COP 2 in every hour
    assert again.table["store.chiller_kw"].tolist() == pytest.approx(
        [(a - 4 + 1) / 2 for a in (30, 30, 18, 18, 26, 26)], abs=TOL)


def _sunny_store_site():
    # a store held at 4 °C needs (UA (24 − 4) + 1 kW of produce) / COP 2 = 10.5 kW
    site = toy_site(grid(max_export_kw=100), pv(), store(produce_heat_kwh_per_day=24))
    idx = index(site, 6)
    table = inputs(site, idx, pv__available_kw=[0, 0, 30, 30, 0, 0], store__ambient_c=24.0)
    return site, idx, table


def test_the_rules_hold_the_warm_edge_precool_with_surplus_pv_and_never_leave_the_band():
    site, idx, table = _sunny_store_site()
    base = rule_based_plan(site, table)
    t = _check(site, base)
    chiller, temperature = t["store.chiller_kw"].to_numpy(), t["store.temperature_c"].to_numpy()
    # the thermostat at the warm edge: just the holding power, bought, in the dark hours
    assert chiller[:2] == pytest.approx([10.5, 10.5], abs=TOL)
    assert temperature[:2] == pytest.approx([4.0, 4.0], abs=TOL)
    assert t["grid.import_kw"].iloc[:2].tolist() == pytest.approx([10.5, 10.5], abs=TOL)
    # surplus PV pre-cools at the chiller's rating (0 °C would need far more cold)
    assert chiller[2:4] == pytest.approx([20.0, 20.0], abs=TOL)
    assert t["grid.export_kw"].iloc[2:4].tolist() == pytest.approx([10.0, 10.0], abs=TOL)
    assert temperature[3] < temperature[2] < 4.0 - 0.5
    # the cold is spent after sunset: the chiller stays off until the store is back at 4 °C
    assert chiller[4] == pytest.approx(0.0, abs=TOL)
    assert chiller[4:].sum() < 2 * 10.5 - 1.0
    # the LP does no worse on the same inputs (stored cold at the end valued alike)
    lp = _PLAN(Planner(keep=1), site, idx, table, carbon_guard=False)
    _check(site, lp)
    assert lp.baseline["valued_saving"] >= -1e-6  # cost saved plus stored cold valued
    # both end at the warm edge, with no stored cold to value
    assert lp.table["store.temperature_c"].iloc[-1] == pytest.approx(4.0, abs=TOL)
    assert temperature[-1] == pytest.approx(4.0, abs=TOL)
    assert lp.baseline["stored_more_value"] == pytest.approx(0.0, abs=1e-6)


def test_the_rules_take_chp_heat_first_and_the_electric_chiller_for_the_rest():
    # as in the LP test below: 2 kW of CHP heat give 1 kW of cold, the chiller 0.5 kW for the
    # other 1 kW of the 2 kW gained at 4 °C
    site = toy_site(
        grid(), load(), digester(holder_max_m3=10, holder_initial_m3=0),
        biogas_genset(heat_recovery_pu=1.0, rated_kw=2),
        store(ua_kw_per_k=0.1, chp_units=["gen"], absorption_cop_pu=0.5),
    )  # fmt: skip
    idx = index(site, 3)
    table = inputs(site, idx, store__ambient_c=24.0, load__forecast_kw=5.0)
    t = _check(site, rule_based_plan(site, table))
    assert t["gen.power_kw"].tolist() == pytest.approx([2, 2, 2], abs=TOL)
    assert t["store.chp_heat_kw"].tolist() == pytest.approx([2, 2, 2], abs=TOL)
    assert t["store.chiller_kw"].tolist() == pytest.approx([0.5, 0.5, 0.5], abs=TOL)
    assert t["store.temperature_c"].tolist() == pytest.approx([4, 4, 4], abs=TOL)


def test_controllers_get_the_chiller_power_the_absorption_heat_and_the_temperature():
    site, idx, table = _sunny_store_site()
    plan = _PLAN(Planner(keep=1), site, idx, table, carbon_guard=False, assess_plan=False)
    columns = compact_table(site, plan.table, 60)["columns"]
    assert {"store.chiller_kw", "store.chp_heat_kw", "store.temperature_c"} <= set(columns)
    assert not {"store.ambient_c", "store.produce_kw", "store.cooling_kw"} & set(columns)


def test_a_state_temperature_outside_the_band_is_refused_naming_it():
    site = toy_site(grid(), store())
    with pytest.raises(PlanningError, match=r"state\.store\.temperature_c: must lie in \[0, 4\] "
                                            r"degC, got 6\.5"):  # fmt: skip
        State(values={"store": {"temperature_c": 6.5}}).resolved(site)
    assert State.from_site(site).value("store", "temperature_c") == 4.0


def test_the_next_plan_starts_from_the_last_planned_temperature():
    site, idx, table = _sunny_store_site()
    first = rule_based_plan(site, table)
    at = idx[4]
    carried = State.from_plan(site, first.table, at)
    assert carried.value("store", "temperature_c") == pytest.approx(
        first.table["store.temperature_c"].iloc[3])
    assert carried.value("store", "temperature_c") < 4.0 - 0.5
    # a plan from it starts there: the LP and the rules both step from the carried temperature
    rest = table.iloc[4:]
    start = carried.value("store", "temperature_c")
    lp = _PLAN(Planner(keep=1), site, idx[4:], rest, carried, carbon_guard=False,
               assess_plan=False)  # fmt: skip
    _check(site, lp, start_c=start)
    _check(site, rule_based_plan(site, rest, carried), start_c=start)


# --- closed-loop operation: the rule pinned to a plan ---


def _store_and_bus_columns(site, table: pd.DataFrame, name: str) -> list[str]:
    """The store's numeric columns and those of every device on the bus (grid included)."""
    on_bus = {c.name for c in site_columns(site) if c.column.sign != 0}
    return [
        c for c in table.columns
        if (c.startswith(f"{name}.") or c in on_bus or c == "unserved_kw")
        and pd.api.types.is_numeric_dtype(table[c])
    ]  # fmt: skip


def test_operated_on_its_own_forecast_a_precooling_plan_is_reproduced():
    # the battery comes first among those that take surplus: the store's own rule, unpinned,
    # would leave the pre-cooling to whatever surplus the battery leaves
    site = toy_site(grid(), ts.battery(), store(produce_heat_kwh_per_day=24))
    idx = index(site, 6)
    table = inputs(site, idx, grid__import_price_per_kwh=[1.0, 1.0, 1.0, 5.0, 5.0, 1.0],
                   store__ambient_c=24.0)  # fmt: skip
    plan = _PLAN(Planner(keep=1), site, idx, table, carbon_guard=False, assess_plan=False)
    planned = plan.table["store.chiller_kw"].to_numpy()
    assert planned[2] > 10.5 + 1.0  # it pre-cools before the peak, which the thermostat does not
    unpinned = rule_based_plan(site, table).table["store.chiller_kw"].to_numpy()
    assert np.abs(unpinned - planned).max() > 1.0
    real = operate(site, plan.table, table)
    columns = _store_and_bus_columns(site, plan.table, "store")
    assert {"store.chiller_kw", "store.temperature_c", "grid.import_kw"} <= set(columns)
    np.testing.assert_allclose(real[columns], plan.table[columns], atol=1e-6)
    assert not plan_problems(site, real)


def test_operated_on_its_own_forecast_the_dairy_plan_is_reproduced():
    site = load_site("sites/dairy_cooperative.yaml")
    site = site.model_copy(  # an EV charger's rule does not follow a plan
        update={"devices": tuple(d for d in site.devices if d.kind != "ev_charger")}
    )
    idx = day_index(site, pd.Timestamp("2026-03-10").date(), 2)
    table = build_inputs(site, idx)
    plan = make_plan(site, idx, table)
    name = "milk-cold-store"
    assert plan.table[f"{name}.chp_heat_kw"].max() > 1.0  # absorption cooling in the plan
    assert plan.table[f"{name}.chiller_kw"].max() > 1.0  # and the electric chiller
    real = operate(site, plan.table, table)
    columns = _store_and_bus_columns(site, plan.table, name)
    assert f"{name}.temperature_c" in columns and len(columns) > 10
    np.testing.assert_allclose(real[columns], plan.table[columns], atol=1e-6)
    assert not plan_problems(site, real)


def _one_hour_plan(chiller_kw: float):
    """One hour at 24 °C, 1 kW of produce, from 4 °C: a plan row written by hand. The idle
    battery takes surplus before the store would (the grid is pinned to its planned import)."""
    site = toy_site(grid(), ts.battery(), store(produce_heat_kwh_per_day=24))
    forecast = inputs(site, index(site, 1), store__ambient_c=24.0)
    plan = forecast.copy()
    plan["store.chiller_kw"] = plan["grid.import_kw"] = chiller_kw
    plan["store.chp_heat_kw"], plan["grid.export_kw"] = 0.0, 0.0
    plan["bat.charge_kw"] = plan["bat.discharge_kw"] = 0.0
    return site, forecast, plan


@pytest.mark.parametrize(
    ("ambient_c", "chiller_kw", "end_c"),
    [
        # cooler air: the planned 10.5 kW is kept; 4 °C → a·4 + (1 − a)(20 + 1 − 21) = 4a
        (20.0, 10.5, 4.0 * math.exp(-0.1)),
        # warmer air: the planned 10.5 kW would warm it past 4 °C; holding 4 °C takes
        # cooling UA (28 − 4) + 1 = 25 kW, i.e. 12.5 kW at COP 2
        (28.0, 12.5, 4.0),
    ],
)
def test_under_an_air_temperature_error_the_chiller_follows_its_setpoint_inside_the_band(
    ambient_c, chiller_kw, end_c
):
    site, forecast, plan = _one_hour_plan(10.5)
    actual = forecast.copy()
    actual["store.ambient_c"] = ambient_c
    real = operate(site, plan, actual)
    assert real["store.chiller_kw"].iloc[0] == pytest.approx(chiller_kw, abs=TOL)
    assert real["store.temperature_c"].iloc[0] == pytest.approx(end_c, abs=TOL)
    # the grid keeps its planned import; the battery takes the difference
    assert real["grid.import_kw"].iloc[0] == pytest.approx(10.5, abs=TOL)
    net_kw = real["bat.discharge_kw"].iloc[0] - real["bat.charge_kw"].iloc[0]
    assert net_kw == pytest.approx(chiller_kw - 10.5, abs=TOL)
    assert not plan_problems(site, real)


def test_a_planned_chiller_that_would_freeze_the_store_stops_at_min_c():
    # the plan runs the chiller flat out (20 kW, 40 kW of cold) but the air is at 0 °C: that
    # would end at a·4 + (1 − a)(0 + 1 − 40) < 0 °C; the chiller gives the cold that ends at
    # 0 °C: 0 = a·4 + (1 − a)(1 − 2P)  →  P = (1 + 4a / (1 − a)) / 2
    site, forecast, plan = _one_hour_plan(20.0)
    actual = forecast.copy()
    actual["store.ambient_c"] = 0.0
    a = math.exp(-0.1)
    assert a * 4 + (1 - a) * (1 - 40) < 0.0
    real = operate(site, plan, actual)
    power = (1 + 4 * a / (1 - a)) / 2
    assert real["store.chiller_kw"].iloc[0] == pytest.approx(power, abs=TOL)
    assert real["store.temperature_c"].iloc[0] == pytest.approx(0.0, abs=TOL)
    # the grid keeps its planned import; the battery takes the cold not given
    assert real["grid.import_kw"].iloc[0] == pytest.approx(20.0, abs=TOL)
    assert real["bat.charge_kw"].iloc[0] == pytest.approx(20.0 - power, abs=TOL)
    assert not plan_problems(site, real)
