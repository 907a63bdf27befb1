"""The shared plan checker: a kind it has no clause for enters the bus balance through its
declared columns, so a plan with such a device is checked, and an unbalanced one caught."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pyomo.environ as pyo
import pytest

from optimizer.columns import Column
from optimizer.devices import REGISTRY
from optimizer.devices.base import Array, Context, DeviceData, DeviceModel
from optimizer.planner import make_plan
from optimizer.rules import DeviceRule, RuleContext
from sites.schema import Device
from tests.optimizer.invariants import ACCOUNT_ORACLES, plan_problems
from tests.optimizer.toy import grid, index, inputs, toy_site


class _Heater(Device):
    """A kind defined only here: a constant electric demand."""

    kind: Literal["heater"] = "heater"
    power_kw: float


class _HeaterModel(DeviceModel):
    COLUMNS = (Column("demand_kw", "kW", "decision", -1, "demand", "heater", "power drawn"),)

    def build(self, blk: Any, ctx: Context) -> None:
        blk.demand_kw = pyo.Var(ctx.T, bounds=(self.spec.power_kw, self.spec.power_kw))

    def bus_kw(self, blk: Any, t: int) -> Any:
        return -blk.demand_kw[t]

    def decisions(self, values: Any, data: DeviceData) -> dict[str, Array]:
        return {"demand_kw": values("demand_kw")}

    def rule(self, ctx: RuleContext) -> DeviceRule:
        return _HeaterRule(self.name, ctx, self.spec.power_kw)


class _HeaterRule(DeviceRule):
    def __init__(self, name: str, ctx: RuleContext, power_kw: float):
        super().__init__(name, ctx)
        self.power_kw = power_kw

    def demand_kw(self, t: int) -> float:
        return self.power_kw

    def finish(self, t: int) -> None:
        self.put("demand_kw", t, self.power_kw)


def test_a_kind_without_a_clause_is_balanced_by_its_declared_columns(monkeypatch):
    monkeypatch.setitem(REGISTRY, _Heater, _HeaterModel)
    # the heater neither pays nor emits: its oracle says so, independently of the model
    monkeypatch.setitem(
        ACCOUNT_ORACLES, _Heater, lambda spec, table, dt: (np.zeros(len(table)),) * 2
    )
    site = toy_site(grid())
    site = site.model_copy(update={"devices": (*site.devices, _Heater(name="heat", power_kw=3))})
    idx = index(site, 4)
    plan = make_plan(site, idx, inputs(site, idx))  # checked as made (conftest)
    assert plan.table["grid.import_kw"].tolist() == pytest.approx([3.0] * 4)
    assert plan_problems(site, plan.table) == []
    table = plan.table.copy()
    table["heat.demand_kw"] = 4.0  # drawn, but bought by nobody
    assert any("bus balance" in p for p in plan_problems(site, table))
