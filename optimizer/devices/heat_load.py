"""Heat (or cold) demand met by CHP heat, an electric backup, or left unserved.

See docs/formulation.md, section *heat load*.
"""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo

from optimizer.columns import Column
from optimizer.devices.base import Array, Context, DeviceData, DeviceModel, Drawn
from optimizer.rules import EPS, DeviceRule, RuleContext, Source, draw
from sites.schema import HeatLoad

#: Plan-table columns of a heat (or cold) load (docs/formulation.md, *The device contract:
#: columns*).
COLUMNS = (
    Column("forecast_kw", "kW", "input", 0, "other", "heat forecast", "heat demand forecast"),
    Column("chp_heat_kw", "kW", "setpoint", 0, "heat", "CHP heat", "CHP heat drawn"),
    Column("backup_kw", "kW", "setpoint", -1, "demand", "heat/cold backup",
           "electric power of the backup", kpis=("served_kwh",)),
    Column("unserved_kw", "kW", "decision", 0, "heat", "heat unserved", "heat left unserved"),
)  # fmt: skip


class HeatLoadModel(DeviceModel):
    spec: HeatLoad
    COLUMNS = COLUMNS
    inputs = ("forecast_kw",)
    forecast = "load"

    def build(self, blk: Any, ctx: Context) -> None:
        h = self.spec
        self.add_input_params(blk, ctx)
        blk.demand_kw = pyo.Var(ctx.T, bounds=lambda b, t: (b.forecast_kw[t], b.forecast_kw[t]))
        blk.U = pyo.Set(initialize=list(h.chp_units), ordered=True)
        blk.drawn_kw = pyo.Var(blk.U, ctx.T, bounds=(0.0, None))
        has_backup = h.electric_backup_cop_pu is not None
        blk.backup_kw = pyo.Var(ctx.T, bounds=(0.0, None if has_backup else 0.0))
        blk.unserved_kw = pyo.Var(ctx.T, bounds=(0.0, None))
        backup_cop = h.electric_backup_cop_pu or 0.0
        blk.heat_balance = pyo.Constraint(
            ctx.T,
            rule=lambda b, t: (
                sum(h.heat_to_demand_cop_pu * b.drawn_kw[u, t] for u in b.U)
                + backup_cop * b.backup_kw[t]
                + b.unserved_kw[t]
                - b.demand_kw[t]
                == 0
            ),
        )
        for unit in h.chp_units:
            ctx.links.draw(unit, "heat_kw", Drawn(blk.drawn_kw, unit))

    def bus_kw(self, blk: Any, t: int) -> Any:
        return -blk.backup_kw[t]

    def penalty(self, blk: Any, ctx: Context) -> Any:
        voll = self.site.value_of_lost_load_per_kwh
        return sum(voll * blk.unserved_kw[t] * ctx.step_h for t in ctx.T)

    def unserved_kwh(self, blk: Any, ctx: Context) -> Any:
        return sum(blk.unserved_kw[t] * ctx.step_h for t in ctx.T)

    def decisions(self, values: Any, data: DeviceData) -> dict[str, Array]:
        drawn = values("drawn_kw")  # shape (units, T)
        return {
            "chp_heat_kw": drawn.sum(axis=0),
            "backup_kw": values("backup_kw"),
            "unserved_kw": values("unserved_kw"),
        }

    # --- columns ----------------------------------------------------------------------
    def lost_load_value(self, x: Any, step_h: float) -> Any:
        """Unserved heat at the site's value of lost load [currency]."""
        return self.site.value_of_lost_load_per_kwh * x["unserved_kw"] * step_h

    # --- rule-based dispatch ---
    def rule(self, ctx: RuleContext) -> DeviceRule:
        return HeatLoadRule(self, ctx)


class HeatLoadRule(DeviceRule):
    """A heat load in the rule-based dispatch: recovered heat from its CHP units first, then
    its electric backup (supplied from what the merit order has left, never unserved); heat
    still missing is unserved heat."""

    def __init__(self, model: HeatLoadModel, ctx: RuleContext):
        super().__init__(model.name, ctx)
        self.spec = model.spec
        self.forecast = ctx.values(model.name, "forecast_kw")

    def serve_heat(self, t: int, heat_left_kw: dict[str, float], sources: list[Source]) -> None:
        h, need_kw = self.spec, self.forecast[t]
        cop = h.heat_to_demand_cop_pu
        drawn = 0.0
        for unit in h.chp_units:
            take = max(0.0, min(heat_left_kw[unit], need_kw / cop - drawn))
            heat_left_kw[unit] -= take
            drawn += take
        rest = max(0.0, need_kw - drawn * cop)
        backup = 0.0
        if h.electric_backup_cop_pu is not None and rest > EPS:
            backup, _ = draw(sources, rest / h.electric_backup_cop_pu)
        self.put("chp_heat_kw", t, drawn)
        self.put("backup_kw", t, backup)
        self.put("unserved_kw", t, max(0.0, rest - backup * (h.electric_backup_cop_pu or 0.0)))
