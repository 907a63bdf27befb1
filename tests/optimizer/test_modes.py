"""Modes: carbon (emissions first, cost second) and a daily emission budget (ε-constraint)."""

from __future__ import annotations

import pytest

import optimizer.solve as solve_module
from optimizer.model import build_model
from optimizer.solve import LEXICOGRAPHIC_TOLERANCE_ABS, LEXICOGRAPHIC_TOLERANCE_PU, HighsProblem
from optimizer.state import State
from tests.optimizer.devices.test_genset import diesel
from tests.optimizer.toy import grid, index, inputs, load, plan, toy_site

# grid: 1.0 per kWh, 0.9 kgCO2/kWh; diesel: 2.0 per kWh, 0.25 L/kWh × 2.68 = 0.67 kgCO2/kWh
SITE = dict(load__forecast_kw=10.0)


def site(*extra):
    return toy_site(grid(carbon_kgco2_per_kwh=0.9), load(), diesel(), *extra)


def test_cost_mode_buys_the_cheap_grid():
    p = plan(site(), 24, **SITE)
    assert p.objective_terms["emissions_kgco2"] == pytest.approx(240 * 0.9)
    assert p.objective_terms["cost"] == pytest.approx(240)


def test_carbon_mode_lowers_emissions_and_then_minimises_cost():
    dearer = diesel(name="gen2", fuel={"type": "diesel", "l_per_kwh": 0.25, "price_per_l": 10.0})
    p = plan(site(dearer), 24, mode="carbon", **SITE)
    # the least emissions, within the documented lexicographic slack
    least = 240 * 0.67
    assert (
        least - 1e-6
        <= p.objective_terms["emissions_kgco2"]
        <= least * (1 + LEXICOGRAPHIC_TOLERANCE_PU) + LEXICOGRAPHIC_TOLERANCE_ABS
    )
    # equal emissions either way: cost decides, so the cheaper diesel runs
    assert p.table["gen2.power_kw"].sum() == pytest.approx(0, abs=1e-6)
    assert p.objective_terms["cost"] == pytest.approx(480, rel=1e-5)
    assert p.table["unserved_kw"].sum() == pytest.approx(0)


def test_emission_budget_binds():
    p = plan(site(), 24, emission_budget_kgco2=200.0, **SITE)
    assert p.objective_terms["emissions_kgco2"] == pytest.approx(200, rel=1e-6)
    # each diesel kWh saves 0.23 kg and costs 1.0 more than import
    diesel_kwh = (216 - 200) / 0.23
    assert p.table["gen.power_kw"].sum() == pytest.approx(diesel_kwh, rel=1e-6)
    assert p.objective_terms["cost"] == pytest.approx(240 + diesel_kwh, rel=1e-6)


def test_a_loose_budget_changes_nothing():
    p = plan(site(), 24, emission_budget_kgco2=1000.0, **SITE)
    assert p.objective_terms["cost"] == pytest.approx(240)


def test_unknown_mode_is_an_error():
    from optimizer.errors import PlanningError

    with pytest.raises(PlanningError, match="mode must be one of cost, carbon, got 'green'"):
        plan(site(), 2, mode="green")


def _cap_problem():
    s = site()
    idx = index(s, 24)
    given = inputs(s, idx, **SITE)
    vm = build_model(s, idx, given)
    return HighsProblem(vm, vm.set_data(idx, given, State().resolved(s)))


@pytest.mark.parametrize("cap_kgco2", [200.0, 160.8, 150.0])
def test_a_horizon_emission_cap_holds_where_it_can_and_else_emits_the_least(cap_kgco2):
    # the diesel (20 kW ≥ the 10 kW load) can serve it all: the least emissions are
    # 240 kWh × 0.67 = 160.8 kg; above that the cap binds at its value, below it cannot hold
    # and the plan emits the least instead, serving every kWh
    solution = _cap_problem().solve(emission_cap_kgco2=cap_kgco2)
    least = 240 * 0.67
    emitted = solution.objectives["emissions_objective"]
    assert solution.objectives["unserved_objective"] == pytest.approx(0.0, abs=1e-9)
    if cap_kgco2 >= least:
        assert solution.limits_met is True
        assert emitted == pytest.approx(cap_kgco2, rel=1e-9)
        # every kWh moved from grid to diesel saves 0.23 kg and costs 1.0 more
        diesel_kwh = (216 - cap_kgco2) / 0.23
        assert solution.objectives["objective"] == pytest.approx(240 + diesel_kwh, rel=1e-9)
    else:
        assert solution.limits_met is False
        assert least - 1e-6 <= emitted <= least * (1 + LEXICOGRAPHIC_TOLERANCE_PU) + (
            LEXICOGRAPHIC_TOLERANCE_ABS
        )
        # all diesel (480), less what the emission slack lets the grid take back at 1.0 / 0.23
        slack = least * LEXICOGRAPHIC_TOLERANCE_PU + LEXICOGRAPHIC_TOLERANCE_ABS
        assert 480 - slack / 0.23 - 1e-6 <= solution.objectives["objective"] <= 480 + 1e-6


def test_a_schedule_seen_serving_everything_spares_the_unserved_stage():
    # a first solve serves every kWh, so on the same data the capped re-solve knows the least
    # unserved energy (0) without a run: the cap's first try (it holds only by shedding), the
    # least emissions and the objective — 3 runs, not 4
    warm = _cap_problem()
    warm.solve()
    before = warm.runs
    kept = warm.solve(emission_cap_kgco2=150.0)
    assert warm.runs - before == 3
    fresh = _cap_problem()
    cold = fresh.solve(emission_cap_kgco2=150.0)
    assert fresh.runs == 4
    for name in ("objective", "emissions_objective", "unserved_objective"):
        assert kept.objectives[name] == pytest.approx(cold.objectives[name], rel=1e-9, abs=1e-9)
    assert kept.limits_met is cold.limits_met is False


def test_stages_started_cold_reach_the_same_optima(monkeypatch):
    # large LPs restart each reshaped stage cold (with presolve) instead of from the last
    # basis: the optima are the same either way
    warm = _cap_problem()
    warm.solve()
    kept = warm.solve(emission_cap_kgco2=150.0)
    monkeypatch.setattr(solve_module, "COLD_START_COLUMNS", 0)
    cold = _cap_problem()
    cold.solve()
    again = cold.solve(emission_cap_kgco2=150.0)
    for name in ("objective", "emissions_objective", "unserved_objective"):
        assert again.objectives[name] == pytest.approx(kept.objectives[name], rel=1e-9, abs=1e-9)
