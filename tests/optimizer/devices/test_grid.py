"""Grid: outages, peak-import charge, one-way flow, carbon, marginal price."""

from __future__ import annotations

import pytest

from tests.optimizer.devices.test_battery import battery
from tests.optimizer.toy import grid, load, plan, pv, toy_site


def test_outage_forces_zero_import():
    site = toy_site(
        grid(outages=[{"start": "2026-07-01T01:00+08:00", "end": "2026-07-01T02:00+08:00"}]),
        load(),
    )
    p = plan(site, 3, load__forecast_kw=5)
    assert p.table["grid.available_pu"].tolist() == [1, 0, 1]
    assert p.table["grid.import_kw"].tolist() == pytest.approx([5, 0, 5])
    assert p.table["unserved_kw"].tolist() == pytest.approx([0, 5, 0])


def test_peak_charge_flattens_import():
    site = toy_site(
        grid(peak_import_charge_per_kw=10.0),
        load(),
        battery(charge_efficiency_pu=1.0, discharge_efficiency_pu=1.0),
    )
    p = plan(site, 2, load__forecast_kw=[0, 10])
    assert p.table["grid.import_kw"].tolist() == pytest.approx([5, 5])
    assert p.objective_terms["horizon_cost"] == pytest.approx(50)
    assert p.objective_terms["cost"] == pytest.approx(10)


def test_no_buying_to_resell_when_export_pays_more():
    site = toy_site(grid(max_export_kw=50, export_price_per_kwh=0.5), load())
    p = plan(site, 2, grid__import_price_per_kwh=[0.2, 1.0], load__forecast_kw=10)
    assert p.table["grid.export_kw"].tolist() == pytest.approx([0, 0])
    assert p.objective_terms["cost"] == pytest.approx(2 + 10)


def test_surplus_pv_is_exported():
    site = toy_site(grid(max_export_kw=50, export_price_per_kwh=0.3), load(), pv())
    p = plan(site, 1, pv__available_kw=30, load__forecast_kw=10)
    assert p.table["grid.export_kw"].tolist() == pytest.approx([20])
    assert p.objective_terms["cost"] == pytest.approx(-6)


def test_import_emissions_and_marginal_price():
    site = toy_site(grid(carbon_kgco2_per_kwh=0.5), load(), carbon_price_per_kgco2=0.1)
    p = plan(site, 2, grid__import_price_per_kwh=[0.3, 0.6], load__forecast_kw=10)
    assert p.table["emissions_kgco2"].tolist() == pytest.approx([5, 5])
    # one more kWh of load costs its price plus the carbon price on its CO2
    assert p.table["marginal_price_per_kwh"].tolist() == pytest.approx([0.35, 0.65])


def test_one_way_rule_reaches_the_exact_milp_optimum_on_the_demo_village():
    # Guangdong: export (0.453) pays more than the night tariff (0.25); the exact rule needs a
    # binary per such interval. The planner's re-solve must reach the MILP's optimum.
    from datetime import date

    import pyomo.environ as pyo

    from optimizer.inputs import build_inputs
    from optimizer.model import build_model
    from optimizer.planner import make_plan
    from optimizer.solve import HighsProblem
    from optimizer.state import State
    from sites.load import load_site
    from sites.timeindex import day_index

    site = load_site("sites/demo_village.yaml")
    idx = day_index(site, date(2026, 7, 1))
    given = build_inputs(site, idx)
    resale = [
        t
        for t, (sell, buy) in enumerate(
            zip(given["grid.export_price_per_kwh"], given["grid.import_price_per_kwh"], strict=True)
        )
        if sell > buy
    ]
    assert resale, "the demo tariff should have intervals where export pays more"
    vm = build_model(site, idx, given)
    datas = vm.set_data(idx, given, State().resolved(site))
    blk = vm.model.devices["grid"]
    g = site.device("grid")
    blk.importing = pyo.Var(resale, within=pyo.Binary)
    blk.only_import = pyo.Constraint(
        resale, rule=lambda b, t: b.import_kw[t] <= g.max_import_kw * b.importing[t]
    )
    blk.only_export = pyo.Constraint(
        resale, rule=lambda b, t: b.export_kw[t] <= g.max_export_kw * (1 - b.importing[t])
    )
    exact = HighsProblem(vm, datas).solve(mip_rel_gap=0.0)
    plan = make_plan(site, idx, given, carbon_guard=False)
    assert plan.objective_terms["objective"] == pytest.approx(
        exact.objectives["objective"], abs=1e-6
    )


def test_operator_limits_cap_import_and_export_per_interval():
    # a cap below the load leaves the rest unserved; an export cap curtails the PV surplus
    site = toy_site(grid(max_export_kw=50, export_price_per_kwh=0.3), load(), pv())
    p = plan(site, 3, load__forecast_kw=[10, 10, 0], pv__available_kw=[0, 0, 30],
             grid__import_limit_kw=[50, 4, 50], grid__export_limit_kw=[50, 50, 12])
    assert p.table["grid.import_kw"].tolist() == pytest.approx([10, 4, 0])
    assert p.table["unserved_kw"].tolist() == pytest.approx([0, 6, 0])
    assert p.table["grid.export_kw"].tolist() == pytest.approx([0, 0, 12])
    assert p.table["pv.curtailed_kw"].tolist() == pytest.approx([0, 0, 18])
