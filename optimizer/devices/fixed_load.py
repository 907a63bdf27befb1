"""Fixed load: demand as forecast, served unless the plan must shed it.

See docs/formulation.md, *fixed load* and *Loads and shedding*.
"""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo

from optimizer.columns import Column
from optimizer.devices.base import Array, Context
from optimizer.devices.shedding import COLUMNS as LOAD_COLUMNS
from optimizer.devices.shedding import LoadModel, LoadRule
from optimizer.rules import DeviceRule, RuleContext

#: Plan-table columns of a fixed load: its forecast, then those of every load.
COLUMNS = (
    Column("forecast_kw", "kW", "input", 0, "other", "load forecast", "forecast demand"),
    *LOAD_COLUMNS,
)  # fmt: skip


class FixedLoadModel(LoadModel):
    COLUMNS = COLUMNS
    inputs = ("forecast_kw",)
    forecast = "load"

    def build(self, blk: Any, ctx: Context) -> None:
        self.add_input_params(blk, ctx)
        # fixed by its bounds, so a new forecast changes bounds, never the matrix
        blk.demand_kw = pyo.Var(ctx.T, bounds=lambda b, t: (b.forecast_kw[t], b.forecast_kw[t]))
        self.add_shedding(blk, ctx, bounded=True)

    # --- rule-based dispatch ---
    def rule(self, ctx: RuleContext) -> DeviceRule:
        return FixedLoadRule(self, ctx)


class FixedLoadRule(LoadRule):
    """A fixed load in the rule-based dispatch: demand as forecast."""

    def __init__(self, model: FixedLoadModel, ctx: RuleContext):
        super().__init__(model, ctx)
        self.forecast = ctx.values(model.name, "forecast_kw")

    def spare_kw(self) -> Array | float:
        return -self.ctx.series(self.name, "forecast_kw")

    def want_kw(self, t: int) -> float:
        return self.forecast[t]
