"""Genset / CHP on biogas or diesel: linear fuel line, optional commitment, ramps, heat.

See docs/formulation.md, section *genset*. A biogas unit draws its fuel from its digester's
holder through the link ``gas_m3``; heat loads draw its recovered heat through ``heat_kw``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyomo.environ as pyo

from optimizer.columns import Column
from optimizer.devices.base import Array, Context, DeviceData, DeviceModel
from optimizer.devices.digester import holder_full
from optimizer.physics import fuel_use, ramp_allowance_kw
from optimizer.planview import Action, PlanView
from optimizer.rules import (
    BOUGHT,
    EPS,
    MUST_RUN,
    OWN_FUEL,
    DeviceRule,
    RuleContext,
    Source,
)
from optimizer.statevars import StateVar
from sites.schema import BiogasFuel, Genset

#: Plan-table columns of a genset: ``power`` is renewable supply on biogas and fossil on
#: diesel, ``fuel`` is ``fuel_m3`` or ``fuel_l``, ``heat_kw`` only with heat recovery
#: (``GensetModel.columns``; docs/formulation.md, *The device contract: columns*).
COLUMNS = {
    "power": Column("power_kw", "kW", "setpoint", 1, "supply", "genset", "electric output",
                    source="biogas", kpis=("genset_kwh", "genset_hours")),
    "power_diesel": Column("power_kw", "kW", "setpoint", 1, "fossil", "genset",
                           "electric output", source="diesel",
                           kpis=("genset_kwh", "genset_hours")),
    "fuel_m3": Column("fuel_m3", "m3", "decision", 0, "fuel", "biogas burnt",
                      "biogas burnt in the interval", kpis=("biogas_used_m3",)),
    "fuel_l": Column("fuel_l", "L", "decision", 0, "fuel", "diesel burnt",
                     "diesel burnt in the interval", kpis=("diesel_l",)),
    "on_pu": Column("on_pu", "pu", "setpoint", 0, "other", "genset on",
                    "committed share (1: running)"),
    "heat_kw": Column("heat_kw", "kW", "setpoint", 0, "heat", "genset heat",
                      "heat recovered"),
}  # fmt: skip

#: State of a genset (docs/formulation.md, *The device contract: state*).
STATE = (
    StateVar(
        "power_kw", "kW", "output just before the horizon (for ramp limits)",
        upper="rated_kw", column="power_kw", legacy="genset_kw",
    ),
)


class GensetModel(DeviceModel):
    spec: Genset
    state_vars = STATE

    @property
    def biogas(self) -> bool:
        return isinstance(self.spec.fuel, BiogasFuel)

    @property
    def cost_vars(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("power_kw", self.fuel_name)

    @property
    def fuel_name(self) -> str:
        """Name of the fuel variable and column: ``fuel_m3`` (biogas) or ``fuel_l`` (diesel)."""
        return "fuel_m3" if self.biogas else "fuel_l"

    @property
    def fuel_line(self) -> tuple[float, float]:
        """Fuel slope [m³/kWh or L/kWh] and no-load fuel [m³/h or L/h]."""
        fuel = self.spec.fuel
        if isinstance(fuel, BiogasFuel):
            return fuel.m3_per_kwh, fuel.no_load_m3_per_h
        return fuel.l_per_kwh, fuel.no_load_l_per_h

    def ramp_kw(self, step_h: float) -> float | None:
        """Largest change of output between intervals [kW], with the start-up allowance."""
        g = self.spec
        if g.max_ramp_kw_per_h is None:
            return None
        return ramp_allowance_kw(g.max_ramp_kw_per_h, step_h, g.min_load_pu * g.rated_kw)

    def build(self, blk: Any, ctx: Context) -> None:
        g = self.spec
        slope, no_load = self.fuel_line
        blk.power_kw = pyo.Var(ctx.T, bounds=(0.0, g.rated_kw))
        blk.on = pyo.Var(ctx.T, bounds=(0.0, 1.0), within=pyo.Binary if g.commitment else pyo.Reals)
        blk.max_output = pyo.Constraint(
            ctx.T, rule=lambda b, t: b.power_kw[t] - g.rated_kw * b.on[t] <= 0
        )
        if g.min_load_pu > 0:
            blk.min_output = pyo.Constraint(
                ctx.T, rule=lambda b, t: b.power_kw[t] - g.min_load_pu * g.rated_kw * b.on[t] >= 0
            )
        fuel = pyo.Var(ctx.T, bounds=(0.0, None))
        blk.add_component(self.fuel_name, fuel)
        blk.fuel_use = pyo.Constraint(
            ctx.T,
            rule=lambda b, t: (
                fuel_use(b.power_kw[t], b.on[t], slope, no_load, ctx.step_h) - fuel[t] == 0
            ),
        )
        ramp = self.ramp_kw(ctx.step_h)
        if ramp is not None:
            blk.initial_power_kw = pyo.Param(mutable=True, initialize=0.0)
            blk.initial_kw = pyo.Var(bounds=(blk.initial_power_kw, blk.initial_power_kw))

            def before(b: Any, t: int) -> Any:
                return b.initial_kw if t == 0 else b.power_kw[t - 1]

            blk.ramp_up = pyo.Constraint(
                ctx.T, rule=lambda b, t: b.power_kw[t] - before(b, t) <= ramp
            )
            blk.ramp_down = pyo.Constraint(
                ctx.T, rule=lambda b, t: before(b, t) - b.power_kw[t] <= ramp
            )
        if isinstance(g.fuel, BiogasFuel):
            ctx.links.draw(g.fuel.digester, "gas_m3", fuel)
            # electricity per m³ at full load, for the value of the holder's gas
            full_m3_per_kwh = slope + no_load / g.rated_kw
            ctx.links.draw(g.fuel.digester, "kwh_per_m3", 1.0 / full_m3_per_kwh)

    def link(self, blk: Any, ctx: Context) -> None:
        takers = ctx.links.drawn(self.name, "heat_kw")
        if takers:
            h = self.spec.heat_recovery_pu
            blk.heat_supply = pyo.Constraint(
                ctx.T, rule=lambda b, t: sum(s[t] for s in takers) <= h * b.power_kw[t]
            )

    def set_data(self, blk: Any, data: DeviceData) -> None:
        if hasattr(blk, "initial_power_kw"):
            blk.initial_power_kw.set_value(data.state.value(self.name, "power_kw"))

    def bus_kw(self, blk: Any, t: int) -> Any:
        return blk.power_kw[t]

    def cost(self, x: Any, step_h: float) -> Any:
        om = self.spec.variable_om_per_kwh * x["power_kw"] * step_h
        fuel = self.spec.fuel
        if isinstance(fuel, BiogasFuel):
            return om
        return fuel.price_per_l * x["fuel_l"] + om

    def emissions(self, x: Any, step_h: float, accounting: str | None = None) -> Any:
        fuel = self.spec.fuel
        if isinstance(fuel, BiogasFuel):
            return 0.0
        return fuel.emission_kgco2_per_l * x["fuel_l"]

    def supply_price_per_kwh(self, inputs: Any) -> Array | None:
        """Running cost of a kWh at full load: fuel bought (diesel) with the carbon price on
        its emissions, and variable O&M; biogas itself costs nothing here (its value is the
        holder's)."""
        n = len(next(iter(inputs.values()), ()))
        return np.full(max(n, 1), self.marginal_per_kwh)

    @property
    def marginal_per_kwh(self) -> float:
        """Running cost of a kWh at full load [currency/kWh] (``supply_price_per_kwh``)."""
        g = self.spec
        slope, no_load = self.fuel_line
        per_kwh = g.variable_om_per_kwh
        if not isinstance(g.fuel, BiogasFuel):
            litres = slope + no_load / g.rated_kw
            per_kwh += litres * (
                g.fuel.price_per_l + self.site.carbon_price_per_kgco2 * g.fuel.emission_kgco2_per_l
            )
        return per_kwh

    def decisions(self, values: Any, data: DeviceData) -> dict[str, Array]:
        power = values("power_kw")
        out = {"power_kw": power, self.fuel_name: values(self.fuel_name), "on_pu": values("on")}
        if self.spec.heat_recovery_pu > 0:
            out["heat_kw"] = self.spec.heat_recovery_pu * power
        return out

    # --- sizing -------------------------------------------------------------------------
    capacity_unit = "kW"

    def capacity_units(self) -> float:
        return self.spec.rated_kw

    def for_sizing(self, blk: Any, ctx: Context, capacity: Any) -> None:
        """Sizing is an LP: commitment is relaxed. The committed share ``on`` may exceed 1 up
        to capacity / rated_kw, so output, minimum load and no-load fuel scale with the size."""
        for t in ctx.T:
            blk.on[t].domain = pyo.NonNegativeReals
        if capacity is None:
            return
        rated = self.spec.rated_kw
        for t in ctx.T:
            blk.on[t].setub(None)
            blk.power_kw[t].setub(None)
        blk.sized_output = pyo.Constraint(ctx.T, rule=lambda b, t: rated * b.on[t] <= capacity)

    def resized(self, units: float) -> Genset:
        return self.spec.model_copy(update={"rated_kw": units})

    # --- columns ----------------------------------------------------------------------
    def columns(self) -> tuple[Column, ...]:
        power = COLUMNS["power" if self.biogas else "power_diesel"]
        out = (power, COLUMNS[self.fuel_name], COLUMNS["on_pu"])
        return out + (COLUMNS["heat_kw"],) if self.spec.heat_recovery_pu > 0 else out

    # --- plain words (optimizer/explain.py) ---
    def explain(self, view: PlanView) -> Iterator[Action]:
        """The runs of this genset, each with its reason."""
        return explain_genset(self.spec, view)

    # --- rule-based dispatch ---
    def rule(self, ctx: RuleContext) -> DeviceRule:
        return GensetRule(self, ctx)


class GensetRule(DeviceRule):
    """A genset in the rule-based dispatch: output its ramp limits keep is ``MUST_RUN``; more
    is offered as ``OWN_FUEL`` (biogas, within the holder's spare gas) or ``BOUGHT`` (diesel,
    at its running cost). A biogas unit never plans more output than the holder's spare gas
    could carry through a ramp down to zero.
    """

    def __init__(self, model: GensetModel, ctx: RuleContext):
        super().__init__(model.name, ctx)
        g = self.spec = model.spec
        self.dt, self.fuel_name = ctx.step_h, model.fuel_name
        self.digester = g.fuel.digester if isinstance(g.fuel, BiogasFuel) else None
        self.rank = OWN_FUEL if self.digester is not None else BOUGHT
        self.last_kw = ctx.state.value(g.name, "power_kw")
        self.slope, self.no_load = model.fuel_line
        self.marginal = model.marginal_per_kwh
        self.min_on_kw = g.min_load_pu * g.rated_kw if g.commitment else 0.0
        ramp = model.ramp_kw(ctx.step_h)
        self.allowance_kw = g.rated_kw if ramp is None else ramp
        self.commitment, self.rated_kw = g.commitment, g.rated_kw
        self.power_kw = self.high_kw = 0.0
        self._holder: Any = None
        written = ["power_kw", self.fuel_name, "on_pu"]
        self.columns = [self.column(q) for q in written]
        self.heat_column = self.column("heat_kw") if g.heat_recovery_pu > 0 else None

    def spare_kw(self) -> Array | float:
        """Diesel at its rating; biogas as far as each interval's production less cooking
        fuels it."""
        g = self.spec
        if self.digester is None:
            return g.rated_kw
        made = self.ctx.series(self.digester, "production_m3")
        made = made - self.ctx.series(self.digester, "cooking_m3")
        return np.clip(made / (self.slope * self.dt), 0.0, g.rated_kw)

    @property
    def holder(self) -> Any:
        """The rule of the digester this unit burns gas from (``DigesterRule``: it offers
        ``spare_m3`` and sums the units' ``fuel_m3``)."""
        if self._holder is None:
            self._holder = self.ctx.rules[self.digester or ""]
        return self._holder

    def on_pu(self, power_kw: float) -> float:
        """Share of the interval the unit runs: ``P/P̄``, or 0 or 1 with commitment [-]."""
        return float(power_kw > EPS) if self.commitment else power_kw / self.rated_kw

    def fuel(self, power_kw: float) -> float:
        """Fuel of one interval [m³ or L]."""
        return fuel_use(power_kw, self.on_pu(power_kw), self.slope, self.no_load, self.dt)

    def _reserve(self, power_kw: float) -> float:
        """Fuel to run at ``power_kw`` now and ramp down to zero later (an upper bound)."""
        if power_kw <= EPS:
            return self.fuel(power_kw)  # one interval
        # ``fuel`` at a running unit, written out: the bisection calls this up to 50 times
        on = 1.0 if self.commitment else power_kw / self.rated_kw
        fuel = fuel_use(power_kw, on, self.slope, self.no_load, self.dt)
        return fuel * math.ceil(power_kw / self.allowance_kw - 1e-12)

    def _gas_limit(self, high: float, spare: float) -> float:
        """The highest output up to ``high`` whose ``_reserve`` fits in ``spare`` [m³], by
        bisection (at most 50 halvings; it stops when the bracket cannot shrink further)."""
        reserve = self._reserve
        if reserve(high) <= spare:
            return high
        lo, hi = 0.0, high
        for _ in range(50):
            mid = (lo + hi) / 2
            if mid == lo or mid == hi:  # lo fits and hi does not: no later step moves them
                break
            lo, hi = (mid, hi) if reserve(mid) <= spare else (lo, mid)
        return lo

    def prepare(self, t: int) -> None:
        g = self.spec
        low = max(0.0, self.last_kw - self.allowance_kw)
        if low > EPS:
            low = max(low, self.min_on_kw)
        high = min(g.rated_kw, self.last_kw + self.allowance_kw)
        if self.digester is not None:
            holder = self.holder
            high = self._gas_limit(high, holder.spare_m3)
            holder.spare_m3 = max(0.0, holder.spare_m3 - self._reserve(high))
        self.power_kw = min(low, high) if self.digester is not None else low
        self.high_kw = max(high, self.power_kw)
        if self.plan is not None:  # pinned: the plan's output within the bounds; more is
            # offered as usual, after the stores
            self.power_kw = min(max(self.planned("power_kw", t), low), high)

    def _take(self, x: float) -> None:
        self.power_kw += x

    def _spill(self, excess_kw: float) -> float:
        cut = min(excess_kw, self.power_kw)
        self.power_kw -= cut
        return cut

    def sources(self, t: int) -> list[Source]:
        start = self.min_on_kw if self.power_kw <= EPS else 0.0
        return [
            Source(self.power_kw, 0.0, rank=MUST_RUN, spill=self._spill),
            Source(self.high_kw - self.power_kw, self.marginal, self._take, start, self.rank),
        ]

    def heat_kw(self) -> float:
        return self.spec.heat_recovery_pu * self.power_kw

    def finish(self, t: int) -> None:
        g = self.spec
        fuel = self.fuel(self.power_kw)
        power_kw, fuel_used, on_pu = self.columns
        power_kw[t], fuel_used[t], on_pu[t] = self.power_kw, fuel, self.on_pu(self.power_kw)
        if self.heat_column is not None:
            self.heat_column[t] = g.heat_recovery_pu * self.power_kw
        if self.digester is not None:
            self.holder.fuel_m3 += fuel
        self.last_kw = self.power_kw


def explain_genset(spec: Genset, view: PlanView) -> Iterator[Action]:
    """Runs of the genset: for an outage, a full gas holder, dear power, no sun, or to
    cover the load."""
    power = view.column(f"{spec.name}.power_kw")
    digester = getattr(spec.fuel, "digester", None)
    holder = None if digester is None else view.site.device(digester)
    for first, stop, numbers in view.told_runs(power):
        if view.outage[first:stop].any():
            why = "outage"
        elif holder is not None and holder_full(holder, view)[first:stop].any():
            numbers["gas_m3"] = float(view.column(f"{holder.name}.gas_m3")[first:stop].max())
            numbers["holder_max_m3"] = holder.holder_max_m3
            why = "gas_full"
        elif view.price is not None and view.band(view.mean_price(first, stop, power)) == "high":
            numbers["price_per_kwh"] = view.mean_price(first, stop, power)
            why = "dear"
        elif view.pv_kw[first:stop].mean() < view.base_kw[first:stop].mean():
            numbers["solar_kw"] = float(view.pv_kw[first:stop].mean())
            numbers["load_kw"] = float(view.base_kw[first:stop].mean())
            why = "no_sun"
        else:
            why = "covers"
        yield Action(*view.span(first, stop), "genset", spec.name, why, numbers)
