"""PV array: output up to the forecast AC power; the rest is curtailed (formulation.md)."""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo

from optimizer.columns import Column
from optimizer.devices.base import (
    Array,
    Context,
    DeviceData,
    DeviceModel,
)
from optimizer.rules import BOUGHT, FREE, DeviceRule, RuleContext, Source
from sites.schema import PvArray

#: Plan-table columns of a PV array (docs/formulation.md, *The device contract: columns*).
COLUMNS = (
    Column("available_kw", "kW", "input", 0, "available", "PV available",
           "AC power the array can give in the interval (forecast)"),
    Column("pv_kw", "kW", "setpoint", 1, "supply", "PV", "AC power fed to the bus",
           source="pv", kpis=("pv_kwh",)),
    Column("curtailed_kw", "kW", "setpoint", 0, "curtailed", "PV curtailed",
           "available power not used"),
)  # fmt: skip


class PvArrayModel(DeviceModel):
    COLUMNS = COLUMNS
    inputs = ("available_kw",)
    forecast = "pv"

    def input_limits(self) -> dict[str, tuple[float, str]]:
        return {"available_kw": (self.spec.inverter_ac_kw, "inverter_ac_kw")}

    def build(self, blk: Any, ctx: Context) -> None:
        self.add_input_params(blk, ctx)
        blk.pv_kw = pyo.Var(ctx.T, bounds=lambda b, t: (0.0, b.available_kw[t]))

    def bus_kw(self, blk: Any, t: int) -> Any:
        return blk.pv_kw[t]

    def decisions(self, values: Any, data: DeviceData) -> dict[str, Array]:
        pv = values("pv_kw")
        return {"pv_kw": pv, "curtailed_kw": (data.inputs["available_kw"] - pv).clip(min=0.0)}

    # --- sizing -------------------------------------------------------------------------
    spec: PvArray
    capacity_unit = "kWp"

    def capacity_units(self) -> float:
        return self.spec.dc_capacity_kwp

    def capacity_limit(self) -> float | None:
        a = self.spec
        return None if a.usable_area_m2 is None else a.usable_area_m2 * a.kwp_per_m2

    def for_sizing(self, blk: Any, ctx: Context, capacity: Any) -> None:
        """Output up to the available power per installed kWp times the sized kWp (the
        inverter scales with the array, so the per-kWp profile keeps its clipping)."""
        if capacity is None:
            return
        per_kwp = 1.0 / self.spec.dc_capacity_kwp
        for t in ctx.T:
            blk.pv_kw[t].setub(None)
        blk.sized_output = pyo.Constraint(
            ctx.T, rule=lambda b, t: b.pv_kw[t] <= b.available_kw[t] * per_kwp * capacity
        )

    def resized(self, units: float) -> PvArray:
        a = self.spec
        ratio = a.inverter_ac_kw / a.dc_capacity_kwp
        return a.model_copy(update={"dc_capacity_kwp": units, "inverter_ac_kw": ratio * units})

    # --- rule-based dispatch ---
    def rule(self, ctx: RuleContext) -> DeviceRule:
        return PvArrayRule(self.name, ctx)


class PvArrayRule(DeviceRule):
    """A PV array in the rule-based dispatch: its available power is ``FREE`` supply; what
    neither the loads nor the surplus takers use is curtailed."""

    def __init__(self, name: str, ctx: RuleContext):
        super().__init__(name, ctx)
        self.available = ctx.values(name, "available_kw")
        self.pv_kw, self.curtailed_kw = self.column("pv_kw"), self.column("curtailed_kw")
        self.t = 0

    def spare_kw(self) -> Array | float:
        return self.ctx.series(self.name, "available_kw")

    def _spill(self, unused_kw: float) -> float:
        """Curtail ``unused_kw`` in the current interval; the rest is the output."""
        t = self.t
        self.pv_kw[t] = self.available[t] - unused_kw
        self.curtailed_kw[t] = unused_kw
        return unused_kw

    def sources(self, t: int) -> list[Source]:
        if self.plan is not None:
            return self._pinned_sources(t)
        self.t = t
        return [Source(self.available[t], 0.0, rank=FREE, spill=self._spill)]

    def _pinned_sources(self, t: int) -> list[Source]:
        """The plan's output moved by the forecast error (actual − forecast available), as
        free supply curtailed last; what the plan curtailed is a reserve drawn after the
        stores, before anything bought."""
        available = self.available[t]
        error = available - self.planned("available_kw", t, available)
        given = min(available, max(0.0, self.planned("pv_kw", t) + error))
        reserve = Source(available - given, 0.0, rank=BOUGHT)

        def spill(unused_kw: float) -> float:
            pv = given - unused_kw + (available - given - reserve.left_kw)
            self.pv_kw[t] = pv
            self.curtailed_kw[t] = available - pv
            return unused_kw

        return [Source(given, 0.0, rank=FREE, spill=spill), reserve]
