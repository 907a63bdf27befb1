"""Digester and gas holder: production, cooking gas first, flaring or venting, leakage.

See docs/formulation.md, sections *digester and gas holder* and *digester temperature*.
Gensets that burn this digester's gas draw it through the link ``gas_m3``; CHP units named in
``heated_by`` give heat through their ``heat_kw`` link. The temperature physics are pure
functions in ``forecasting/digester.py``; :class:`DigesterHeating` adds the heated rise.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from forecasting.digester import THREE_MEALS_PU, cooking_m3, warmth_value
from optimizer.columns import Column
from optimizer.devices.base import Array, Context, DeviceData, DeviceModel
from optimizer.devices.digester_heating import DigesterHeating, leaked_share
from optimizer.devices.storage import (
    add_end_target,
    add_storage_balance,
    close_storage_cycle,
    end_value,
)
from optimizer.methane import vented_kgco2e_per_m3
from optimizer.physics import flare_or_vent, stored_level
from optimizer.planview import FULL_PU, Action, PlanView, runs
from optimizer.rules import DeviceRule, RuleContext, Source, reach_floor
from optimizer.statevars import StateVar
from sites.schema import Digester

#: Plan-table columns of a digester and its holder; a heated digester adds ``HEATED_COLUMNS``
#: (docs/formulation.md, *The device contract: columns*).
COLUMNS = (
    Column("production_m3", "m3", "input", 0, "gas", "biogas made",
           "gas made in the interval, unheated"),
    Column("cooking_m3", "m3", "input", 0, "gas", "cooking gas", "gas taken for cooking",
           kpis=("biogas_used_m3",)),
    Column("gas_m3", "m3", "level", 0, "stored", "gas holder",
           "gas in the holder at the end of the interval"),
    Column("flared_m3", "m3", "setpoint", 0, "gas", "gas flared", "surplus gas burnt in the flare",
           kpis=("biogas_flared_m3",)),
    Column("vented_m3", "m3", "setpoint", 0, "gas", "gas vented", "surplus gas released",
           kpis=("biogas_vented_m3",)),
    Column("produced_m3", "m3", "decision", 0, "gas", "biogas to holder",
           "gas that reached the holder", kpis=("biogas_produced_m3",),
           fallback="production_m3"),
    Column("leaked_m3", "m3", "decision", 0, "gas", "gas leaked",
           "gas that escaped before the holder"),
)  # fmt: skip
HEATED_COLUMNS = (
    Column("heat_gain_m3_per_k", "m3/K", "input", 0, "other", "gas per kelvin",
           "more gas per kelvin of heated rise"),
    Column("unheated_c", "degC", "input", 0, "other", "unheated temperature",
           "digester temperature without heating"),
    Column("rise_k", "K", "decision", 0, "other", "heated rise", "temperature rise by heating"),
    Column("temperature_c", "degC", "decision", 0, "other", "digester temperature",
           "temperature with heating"),
    Column("heat_in_kw", "kW", "decision", 0, "heat", "digester heating", "CHP heat received"),
)  # fmt: skip

__all__ = ["THREE_MEALS_PU", "DigesterModel", "cooking_m3", "production_m3"]

#: Largest temperature rise a state may give a digester [K]: a plausibility bound (no
#: digester is heated 60 K above its unheated temperature), not a physical limit.
MAX_RISE_K = 60.0

#: State of a digester and its holder (docs/formulation.md, *The device contract: state*).
STATE = (
    StateVar(
        "gas_m3", "m3", "biogas in the holder at the start of the horizon",
        upper="holder_max_m3", default="holder_initial_m3", column="gas_m3",
        usable=("holder_min_m3", "holder_max_m3"), legacy="holder_m3",
    ),
    StateVar(
        "rise_k", "K", "temperature above the unheated temperature, from heat routed to the "
        "digester before the horizon (temperature-aware digesters)",
        upper=MAX_RISE_K, column="rise_k", legacy="digester_rise_k",
    ),
)

#: Tie-break cost of surplus gas [currency/m³]; see docs/formulation.md, *Tie-break costs*.
SURPLUS_GAS_TIEBREAK_PER_M3 = 1e-4

#: Least value of gas left below the holder's end target when no genset burns it
#: [currency/m³]: above the surplus-gas tie-break, so a holder that only serves cooking still
#: ends where it started when nothing else is at stake.
STORED_GAS_VALUE_FLOOR_PER_M3 = 1e-2


def production_m3(spec: Digester, index: pd.DatetimeIndex, step_h: float) -> Array:
    """Biogas made in each interval: the daily production spread evenly [m³].

    Notes
    -----
    .. math:: G_t = \\frac{\\Delta}{24} \\sum_f m_f\\, y_f

    with feed :math:`m_f` [kg/day] and biogas yield :math:`y_f` [m³/kg].
    """
    return np.full(len(index), spec.biogas_m3_per_day * step_h / 24.0)


class DigesterModel(DeviceModel):
    spec: Digester
    cost_vars = ("vented_m3", "produced_m3")
    state_vars = STATE

    def __init__(self, spec: Digester, site: Any):
        super().__init__(spec, site)
        self.heating = DigesterHeating(spec) if spec.temperature is not None else None
        if self.heating is not None:
            self.inputs = ("production_m3", "cooking_m3", *self.heating.inputs)
            self.forecast = "digester"
        else:
            self.inputs = ("production_m3", "cooking_m3")

    def site_inputs(self, index: pd.DatetimeIndex) -> dict[str, Array]:
        return {
            "production_m3": production_m3(self.spec, index, self.site.step_h),
            "cooking_m3": cooking_m3(self.spec, self.site, index),
        }

    def structure_key(self, index: pd.DatetimeIndex, inputs: pd.DataFrame) -> Any:
        """A heated digester's chord gains are matrix coefficients: new gains, new model."""
        if self.heating is None:
            return None
        return tuple(self.heating.gains(inputs).tolist())

    def build(self, blk: Any, ctx: Context) -> None:
        d = self.spec
        self.add_input_params(blk, ctx)
        blk.initial_level_m3 = pyo.Param(mutable=True, initialize=0.0)
        blk.initial_m3 = pyo.Var(bounds=(blk.initial_level_m3, blk.initial_level_m3))
        if self.heating is not None:
            blk.produced_m3 = pyo.Var(ctx.T, bounds=(0.0, None))
            self.heating.build(blk, ctx)
        else:
            blk.produced_m3 = pyo.Var(
                ctx.T, bounds=lambda b, t: (b.production_m3[t], b.production_m3[t])
            )
        blk.cooked_m3 = pyo.Var(ctx.T, bounds=lambda b, t: (b.cooking_m3[t], b.cooking_m3[t]))
        blk.gas_m3 = pyo.Var(ctx.T, bounds=(d.holder_min_m3, d.holder_max_m3))
        blk.flared_m3 = pyo.Var(ctx.T, bounds=(0.0, None if d.has_flare else 0.0))
        blk.vented_m3 = pyo.Var(ctx.T, bounds=(0.0, 0.0 if d.has_flare else None))

    def link(self, blk: Any, ctx: Context) -> None:
        burnt = ctx.links.drawn(self.name, "gas_m3")

        def inflow(t: int) -> list[tuple[float, Any]]:
            taken = [blk.cooked_m3[t], blk.flared_m3[t], blk.vented_m3[t]]
            taken += [fuel[t] for fuel in burnt]
            return [(1.0, blk.produced_m3[t])] + [(-1.0, v) for v in taken]

        add_storage_balance(blk, "gas_balance", blk.gas_m3, blk.initial_m3, inflow)
        kwh_per_m3 = max(ctx.links.drawn(self.name, "kwh_per_m3"), default=0.0)
        add_end_target(
            blk,
            blk.gas_m3,
            blk.initial_level_m3,
            self.stored_value_per_m3(ctx, kwh_per_m3),
            self.spec.end_target == "soft",
        )

    def stored_value_per_m3(self, ctx: Context, kwh_per_m3: float) -> float:
        """Value of a m³ left below the initial level [currency/m³]: the file's, or the
        horizon's value of stored energy × the best electricity per m³ of the gensets that
        burn this gas (a floor of ``STORED_GAS_VALUE_FLOOR_PER_M3`` when none does)."""
        own = self.spec.stored_gas_value_per_m3
        if own is not None:
            return float(own)
        return max(ctx.energy_value_per_kwh * kwh_per_m3, STORED_GAS_VALUE_FLOOR_PER_M3)

    def end_value(self, blk: Any, ctx: Context) -> Any:
        return end_value(blk)

    def set_data(self, blk: Any, data: DeviceData) -> None:
        super().set_data(blk, data)
        if self.heating is not None:
            self.heating.set_data(blk, data)
        d = self.spec
        level = data.state.value(self.name, "gas_m3")
        blk.initial_level_m3.set_value(min(max(level, d.holder_min_m3), d.holder_max_m3))

    def emissions(self, x: Any, step_h: float, accounting: str | None = None) -> Any:
        """Vented gas and the methane that leaked while the gas was made [kgCO2e]."""
        d = self.spec
        escaped = x["vented_m3"] + leaked_share(d) * x["produced_m3"]
        return vented_kgco2e_per_m3(d.methane_fraction_pu) * escaped

    def penalty(self, blk: Any, ctx: Context) -> Any:
        n = ctx.n
        warmth = self.heating.penalty(blk, ctx) if self.heating is not None else 0.0
        return warmth + sum(
            SURPLUS_GAS_TIEBREAK_PER_M3
            * (1.0 + (n - 1 - t) / n)
            * (blk.flared_m3[t] + blk.vented_m3[t])
            for t in ctx.T
        )

    def decisions(self, values: Any, data: DeviceData) -> dict[str, Array]:
        produced = values("produced_m3")
        out = {
            "gas_m3": values("gas_m3"),
            "flared_m3": values("flared_m3"),
            "vented_m3": values("vented_m3"),
            "produced_m3": produced,
            "leaked_m3": leaked_share(self.spec) * produced,
        }
        if self.heating is not None:
            out.update(self.heating.decisions(values, data))
        return out

    def conflicts(self, data: DeviceData) -> list[str]:
        d = self.spec
        level = data.state.value(self.name, "gas_m3")
        made = np.cumsum(data.inputs["production_m3"])
        cooked = np.cumsum(data.inputs["cooking_m3"])
        short = level - d.holder_min_m3 + made - cooked
        out = []
        if short.min() < -1e-6:
            t = int(short.argmin())
            out.append(
                f"{self.name}: cooking gas ({cooked[t]:g} m³ by interval {t}, from "
                f"cooking_gas_m3_per_day {d.cooking_gas_m3_per_day:g}) exceeds production "
                f"({made[t]:g} m³ from feedstocks) plus the holder's usable gas "
                f"({level - d.holder_min_m3:g} m³ above holder_min_m3 {d.holder_min_m3:g})"
            )
        elif d.end_target == "hard" and made[-1] - cooked[-1] < -1e-6:
            out.append(
                f"{self.name}: cooking gas over the horizon ({cooked[-1]:g} m³) exceeds "
                f"production ({made[-1]:g} m³), so the holder cannot end at its initial "
                f"level {level:g} m³"
            )
        return out

    # --- sizing (the gas holder's volume) -------------------------------------------------
    capacity_unit = "m3"

    def capacity_units(self) -> float:
        return self.spec.holder_max_m3

    def for_sizing(self, blk: Any, ctx: Context, capacity: Any) -> None:
        """The holder level stays between its minimum and the (sized) volume, starts free and
        ends at least where it started."""
        d = self.spec
        size = d.holder_max_m3 if capacity is None else capacity
        close_storage_cycle(blk, blk.gas_m3, blk.initial_m3, d.holder_min_m3, size)

    def resized(self, units: float) -> Digester:
        d = self.spec
        volume = max(units, d.holder_min_m3 * (1 + 1e-6) + 1e-6)
        share = (d.holder_initial_m3 - d.holder_min_m3) / (d.holder_max_m3 - d.holder_min_m3)
        initial = d.holder_min_m3 + share * (volume - d.holder_min_m3)
        return d.model_copy(update={"holder_max_m3": volume, "holder_initial_m3": initial})

    # --- columns ----------------------------------------------------------------------
    def columns(self) -> tuple[Column, ...]:
        return COLUMNS + HEATED_COLUMNS if self.heating is not None else COLUMNS

    def level_max(self, quantity: str) -> float | None:
        return self.spec.holder_max_m3 if quantity == "gas_m3" else None

    def plan_end_credit(self, x: Any, step_h: float) -> float:
        """The value of the warmth a heated digester keeps at the end [currency]."""
        if self.heating is None or "rise_k" not in x:
            return 0.0
        return float(warmth_value(self.spec, step_h, float(x["rise_k"][-1])))

    # --- plain words (optimizer/explain.py) ---
    def explain(self, view: PlanView) -> Iterator[Action]:
        """When this holder is full or nearly empty, and gas burnt off or vented."""
        return explain_digester(self.spec, view)

    # --- rule-based dispatch ---
    def rule(self, ctx: RuleContext) -> DeviceRule:
        return DigesterRule(self, ctx)


class DigesterRule(DeviceRule):
    """A digester's gas holder in the rule-based dispatch: production in, cooking out first,
    fuel out, flaring (or venting) at the top.

    ``V_t = V_{t−1} + G_t − K_t − Σ F_g − flared_t − vented_t`` within ``[V_min, V_max]``;
    the level never falls below the one from which later production less cooking refills it
    to its initial level by the end of the horizon. Gensets read ``spare_m3`` when they get
    ready and add their fuel to ``fuel_m3`` when they settle.
    """

    stage = 0

    def __init__(self, model: DigesterModel, ctx: RuleContext):
        super().__init__(model.name, ctx)
        d = self.spec = model.spec
        production = ctx.series(d.name, "production_m3")
        cooking = ctx.series(d.name, "cooking_m3")
        self.level = ctx.state.value(d.name, "gas_m3")
        net = production - cooking  # what interval t adds to the holder at most
        self.floor = reach_floor(self.level, d.holder_min_m3, net, 1.0, len(net)).tolist()
        self.production, self.cooking = production.tolist(), cooking.tolist()
        self.spare_m3 = self.fuel_m3 = 0.0
        self.columns = [self.column(q) for q in ("flared_m3", "vented_m3", "gas_m3")]

    #: what a pinned holder takes from the plan as it is: the heating and its gas
    PLANNED = ("produced_m3", "leaked_m3", "rise_k", "temperature_c", "heat_in_kw")

    def pin(self, plan: dict[str, list[float]]) -> None:
        """Pinned: the plan carries the holder's end level, so only its bounds hold here; the
        digester is heated as planned and makes the gas the plan's heating makes."""
        super().pin(plan)
        self.floor = [self.spec.holder_min_m3] * len(self.floor)
        self.production = plan.get(f"{self.name}.produced_m3", self.production)

    def serve_heat(self, t: int, heat_left_kw: dict[str, float], sources: list[Source]) -> None:
        """Pinned: the planned heating is taken from the heating unit's recovered heat."""
        if self.plan is None:
            return
        want_kw = self.planned("heat_in_kw", t)
        for unit in self.spec.heated_by:
            take = min(heat_left_kw.get(unit, 0.0), want_kw)
            heat_left_kw[unit] = heat_left_kw.get(unit, 0.0) - take
            want_kw -= take

    def prepare(self, t: int) -> None:
        self.level = stored_level(self.level, 1.0, self.production[t] - self.cooking[t])
        self.spare_m3 = max(0.0, self.level - self.floor[t])
        self.fuel_m3 = 0.0

    def finish(self, t: int) -> None:
        d = self.spec
        self.level -= self.fuel_m3
        excess = max(0.0, self.level - d.holder_max_m3)
        self.level -= excess
        flared_m3, vented_m3, gas_m3 = self.columns
        flared_m3[t], vented_m3[t] = flare_or_vent(excess, d.has_flare)
        gas_m3[t] = self.level
        if self.plan is not None:
            for quantity in self.PLANNED:
                if f"{self.name}.{quantity}" in self.plan:
                    self.put(quantity, t, self.planned(quantity, t))


def holder_full(spec: Digester, view: PlanView) -> np.ndarray:
    """True where the holder is at least ``FULL_PU`` of its usable range full."""
    gas = view.column(f"{spec.name}.gas_m3")
    top = spec.holder_min_m3 + FULL_PU * (spec.holder_max_m3 - spec.holder_min_m3)
    return gas >= top


def explain_digester(spec: Digester, view: PlanView) -> Iterator[Action]:
    """The first moment the holder is full and nearly empty (with the cooking gas still
    planned), and every run of gas flared or vented."""
    full = holder_full(spec, view)
    cooking = view.column(f"{spec.name}.cooking_m3")
    gas = view.column(f"{spec.name}.gas_m3")
    if full.any():
        i = int(np.flatnonzero(full)[0])
        moment = view.starts[i].to_pydatetime() + pd.Timedelta(hours=view.step_h)
        later = float(cooking[i + 1:].sum())
        numbers = {"gas_m3": float(gas[i]), "holder_max_m3": spec.holder_max_m3,
                   "cooking_m3": later}
        why = "cook" if later > 0 else "store_full"
        yield Action(moment, moment, "holder_full", spec.name, why, numbers)
    low = gas <= spec.holder_min_m3 + (1 - FULL_PU) * (spec.holder_max_m3 - spec.holder_min_m3)
    if low.any():
        i = int(np.flatnonzero(low)[0])
        later = float(cooking[i + 1:].sum())
        burners = [d for d in view.site.devices  # devices burning this holder's gas
                   if getattr(getattr(d, "fuel", None), "digester", None) == spec.name]
        if later > 0:
            moment = view.starts[i].to_pydatetime() + pd.Timedelta(hours=view.step_h)
            numbers = {"gas_m3": float(gas[i]), "cooking_m3": later}
            why = "cook_first" if burners else "cook_sparingly"
            yield Action(moment, moment, "holder_low", spec.name, why, numbers)
    lost = view.column(f"{spec.name}.flared_m3") + view.column(f"{spec.name}.vented_m3")
    for first, stop in runs(lost > 1e-3):
        numbers = {"gas_m3": float(lost[first:stop].sum())}
        yield Action(*view.span(first, stop), "flare", spec.name, "gas_full", numbers,
                     notice=True)
