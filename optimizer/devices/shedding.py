"""What every electric load shares: demand, the power shed from it, and its value of lost load.

See docs/formulation.md, *Loads and shedding*. A load's block holds ``demand_kw`` (what it
would draw) and ``shed_kw`` (what the plan leaves unserved); it draws ``served = demand − shed``
from the bus. Shed power is priced at the load's own value of lost load, so shedding falls on
the least critical loads first; the site-wide total is ``unserved_kw``.
"""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo

from optimizer.columns import Column
from optimizer.devices.base import SHEDDABLE, Array, Context, DeviceData, DeviceModel
from optimizer.rules import DeviceRule, RuleContext
from sites.schema import lost_load_value_per_kwh

#: Plan-table columns every electric load has (docs/formulation.md, *The device contract:
#: columns*).
COLUMNS = (
    Column("demand_kw", "kW", "decision", -1, "demand", "loads", "power the load would draw"),
    Column("served_kw", "kW", "setpoint", 0, "served", "served", "power served",
           kpis=("served_kwh",)),
    Column("shed_kw", "kW", "setpoint", 0, "shed", "shed", "power left unserved"),
)  # fmt: skip


class LoadModel(DeviceModel):
    """Base of the electric loads: subclasses build ``demand_kw`` and call ``add_shedding``."""

    COLUMNS = COLUMNS

    @property
    def lost_load_value_per_kwh(self) -> float:
        """The load's value of lost load [currency/kWh] (``sites.schema``)."""
        return lost_load_value_per_kwh(self.spec, self.site.value_of_lost_load_per_kwh)

    def add_shedding(self, blk: Any, ctx: Context, *, bounded: bool) -> None:
        """``shed_kw[t]`` in [0, demand_kw[t]]: by its bounds where ``bounded`` (the demand is
        an input Param ``forecast_kw``), else by a row ``shed_within_demand``."""
        if bounded:
            blk.shed_kw = pyo.Var(ctx.T, bounds=lambda b, t: (0.0, b.forecast_kw[t]))
        else:
            blk.shed_kw = pyo.Var(ctx.T, bounds=(0.0, None))
            blk.shed_within_demand = pyo.Constraint(
                ctx.T, rule=lambda b, t: b.shed_kw[t] - b.demand_kw[t] <= 0
            )
        ctx.links.draw(*SHEDDABLE, blk.shed_kw)

    def bus_kw(self, blk: Any, t: int) -> Any:
        return blk.shed_kw[t] - blk.demand_kw[t]

    def penalty(self, blk: Any, ctx: Context) -> Any:
        value = self.lost_load_value_per_kwh
        return sum(value * blk.shed_kw[t] * ctx.step_h for t in ctx.T)

    def unserved_kwh(self, blk: Any, ctx: Context) -> Any:
        return sum(blk.shed_kw[t] * ctx.step_h for t in ctx.T)

    def decisions(self, values: Any, data: DeviceData) -> dict[str, Array]:
        demand, shed = values("demand_kw"), values("shed_kw")
        return {"demand_kw": demand, "served_kw": demand - shed, "shed_kw": shed}

    # --- columns ----------------------------------------------------------------------
    def lost_load_value(self, x: Any, step_h: float) -> Any:
        return self.lost_load_value_per_kwh * x["shed_kw"] * step_h

class LoadRule(DeviceRule):
    """An electric load in the rule-based dispatch: its demand, and the power shed from it
    when supply runs short (the least value of lost load first; at equal value, in the order
    of ``tie``)."""

    #: tie-break among loads of equal value of lost load
    tie = 0

    def __init__(self, model: LoadModel, ctx: RuleContext):
        super().__init__(model.name, ctx)
        self.shed_key = (model.lost_load_value_per_kwh, self.tie)
        self.wanted_kw = 0.0
        self.columns = [self.column(q) for q in ("demand_kw", "served_kw", "shed_kw")]

    def want_kw(self, t: int) -> float:
        """What the load would draw in interval ``t`` [kW]."""
        raise NotImplementedError

    def demand_kw(self, t: int) -> float:
        self.wanted_kw = self.want_kw(t)
        return self.wanted_kw

    def shed(self, t: int, short_kw: float) -> float:
        shed = min(short_kw, self.wanted_kw)
        demand_kw, served_kw, shed_kw = self.columns
        demand_kw[t], served_kw[t], shed_kw[t] = self.wanted_kw, self.wanted_kw - shed, shed
        return shed
