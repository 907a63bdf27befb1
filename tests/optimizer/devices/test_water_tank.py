"""Water tank: the pump fills the tank in the cheapest allowed hours, the level follows the
water balance, commitment runs the pump at rated power within its starts per day, and water
the tank cannot deliver is unmet, valued and counted as unserved; the rule-based dispatch
pumps within the allowed hours and never overflows; the level is state, carried to the next
plan.

A 10 kW pump at 0.5 kWh/m³ delivers 20 m³ an hour.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from optimizer.baseline import rule_based_plan
from optimizer.errors import InfeasibleError, PlanningError
from optimizer.inputs import build_inputs
from optimizer.operation import operate
from optimizer.planner import Planner, make_plan
from optimizer.state import State
from sites.load import SiteError, load_site
from sites.schema import Site, WaterTank
from sites.timeindex import day_index
from tests.optimizer.invariants import plan_problems
from tests.optimizer.toy import DAY, grid, index, inputs, load, pv, toy_site

TOL = 1e-6
E_KWH_PER_M3 = 0.5


def tank(**fields):
    spec = {
        "name": "tank", "kind": "water_tank", "pump_kw": 10,
        "specific_energy_kwh_per_m3": E_KWH_PER_M3, "capacity_m3": 100, "max_level_m3": 100,
        "initial_level_m3": 10, "demand_profile_m3_per_h": [0.0] * 24,
    }  # fmt: skip
    spec.update(fields)
    return spec


def demand(**by_hour: float) -> list[float]:
    """24 hourly values [m³/h]: ``h3=20`` for 20 m³ in the local hour 3."""
    values = [0.0] * 24
    for key, value in by_hour.items():
        values[int(key[1:])] = value
    return values


def site_with(**fields) -> Site:
    return toy_site(grid(), tank(**fields), carbon_guard=False)


def solve(site: Site, idx: pd.DatetimeIndex | int, **columns):
    """The plan over ``idx`` (or the first ``idx`` hours of the day), checked by ``check``."""
    idx = index(site, idx) if isinstance(idx, int) else idx
    options = {k: columns.pop(k) for k in ("mip_rel_gap",) if k in columns}
    plan = Planner(keep=1).plan(site, idx, inputs(site, idx, **columns), **options)
    check(site, plan)
    return plan


def check(site: Site, plan, state: State | None = None) -> None:
    """The shared invariants (``tests/optimizer/invariants.py``) and the tank's physics, from
    the plan's columns (docs/formulation.md, *water tank*)."""
    problems = plan_problems(site, plan)
    assert not problems, "plan breaks its invariants:\n  " + "\n  ".join(problems)
    table = getattr(plan, "table", plan)
    s = next(d for d in site.devices if isinstance(d, WaterTank))
    col = lambda q: table[f"{s.name}.{q}"].to_numpy()  # noqa: E731
    dt = site.step_h
    pump, level, need, unmet = col("pump_kw"), col("level_m3"), col("demand_m3"), col("unmet_m3")
    assert (pump <= s.pump_kw * col("allowed_pu") + TOL).all(), "pump outside allowed hours"
    assert col("on_pu") == pytest.approx(pump / s.pump_kw, abs=TOL)
    assert (pump >= -TOL).all() and (unmet >= -TOL).all() and (unmet <= need + TOL).all()
    assert (level >= s.min_level_m3 - TOL).all() and (level <= s.max_level_m3 + TOL).all()
    assert col("pumped_m3") == pytest.approx(pump * dt / s.energy_kwh_per_m3)
    assert col("served_m3") == pytest.approx(need - unmet)
    assert col("unmet_kw") == pytest.approx(unmet * s.energy_kwh_per_m3 / dt)
    keep = (1 - s.loss_pu_per_day) ** (dt / 24)
    before = (state or State()).resolved(site).value(s.name, "level_m3")
    for t in range(len(table)):
        expected = keep * before + pump[t] * dt / s.energy_kwh_per_m3 - need[t] + unmet[t]
        assert level[t] == pytest.approx(expected, abs=TOL), f"water balance at {t}"
        before = level[t]


def starts(on: np.ndarray) -> np.ndarray:
    """1 where the pump switches on (it is off before the horizon)."""
    return np.diff(np.concatenate([[0.0], np.round(on)])).clip(min=0)


# --- filling ----------------------------------------------------------------------------
def test_fills_in_the_cheapest_allowed_hours():
    # 30 m³ due in hour 4; the cheapest hour (2) is not allowed: 20 m³ in hour 1 (0.2), the
    # other 10 m³ in hour 0 (0.3)
    site = site_with(allowed_hours=[[0, 2], [3, 5]], demand_profile_m3_per_h=demand(h4=30))
    p = solve(site, 5, grid__import_price_per_kwh=[0.3, 0.2, 0.1, 1.0, 0.4])
    t = p.table
    assert t["tank.pump_kw"].tolist() == pytest.approx([5, 10, 0, 0, 0], abs=TOL)
    assert t["tank.level_m3"].tolist() == pytest.approx([20, 40, 40, 40, 10], abs=TOL)
    assert p.objective_terms["cost"] == pytest.approx(10 * 0.5 * 0.3 + 20 * 0.5 * 0.2)
    assert p.objective_terms["unserved_kwh"] == pytest.approx(0, abs=TOL)


def test_never_overflows_and_pumps_the_rest_when_it_is_drawn():
    # the tank holds 25 m³: 15 m³ more than its 10 can be stored before hour 4, in the
    # cheapest hour 1; the other 15 m³ are pumped in hour 4 itself at 0.4
    site = site_with(
        max_level_m3=25, allowed_hours=[[0, 2], [3, 5]], demand_profile_m3_per_h=demand(h4=30)
    )
    p = solve(site, 5, grid__import_price_per_kwh=[0.3, 0.2, 0.1, 1.0, 0.4])
    t = p.table
    assert t["tank.level_m3"].max() <= 25 + TOL
    assert t["tank.pump_kw"].tolist() == pytest.approx([0, 7.5, 0, 0, 7.5], abs=TOL)
    assert p.objective_terms["cost"] == pytest.approx(7.5 * 0.2 + 7.5 * 0.4)


def test_never_pumps_outside_its_allowed_hours():
    # a window across midnight, 22–02 h: hours 0 and 1 only, though 2 and 3 are cheaper
    site = site_with(allowed_hours=[[22, 2]], demand_profile_m3_per_h=demand(h3=30))
    p = solve(site, 4, grid__import_price_per_kwh=[1.0, 1.0, 0.1, 0.1])
    t = p.table
    assert t["tank.allowed_pu"].tolist() == [1, 1, 0, 0]
    assert t["tank.pump_kw"].iloc[2:].tolist() == pytest.approx([0, 0], abs=TOL)
    assert p.objective_terms["cost"] == pytest.approx(30 * 0.5 * 1.0)
    assert t["tank.unmet_m3"].sum() == pytest.approx(0, abs=TOL)


def test_losses_and_the_default_watering_shape_follow_the_water_balance():
    # 15-minute steps, 24 % a day lost; 120 m³ a day drawn 06–09 and 16–19 h (20 m³/h)
    site = toy_site(
        grid(),
        tank(demand_profile_m3_per_h=None, demand_m3_per_day=120, loss_pu_per_day=0.24,
             initial_level_m3=50, max_level_m3=80),
        carbon_guard=False, step_minutes=15,
    )  # fmt: skip
    idx = day_index(site, DAY)
    p = solve(site, idx)
    need = p.table["tank.demand_m3"].to_numpy().reshape(24, 4).sum(axis=1)
    assert need.sum() == pytest.approx(120)
    assert need.tolist() == pytest.approx(demand(h6=20, h7=20, h8=20, h16=20, h17=20, h18=20))
    # flat prices: the tank ends where it started, losses made up by the pump
    assert p.table["tank.level_m3"].iloc[-1] == pytest.approx(50, abs=1e-5)
    lost = p.table["tank.pumped_m3"].sum() - 120
    assert 0 < lost < 0.24 * 80


def test_a_replan_with_new_demand_and_hours_reuses_the_model():
    site = site_with(allowed_hours=[[0, 2]], demand_profile_m3_per_h=demand(h3=20))
    idx = index(site, 4)
    planner = Planner(keep=1)
    first = planner.plan(site, idx, inputs(site, idx))
    check(site, first)
    assert first.table["tank.pumped_m3"].sum() == pytest.approx(20)
    # an override: 30 m³ due in hour 2, the pump allowed in hour 1 only
    second = planner.plan(
        site, idx, inputs(site, idx, tank__demand_m3=[0, 0, 30, 0], tank__allowed_pu=[0, 1, 0, 0])
    )
    assert "refresh_s" in planner.last_timings  # the model was reused, not rebuilt
    check(site, second)
    assert second.table["tank.pump_kw"].tolist() == pytest.approx([0, 10, 0, 0], abs=TOL)
    assert second.table["tank.unmet_m3"].tolist() == pytest.approx([0, 0, 0, 0], abs=TOL)
    assert second.table["tank.level_m3"].tolist() == pytest.approx([10, 30, 0, 0], abs=TOL)


def test_an_allowed_share_above_one_is_refused():
    site = site_with()
    idx = index(site, 2)
    with pytest.raises(PlanningError, match=r"tank.allowed_pu.*above what tank can deliver"):
        inputs(site, idx, tank__allowed_pu=[1, 2])


# --- commitment -------------------------------------------------------------------------
def test_commitment_runs_at_rated_power_within_its_starts_per_day():
    # 60 m³ due in hour 5 takes 3 hours of pumping; cheap hours 0, 2, 4 would need 3 starts,
    # one start a day allows a block: hours 0–2 or 2–4, both 0.1 + 1 + 0.1
    site = site_with(
        commitment=True, max_starts_per_day=1, demand_profile_m3_per_h=demand(h5=60)
    )
    prices = [0.1, 1.0, 0.1, 1.0, 0.1, 1.0]
    p = solve(site, 6, grid__import_price_per_kwh=prices, mip_rel_gap=1e-9)
    on, pump = p.table["tank.on_pu"].to_numpy(), p.table["tank.pump_kw"].to_numpy()
    assert np.abs(on - np.round(on)).max() < TOL
    assert pump == pytest.approx(10 * np.round(on), abs=TOL)
    assert starts(on).sum() == 1 and on.sum() == pytest.approx(3)
    assert p.objective_terms["cost"] == pytest.approx(10 * (0.1 + 1.0 + 0.1))
    # without the limit, the three cheap hours
    free = solve(site_with(commitment=True, demand_profile_m3_per_h=demand(h5=60)), 6,
                 grid__import_price_per_kwh=prices, mip_rel_gap=1e-9)  # fmt: skip
    assert free.objective_terms["cost"] == pytest.approx(3 * 10 * 0.1)
    assert starts(free.table["tank.on_pu"].to_numpy()).sum() == 3


def test_starts_are_counted_per_local_day():
    # 22–02 h across midnight, 40 m³ due at 01 h: one start on each local day lets the pump
    # run at 22 h and at 00 h, the two cheap hours
    site = site_with(
        commitment=True, max_starts_per_day=1, demand_profile_m3_per_h=demand(h1=40)
    )
    idx = day_index(site, DAY - timedelta(days=1), days=2)[22:26]
    p = solve(site, idx, grid__import_price_per_kwh=[0.1, 1.0, 0.1, 1.0], mip_rel_gap=1e-9)
    assert p.table["tank.pump_kw"].tolist() == pytest.approx([10, 0, 10, 0], abs=TOL)
    assert p.objective_terms["cost"] == pytest.approx(2 * 10 * 0.1)


# --- unmet water ------------------------------------------------------------------------
def test_water_the_pump_cannot_deliver_is_unmet_valued_and_unserved():
    # one allowed hour lifts the tank to 30 m³; 50 m³ are drawn in hour 2: 20 m³ unmet, and
    # the tank ends empty, 10 m³ below its initial level
    site = site_with(allowed_hours=[[0, 1]], demand_profile_m3_per_h=demand(h2=50))
    p = solve(site, 3)
    t, terms = p.table, p.objective_terms
    assert t["tank.unmet_m3"].tolist() == pytest.approx([0, 0, 20], abs=TOL)
    assert t["tank.level_m3"].tolist() == pytest.approx([30, 30, 0], abs=TOL)
    # unserved as the pump energy that water would have needed
    assert terms["unserved_kwh"] == pytest.approx(20 * E_KWH_PER_M3)
    # priority low: 0.5 × the site's 10 per kWh, × 0.5 kWh/m³ = 2.5 per m³
    assert terms["penalty"] == pytest.approx(20 * 2.5)
    # water left below the target: its pump energy at 1.25 × the dearest price, 1.0
    assert terms["stored_shortfall_value"] == pytest.approx(10 * E_KWH_PER_M3 * 1.25)


def test_an_own_value_of_lost_water_prices_the_unmet_water():
    site = site_with(
        allowed_hours=[[0, 1]], demand_profile_m3_per_h=demand(h2=50),
        value_of_lost_water_per_m3=4.0,
    )  # fmt: skip
    p = solve(site, 3)
    assert p.objective_terms["penalty"] == pytest.approx(20 * 4.0)


def test_a_level_the_pump_cannot_hold_above_its_minimum_names_the_fields():
    # 24 % a day lost from 10 m³ at the minimum, and the pump may not run in these hours
    site = site_with(min_level_m3=10, loss_pu_per_day=0.24, allowed_hours=[[6, 18]])
    with pytest.raises(InfeasibleError, match="min_level_m3 10.*loss_pu_per_day 0.24"):
        solve(site, 2)


def test_a_hard_end_level_the_losses_take_away_names_the_fields():
    # no pumping in these hours and 24 % a day lost: the level cannot end at its initial 10 m³
    site = site_with(loss_pu_per_day=0.24, allowed_hours=[[6, 18]], end_target="hard")
    with pytest.raises(InfeasibleError, match="hard end target.*initial level 10"):
        solve(site, 2)
    # soft (the default), the water lost is valued instead
    p = solve(site_with(loss_pu_per_day=0.24, allowed_hours=[[6, 18]]), 2)
    short_m3 = 10 - 10 * 0.76 ** (2 / 24)
    assert p.objective_terms["stored_shortfall_value"] == pytest.approx(
        short_m3 * E_KWH_PER_M3 * 1.25
    )


# --- the spec ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"flow_m3_per_h": 20}, "exactly one of flow_m3_per_h or specific_energy_kwh_per_m3"),
        (
            {"specific_energy_kwh_per_m3": None},
            "exactly one of flow_m3_per_h or specific_energy_kwh_per_m3",
        ),
        ({"pump_kw": 0}, "pump_kw"),
        ({"max_level_m3": 120}, r"max_level_m3 \(120"),
        ({"min_level_m3": 100}, r"min_level_m3 \(100"),
        ({"initial_level_m3": 101, "max_level_m3": 90}, "initial_level_m3 must lie in"),
        ({"demand_m3_per_day": 100}, "exactly one of demand_m3_per_day or demand_profile"),
        ({"demand_profile_m3_per_h": [1.0] * 23}, "demand_profile_m3_per_h must have 24"),
        ({"allowed_hours": [[6, 6]]}, r"allowed_hours.*window 0 \[6, 6\) is empty"),
        ({"allowed_hours": [[6, 25]]}, r"allowed_hours.*window 0 \[6, 25\): hours must lie"),
        ({"demand_profile_m3_per_h": [-1.0] * 24}, "demand_profile_m3_per_h.*must be ≥ 0"),
        ({"max_starts_per_day": 2}, "max_starts_per_day needs commitment"),
        ({"loss_pu_per_day": 0.9}, "loss_pu_per_day"),
        # 0.5 kWh/m³ cannot lift water 200 m: ρ g H = 0.545 kWh/m³
        ({"head_m": 200}, "hydraulic minimum .* at head_m 200"),
    ],
)
def test_bad_values_name_the_field(fields, message):
    with pytest.raises(SiteError, match=message):
        toy_site(grid(), tank(**fields))


def test_flow_at_rated_power_gives_the_energy_per_m3():
    # 15 kW delivering 70 m³/h against 40 m: 0.214 kWh/m³, above ρ g H = 0.109 kWh/m³
    site = toy_site(
        grid(),
        tank(specific_energy_kwh_per_m3=None, pump_kw=15, flow_m3_per_h=70, head_m=40),
    )
    assert site.device("tank").energy_kwh_per_m3 == pytest.approx(15 / 70)


# --- sizing -----------------------------------------------------------------------------
def test_sizing_buys_the_volume_that_moves_the_pumping_to_cheap_hours():
    # 40 m³ drawn at noon; pumping costs 0.5 kWh/m³ × 0.1 before 06 h and × 1.0 after: a m³
    # of tank saves 0.45 a day, 164.25 a year, for 1000 / 20 years = 50 a year. The tank
    # grows from 10 to the 40 m³ that hold the whole draw, and no further.
    from optimizer.studies.design import resized
    from optimizer.studies.sizing import build_sizing, solve_sizing

    site = toy_site(
        grid(import_tariff=[{"start_h": 0, "end_h": 6, "price_per_kwh": 0.1},
                            {"start_h": 6, "end_h": 24, "price_per_kwh": 1.0}]),
        tank(capacity_m3=10, max_level_m3=10, initial_level_m3=5,
             demand_profile_m3_per_h=demand(h12=40), commitment=True,
             economics={"capital_cost_per_unit": 1000, "lifetime_years": 20}),
        discount_rate_pu=0.0, project_life_years=20, carbon_guard=False,
    )  # fmt: skip
    idx = day_index(site, DAY)
    part = inputs(site, idx)
    r = solve_sizing(build_sizing(site, part, [idx], [365.0]))
    assert r.status == "optimal"
    assert r.capacities["tank"] == pytest.approx(40, rel=1e-6)
    assert r.annual["operation_cost"] == pytest.approx(365 * 40 * 0.5 * 0.1, rel=1e-6)
    bigger = resized(site, {"tank": 40.0}).device("tank")
    assert (bigger.capacity_m3, bigger.max_level_m3, bigger.initial_level_m3) == (40, 40, 5)


# --- the rule-based dispatch ------------------------------------------------------------
def rule_plan(site: Site, idx: pd.DatetimeIndex | int, state: State | None = None, **columns):
    """The rule-based plan over ``idx`` (or the first ``idx`` hours), checked by ``check``."""
    idx = index(site, idx) if isinstance(idx, int) else idx
    plan = rule_based_plan(site, inputs(site, idx, **columns), state)
    check(site, plan, state)
    return plan


def test_the_rules_pump_at_rated_power_as_late_as_the_allowed_hours_let_them():
    # 30 m³ drawn in hour 5 and 10 m³ in hour 6, 10 m³ in store: the pump may run in hours
    # 0–4 only, so the 40 m³ that cover the draw and end the day at the initial level are
    # pumped in the last allowed hours, 3 and 4, at 10 kW (20 m³/h); outside them never
    site = site_with(allowed_hours=[[0, 5]], demand_profile_m3_per_h=demand(h5=30, h6=10))
    t = rule_plan(site, 7).table
    assert t["tank.pump_kw"].tolist() == pytest.approx([0, 0, 0, 10, 10, 0, 0], abs=TOL)
    assert t["tank.level_m3"].tolist() == pytest.approx([10, 10, 10, 30, 50, 20, 10], abs=TOL)
    assert t["tank.unmet_m3"].sum() == pytest.approx(0, abs=TOL)
    # the grid supplies it like any demand: 20 kWh at 1.0
    assert t["cost"].sum() == pytest.approx(20.0)


def test_the_rules_fill_the_tank_from_surplus_pv_but_never_overflow_it():
    # 15 kW of PV surplus in every hour: the pump takes up to 10 kW while allowed (hours 0–2)
    # until the tank, 10 m³ at the start, is full at 45 m³ (20, then the 15 m³ left); the
    # rest is curtailed (the grid takes no export)
    site = toy_site(grid(), pv(), tank(max_level_m3=45, capacity_m3=50, allowed_hours=[[0, 3]]),
                    carbon_guard=False)  # fmt: skip
    t = rule_plan(site, 4, pv__available_kw=15.0, grid__carbon_kgco2_per_kwh=0.5).table
    assert t["tank.pump_kw"].tolist() == pytest.approx([10, 7.5, 0, 0], abs=TOL)
    assert t["tank.level_m3"].max() == pytest.approx(45)
    assert t["grid.import_kw"].sum() == pytest.approx(0, abs=TOL)
    assert t["pv.curtailed_kw"].tolist() == pytest.approx([5, 7.5, 15, 15], abs=TOL)


def test_the_rules_leave_water_unmet_only_when_the_tank_is_empty():
    # one allowed hour lifts 10 m³ to 30; 50 m³ drawn in hour 2: 30 served, 20 unmet, and
    # the level stays at its minimum, 0
    site = site_with(allowed_hours=[[0, 1]], demand_profile_m3_per_h=demand(h2=50))
    p = rule_plan(site, 3)
    t = p.table
    assert t["tank.unmet_m3"].tolist() == pytest.approx([0, 0, 20], abs=TOL)
    assert t["tank.served_m3"].tolist() == pytest.approx([0, 0, 30], abs=TOL)
    assert t["tank.level_m3"].tolist() == pytest.approx([30, 30, 0], abs=TOL)
    # valued like the LP's: 20 m³ at 2.5 per m³, and counted as the pump energy not spent
    assert p.objective_terms["penalty"] == pytest.approx(20 * 2.5)
    assert p.kpis["tank.unserved_kwh"] == pytest.approx(20 * E_KWH_PER_M3)
    assert p.kpis["demand_kwh"] == pytest.approx(10.0)  # the pump's energy


def test_the_rules_keep_commitment_and_starts_per_day():
    # 60 m³ drawn in hour 5, none in store: three hours at 10 kW (20 m³/h) in one start, as
    # late as they can be, 3–5 (water pumped in hour 5 is drawn in it)
    site = site_with(
        commitment=True, max_starts_per_day=1, demand_profile_m3_per_h=demand(h5=60),
        initial_level_m3=0,
    )  # fmt: skip
    t = rule_plan(site, 6).table
    assert t["tank.on_pu"].tolist() == pytest.approx([0, 0, 0, 1, 1, 1], abs=TOL)
    assert starts(t["tank.on_pu"].to_numpy()).sum() == 1


def test_the_rule_based_plan_of_a_small_village_passes_the_invariants():
    # PV, a household load, a tank drawn at the default watering hours, 15-minute steps
    site = toy_site(
        grid(carbon_kgco2_per_kwh=0.5), pv(), load(),
        tank(demand_profile_m3_per_h=None, demand_m3_per_day=120, loss_pu_per_day=0.05,
             min_level_m3=5, initial_level_m3=30, max_level_m3=90,
             allowed_hours=[[0, 6], [9, 17]]),
        carbon_guard=False, step_minutes=15,
    )  # fmt: skip
    idx = day_index(site, DAY)
    hour = np.arange(len(idx)) / 4
    sun = np.clip(60 * np.sin((hour - 6) / 12 * np.pi), 0, None)
    columns = {"pv__available_kw": sun, "load__forecast_kw": 8.0}
    rules = rule_plan(site, idx, **columns)
    t = rules.table
    allowed = t["tank.allowed_pu"].to_numpy()
    assert allowed.sum() == 14 * 4 and (t["tank.pump_kw"].to_numpy()[allowed == 0] == 0).all()
    assert t["tank.level_m3"].max() <= 90 + TOL and t["tank.unmet_m3"].sum() < TOL
    assert t["tank.level_m3"].iloc[-1] >= 30 - TOL  # back to its initial level
    # the optimum is no dearer than the rules, on the same inputs
    plan = solve(site, idx, **columns)
    assert plan.objective_terms["objective"] <= rules.objective_terms["objective"] + 1e-6


# --- the plan's setpoints and the state ---------------------------------------------------
def test_the_dispatch_carries_the_pump_power_and_the_level():
    from api.services.compact import compact_table

    site = site_with(allowed_hours=[[0, 2], [3, 5]], demand_profile_m3_per_h=demand(h4=30))
    p = solve(site, 5, grid__import_price_per_kwh=[0.3, 0.2, 0.1, 1.0, 0.4])
    sent = compact_table(site, p.table, site.step_minutes)
    assert {"tank.pump_kw", "tank.on_pu", "tank.level_m3"} <= set(sent["columns"])
    pump = [row[sent["columns"].index("tank.pump_kw")] for row in sent["values"]]
    assert pump == pytest.approx([5, 10, 0, 0, 0], abs=1e-4)


def test_the_initial_level_comes_from_the_state():
    # 50 m³ in store instead of the file's 10: 20 m³ drawn in hour 1 need no pumping, and the
    # tank ends at its (new) initial level: 20 m³ pumped back in the cheap hour 2
    site = site_with(allowed_hours=[[0, 3]], demand_profile_m3_per_h=demand(h1=20))
    state = State(values={"tank": {"level_m3": 50.0}})
    idx = index(site, 3)
    prices = [1.0, 1.0, 0.1]
    p = Planner(keep=1).plan(site, idx, inputs(site, idx, grid__import_price_per_kwh=prices),
                             state)  # fmt: skip
    check(site, p, state)
    assert p.table["tank.pump_kw"].tolist() == pytest.approx([0, 0, 10], abs=TOL)
    assert p.table["tank.level_m3"].tolist() == pytest.approx([50, 30, 50], abs=TOL)
    rules = rule_plan(site, idx, state, grid__import_price_per_kwh=prices)
    assert rules.table["tank.level_m3"].iloc[0] == pytest.approx(50.0)


@pytest.mark.parametrize("level", [-1.0, 101.0])
def test_a_level_out_of_its_bounds_is_refused_naming_it(level):
    site = site_with()
    with pytest.raises(PlanningError, match=rf"state.tank.level_m3: must lie in \[0, 100\] m3, "
                                            rf"got {level:g}"):  # fmt: skip
        State(values={"tank": {"level_m3": level}}).resolved(site)
    # without a limit on starts the pump's on-state is no state of the tank
    with pytest.raises(PlanningError, match="state.tank.on_pu: 'tank' has no state quantity"):
        State(values={"tank": {"on_pu": 1.0}}).resolved(site)


def test_the_next_plan_starts_from_the_last_level_and_the_pump_state():
    site = site_with(
        commitment=True, max_starts_per_day=1, allowed_hours=[[0, 2], [3, 5]],
        demand_profile_m3_per_h=demand(h4=30),
    )  # fmt: skip
    p = solve(site, 5, grid__import_price_per_kwh=[0.3, 0.2, 0.1, 1.0, 0.4], mip_rel_gap=1e-9)
    end = p.table.index[-1] + pd.Timedelta(hours=1)
    carried = State.from_plan(site, p.table, end)
    assert carried.value("tank", "level_m3") == pytest.approx(p.table["tank.level_m3"].iloc[-1])
    assert carried.value("tank", "on_pu") == pytest.approx(p.table["tank.on_pu"].iloc[-1])
    # at an earlier moment, the level at the end of the interval before it
    third = p.table.index[2]
    assert State.from_plan(site, p.table, third).value("tank", "level_m3") == pytest.approx(
        p.table["tank.level_m3"].iloc[1]
    )


# --- closed-loop operation: the rule pinned to a plan (optimizer.operation) ---------------
def operated(site: Site, plan, actual: pd.DataFrame) -> pd.DataFrame:
    """The plan operated on ``actual``, its realised rows checked by ``check``."""
    real = operate(site, plan.table, actual)
    check(site, real)
    return real


def numeric_columns(table: pd.DataFrame) -> list[str]:
    numeric = table.select_dtypes("number").columns
    return [c for c in numeric if c != "marginal_price_per_kwh"]


@pytest.mark.parametrize("commitment", [False, True])
def test_operated_on_its_own_forecast_the_plan_is_what_happens(commitment):
    # PV at midday, dear evening power and water drawn at 06 and 17 h: the plan pumps from PV
    # and cheap hours, which the rules alone would not; pinned, the pump follows it exactly
    # (a battery is there to take what the grid's planned import offers an unpinned pump)
    battery = {"name": "bat", "kind": "battery", "capacity_kwh": 20, "max_charge_kw": 10,
               "max_discharge_kw": 10, "initial_soc_pu": 0.5}  # fmt: skip
    site = toy_site(
        grid(), pv(), battery,
        tank(commitment=commitment, allowed_hours=[[0, 20]], max_level_m3=60,
             demand_profile_m3_per_h=demand(h6=20, h17=30)),
        carbon_guard=False,
    )  # fmt: skip
    idx = index(site, 24)
    hour = np.arange(24)
    prices = np.where((hour >= 17) & (hour < 21), 1.5, np.where(hour < 6, 0.4, 1.0))
    sun = np.clip(15 * np.sin((hour - 6) / 12 * np.pi), 0, None)
    forecast = inputs(site, idx, grid__import_price_per_kwh=prices, pv__available_kw=sun)
    plan = Planner(keep=1).plan(site, idx, forecast, mip_rel_gap=1e-9)
    real = operated(site, plan, forecast)
    columns = numeric_columns(plan.table)
    assert {"tank.pump_kw", "tank.level_m3", "grid.import_kw"} <= set(columns)
    np.testing.assert_allclose(real[columns], plan.table[columns], atol=TOL)
    # the rules alone pump otherwise: the pinning is what reproduces the plan
    rules = rule_based_plan(site, forecast).table
    assert np.abs(rules["tank.pump_kw"] - plan.table["tank.pump_kw"]).max() > 1.0


def test_the_example_village_operates_its_plan_as_it_is():
    site = load_site("sites/demo_village.yaml")
    idx = day_index(site, DAY)
    forecast = build_inputs(site, idx)
    plan = make_plan(site, idx, forecast)
    assert plan.table["irrigation.pump_kw"].max() > 1.0  # the plan pumps
    real = operate(site, plan.table, forecast)
    columns = numeric_columns(plan.table)
    assert {"irrigation.pump_kw", "irrigation.level_m3", "grid.import_kw"} <= set(columns)
    np.testing.assert_allclose(real[columns], plan.table[columns], atol=TOL)
    assert not plan_problems(site, real)


def three_hour_plan():
    # 10 m³ drawn in hour 0 and 20 m³ in hour 2, 10 m³ in store, room for 30: the plan pumps
    # 10 kW (20 m³) in hour 0 at 0.1, 5 kW (10 m³) in hour 1 at 0.5 and fills the tank to 30
    # m³ before hour 2; it ends at 10 m³, where it started
    site = site_with(max_level_m3=30, capacity_m3=40, demand_profile_m3_per_h=demand(h0=10, h2=20))
    idx = index(site, 3)
    prices = [0.1, 0.5, 1.0]
    plan = solve(site, idx, grid__import_price_per_kwh=prices)
    assert plan.table["tank.pump_kw"].tolist() == pytest.approx([10, 5, 0], abs=TOL)
    assert plan.table["tank.level_m3"].tolist() == pytest.approx([20, 30, 10], abs=TOL)
    return site, idx, prices, plan


@pytest.mark.parametrize(
    "drawn_m3, pump_kw, level_m3",
    [
        # no water drawn in hour 0: the planned 20 m³ fill the tank to 30 m³ at once, so in
        # hour 1 it has no room and the pump stays off (never overflowing it)
        ([0, 0, 20], [10, 0, 0], [30, 30, 10]),
        # 40 m³ drawn in hour 2 instead of 20: the planned pumping leaves 30 m³, 10 short of
        # the draw; the pump, allowed and planned off, runs 5 kW (10 m³) so that no water is
        # unmet, and the tank ends empty
        ([10, 0, 40], [10, 5, 5], [20, 30, 0]),
    ],
)
def test_under_a_forecast_error_the_pinned_pump_keeps_the_tank_in_its_band(
    drawn_m3, pump_kw, level_m3
):
    site, idx, prices, plan = three_hour_plan()
    actual = inputs(site, idx, grid__import_price_per_kwh=prices, tank__demand_m3=drawn_m3)
    t = operated(site, plan, actual)
    assert t["tank.pump_kw"].tolist() == pytest.approx(pump_kw, abs=TOL)
    assert t["tank.level_m3"].tolist() == pytest.approx(level_m3, abs=TOL)
    # the grid, the only other supply, gives what the pump draws
    assert t["grid.import_kw"].tolist() == pytest.approx(pump_kw, abs=TOL)
    assert t["tank.unmet_m3"].sum() == pytest.approx(0, abs=TOL)
