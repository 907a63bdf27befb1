"""Scenario plans (optimizer.scenarios): one scenario is the deterministic plan, three share
their first interval, every scenario's path is a valid plan, and hedging pays where the
tails of the forecast do."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.errors import PlanningError
from optimizer.inputs import build_inputs
from optimizer.planner import make_plan
from optimizer.scenario_inputs import SWANSON_WEIGHTS, Scenario, check_scenarios, scenario_inputs
from optimizer.scenarios import build_scenarios, first_interval_vars, plan_over, scenario_plan
from optimizer.state import State
from sites.load import load_site
from sites.timeindex import day_index
from tests.optimizer import toy
from tests.optimizer.invariants import assert_plan_invariants

SITES = sorted(Path("sites").glob("*.yaml"))
DAY = date(2026, 7, 1)


@pytest.mark.parametrize("path", SITES, ids=[p.stem for p in SITES])
def test_one_scenario_is_the_deterministic_plan(path):
    """The scenario LP with its one P50 scenario (weight 1, no ties) reaches the deterministic
    plan's optimum: the same objective terms and key figures."""
    site = load_site(path)
    idx = day_index(site, DAY)
    inputs = build_inputs(site, idx)
    det = make_plan(site, idx, inputs)
    one = scenario_plan(site, idx, inputs, scenarios=1)
    for term in ("objective", "cost", "emissions_kgco2", "penalty"):
        assert one.objective_terms[term] == pytest.approx(
            det.objective_terms[term], abs=1e-6, rel=1e-9
        ), term
    for kpi in ("cost", "emissions_kgco2", "unserved_kwh", "import_kwh"):
        assert one.kpis[kpi] == pytest.approx(det.kpis[kpi], abs=1e-6, rel=1e-9), kpi
    assert [s["name"] for s in one.objective_terms["scenarios"]] == ["p50"]
    # make_plan with scenarios=1 is the deterministic planner itself
    assert "scenarios" not in make_plan(site, idx, inputs, scenarios=1).objective_terms


@pytest.mark.parametrize("bad", [0, 2, 4, -1, "x", "3", 3.0, True, None])
def test_a_scenario_count_other_than_1_or_3_is_refused_by_name(bad):
    with pytest.raises(PlanningError, match="scenarios must be one of"):
        check_scenarios(bad)


def test_scenario_inputs_follow_the_band_and_share_interval_0():
    site = load_site("sites/demo_village.yaml")
    idx = day_index(site, DAY)
    inputs = build_inputs(site, idx)
    low, mid, high = scenario_inputs(site, inputs)
    assert [s.name for s in (low, mid, high)] == list(SWANSON_WEIGHTS)
    assert sum(s.weight for s in (low, mid, high)) == pytest.approx(1.0)
    pv = [c for c in inputs.columns if c.endswith(".available_kw")]
    loads = [c for c in inputs.columns if c.endswith(".forecast_kw")]
    assert pv and loads
    for a, b in ((low, mid), (mid, high)):
        assert (a.inputs[pv].to_numpy() <= b.inputs[pv].to_numpy() + 1e-12).all()
    assert (high.inputs[pv].to_numpy() > mid.inputs[pv].to_numpy() + 1e-6).any()
    for s in (low, mid, high):
        pd.testing.assert_series_equal(s.inputs.iloc[0], mid.inputs.iloc[0])
    homes = loads[0]
    assert low.inputs[homes].iloc[1:].sum() > mid.inputs[homes].iloc[1:].sum()
    assert high.inputs[homes].iloc[1:].sum() < mid.inputs[homes].iloc[1:].sum()


@pytest.fixture(scope="module")
def demo_scenarios():
    site = load_site("sites/demo_village.yaml")
    idx = day_index(site, DAY)
    chosen = scenario_inputs(site, build_inputs(site, idx))
    return site, idx, chosen, plan_over(site, idx, chosen)


def test_interval_0_decisions_are_equal_across_scenarios(demo_scenarios):
    site, idx, chosen, result = demo_scenarios
    assert result.plan.status == "optimal"
    tables = [p.table for p in result.plans.values()]
    decisions = [c for c in tables[0].columns if c not in chosen[0].inputs.columns]
    first = np.array([t[decisions].iloc[0].to_numpy(dtype=float) for t in tables])
    np.testing.assert_allclose(first, first[[0, 0, 0]], atol=1e-7, rtol=0)
    # ... while the recourse differs: the scenarios see different sun
    later = [t["grid.import_kw"].iloc[1:].to_numpy() for t in tables]
    assert np.abs(later[0] - later[2]).max() > 1.0
    # the served plan is the P50 path
    pd.testing.assert_frame_equal(result.plan.table, result.plans["p50"].table)


def test_the_nonanticipativity_rows_tie_every_interval_0_variable():
    site = load_site("sites/demo_village.yaml")
    idx = day_index(site, DAY)
    chosen = scenario_inputs(site, build_inputs(site, idx))
    sm = build_scenarios(site, idx, chosen, State().resolved(site))
    first = [first_interval_vars(vm) for vm in sm.vms]
    assert len(first[0]) > 10 and len({len(f) for f in first}) == 1
    assert len(sm.model.nonanticipative) == 2 * len(first[0])
    names = {v.parent_component().local_name for v in first[0]}
    assert {"charge_kw", "discharge_kw", "soc_kwh", "import_kw", "pv_kw"} <= names


def test_every_scenario_path_is_a_valid_plan(demo_scenarios):
    site, _, _, result = demo_scenarios
    for plan in result.plans.values():
        assert_plan_invariants(site, plan)
    terms = result.plan.objective_terms
    assert [s["name"] for s in terms["scenarios"]] == ["p10", "p50", "p90"]
    assert [s["weight"] for s in terms["scenarios"]] == [0.3, 0.4, 0.3]
    expected = sum(s["weight"] * s["objective"] for s in terms["scenarios"])
    assert terms["expected_objective"] == pytest.approx(expected, rel=1e-9)
    for s in terms["scenarios"]:
        assert s["cost"] == pytest.approx(float(result.plans[s["name"]].table["cost"].sum()))
    # less sun and more load cost more
    costs = [s["objective"] for s in terms["scenarios"]]
    assert costs[0] > costs[1] > costs[2]
    assert result.plan.kpis and "cost_saving" in result.plan.baseline


def test_the_carbon_guard_holds_on_expected_emissions(demo_scenarios):
    _, _, _, result = demo_scenarios
    terms = result.plan.objective_terms
    assert terms["carbon_guard"] and terms["emission_limits_met"]
    assert terms["expected_emissions_kgco2"] <= terms["carbon_guard_kgco2"] + 1e-6


def test_carbon_mode_scenario_plan_serves_the_load_and_is_valid():
    site = load_site("sites/mountain_hamlet.yaml")
    idx = day_index(site, DAY)
    chosen = scenario_inputs(site, build_inputs(site, idx))
    result = plan_over(site, idx, chosen, mode="carbon")
    assert result.plan.objective_terms["mode"] == "carbon"
    for plan in result.plans.values():
        assert_plan_invariants(site, plan)


# --- a hand-solvable case where hedging changes the first decision -------------------------
#
# A lossless 20 kWh battery starts empty (so its end target is empty: stored energy left over
# is worth nothing). Import costs 1/kWh in hour 0 and 5/kWh in hour 1; the load is 0 in hour 0
# and, in hour 1, 10, 5 or 0 kW with weights 0.3/0.4/0.3. Charging a kWh in hour 0 costs 1 and
# saves 5 in every scenario that needs it: the first 5 kWh are needed with probability 0.7
# (worth 3.5), the next 5 with probability 0.3 (worth 1.5 > 1). The hedged plan charges
# 10 kWh; the plan of the median alone charges 5. Expected cost: hedged 10 × 1 = 10;
# median-only 5 × 1 + 0.3 × 5 kWh × 5 = 12.5.
HOUR_1_LOAD_KW = {"p10": 10.0, "p50": 5.0, "p90": 0.0}


def _hedging_case():
    site = toy.toy_site(
        toy.grid(import_tariff=[{"start_h": 0, "end_h": 1, "price_per_kwh": 1.0},
                                {"start_h": 1, "end_h": 24, "price_per_kwh": 5.0}]),
        toy.load(),
        {"name": "bat", "kind": "battery", "capacity_kwh": 20, "max_charge_kw": 20,
         "max_discharge_kw": 20, "charge_efficiency_pu": 1.0, "discharge_efficiency_pu": 1.0,
         "soc_min_pu": 0.0, "soc_max_pu": 1.0, "initial_soc_pu": 0.0},
        carbon_guard=False,
    )
    idx = toy.index(site, 2)
    scenarios = [
        Scenario(name, SWANSON_WEIGHTS[name],
                 toy.inputs(site, idx, load__forecast_kw=[0.0, load_kw]))
        for name, load_kw in HOUR_1_LOAD_KW.items()
    ]
    return site, idx, scenarios


def test_hedging_charges_for_the_tail_where_the_median_plan_does_not():
    site, idx, scenarios = _hedging_case()
    result = plan_over(site, idx, scenarios)
    charge = {n: p.table["bat.charge_kw"].iloc[0] for n, p in result.plans.items()}
    assert charge == pytest.approx({"p10": 10.0, "p50": 10.0, "p90": 10.0}, abs=1e-6)
    assert result.plan.objective_terms["expected_objective"] == pytest.approx(10.0, abs=1e-6)
    for name, plan in result.plans.items():  # recourse: each scenario uses what it needs
        assert plan.table["grid.import_kw"].iloc[1] == pytest.approx(0.0, abs=1e-6)
        assert plan.table["bat.discharge_kw"].iloc[1] == pytest.approx(
            HOUR_1_LOAD_KW[name], abs=1e-6)
        toy.check(site, plan)
    median = make_plan(site, idx, scenarios[1].inputs)
    assert median.table["bat.charge_kw"].iloc[0] == pytest.approx(5.0, abs=1e-6)
    # the median plan's first decision, judged on the three scenarios, costs 12.5
    pinned = 5.0 * 1.0 + SWANSON_WEIGHTS["p10"] * 5.0 * 5.0
    assert pinned == pytest.approx(12.5)
    assert result.plan.objective_terms["expected_objective"] < pinned


def test_load_comes_first_when_a_scenario_must_shed():
    # the grid carries 8 kW: the 10 kW scenario sheds 2 kWh whatever the plan does,
    # unless the battery charged in hour 0 - which serving load first makes it do
    site, idx, scenarios = _hedging_case()
    site = toy.toy_site(
        toy.grid(max_import_kw=8.0,
                 import_tariff=[{"start_h": 0, "end_h": 24, "price_per_kwh": 1.0}]),
        toy.load(),
        {"name": "bat", "kind": "battery", "capacity_kwh": 20, "max_charge_kw": 1,
         "max_discharge_kw": 20, "charge_efficiency_pu": 1.0, "discharge_efficiency_pu": 1.0,
         "soc_min_pu": 0.0, "soc_max_pu": 1.0, "initial_soc_pu": 0.0},
        carbon_guard=False,
    )
    scenarios = [Scenario(s.name, s.weight, toy.inputs(site, idx, load__forecast_kw=[
        0.0, HOUR_1_LOAD_KW[s.name]])) for s in scenarios]
    result = plan_over(site, idx, scenarios)
    assert result.plans["p10"].table["bat.charge_kw"].iloc[0] == pytest.approx(1.0, abs=1e-6)
    assert result.plans["p10"].table["unserved_kw"].iloc[1] == pytest.approx(1.0, abs=1e-6)
    assert result.plans["p50"].table["unserved_kw"].sum() == pytest.approx(0.0, abs=1e-6)


def test_an_emission_budget_holds_on_expected_emissions_or_gives_way_to_load(demo_scenarios):
    site, idx, chosen, free = demo_scenarios
    budget = 0.9 * free.plan.objective_terms["expected_emissions_kgco2"]
    held = plan_over(site, idx, chosen, emission_budget_kgco2=budget, assess_plan=False)
    terms = held.plan.objective_terms
    assert terms["emission_limits_met"] and terms["emission_budget_kgco2"] == budget
    assert terms["expected_emissions_kgco2"] <= budget + 1e-6
    assert terms["expected_objective"] >= free.plan.objective_terms["expected_objective"] - 1e-6
    # nothing can run the village on zero emissions: the budget gives way, no load is shed
    zero = plan_over(site, idx, chosen, emission_budget_kgco2=0.0, assess_plan=False)
    terms = zero.plan.objective_terms
    assert not terms["emission_limits_met"]
    assert all(s["unserved_kwh"] == pytest.approx(0.0, abs=1e-6) for s in terms["scenarios"])
    assert terms["expected_emissions_kgco2"] < budget
    for plan in zero.plans.values():
        assert_plan_invariants(site, plan)


def test_scenario_pv_stays_within_the_inverter_even_when_the_forecast_sits_at_it():
    site = load_site("sites/demo_village.yaml")
    idx = day_index(site, DAY)
    inputs = build_inputs(site, idx)
    pv = [c for c in inputs.columns if c.endswith(".available_kw")]
    limits = {f"{d.name}.available_kw": d.inverter_ac_kw for d in site.devices
              if f"{d.name}.available_kw" in pv}
    for col, limit in limits.items():  # a forecast at the inverter's limit around noon
        inputs[col] = np.minimum(inputs[col] * 3.0, limit)
    for sc in scenario_inputs(site, inputs):
        for col, limit in limits.items():
            assert sc.inputs[col].max() <= limit + 1e-12
            assert sc.inputs[col].min() >= 0.0
    plan = scenario_plan(site, idx, inputs, scenarios=3)
    assert plan.status == "optimal"
