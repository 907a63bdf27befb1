"""Genset / CHP on biogas or diesel: linear fuel line, optional commitment, ramps, heat.

See docs/formulation.md, section *genset*. A biogas unit draws its fuel from its digester's
holder through the link ``gas_m3``; heat loads draw its recovered heat through ``heat_kw``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from optimizer.devices.base import Array, Context, DeviceData, DeviceModel
from optimizer.devices.statevars import StateVar
from sites.schema import BiogasFuel, Genset

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
        return max(g.max_ramp_kw_per_h * step_h, g.min_load_pu * g.rated_kw)

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
                fuel[t] - slope * ctx.step_h * b.power_kw[t] - no_load * ctx.step_h * b.on[t] == 0
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

    def emissions(self, x: Any, step_h: float) -> Any:
        fuel = self.spec.fuel
        if isinstance(fuel, BiogasFuel):
            return 0.0
        return fuel.emission_kgco2_per_l * x["fuel_l"]

    def supply_price_per_kwh(self, inputs: Any) -> Array | None:
        """Running cost of a kWh at full load: fuel bought (diesel) with the carbon price on
        its emissions, and variable O&M; biogas itself costs nothing here (its value is the
        holder's)."""
        g, n = self.spec, len(next(iter(inputs.values()), ()))
        slope, no_load = self.fuel_line
        per_kwh = g.variable_om_per_kwh
        if not isinstance(g.fuel, BiogasFuel):
            litres = slope + no_load / g.rated_kw
            per_kwh += litres * (
                g.fuel.price_per_l + self.site.carbon_price_per_kgco2 * g.fuel.emission_kgco2_per_l
            )
        return np.full(max(n, 1), per_kwh)

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
