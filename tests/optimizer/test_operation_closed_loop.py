"""The real-time rule (``optimizer.operation``): a plan operated against actual inputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from optimizer.inputs import build_inputs
from optimizer.operation import operate
from optimizer.planner import make_plan
from optimizer.state import State
from sites.load import load_site
from sites.timeindex import day_index
from tests.optimizer import tiny_sites as ts
from tests.optimizer.invariants import plan_problems

SITE = ts.tiny_site(ts.pv(), ts.battery(), ts.grid(), ts.fixed_load())
ETA = 0.95  # the battery's default charge and discharge efficiency [-]


def _inputs(site: Any, pv_kw: float, load_kw: float = 10.0) -> pd.DataFrame:
    index = ts.hourly_index(1, start="2026-06-01 12:00")
    inputs = build_inputs(site, index)
    inputs["pv.available_kw"] = pv_kw
    inputs["homes.forecast_kw"] = load_kw
    return inputs


def _plan(forecast: pd.DataFrame, charge_kw: float, export_kw: float) -> pd.DataFrame:
    """A plan row written by hand: PV 20 kW used, load 10 kW, charging, export."""
    plan = forecast.copy()
    plan["pv.pv_kw"], plan["pv.curtailed_kw"] = forecast["pv.available_kw"], 0.0
    plan["bat.charge_kw"], plan["bat.discharge_kw"] = charge_kw, 0.0
    plan["grid.import_kw"], plan["grid.export_kw"] = 0.0, export_kw
    plan["homes.demand_kw"] = plan["homes.served_kw"] = forecast["homes.forecast_kw"]
    plan["homes.shed_kw"] = plan["unserved_kw"] = 0.0
    return plan


def _one(table: pd.DataFrame, column: str) -> float:
    return float(table[column].iloc[0])


def test_battery_takes_a_shortfall_first_then_the_grid() -> None:
    site = ts.tiny_site(ts.pv(), ts.battery(), ts.grid(), ts.fixed_load())
    forecast = _inputs(site, 20.0)
    plan = _plan(forecast, charge_kw=5.0, export_kw=5.0)  # 20 = 10 + 5 + 5
    actual = _inputs(site, 14.0)  # 6 kW less PV
    real = operate(site, plan, actual, State(values={"bat": {"soc_kwh": 50.0}}))
    # the battery stops charging (5) and discharges 1; the grid keeps exporting 5
    assert _one(real, "bat.charge_kw") == pytest.approx(0.0)
    assert _one(real, "bat.discharge_kw") == pytest.approx(1.0)
    assert _one(real, "grid.export_kw") == pytest.approx(5.0)
    assert _one(real, "bat.soc_kwh") == pytest.approx(50.0 - 1.0 / ETA, rel=1e-3)
    assert not plan_problems(site, real, State(values={"bat": {"soc_kwh": 50.0}}))
    # at its floor (10 kWh) the battery can only stop charging: the grid exports 1 less
    low = State(values={"bat": {"soc_kwh": 10.0}})
    real = operate(site, plan, actual, low)
    assert _one(real, "bat.discharge_kw") == pytest.approx(0.0, abs=1e-9)
    assert _one(real, "bat.charge_kw") == pytest.approx(0.0, abs=1e-3)  # self-discharge only
    assert _one(real, "grid.export_kw") == pytest.approx(4.0, abs=1e-3)
    assert _one(real, "unserved_kw") == pytest.approx(0.0)


def test_battery_takes_a_surplus_first_then_the_grid_then_curtailment() -> None:
    site = ts.tiny_site(ts.pv(), ts.battery(), ts.grid(), ts.fixed_load())
    forecast = _inputs(site, 20.0)
    plan = _plan(forecast, charge_kw=5.0, export_kw=5.0)
    actual = _inputs(site, 38.0)  # 18 kW more PV
    real = operate(site, plan, actual, State(values={"bat": {"soc_kwh": 50.0}}))
    assert _one(real, "bat.charge_kw") == pytest.approx(23.0)
    assert _one(real, "grid.export_kw") == pytest.approx(5.0)
    # a full battery: the grid exports up to its limit (50 kW), PV is curtailed beyond it
    top = 100.0  # soc_max defaults to the capacity
    real = operate(site, plan, _inputs(site, 40.0, load_kw=0.0),
                   State(values={"bat": {"soc_kwh": top}}))
    assert _one(real, "bat.charge_kw") == pytest.approx(0.0, abs=0.05)
    assert _one(real, "grid.export_kw") + _one(real, "pv.curtailed_kw") == pytest.approx(
        40.0, abs=0.05)
    assert _one(real, "grid.export_kw") == pytest.approx(40.0, abs=0.05)


def test_a_load_above_forecast_is_shed_only_when_nothing_else_can_supply() -> None:
    site = ts.tiny_site(ts.pv(), ts.battery(max_discharge_kw=5), ts.grid(max_import_kw=0),
                        ts.fixed_load())
    forecast = _inputs(site, 20.0)
    plan = _plan(forecast, charge_kw=5.0, export_kw=5.0)
    actual = _inputs(site, 20.0, load_kw=30.0)  # 20 kW more load
    real = operate(site, plan, actual, State(values={"bat": {"soc_kwh": 50.0}}))
    # stop charging (5) + discharge 5 + stop exporting (5) = 15; 5 kW shed
    assert _one(real, "bat.discharge_kw") == pytest.approx(5.0)
    assert _one(real, "grid.export_kw") == pytest.approx(0.0)
    assert _one(real, "unserved_kw") == pytest.approx(5.0)
    assert not plan_problems(site, real, State(values={"bat": {"soc_kwh": 50.0}}))


@pytest.mark.parametrize("name", ["mountain_hamlet", "dairy_cooperative"])
def test_nothing_differs_so_the_plan_is_operated_as_it_is(name: str) -> None:
    site = load_site(f"sites/{name}.yaml")
    index = day_index(site, pd.Timestamp("2026-03-10").date(), 2)
    inputs = build_inputs(site, index)
    plan = make_plan(site, index, inputs)
    real = operate(site, plan.table, inputs)
    columns = [c for c in plan.table.columns if c in real.columns and c != "marginal_price_per_kwh"
               and pd.api.types.is_numeric_dtype(plan.table[c])]
    assert len(columns) > 20
    np.testing.assert_allclose(real[columns], plan.table[columns], atol=1e-6)
    assert not plan_problems(site, real)


@pytest.mark.parametrize("scale", [0.5, 1.4])
def test_operation_under_a_forecast_error_keeps_the_plan_invariants(scale: float) -> None:
    site = load_site("sites/mountain_hamlet.yaml")
    index = day_index(site, pd.Timestamp("2026-03-10").date(), 2)
    forecast = build_inputs(site, index)
    plan = make_plan(site, index, forecast)
    actual = forecast.copy()
    for column in ("hamlet-roofs.available_kw",):
        actual[column] = (forecast[column] * scale).clip(upper=25.0)
    real = operate(site, plan.table, actual)
    problems = [p for p in plan_problems(site, real) if "end-of-horizon" not in p]
    assert not problems
    assert (real.filter(like="available_kw").to_numpy() != plan.table.filter(
        like="available_kw").to_numpy()).any()
