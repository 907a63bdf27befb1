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
from pyomo.core.expr.visitor import identify_mutable_parameters

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


#: A stored kWh is worth the dearest supply kWh of the horizon times this [-]: 1.25 covers
#: charging losses down to an efficiency of 0.8, so that refilling a store to its target pays
#: at any price the horizon offers (docs/formulation.md, *End-of-horizon targets*).
STORED_ENERGY_PREMIUM_PU = 1.25

#: Largest value of stored energy, as a share of the lowest value of lost load of any load
#: [pu]: stored energy is always worth less than serving load (docs/formulation.md,
#: *End-of-horizon targets*); serving load first is also enforced by the order of goals.
ENERGY_VALUE_CAP_PU = 0.5


def energy_value_per_kwh(
    site: Site, index: pd.DatetimeIndex, devices: list[DeviceModel]
) -> float:
    """Value of a kWh kept in store at the end of the horizon [currency/kWh].

    The dearest kWh any supply of the site offers within the horizon at the site file's own
    prices (each device's ``supply_price_per_kwh`` on its ``site_inputs``: import price plus
    carbon price × factor, a genset's fuel and running cost per kWh ...) times a premium, so
    that no store is emptied for money alone. It depends on the site and the horizon, not on
    forecasts or overrides, so re-plans reuse the model. Capped at
    ``ENERGY_VALUE_CAP_PU`` × the lowest value of lost load, and the cap itself when the site
    has no priced supply (PV and storage only).

    Notes
    -----
    .. math:: v = \\min\\big(\\pi \\max_{d,t} p_{d,t},\\ \\kappa \\min_l \\mathrm{VOLL}_l\\big)

    Discharging one stored kWh delivers :math:`\\eta_d \\le 1` kWh that displaces at most
    :math:`\\max p`, so with :math:`v \\ge \\max p` a store ends below its target only where
    that energy serves load (worth VOLL ≫ v) or meets an emission limit; with the premium
    :math:`\\pi` = 1.25, refilling it at :math:`p/\\eta_c \\le v` pays at any price of the
    horizon for charging efficiencies of 0.8 and above.
    """
    voll = [d.lost_load_value_per_kwh for d in devices if hasattr(d, "lost_load_value_per_kwh")]
    cap = ENERGY_VALUE_CAP_PU * min(voll, default=site.value_of_lost_load_per_kwh)
    highest = -np.inf
    for dev in devices:
        price = dev.supply_price_per_kwh(dev.site_inputs(index))
        if price is not None and np.isfinite(price).any():
            highest = max(highest, float(np.nanmax(price)))
    if not np.isfinite(highest):
        return round(cap, 9)
    value = min(STORED_ENERGY_PREMIUM_PU * max(highest, 0.0), cap)
    return round(value, 9)


def structure_key(
    site: Site,
    index: pd.DatetimeIndex,
    inputs: pd.DataFrame,
    devices: list[DeviceModel],
    energy_value: float | None = None,
) -> tuple:
    """Everything that fixes the model's shape; equal keys mean a model can be reused.

    The value of stored energy is a coefficient of the model, so it is part of the key (it
    changes only with the site file's prices over the horizon, e.g. an outage);
    ``energy_value``: that value when the caller knows it for this site and horizon.
    """
    if energy_value is None:
        energy_value = energy_value_per_kwh(site, index, devices)
    return (
        site,  # frozen and hashable: equal sites give equal keys
        len(index),
        energy_value,
        tuple(d.structure_key(index, inputs) for d in devices),
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
    days: list[list[int]]  #: interval positions of each local day of the last data pushed

    def block(self, device: DeviceModel) -> Any:
        return self.model.devices[device.name]

    def set_data(
        self, index: pd.DatetimeIndex, inputs: pd.DataFrame, state: State
    ) -> list[DeviceData]:
        """Push one solve's inputs and state into every block; returns each device's data."""
        self.days = local_days(self.site, index)
        out = []
        for dev in self.devices:
            series = {q: inputs[f"{dev.prefix}{q}"].to_numpy(dtype=float) for q in dev.inputs}
            data = DeviceData(index=index, inputs=series, state=state, step_h=self.step_h)
            dev.set_data(self.block(dev), data)
            out.append(data)
        return out


def build_model(
    site: Site,
    index: pd.DatetimeIndex,
    inputs: pd.DataFrame,
    *,
    devices: list[DeviceModel] | None = None,
    pyomo_objective: bool = False,
    key: tuple | None = None,
) -> VillageModel:
    """Build the model of ``site`` over ``index`` (data are pushed later by ``set_data``).

    The model holds the constraints and, as Pyomo objectives, the input-independent terms
    ``penalty_objective`` and ``horizon_objective``. The input-dependent part of the objective
    (Σ cost + carbon price × emissions) is linear in each device's ``cost_vars`` and is
    assembled as numbers from the devices' own formulas (``DeviceModel.coefficients``,
    ``optimizer.compiled``), which spares the compiler a walk over it. With
    ``pyomo_objective`` the model also states it in Pyomo — ``objective``,
    ``emissions_objective`` and ``day_emissions[d]`` — so tests can check the two agree.
    ``key`` is the model's ``structure_key`` when the caller has it already.
    """
    devices = device_models(site) if devices is None else devices
    n, step_h = len(index), site.step_h
    if key is None:
        key = structure_key(site, index, inputs, devices)
    with PauseGC():
        m = pyo.ConcreteModel(name=site.name)
        m.T = pyo.RangeSet(0, n - 1)
        ctx = Context(
            site=site,
            index=index,
            inputs=inputs,
            T=m.T,
            n=n,
            step_h=step_h,
            energy_value_per_kwh=key[2],
        )
        m.devices = pyo.Block([d.name for d in devices])
        for dev in devices:
            dev.build(m.devices[dev.name], ctx)
        for dev in devices:
            dev.link(m.devices[dev.name], ctx)
        blocks = [(dev, m.devices[dev.name]) for dev in devices]
        m.bus_balance = pyo.Constraint(
            m.T, rule=lambda _, t: sum(dev.bus_kw(blk, t) for dev, blk in blocks) == 0
        )
        horizon = [dev.horizon_cost(blk, ctx) for dev, blk in blocks]
        penalty = [dev.penalty(blk, ctx) for dev, blk in blocks]
        unserved = [dev.unserved_kwh(blk, ctx) for dev, blk in blocks]
        shortfall = [dev.end_value(blk, ctx) for dev, blk in blocks]
        for dev, *terms in zip(devices, horizon, penalty, unserved, shortfall, strict=True):
            if any(True for term in terms for _ in identify_mutable_parameters(term)):
                # re-plans keep these rows from the first compile (optimizer.compiled)
                raise TypeError(
                    f"{dev.name}: horizon_cost, penalty, unserved_kwh and end_value must not "
                    "depend on inputs"
                )
        m.horizon_cost = pyo.Expression(expr=sum(horizon))
        m.penalty = pyo.Expression(expr=sum(penalty))
        m.end_value = pyo.Expression(expr=sum(shortfall))
        m.penalty_objective = pyo.Objective(expr=m.penalty)
        m.horizon_objective = pyo.Objective(expr=m.horizon_cost)
        m.unserved_objective = pyo.Objective(expr=sum(unserved))
        m.shortfall_objective = pyo.Objective(expr=m.end_value)
        if pyomo_objective:
            _state_objective(m, blocks, site, index, step_h)
    return VillageModel(site, devices, m, n, step_h, key, local_days(site, index))


def _state_objective(
    m: Any, blocks: list, site: Site, index: pd.DatetimeIndex, step_h: float
) -> None:
    """The input-dependent objective terms as Pyomo objectives (docs/formulation.md)."""
    m.cost = pyo.Expression(
        m.T, rule=lambda _, t: sum(dev.cost(At(blk, t), step_h) for dev, blk in blocks)
    )
    m.emissions_kgco2 = pyo.Expression(
        m.T, rule=lambda _, t: sum(dev.emissions(At(blk, t), step_h) for dev, blk in blocks)
    )
    total_emissions = sum(m.emissions_kgco2[t] for t in m.T)
    m.objective = pyo.Objective(
        expr=sum(m.cost[t] for t in m.T)
        + m.horizon_cost
        + m.penalty
        + m.end_value
        + site.carbon_price_per_kgco2 * total_emissions
    )
    m.emissions_objective = pyo.Objective(expr=total_emissions)
    days = local_days(site, index)
    m.D = pyo.RangeSet(0, len(days) - 1)
    m.day_emissions = pyo.Objective(
        m.D, rule=lambda _, d: sum(m.emissions_kgco2[t] for t in days[d])
    )

