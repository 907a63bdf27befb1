"""A device kind that exists only in the tests: an ice bank (a chiller that freezes water in a
tank and a cooling demand that melts it), declared through the device contract alone.

Physics: ``ice[t] = ice[t−1] + (cop × chill_kw[t] − cooling_kw[t] + unmet_kw[t]) × Δ``, with
``0 ≤ ice ≤ capacity_kwh``, ``0 ≤ chill_kw ≤ max_chill_kw``, ``unmet_kw ≥ 0`` the cooling
left unserved (valued at the site's value of lost load). Cost: wear per kWh of electricity
drawn; emissions: refrigerant leak per kWh drawn (a made-up factor for the test).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pydantic import Field

from optimizer.columns import Column
from optimizer.devices.base import Array, Context, DeviceData, DeviceModel
from optimizer.planview import Action, PlanView, by_source
from optimizer.rules import CHARGE, DeviceRule, RuleContext
from optimizer.statevars import StateVar
from sites.schema import Device

#: what the test kind declares, and what the product must show without naming it
STATE = (
    StateVar("ice_kwh", "kWh", "cold stored as ice at the start of the horizon",
             upper="capacity_kwh", default="initial_kwh", column="ice_kwh",
             usable=(0.0, "capacity_kwh")),
)
COLUMNS = (
    Column("cooling_kw", "kW", "input", 0, "heat", "cooling demand", "cold drawn from the ice"),
    Column("chill_kw", "kW", "setpoint", -1, "demand", "ice bank chiller",
           "electric power of the chiller", kpis=("served_kwh",)),
    Column("ice_kwh", "kWh", "level", 0, "stored", "ice stored", "cold stored at the end"),
    Column("unmet_kw", "kW", "decision", 0, "heat", "cooling unmet", "cooling not delivered"),
)  # fmt: skip


class IceBank(Device):
    """The site-file entry of an ice bank."""

    kind: Literal["ice_bank"]
    capacity_kwh: float = Field(gt=0, description="cold the tank holds [kWh]")
    max_chill_kw: float = Field(gt=0, description="chiller electric power [kW]")
    cop_pu: float = Field(default=3.0, gt=0, description="cold per electric kWh [pu]")
    initial_kwh: float = Field(default=0.0, ge=0)
    cooling_kw: float = Field(ge=0, description="flat cooling demand [kW]")
    wear_cost_per_kwh: float = Field(default=0.05, ge=0)
    leak_kgco2_per_kwh: float = Field(default=0.01, ge=0)


class IceBankModel(DeviceModel):
    spec: IceBank
    COLUMNS = COLUMNS
    state_vars = STATE
    inputs = ("cooling_kw",)
    cost_vars = ("chill_kw",)

    def site_inputs(self, index: pd.DatetimeIndex) -> dict[str, Array]:
        return {"cooling_kw": np.full(len(index), self.spec.cooling_kw)}

    def build(self, blk: Any, ctx: Context) -> None:
        s = self.spec
        self.add_input_params(blk, ctx)
        blk.initial = pyo.Param(mutable=True, initialize=0.0)
        blk.start_kwh = pyo.Var(bounds=(blk.initial, blk.initial))
        blk.chill_kw = pyo.Var(ctx.T, bounds=(0.0, s.max_chill_kw))
        blk.unmet_kw = pyo.Var(ctx.T, bounds=(0.0, None))
        blk.ice_kwh = pyo.Var(ctx.T, bounds=(0.0, s.capacity_kwh))
        # the forecast enters as a bound (re-plans refresh bounds, not constraint rows)
        blk.cool_kw = pyo.Var(ctx.T, bounds=lambda b, t: (b.cooling_kw[t], b.cooling_kw[t]))

        def balance(b: Any, t: int) -> Any:
            before = b.start_kwh if t == 0 else b.ice_kwh[t - 1]
            flow = s.cop_pu * b.chill_kw[t] - b.cool_kw[t] + b.unmet_kw[t]
            return b.ice_kwh[t] == before + flow * ctx.step_h

        blk.balance = pyo.Constraint(ctx.T, rule=balance)

    def set_data(self, blk: Any, data: DeviceData) -> None:
        super().set_data(blk, data)
        blk.initial.set_value(data.state.value(self.name, "ice_kwh"))

    def bus_kw(self, blk: Any, t: int) -> Any:
        return -blk.chill_kw[t]

    def cost(self, x: Any, step_h: float) -> Any:
        return self.spec.wear_cost_per_kwh * x["chill_kw"] * step_h

    def emissions(self, x: Any, step_h: float, accounting: str | None = None) -> Any:
        return self.spec.leak_kgco2_per_kwh * x["chill_kw"] * step_h

    def penalty(self, blk: Any, ctx: Context) -> Any:
        voll = self.site.value_of_lost_load_per_kwh
        return sum(voll * blk.unmet_kw[t] * ctx.step_h for t in ctx.T)

    def unserved_kwh(self, blk: Any, ctx: Context) -> Any:
        return sum(blk.unmet_kw[t] * ctx.step_h for t in ctx.T)

    def lost_load_value(self, x: Any, step_h: float) -> Any:
        return self.site.value_of_lost_load_per_kwh * x["unmet_kw"] * step_h

    def level_max(self, quantity: str) -> float | None:
        return self.spec.capacity_kwh if quantity == "ice_kwh" else None

    def decisions(self, values: Any, data: DeviceData) -> dict[str, Array]:
        return {q: values(q) for q in ("chill_kw", "ice_kwh", "unmet_kw")}

    what_phrases = {"freeze": "the ice bank {device} makes ice ({energy_kwh} kWh)"}

    def explain(self, view: PlanView) -> Iterator[Action]:
        chill = view.column(f"{self.name}.chill_kw")
        for first, stop, numbers in view.told_runs(chill):
            why = by_source(view, first, stop, chill, numbers)
            yield Action(*view.span(first, stop), "freeze", self.name, why, numbers)

    def rule(self, ctx: RuleContext) -> DeviceRule:
        return IceBankRule(self, ctx)


class IceBankRule(DeviceRule):
    """Chill what the ice cannot cover now; freeze more from surplus."""

    absorb_rank = CHARGE

    def __init__(self, model: IceBankModel, ctx: RuleContext):
        super().__init__(model.name, ctx)
        self.spec = model.spec
        self.cooling = ctx.values(model.name, "cooling_kw")
        self.level = ctx.state.value(model.name, "ice_kwh")
        self.chill = 0.0

    def demand_kw(self, t: int) -> float:
        s, dt = self.spec, self.ctx.step_h
        short_kwh = max(0.0, self.cooling[t] * dt - self.level)
        self.chill = min(s.max_chill_kw, short_kwh / (s.cop_pu * dt))
        return self.chill

    def absorb(self, t: int, surplus_kw: float) -> tuple[float, float | None]:
        s, dt = self.spec, self.ctx.step_h
        room_kwh = s.capacity_kwh - (self.level + (s.cop_pu * self.chill - self.cooling[t]) * dt)
        take = max(0.0, min(surplus_kw, s.max_chill_kw - self.chill, room_kwh / (s.cop_pu * dt)))
        self.chill += take
        return take, None

    def finish(self, t: int) -> None:
        s, dt = self.spec, self.ctx.step_h
        level = self.level + (s.cop_pu * self.chill - self.cooling[t]) * dt
        unmet = max(0.0, -level) / dt
        self.level = max(0.0, level)
        self.put("chill_kw", t, self.chill)
        self.put("ice_kwh", t, self.level)
        self.put("unmet_kw", t, unmet)


def oracle(spec: IceBank, table: pd.DataFrame, step_h: float) -> tuple[Array, Array]:
    """Cost [currency] and emissions [kgCO2e] per interval, written here from the docstring."""
    kwh = table[f"{spec.name}.chill_kw"].to_numpy(dtype=float) * step_h
    return spec.wear_cost_per_kwh * kwh, spec.leak_kgco2_per_kwh * kwh
