"""Battery: power limits, efficiencies, SoC window, self-discharge, end-SoC rule, wear cost.

See docs/formulation.md, section *battery*.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyomo.environ as pyo

from optimizer.columns import Column
from optimizer.devices.base import Array, Context, DeviceData, DeviceModel
from optimizer.devices.storage import (
    add_end_target,
    add_storage_balance,
    close_storage_cycle,
    end_value,
)
from optimizer.physics import battery_flow_kwh_per_kw, retention_pu, stored_level
from optimizer.planview import FULL_PU, Action, PlanView, by_source, next_outage
from optimizer.rules import (
    CHARGE,
    MUST_RUN,
    STORED,
    DeviceRule,
    RuleContext,
    Source,
    reach_floor,
)
from optimizer.statevars import StateVar
from sites.schema import Battery

#: State of a battery (docs/formulation.md, *The device contract: state*).
STATE = (
    StateVar(
        "soc_kwh", "kWh", "energy stored at the start of the horizon",
        upper="capacity_kwh", default=lambda b: b.initial_soc_pu * b.capacity_kwh,
        column="soc_kwh",
        usable=(lambda b: b.soc_min_pu * b.capacity_kwh, lambda b: b.soc_max_pu * b.capacity_kwh),
        legacy="battery_soc_kwh",
    ),
)

#: Plan-table columns of a battery (docs/formulation.md, *The device contract: columns*).
COLUMNS = (
    Column("charge_kw", "kW", "setpoint", -1, "storage_in", "battery charge",
           "power drawn from the bus to charge"),
    Column("discharge_kw", "kW", "setpoint", 1, "storage_out", "battery discharge",
           "power fed to the bus by discharging", source="battery"),
    Column("soc_kwh", "kWh", "level", 0, "stored", "battery SoC",
           "energy stored at the end of the interval"),
)  # fmt: skip


class BatteryModel(DeviceModel):
    spec: Battery
    COLUMNS = COLUMNS
    cost_vars = ("charge_kw", "discharge_kw")
    state_vars = STATE

    @property
    def retention_pu(self) -> float:
        """Share of the stored energy kept over one interval: (1 − σ)^(Δ/24) [pu]."""
        return retention_pu(self.spec.self_discharge_pu_per_day, self.site.step_h)

    def end_target_kwh(self, initial_kwh: float) -> float:
        b = self.spec
        return b.end_soc_pu * b.capacity_kwh if b.end_soc_pu is not None else initial_kwh

    def build(self, blk: Any, ctx: Context) -> None:
        b = self.spec
        blk.initial_soc_kwh = pyo.Param(mutable=True, initialize=0.0)
        blk.end_soc_kwh = pyo.Param(mutable=True, initialize=0.0)
        blk.initial_kwh = pyo.Var(bounds=(blk.initial_soc_kwh, blk.initial_soc_kwh))
        blk.charge_kw = pyo.Var(ctx.T, bounds=(0.0, b.max_charge_kw))
        blk.discharge_kw = pyo.Var(ctx.T, bounds=(0.0, b.max_discharge_kw))
        low, high = b.soc_min_pu * b.capacity_kwh, b.soc_max_pu * b.capacity_kwh
        blk.soc_kwh = pyo.Var(ctx.T, bounds=(low, high))
        add_end_target(
            blk,
            blk.soc_kwh,
            blk.end_soc_kwh,
            self.stored_value_per_kwh(ctx),
            b.end_target == "soft",
        )
        per_charge, per_discharge = battery_flow_kwh_per_kw(
            b.charge_efficiency_pu, b.discharge_efficiency_pu, ctx.step_h
        )
        add_storage_balance(
            blk,
            "soc_balance",
            blk.soc_kwh,
            blk.initial_kwh,
            lambda t: [(per_charge, blk.charge_kw[t]), (per_discharge, blk.discharge_kw[t])],
            self.retention_pu,
        )

    def set_data(self, blk: Any, data: DeviceData) -> None:
        b = self.spec
        initial = data.state.value(self.name, "soc_kwh")
        blk.initial_soc_kwh.set_value(initial)
        # kept inside the SoC window, so the last level's bounds stay ordered
        low, high = b.soc_min_pu * b.capacity_kwh, b.soc_max_pu * b.capacity_kwh
        blk.end_soc_kwh.set_value(min(max(self.end_target_kwh(initial), low), high))

    def stored_value_per_kwh(self, ctx: Context) -> float:
        """Value of a kWh left below the end target [currency/kWh]: the file's, or the
        horizon's value of stored energy (``optimizer.model.energy_value_per_kwh``)."""
        own = self.spec.stored_energy_value_per_kwh
        return float(own) if own is not None else ctx.energy_value_per_kwh

    def end_value(self, blk: Any, ctx: Context) -> Any:
        return end_value(blk)

    def bus_kw(self, blk: Any, t: int) -> Any:
        return blk.discharge_kw[t] - blk.charge_kw[t]

    def cost(self, x: Any, step_h: float) -> Any:
        return self.spec.wear_cost_per_kwh * (x["charge_kw"] + x["discharge_kw"]) * step_h

    def decisions(self, values: Any, data: DeviceData) -> dict[str, Array]:
        return {
            "charge_kw": values("charge_kw"),
            "discharge_kw": values("discharge_kw"),
            "soc_kwh": values("soc_kwh"),
        }

    def conflicts(self, data: DeviceData) -> list[str]:
        b = self.spec
        initial = data.state.value(self.name, "soc_kwh")
        low, high = b.soc_min_pu * b.capacity_kwh, b.soc_max_pu * b.capacity_kwh
        out = []
        horizon_h = len(data.index) * data.step_h
        decay = self.retention_pu ** len(data.index)
        reachable = min(
            high, decay * initial + b.max_charge_kw * b.charge_efficiency_pu * horizon_h
        )
        target = min(max(self.end_target_kwh(initial), low), high)
        if b.end_target == "hard" and target > reachable + 1e-6:
            out.append(
                f"{self.name}: end-of-horizon SoC {target:g} kWh (end_soc_pu or the initial "
                f"soc_kwh {initial:g}) cannot be reached: at most {reachable:g} kWh with "
                f"max_charge_kw {b.max_charge_kw:g}, charge_efficiency_pu "
                f"{b.charge_efficiency_pu:g}, self_discharge_pu_per_day "
                f"{b.self_discharge_pu_per_day:g} and soc_max_pu {b.soc_max_pu:g} over "
                f"{horizon_h:g} h"
            )
        first_low = (
            initial * self.retention_pu + b.max_charge_kw * b.charge_efficiency_pu * data.step_h
        )
        if first_low < low - 1e-6:
            out.append(
                f"{self.name}: initial soc_kwh {initial:g} is below soc_min_pu × "
                f"capacity_kwh ({low:g}) by more than one interval of charging "
                f"(max_charge_kw {b.max_charge_kw:g}) can make up"
            )
        return out

    # --- sizing -------------------------------------------------------------------------
    capacity_unit = "kWh"

    def capacity_units(self) -> float:
        return self.spec.capacity_kwh

    def for_sizing(self, blk: Any, ctx: Context, capacity: Any) -> None:
        """SoC window and power limits scale with the energy capacity (at the site file's
        C-rates); the SoC starts free in its window and ends at least there."""
        b = self.spec
        size = b.capacity_kwh if capacity is None else capacity
        close_storage_cycle(
            blk, blk.soc_kwh, blk.initial_kwh, b.soc_min_pu * size, b.soc_max_pu * size
        )
        if capacity is None:
            return
        for name, rated in (("charge_kw", b.max_charge_kw), ("discharge_kw", b.max_discharge_kw)):
            power = getattr(blk, name)
            for t in ctx.T:
                power[t].setub(None)
            rate = rated / b.capacity_kwh
            blk.add_component(
                f"sized_{name}",
                pyo.Constraint(ctx.T, rule=lambda _, t, p=power, r=rate: p[t] <= r * capacity),
            )

    def resized(self, units: float) -> Battery:
        b = self.spec
        scale = units / b.capacity_kwh
        return b.model_copy(
            update={
                "capacity_kwh": units,
                "max_charge_kw": b.max_charge_kw * scale,
                "max_discharge_kw": b.max_discharge_kw * scale,
            }
        )

    # --- columns ----------------------------------------------------------------------
    def storage_kwh(self) -> float:
        b = self.spec
        return b.capacity_kwh * (b.soc_max_pu - b.soc_min_pu)

    def level_max(self, quantity: str) -> float | None:
        return self.spec.capacity_kwh if quantity == "soc_kwh" else None

    # --- plain words (optimizer/explain.py) ---
    def explain(self, view: PlanView) -> Iterator[Action]:
        """Charging and discharging runs of this battery, each with its reason."""
        return explain_battery(self.spec, view)

    # --- rule-based dispatch ---
    def rule(self, ctx: RuleContext) -> DeviceRule:
        return BatteryRule(self, ctx)


class BatteryRule(DeviceRule):
    """A battery in the rule-based dispatch: discharges in the ``STORED`` class, charges from
    surplus first, and never falls below the SoC from which its end target is still reachable
    with the supply left over later (``spare_kw``).
    """

    absorb_rank = CHARGE

    def __init__(self, model: BatteryModel, ctx: RuleContext):
        super().__init__(model.name, ctx)
        b = self.spec = model.spec
        self.dt = ctx.step_h
        self.soc = ctx.state.value(b.name, "soc_kwh")
        self.keep = model.retention_pu
        self.per_charge, self.per_discharge = battery_flow_kwh_per_kw(
            b.charge_efficiency_pu, b.discharge_efficiency_pu, ctx.step_h
        )
        self.target = model.end_target_kwh(self.soc)
        self.floor = [0.0] * ctx.n  #: the SoC floor of each interval [kWh]
        self.kept = self.extra_kw = self.discharge_kw = 0.0
        self.room_charge_kw = self.room_discharge_kw = 0.0
        #: pinned: the plan's discharge and charge in this interval, within the rooms [kW]
        self.pinned_kw = self.planned_charge_kw = self.lack_kw = 0.0
        self.columns = [self.column(q) for q in ("charge_kw", "discharge_kw", "soc_kwh")]

    def look_ahead(self, spare_kw: Array) -> None:
        # charging later is limited by the supply left over then, not only by the charger
        b = self.spec
        if self.plan is not None:  # the plan carries its own end target
            self.floor = [b.soc_min_pu * b.capacity_kwh] * len(self.floor)
            return
        charger = np.clip(spare_kw, 0.0, b.max_charge_kw)
        rise = b.charge_efficiency_pu * charger * self.dt
        low = b.soc_min_pu * b.capacity_kwh
        self.floor = reach_floor(self.target, low, rise, self.keep, len(self.floor)).tolist()

    def demand_kw(self, t: int) -> float:
        """Pinned: the plan's net power within the rooms; its charging is a demand."""
        if self.plan is None:
            return 0.0
        self.prepare(t)
        net = self.planned("discharge_kw", t) - self.planned("charge_kw", t)
        net = max(min(net, self.room_discharge_kw - self.lack_kw), -self.room_charge_kw)
        # charging against self-discharge at the floor is forced (a shortfall trims it)
        self.forced_kw = min(self.lack_kw, max(0.0, -net))
        self.held_kw = min(self.held_kw, self.forced_kw)
        self.pinned_kw, self.planned_charge_kw = max(0.0, net), max(0.0, -net) - self.forced_kw
        return self.planned_charge_kw

    def prepare(self, t: int) -> None:
        b, dt = self.spec, self.dt
        self.kept = stored_level(self.soc, self.keep, 0.0)
        floor = self.floor[t]
        self.room_discharge_kw = max(
            0.0, min(b.max_discharge_kw, (self.kept - floor) * b.discharge_efficiency_pu / dt)
        )
        top = b.soc_max_pu * b.capacity_kwh
        self.room_charge_kw = max(
            0.0, min(b.max_charge_kw, (top - self.kept) / (b.charge_efficiency_pu * dt))
        )
        lack = max(0.0, (floor - self.kept) / (b.charge_efficiency_pu * dt))
        #: charging that keeps the SoC at its floor against self-discharge [kW]
        self.lack_kw = min(self.room_charge_kw, lack)
        if self.plan is None:
            self.forced_kw = self.lack_kw
        # what self-discharge took below the SoC window is made up before any load is served
        low = b.soc_min_pu * b.capacity_kwh
        below = max(0.0, (low - self.kept) / (b.charge_efficiency_pu * dt))
        self.held_kw = min(self.lack_kw, below)
        self.extra_kw = self.discharge_kw = 0.0

    def _take(self, x: float) -> None:
        self.discharge_kw += x

    def sources(self, t: int) -> list[Source]:
        wear = self.spec.wear_cost_per_kwh
        if self.plan is None:
            return [Source(self.room_discharge_kw, wear, self._take, rank=STORED)]
        # pinned: the planned discharge is given anyway (surplus is taken back by charging);
        # more discharge (first cancelling planned charging) up to the room
        more = self.room_discharge_kw - self.lack_kw - self.pinned_kw + self.planned_charge_kw
        return [
            Source(self.pinned_kw, 0.0, rank=MUST_RUN, spill=lambda _: 0.0),
            Source(more, wear, self._take, rank=STORED),
        ]

    def absorb(self, t: int, surplus_kw: float) -> tuple[float, float | None]:
        """Charge from surplus beyond the forced (pinned: the planned) charging; pinned, the
        planned discharge is cancelled first."""
        room = self.room_charge_kw - self.forced_kw - self.planned_charge_kw + self.pinned_kw
        self.extra_kw = max(0.0, min(room, surplus_kw))
        return self.extra_kw, None

    def finish(self, t: int) -> None:
        charge = self.forced_kw + self.extra_kw
        if self.plan is not None:  # one net flow: planned ± what absorbed the error
            net = self.pinned_kw + self.discharge_kw - self.planned_charge_kw - charge
            charge, self.discharge_kw = max(0.0, -net), max(0.0, net)
        inflow = self.per_charge * charge + self.per_discharge * self.discharge_kw
        self.soc = stored_level(self.soc, self.keep, inflow)
        charge_kw, discharge_kw, soc_kwh = self.columns
        charge_kw[t], discharge_kw[t], soc_kwh[t] = charge, self.discharge_kw, self.soc


def explain_battery(spec: Battery, view: PlanView) -> Iterator[Action]:
    """Charging runs (reserve before an outage, else by their main supply) and discharging
    runs (an outage, dear power against what the charge was worth, or no sun)."""
    charge = view.column(f"{spec.name}.charge_kw")
    discharge = view.column(f"{spec.name}.discharge_kw")
    soc = view.column(f"{spec.name}.soc_kwh")
    full_kwh = spec.soc_min_pu * spec.capacity_kwh + FULL_PU * (
        spec.soc_max_pu - spec.soc_min_pu) * spec.capacity_kwh
    for first, stop, numbers in view.told_runs(charge):
        outage = next_outage(view, stop)
        if outage is not None and soc[outage - 1] >= full_kwh:
            numbers["soc_pu"] = float(soc[outage - 1] / spec.capacity_kwh)
            when = view.starts[outage].to_pydatetime()
            yield Action(*view.span(first, stop), "charge", spec.name, "reserve", numbers, when)
            continue
        why = by_source(view, first, stop, charge, numbers, exclude="battery")
        yield Action(*view.span(first, stop), "charge", spec.name, why, numbers)
    charged_at = view.charged_price(charge)
    if charged_at is None and view.price is not None and charge.sum() > 0:
        charged_at = view.mean_price(0, len(charge), charge)
    for first, stop, numbers in view.told_runs(discharge):
        if view.outage[first:stop].any():
            why = "outage"
        elif view.price is not None:
            price = view.mean_price(first, stop, discharge)
            numbers["price_per_kwh"] = price
            numbers["cheapest_per_kwh"] = (float(view.price.min()) if charged_at is None
                                           else charged_at)
            if charged_at is not None:  # dear only against what the stored energy was worth
                dear = price > charged_at + 1e-9
            else:
                dear = view.band(price) == "high"
            why = "dear" if dear else "covers"
        else:
            numbers["solar_kw"] = float(view.pv_kw[first:stop].mean())
            numbers["load_kw"] = float(view.base_kw[first:stop].mean())
            why = "no_sun" if numbers["solar_kw"] < numbers["load_kw"] else "covers"
        yield Action(*view.span(first, stop), "discharge", spec.name, why, numbers)
