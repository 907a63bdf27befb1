"""The planning model: a time set, one Block per device, the bus balance and the objective.

This module never names a device kind: every device model (``optimizer.devices``) builds its
own block and reports its bus injection, cost, emissions, horizon cost and penalty, and the
core sums them (docs/formulation.md, *Bus balance*, *Objective*).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from optimizer.devices import DeviceModel, device_models
from optimizer.devices.base import At, Context, DeviceData
from optimizer.state import State
from sites.schema import Site


def local_days(site: Site, index: pd.DatetimeIndex) -> list[list[int]]:
    """Interval positions of each local calendar day the horizon touches, in order."""
    dates = index.tz_convert(site.tz).date
    groups: dict[Any, list[int]] = {}
    for t, day in enumerate(dates):
        groups.setdefault(day, []).append(t)
    return list(groups.values())


def structure_key(
    site: Site,
    index: pd.DatetimeIndex,
    inputs: pd.DataFrame,
    devices: list[DeviceModel],
    daily: bool,
) -> tuple:
    """Everything that fixes the model's shape; equal keys mean a model can be reused."""
    days = tuple(len(g) for g in local_days(site, index)) if daily else None
    return (
        site.model_dump_json(),
        len(index),
        tuple(d.structure_key(index, inputs) for d in devices),
        days,
    )


@dataclass
class VillageModel:
    """A built Pyomo model of a site over a horizon shape, with its device models."""

    site: Site
    devices: list[DeviceModel]
    model: Any  #: the Pyomo ConcreteModel
    n: int
    step_h: float
    key: tuple
    days: list[list[int]]  #: interval positions of each local day (for emission budgets)

    def block(self, device: DeviceModel) -> Any:
        return self.model.devices[device.name]

    def set_data(
        self, index: pd.DatetimeIndex, inputs: pd.DataFrame, state: State
    ) -> list[DeviceData]:
        """Push one solve's inputs and state into every block; returns each device's data."""
        out = []
        for dev in self.devices:
            series = {q: inputs[f"{dev.prefix}{q}"].to_numpy(dtype=float) for q in dev.inputs}
            data = DeviceData(index=index, inputs=series, state=state, step_h=self.step_h)
            dev.set_data(self.block(dev), data)
            out.append(data)
        return out


def build_model(
    site: Site, index: pd.DatetimeIndex, inputs: pd.DataFrame, *, daily_emissions: bool = False
) -> VillageModel:
    """Build the model of ``site`` over ``index`` (data are pushed later by ``set_data``).

    Objectives (all minimised; the solver picks which to use, see ``optimizer.solve``):
    ``objective`` (cost + horizon cost + penalty + carbon price × emissions),
    ``emissions_objective`` [kgCO2e], ``penalty_objective``, ``horizon_objective`` and, with
    ``daily_emissions``,
    ``day_emissions[d]`` per local day.
    """
    devices = device_models(site)
    n, step_h = len(index), site.step_h
    with PauseGC():
        m = pyo.ConcreteModel(name=site.name)
        m.T = pyo.RangeSet(0, n - 1)
        ctx = Context(site=site, index=index, inputs=inputs, T=m.T, n=n, step_h=step_h)
        m.devices = pyo.Block([d.name for d in devices])
        for dev in devices:
            dev.build(m.devices[dev.name], ctx)
        for dev in devices:
            dev.link(m.devices[dev.name], ctx)
        blocks = [(dev, m.devices[dev.name]) for dev in devices]
        m.bus_balance = pyo.Constraint(
            m.T, rule=lambda _, t: sum(dev.bus_kw(blk, t) for dev, blk in blocks) == 0
        )
        m.cost = pyo.Expression(
            m.T, rule=lambda _, t: sum(dev.cost(At(blk, t), step_h) for dev, blk in blocks)
        )
        m.emissions_kgco2 = pyo.Expression(
            m.T, rule=lambda _, t: sum(dev.emissions(At(blk, t), step_h) for dev, blk in blocks)
        )
        m.horizon_cost = pyo.Expression(expr=sum(dev.horizon_cost(blk, ctx) for dev, blk in blocks))
        m.penalty = pyo.Expression(expr=sum(dev.penalty(blk, ctx) for dev, blk in blocks))
        total_emissions = sum(m.emissions_kgco2[t] for t in m.T)
        m.objective = pyo.Objective(
            expr=sum(m.cost[t] for t in m.T)
            + m.horizon_cost
            + m.penalty
            + site.carbon_price_per_kgco2 * total_emissions
        )
        m.emissions_objective = pyo.Objective(expr=total_emissions)
        m.penalty_objective = pyo.Objective(expr=m.penalty)
        m.horizon_objective = pyo.Objective(expr=m.horizon_cost)
        days = local_days(site, index)
        if daily_emissions:
            m.D = pyo.RangeSet(0, len(days) - 1)
            m.day_emissions = pyo.Objective(
                m.D, rule=lambda _, d: sum(m.emissions_kgco2[t] for t in days[d])
            )
    key = structure_key(site, index, inputs, devices, daily_emissions)
    return VillageModel(site, devices, m, n, step_h, key, days)


def interval_accounts(
    vm: VillageModel, table: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Per-interval cost [currency] and emissions [kgCO2e] of a solved plan, from its columns.

    Uses each device's own ``cost``/``emissions`` formula on numpy arrays: the same formula
    that built the objective.
    """
    cost = np.zeros(vm.n)
    emissions = np.zeros(vm.n)
    for dev in vm.devices:
        x = {
            name[len(dev.prefix) :]: values
            for name, values in table.items()
            if name.startswith(dev.prefix)
        }
        if not dev.prefix:
            x = {name: values for name, values in table.items() if "." not in name}
        cost = cost + dev.cost(x, vm.step_h)
        emissions = emissions + dev.emissions(x, vm.step_h)
    return cost, emissions
