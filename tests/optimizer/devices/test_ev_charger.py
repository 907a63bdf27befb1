"""EV charger: sessions charge in their cheapest hours, share the charger, owe their energy
by departure (unmet energy reported and priced), V2G, the rule, state and overrides.

Every plan made here, by the LP or the rules, passes the shared invariants (conftest), which
balance the bus of a kind without its own clause through its declared columns; the physics of
the charger (levels, limits, windows) is checked here, and ``bus_problems`` checks the bus and
the accounts from the declared columns once more.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from optimizer.accounting import interval_accounts, kpis
from optimizer.baseline import rule_based_plan
from optimizer.errors import PlanningError
from optimizer.operation import operate
from optimizer.planner import make_plan
from optimizer.site_columns import controller_columns, site_columns
from optimizer.state import State
from sites.load import SiteError
from sites.timeindex import horizon_index
from tests.optimizer.invariants import plan_problems
from tests.optimizer.toy import grid, index, inputs, toy_site

TZ = ZoneInfo("Asia/Shanghai")
TOL = 1e-6


def charger(*sessions, **fields):
    spec = {"name": "ev", "kind": "ev_charger", "max_kw": 5, "ports": 2, "efficiency_pu": 1.0,
            "sessions": list(sessions)}  # fmt: skip
    spec.update(fields)
    return spec


def session(name="trike", arrival_h=1, departure_h=6, energy_kwh=2, max_kw=1, **fields):
    return {"name": name, "arrival_h": arrival_h, "departure_h": departure_h,
            "energy_kwh": energy_kwh, "max_kw": max_kw, **fields}  # fmt: skip


def homes(kw=2.0):
    return {"name": "homes", "kind": "load", "type": "fixed", "profile_kw": [kw] * 24}


def bus_problems(site, table) -> list[str]:
    """Σ sign × value over the declared columns is 0 in each interval, and each interval's
    cost is what ``optimizer.accounting`` makes of the columns."""
    net = np.zeros(len(table))
    for c in site_columns(site):
        if c.column.sign:
            net += c.column.sign * table[c.name].to_numpy()
    out = []
    if np.abs(net).max() > TOL:
        out.append(f"bus balance off by {np.abs(net).max():g} kW")
    cost = interval_accounts(site, table)["cost"].to_numpy()
    if not np.allclose(table["cost"].to_numpy(), cost, atol=TOL):
        out.append("cost differs from the accounts")
    return out


def solve(site, n=24, state=None, **columns):
    idx = index(site, n)
    p = make_plan(site, idx, inputs(site, idx, **columns), state)
    assert not bus_problems(site, p.table)
    return p


def col(p, name):
    return getattr(p, "table", p)[f"ev.{name}"].to_numpy()


PRICES = [1.0] * 24
PRICES[2], PRICES[4], PRICES[7] = 0.2, 0.3, 0.05  # 07:00 is cheap but after the departure


def test_a_session_gets_its_energy_in_the_cheapest_hours_before_departure():
    site = toy_site(grid(), charger(session()))
    p = solve(site, grid__import_price_per_kwh=PRICES)
    assert col(p, "trike_charge_kw")[:8] == pytest.approx([0, 0, 1, 0, 1, 0, 0, 0])
    assert col(p, "trike_kwh")[:7] == pytest.approx([0, 0, 1, 1, 2, 2, 0])
    assert p.objective_terms["cost"] == pytest.approx(0.2 + 0.3)
    assert col(p, "unmet_kw").sum() == pytest.approx(0)


def test_never_charges_outside_the_session():
    site = toy_site(grid(), charger(session()))
    prices = np.linspace(0.1, 1.0, 24)[::-1]  # the cheapest hours are late, outside
    p = solve(site, grid__import_price_per_kwh=prices)
    plugged = col(p, "trike_plugged_pu")
    assert plugged.tolist() == [0] + [1] * 5 + [0] * 18
    charge = col(p, "trike_charge_kw")
    assert charge[plugged == 0] == pytest.approx(0)
    assert charge[4:6] == pytest.approx([1, 1])  # the cheapest two hours inside


def test_efficiency_takes_more_from_the_bus_than_reaches_the_battery():
    site = toy_site(grid(), charger(session(), efficiency_pu=0.8))
    p = solve(site, grid__import_price_per_kwh=PRICES)
    assert col(p, "charge_kw").sum() == pytest.approx(2 / 0.8)
    assert col(p, "trike_kwh")[5] == pytest.approx(2)


def test_two_sessions_share_the_charger_limit():
    a = session("a", 1, 4, energy_kwh=2, max_kw=2)
    b = session("b", 1, 4, energy_kwh=2, max_kw=2)
    site = toy_site(grid(), charger(a, b, max_kw=3))
    prices = [1.0] * 24
    prices[1], prices[2] = 0.1, 0.2
    p = solve(site, grid__import_price_per_kwh=prices)
    total = col(p, "a_charge_kw") + col(p, "b_charge_kw")
    assert total == pytest.approx(col(p, "charge_kw"))
    assert total.max() <= 3 + TOL
    assert total[1:4] == pytest.approx([3, 1, 0])  # full limit in the cheapest hour
    assert col(p, "a_kwh")[3] == pytest.approx(2) and col(p, "b_kwh")[3] == pytest.approx(2)


def test_unmet_energy_at_departure_is_reported_and_priced():
    site = toy_site(grid(), charger(session(arrival_h=1, departure_h=3, energy_kwh=3)))
    p = solve(site)
    unmet = col(p, "unmet_kw")
    assert unmet[2] == pytest.approx(1)  # 2 h at 1 kW: 1 kWh short, in the last hour
    assert unmet.sum() == pytest.approx(1)
    assert p.kpis["ev.unserved_kwh"] == pytest.approx(1)
    # the site's value of lost load (10) at the priority "normal" (× 1)
    assert p.objective_terms["penalty"] == pytest.approx(10.0)
    assert p.objective_terms["unserved_kwh"] == pytest.approx(1)


def test_a_value_of_its_own_prices_the_unmet_energy():
    spec = charger(session(arrival_h=1, departure_h=3, energy_kwh=3),
                   value_of_lost_load_per_kwh=4.0)
    p = solve(toy_site(grid(), spec))
    assert p.objective_terms["penalty"] == pytest.approx(4.0)


V2G_PRICES = [1.0] * 24
V2G_PRICES[2], V2G_PRICES[4] = 0.1, 5.0  # cheap at 02:00, a peak at 04:00


def test_v2g_is_off_by_default():
    site = toy_site(grid(), homes(), charger(session(room_kwh=4)))
    p = solve(site, grid__import_price_per_kwh=V2G_PRICES, homes__forecast_kw=2.0)
    assert "ev.discharge_kw" not in p.table.columns
    assert "ev.trike_discharge_kw" not in p.table.columns
    assert np.all(np.diff(col(p, "trike_kwh")[1:6]) >= -TOL)  # the level never falls


def test_with_v2g_the_vehicle_feeds_the_peak_and_still_departs_with_its_need():
    s = session(arrival_h=1, departure_h=6, energy_kwh=2, max_kw=2, v2g=True, room_kwh=4)
    site = toy_site(grid(), homes(), charger(s))
    p = solve(site, grid__import_price_per_kwh=V2G_PRICES, homes__forecast_kw=2.0)
    discharge, level = col(p, "trike_discharge_kw"), col(p, "trike_kwh")
    assert discharge[4] == pytest.approx(2)  # the whole peak hour's load
    assert discharge.sum() == pytest.approx(2)
    assert level[5] == pytest.approx(2)  # departs with its need
    assert level.min() >= -TOL  # never below what it arrived with
    assert level.max() <= 4 + TOL  # nor above its room
    # 2 kWh for the peak plus the need: 4 kWh bought at 0.1 at 02:00 needs 2 kW × 2 h, so
    # 01:00 (1.0) or 03:00 (1.0) fills in; hand optimum: 2 kWh at 0.1, 2 kWh at 1.0
    assert p.objective_terms["cost"] == pytest.approx(
        2 * 0.1 + 2 * 1.0 + 2.0 * (sum(V2G_PRICES) - V2G_PRICES[4])
    )
    assert col(p, "discharge_kw")[4] == pytest.approx(2)


def test_the_rule_charges_on_arrival_until_done():
    site = toy_site(grid(), charger(session(energy_kwh=2.5)))
    idx = index(site, 24)
    p = rule_based_plan(site, inputs(site, idx, grid__import_price_per_kwh=PRICES))
    assert col(p, "trike_charge_kw")[:7] == pytest.approx([0, 1, 1, 0.5, 0, 0, 0])
    assert col(p, "unmet_kw").sum() == pytest.approx(0)
    assert not bus_problems(site, p.table)


def test_the_rule_charges_only_what_supply_leaves_and_reports_the_rest_unmet():
    site = toy_site(grid(max_import_kw=1.0), homes(0.5),
                    charger(session(arrival_h=1, departure_h=3, energy_kwh=2)))
    idx = index(site, 6)
    p = rule_based_plan(site, inputs(site, idx, homes__forecast_kw=0.5))
    assert col(p, "trike_charge_kw")[:4] == pytest.approx([0, 0.5, 0.5, 0])
    assert col(p, "unmet_kw")[2] == pytest.approx(1)  # 2 kWh owed, 1 delivered
    assert p.table["unserved_kw"].to_numpy() == pytest.approx(0)  # no load was shed
    assert p.kpis["ev.unserved_kwh"] == pytest.approx(1)


def test_the_rule_based_plan_balances_the_bus_and_the_optimum_saves():
    a = session("a", 18, 7, energy_kwh=4, max_kw=1)
    b = session("b", 11, 14, energy_kwh=6, max_kw=3)
    site = toy_site(grid(), homes(), charger(a, b, max_kw=3))
    prices = [0.3] * 7 + [1.0] * 16 + [0.3]
    idx = index(site, 24)
    table = inputs(site, idx, grid__import_price_per_kwh=prices, homes__forecast_kw=2.0)
    rules = rule_based_plan(site, table)
    assert not bus_problems(site, rules.table)
    assert col(rules, "charge_kw").max() <= 3 + TOL
    best = make_plan(site, idx, table)
    # tonight's visit of a owes 4 × 6/13 kWh by midnight: the rule buys it at 18:00 and
    # 19:00 (1.0), the plan 1 kWh at 23:00 (0.3) and the rest at 1.0; all else is the same
    assert best.kpis["cost"] == pytest.approx(rules.kpis["cost"] - 0.7)
    # the same energy reaches the vehicles either way (the evening visit its share)
    assert col(best, "charge_kw").sum() == pytest.approx(col(rules, "charge_kw").sum())


def test_the_charger_power_is_a_dispatch_column():
    site = toy_site(grid(), charger(session(v2g=True, room_kwh=3)))
    sent = controller_columns(site)
    for name in ("ev.trike_charge_kw", "ev.trike_discharge_kw", "ev.trike_kwh"):
        assert name in sent
    p = solve(site, grid__import_price_per_kwh=PRICES)
    assert {"ev.charge_kw", "ev.discharge_kw", "ev.unmet_kw"} <= set(p.table.columns)
    assert p.kpis == pytest.approx(kpis(site, p.table))


def test_state_out_of_bounds_is_refused_naming_the_quantity():
    site = toy_site(grid(), charger(session(energy_kwh=2), session("b", 8, 9, 1, 1)))
    with pytest.raises(PlanningError, match=r"state\.ev\.delivered_kwh: must lie in \[0, 3\]"):
        State(values={"ev": {"delivered_kwh": 5.0}}).resolved(site)


def test_a_replan_mid_session_owes_only_the_rest_and_the_state_carries_it():
    site = toy_site(grid(), charger(session(energy_kwh=3, departure_h=7)))
    first = solve(site, grid__import_price_per_kwh=[0.5, 0.1] + [1.0] * 22)
    at = first.table.index[3]  # 03:00: 1 kWh delivered at 01:00 (at 0.1), the rest later
    carried = State.from_plan(site, first.table, at)
    assert carried.value("ev", "delivered_kwh") == pytest.approx(
        first.table.loc[first.table.index < at, "ev.trike_kwh"].iloc[-1]
    )
    start = datetime(2026, 7, 1, 3, tzinfo=TZ)
    idx = horizon_index(site, start, 21)
    state = State(values={"ev": {"delivered_kwh": 1.0}})
    p = make_plan(site, idx, inputs(site, idx), state)
    assert not bus_problems(site, p.table)
    assert col(p, "trike_charge_kw").sum() == pytest.approx(2)
    assert col(p, "trike_kwh")[3] == pytest.approx(3)  # 06:00, its last hour
    # after the departure, the vehicle is gone: nothing is carried
    assert State.from_plan(site, first.table, first.table.index[8]).value(
        "ev", "delivered_kwh") == pytest.approx(0)


def test_more_delivered_than_the_plugged_vehicles_hold_is_a_conflict():
    site = toy_site(grid(), charger(session(energy_kwh=2), session("b", 8, 9, 1, 1)))
    idx = horizon_index(site, datetime(2026, 7, 1, 3, tzinfo=TZ), 21)
    state = State(values={"ev": {"delivered_kwh": 2.5}})
    with pytest.raises(PlanningError, match="delivered_kwh 2.5"):
        make_plan(site, idx, inputs(site, idx), state)


def test_a_session_crossing_midnight():
    s = session("bus", arrival_h=22, departure_h=2, energy_kwh=4, max_kw=4)
    site = toy_site(grid(), charger(s))
    prices = [1.0] * 24
    prices[1], prices[23] = 0.5, 0.2
    p = solve(site, grid__import_price_per_kwh=prices)
    assert col(p, "bus_plugged_pu").tolist() == [1, 1] + [0] * 20 + [1, 1]
    charge = col(p, "bus_charge_kw")
    # this morning's end of last night's visit: all 4 kWh by 02:00, at 01:00 (0.5)
    assert charge[:2] == pytest.approx([0, 4])
    # tonight's visit owes its share by midnight: 2 h of 4 → 2 kWh, at 23:00 (0.2)
    assert charge[22:] == pytest.approx([0, 2])
    assert col(p, "unmet_kw").sum() == pytest.approx(0)


def test_an_inputs_override_of_the_plugged_hours_changes_the_plan():
    site = toy_site(grid(), charger(session()))
    plugged = np.zeros(24)
    plugged[7:10] = 1.0  # the trike came at 07:00 today, and left at 10:00
    p = solve(site, grid__import_price_per_kwh=PRICES, ev__trike_plugged_pu=plugged)
    charge = col(p, "trike_charge_kw")
    assert charge[:7] == pytest.approx(0)
    assert charge[7] == pytest.approx(1)  # 07:00 at 0.05, then one more hour at 1.0
    assert charge[7:10].sum() == pytest.approx(2)
    assert p.objective_terms["cost"] == pytest.approx(0.05 + 1.0)


def test_an_override_with_more_vehicles_than_ports_names_the_inputs():
    site = toy_site(grid(), charger(session(), session("b", 8, 9, 1, 1), ports=1))
    with pytest.raises(PlanningError, match=r"ev: inputs ev\.\*_plugged_pu plug in 2 "
                       r"vehicles at .* more than ports \(1\)"):
        solve(site, ev__b_plugged_pu=np.ones(24))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"ports": 0}, "ports"),
        ({"max_kw": -1}, "max_kw"),
        ({"efficiency_pu": 0.3}, "efficiency_pu"),
        ({"sessions": []}, "sessions"),
        ({"sessions": [session(arrival_h=5, departure_h=5)]}, "arrival_h and departure_h"),
        ({"sessions": [session(room_kwh=1)]}, "room_kwh"),
        ({"sessions": [session(energy_kwh=0)]}, "energy_kwh"),
        ({"sessions": [session(), session()]}, "names must be unique"),
        ({"ports": 1, "sessions": [session(), session("b", 5, 8)]}, "more than ports"),
    ],
)
def test_bad_spec_values_name_the_field(fields, field):
    with pytest.raises(SiteError, match=field):
        toy_site(grid(), charger(session(), **fields) if "sessions" not in fields
                 else charger(**fields))


def test_the_rule_reads_the_delivered_state():
    site = toy_site(grid(), charger(session(energy_kwh=3, departure_h=7)))
    idx = horizon_index(site, datetime(2026, 7, 1, 3, tzinfo=TZ), 21)
    state = State(values={"ev": {"delivered_kwh": 1.0}})
    p = rule_based_plan(site, inputs(site, idx), state)
    assert col(p, "trike_charge_kw")[:4] == pytest.approx([1, 1, 0, 0])
    assert isinstance(p.table.index, pd.DatetimeIndex)


def test_sizing_repeats_the_day_so_a_vehicle_gets_its_energy_once_a_day():
    from optimizer.studies.sizing import build_sizing, solve_sizing

    s = session("bus", arrival_h=22, departure_h=2, energy_kwh=4, max_kw=4)
    site = toy_site(grid(), charger(s))
    idx = index(site, 24)
    prices = [1.0] * 24
    prices[1], prices[23] = 0.5, 0.2
    result = solve_sizing(build_sizing(site, inputs(site, idx, grid__import_price_per_kwh=prices),
                                       [idx], [365.0]))
    charge = result.operation["ev.bus_charge_kw"].to_numpy()
    # last night's visit begins with what tonight's received: 4 kWh a day in all, at 23:00
    assert charge.sum() == pytest.approx(4)
    assert charge[23] == pytest.approx(4)


# --- closed-loop operation: the rule pinned to a plan -------------------------------------


def v2g_site(**grid_fields):
    a = session("a", 18, 7, energy_kwh=4, max_kw=1, v2g=True, room_kwh=6)
    b = session("b", 11, 14, energy_kwh=6, max_kw=3)
    return toy_site(grid(**grid_fields), homes(), charger(a, b, max_kw=3, efficiency_pu=0.9))


def test_operating_a_plan_on_its_own_forecast_reproduces_it():
    site = v2g_site()
    prices = [0.3] * 4 + [2.0] + [1.0] * 19  # a peak at 04:00 while vehicle a is plugged in
    idx = index(site, 24)
    table = inputs(site, idx, grid__import_price_per_kwh=prices, homes__forecast_kw=2.0)
    p = make_plan(site, idx, table, State(values={"ev": {"delivered_kwh": 1.5}}))
    assert col(p, "a_discharge_kw").max() > 0.5  # the plan uses vehicle-to-grid
    real = operate(site, p.table, table, State(values={"ev": {"delivered_kwh": 1.5}}))
    names = [c for c in p.table.columns if c.startswith(("ev.", "grid."))] + ["unserved_kw"]
    assert len(names) > 10
    np.testing.assert_allclose(real[names], p.table[names], atol=TOL)
    assert not plan_problems(site, real, State(values={"ev": {"delivered_kwh": 1.5}}))


def test_pinned_under_a_forecast_error_the_grid_takes_the_difference():
    site = toy_site(grid(), homes(), charger(session(energy_kwh=2.5)))
    idx = index(site, 24)
    forecast = inputs(site, idx, grid__import_price_per_kwh=PRICES, homes__forecast_kw=2.0)
    p = make_plan(site, idx, forecast)
    actual = forecast.copy()
    actual["homes.forecast_kw"] = 3.0  # 1 kW more every hour
    real = operate(site, p.table, actual)
    np.testing.assert_allclose(col(real, "trike_charge_kw"), col(p, "trike_charge_kw"), atol=TOL)
    np.testing.assert_allclose(real["grid.import_kw"], p.table["grid.import_kw"] + 1.0, atol=TOL)
    assert col(real, "unmet_kw").sum() == pytest.approx(0)
    assert not plan_problems(site, real)


def test_pinned_a_shortfall_trims_the_charging_and_the_rest_is_unmet():
    # the grid gives 1 kW; the plan charges 1 kW at 02:00 and 04:00 (the cheap hours) with the
    # homes at 0 kW; actually the homes take 0.5 kW: 0.5 kW reaches the trike in each hour
    site = toy_site(grid(max_import_kw=1.0), homes(0.0), charger(session(energy_kwh=2)))
    idx = index(site, 24)
    forecast = inputs(site, idx, grid__import_price_per_kwh=PRICES, homes__forecast_kw=0.0)
    p = make_plan(site, idx, forecast)
    assert col(p, "trike_charge_kw")[:6] == pytest.approx([0, 0, 1, 0, 1, 0])
    actual = forecast.copy()
    actual["homes.forecast_kw"] = 0.5
    real = operate(site, p.table, actual)
    assert col(real, "trike_charge_kw")[:6] == pytest.approx([0, 0, 0.5, 0, 0.5, 0])
    assert col(real, "unmet_kw")[5] == pytest.approx(1.0)  # 2 kWh owed, 1 delivered by 06:00
    assert real["unserved_kw"].to_numpy() == pytest.approx(0)  # the homes were served
    assert not plan_problems(site, real)


def test_pinned_the_charging_stays_in_the_session_and_the_battery():
    site = toy_site(grid(), charger(session(energy_kwh=2, room_kwh=2.5)))
    idx = index(site, 24)
    forecast = inputs(site, idx, grid__import_price_per_kwh=PRICES)
    p = make_plan(site, idx, forecast)
    assert col(p, "trike_charge_kw")[:6] == pytest.approx([0, 0, 1, 0, 1, 0])
    # the trike left at 03:00, after one planned hour of charging
    actual = forecast.copy()
    actual["ev.trike_plugged_pu"] = [0.0, 1.0, 1.0] + [0.0] * 21
    real = operate(site, p.table, actual, State(values={"ev": {"delivered_kwh": 0.0}}))
    assert col(real, "trike_charge_kw")[:6] == pytest.approx([0, 0, 1, 0, 0, 0])
    assert col(real, "unmet_kw")[2] == pytest.approx(1.0)  # left with 1 of its 2 kWh
    # a trike plugged in since 22:00 planned empty, actually with 2 kWh (room for 0.5 more)
    site = toy_site(grid(), charger(session(arrival_h=22, energy_kwh=2, room_kwh=2.5)))
    forecast = inputs(site, idx, grid__import_price_per_kwh=PRICES)
    p = make_plan(site, idx, forecast)
    assert col(p, "trike_charge_kw")[:6] == pytest.approx([0, 0, 1, 0, 1, 0])
    full = operate(site, p.table, forecast, State(values={"ev": {"delivered_kwh": 2.0}}))
    assert col(full, "trike_charge_kw")[:6] == pytest.approx([0, 0, 0.5, 0, 0, 0])
    assert col(full, "trike_kwh").max() == pytest.approx(2.5)  # never above its room


def test_a_replan_after_operated_hours_owes_exactly_what_is_missing():
    site = toy_site(grid(), charger(session(energy_kwh=3, departure_h=7, max_kw=2),
                                    efficiency_pu=0.8))
    idx = index(site, 24)
    prices = [0.5, 0.1, 1.0, 0.2] + [1.0] * 20
    forecast = inputs(site, idx, grid__import_price_per_kwh=prices)
    p = make_plan(site, idx, forecast)
    # operate 00:00-03:00 with the trike arriving late: only the 01:00 setpoint is missed
    actual = forecast.iloc[:3].copy()
    actual["ev.trike_plugged_pu"] = [0.0, 0.0, 1.0]
    real = operate(site, p.table, actual)
    assert col(real, "unmet_kw") == pytest.approx(0)  # the vehicle is still plugged in
    at = idx[3]
    state = State.from_plan(site, real, at)
    delivered = state.value("ev", "delivered_kwh")
    assert delivered == pytest.approx(0.8 * col(real, "trike_charge_kw").sum())
    assert delivered < 3 - 0.5  # the missed hour is still owed
    rest = make_plan(site, idx[3:], forecast.iloc[3:], state)
    assert 0.8 * col(rest, "trike_charge_kw").sum() == pytest.approx(3 - delivered)
    assert col(rest, "trike_kwh")[3] == pytest.approx(3)  # 06:00, its last hour
    assert col(rest, "unmet_kw").sum() == pytest.approx(0)
