"""Water tank: an irrigation pump fills a tank, from which the fields draw their water.

See docs/formulation.md, section *water tank*. The pump draws ``pump_kw`` from the bus and
delivers ``pump_kw / e`` m³/h into the tank (``e`` [kWh/m³] its electricity per m³); the fields
draw ``demand_m3`` in each interval, and what the tank cannot deliver is ``unmet_m3``, valued
per m³ and counted in the unserved goal as the pump energy that water would have needed.
Its behaviour in the rule-based dispatch is ``WaterTankRule``, beside the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from optimizer.columns import Column
from optimizer.devices.base import Array, Context, DeviceData, DeviceModel
from optimizer.devices.storage import (
    add_end_target,
    add_storage_balance,
    close_storage_cycle,
    end_value,
)
from optimizer.physics import retention_pu, stored_level
from optimizer.rules import CHARGE, EPS, DeviceRule, RuleContext, reach_floor
from optimizer.statevars import StateVar, StateView
from sites.schema import PRIORITY_FACTOR, Site, WaterTank, window_hours
from sites.timeindex import hourly_to_index, local_hours

#: Plan-table columns of a water tank (docs/formulation.md, *water tank*).
COLUMNS = (
    Column("demand_m3", "m3", "input", 0, "other", "water drawn",
           "water the fields draw from the tank in the interval"),
    Column("allowed_pu", "pu", "input", 0, "limit", "pump allowed",
           "share of the interval the pump may run"),
    Column("pump_kw", "kW", "setpoint", -1, "demand", "irrigation pump",
           "power the pump draws from the bus", kpis=("served_kwh",)),
    Column("on_pu", "pu", "setpoint", 0, "other", "pump on",
           "share of the interval the pump runs (0 or 1 with commitment)"),
    Column("pumped_m3", "m3", "decision", 0, "other", "water pumped",
           "water the pump delivers into the tank"),
    Column("served_m3", "m3", "decision", 0, "other", "water served",
           "water the fields get from the tank"),
    Column("unmet_m3", "m3", "decision", 0, "other", "water unmet",
           "water the fields do not get"),
    Column("unmet_kw", "kW", "decision", 0, "shed", "water unmet",
           "pump power the unmet water would have needed"),
    Column("level_m3", "m3", "level", 0, "stored", "water tank",
           "water in the tank at the end of the interval"),
)  # fmt: skip

#: State of a water tank (docs/formulation.md, *water tank*); ``on_pu`` only with
#: ``max_starts_per_day`` (``WaterTankModel.state_table``).
STATE = (
    StateVar(
        "level_m3", "m3", "water in the tank at the start of the horizon",
        upper="capacity_m3", default="initial_level_m3", column="level_m3",
        usable=("min_level_m3", "max_level_m3"),
    ),
    StateVar(
        "on_pu", "pu", "1 if the pump ran in the interval before the horizon (a start is "
        "counted when it runs after being off)", upper=1.0, column="on_pu",
    ),
)  # fmt: skip

#: Default watering shape: weight of each local hour in the day's water demand [-]. A project
#: assumption: fields are watered in the cool hours, 06–09 h and 16–19 h, when less of the
#: water evaporates from soil and leaves; the day's demand is spread evenly over those 6 h.
WATERING_SHAPE_PU: tuple[float, ...] = tuple(
    1.0 if 6 <= hour < 9 or 16 <= hour < 19 else 0.0 for hour in range(24)
)


def demand_m3(spec: WaterTank, site: Site, index: pd.DatetimeIndex) -> Array:
    """Water the fields draw from the tank in each interval [m³].

    ``demand_profile_m3_per_h`` by local hour, or ``demand_m3_per_day`` spread by
    ``WATERING_SHAPE_PU``: :math:`D_t = \\Delta\\, d_{h(t)}` with :math:`d_h` [m³/h] the
    demand in the interval's local hour.
    """
    if spec.demand_profile_m3_per_h is not None:
        per_hour = np.asarray(spec.demand_profile_m3_per_h, dtype=float)
    else:
        shape = np.asarray(WATERING_SHAPE_PU)
        per_hour = float(spec.demand_m3_per_day or 0.0) * shape / shape.sum()
    return hourly_to_index(site, index, tuple(per_hour)) * site.step_h


def allowed_pu(spec: WaterTank, site: Site, index: pd.DatetimeIndex) -> Array:
    """1 where the pump may run, else 0 [-]: the interval's local start hour lies in one of the
    ``[start_h, end_h)`` windows of ``allowed_hours`` (an end before the start wraps)."""
    hours = local_hours(site, index)
    inside = np.zeros(len(index), dtype=bool)
    for start_h, end_h in spec.allowed_hours:
        inside |= (hours - start_h) % 24 < window_hours(start_h, end_h)
    return inside.astype(float)


def day_labels(site: Site, index: pd.DatetimeIndex) -> Array:
    """Position of each interval's local calendar day among the days the horizon touches."""
    _, labels = np.unique(index.tz_convert(site.tz).date, return_inverse=True)
    return labels


class WaterTankModel(DeviceModel):
    spec: WaterTank
    COLUMNS = COLUMNS
    state_vars = STATE
    inputs = ("demand_m3", "allowed_pu")
    optional_inputs = ("demand_m3", "allowed_pu")

    @property
    def retention_pu(self) -> float:
        """Share of the stored water kept over one interval: (1 − loss)^(Δ/24) [pu]."""
        return retention_pu(self.spec.loss_pu_per_day, self.site.step_h)

    @property
    def lost_water_value_per_m3(self) -> float:
        """Value of a m³ of water the fields do not get [currency/m³]: the file's
        ``value_of_lost_water_per_m3``, or the site's value of lost load × the priority's
        factor × the pump's energy per m³ (lost water is priced as the lost electric load
        that would have pumped it)."""
        own = self.spec.value_of_lost_water_per_m3
        if own is not None:
            return float(own)
        factor = PRIORITY_FACTOR[self.spec.priority]
        return self.site.value_of_lost_load_per_kwh * factor * self.spec.energy_kwh_per_m3

    @property
    def lost_load_value_per_kwh(self) -> float:
        """The value of lost water per kWh of pump energy it would have needed
        [currency/kWh]: what caps the value of stored energy, like a load's."""
        return self.lost_water_value_per_m3 / self.spec.energy_kwh_per_m3

    def initial_level_m3(self, state: StateView) -> float:
        """Water in the tank before the horizon [m³]: the state's ``level_m3`` (default the
        site file's ``initial_level_m3``), water above ``max_level_m3`` spilt (the one place
        the initial level is read, by the LP and the rule alike)."""
        return min(state.value(self.name, "level_m3"), self.spec.max_level_m3)

    def initial_on_pu(self, state: StateView) -> float:
        """Whether the pump ran just before the horizon [0 or 1]: the state's ``on_pu`` with
        ``max_starts_per_day``, else taken as off."""
        if self.spec.max_starts_per_day is None:
            return 0.0
        return float(round(state.value(self.name, "on_pu")))

    def state_table(self) -> tuple[StateVar, ...]:
        """``level_m3``; and ``on_pu`` where starts are counted (``max_starts_per_day``)."""
        rows = super().state_table()
        counted = self.spec.max_starts_per_day is not None
        return tuple(r for r in rows if r.quantity != "on_pu" or counted)

    def site_inputs(self, index: pd.DatetimeIndex) -> dict[str, Array]:
        return {
            "demand_m3": demand_m3(self.spec, self.site, index),
            "allowed_pu": allowed_pu(self.spec, self.site, index),
        }

    def input_limits(self) -> dict[str, tuple[float, str]]:
        return {"allowed_pu": (1.0, "allowed_pu (the whole interval)")}

    def structure_key(self, index: pd.DatetimeIndex, inputs: pd.DataFrame) -> Any:
        """With a limit on starts, the local days of the horizon fix its rows."""
        if self.spec.max_starts_per_day is None:
            return None
        return tuple(day_labels(self.site, index).tolist())

    # --- model --------------------------------------------------------------------------
    def build(self, blk: Any, ctx: Context) -> None:
        s = self.spec
        e, step_h = s.energy_kwh_per_m3, ctx.step_h
        self.add_input_params(blk, ctx)
        blk.initial_level_m3 = pyo.Param(mutable=True, initialize=0.0)
        blk.initial_m3 = pyo.Var(bounds=(blk.initial_level_m3, blk.initial_level_m3))
        blk.on = pyo.Var(
            ctx.T,
            bounds=lambda b, t: (0.0, b.allowed_pu[t]),
            within=pyo.Binary if s.commitment else pyo.Reals,
        )
        blk.pump_kw = pyo.Var(ctx.T, bounds=(0.0, s.pump_kw))
        blk.pump_rating = pyo.Constraint(
            ctx.T, rule=lambda b, t: b.pump_kw[t] - s.pump_kw * b.on[t] == 0
        )
        blk.demanded_m3 = pyo.Var(ctx.T, bounds=lambda b, t: (b.demand_m3[t], b.demand_m3[t]))
        blk.unmet_m3 = pyo.Var(ctx.T, bounds=lambda b, t: (0.0, b.demand_m3[t]))
        blk.level_m3 = pyo.Var(ctx.T, bounds=(s.min_level_m3, s.max_level_m3))
        add_storage_balance(
            blk,
            "water_balance",
            blk.level_m3,
            blk.initial_m3,
            lambda t: [
                (step_h / e, blk.pump_kw[t]),
                (-1.0, blk.demanded_m3[t]),
                (1.0, blk.unmet_m3[t]),
            ],
            self.retention_pu,
        )
        add_end_target(
            blk,
            blk.level_m3,
            blk.initial_level_m3,
            e * ctx.energy_value_per_kwh,
            s.end_target == "soft",
        )
        if s.max_starts_per_day is not None:
            self._add_starts(blk, ctx, s.max_starts_per_day)

    def _add_starts(self, blk: Any, ctx: Context, most: int) -> None:
        """``start[t] ≥ on[t] − on[t−1]`` and at most ``most`` starts per local day."""
        blk.initial_on_pu = pyo.Param(mutable=True, initialize=0.0)
        blk.on_before = pyo.Var(bounds=(blk.initial_on_pu, blk.initial_on_pu))
        blk.start = pyo.Var(ctx.T, bounds=(0.0, 1.0))
        blk.start_up = pyo.Constraint(
            ctx.T,
            rule=lambda b, t: (
                b.start[t] - b.on[t] + (b.on_before if t == 0 else b.on[t - 1]) >= 0
            ),
        )
        labels = day_labels(ctx.site, ctx.index)
        days = [np.flatnonzero(labels == d).tolist() for d in range(int(labels.max()) + 1)]
        blk.D = pyo.RangeSet(0, len(days) - 1)
        blk.starts_per_day = pyo.Constraint(
            blk.D, rule=lambda b, d: sum(b.start[t] for t in days[d]) <= most
        )

    def set_data(self, blk: Any, data: DeviceData) -> None:
        super().set_data(blk, data)
        blk.initial_level_m3.set_value(self.initial_level_m3(data.state))
        if hasattr(blk, "initial_on_pu"):
            blk.initial_on_pu.set_value(self.initial_on_pu(data.state))

    def bus_kw(self, blk: Any, t: int) -> Any:
        return -blk.pump_kw[t]

    def penalty(self, blk: Any, ctx: Context) -> Any:
        value = self.lost_water_value_per_m3
        return sum(value * blk.unmet_m3[t] for t in ctx.T)

    def unserved_kwh(self, blk: Any, ctx: Context) -> Any:
        e = self.spec.energy_kwh_per_m3
        return sum(e * blk.unmet_m3[t] for t in ctx.T)

    def end_value(self, blk: Any, ctx: Context) -> Any:
        return end_value(blk)

    # --- results ------------------------------------------------------------------------
    def decisions(self, values: Any, data: DeviceData) -> dict[str, Array]:
        e, pump, unmet = self.spec.energy_kwh_per_m3, values("pump_kw"), values("unmet_m3")
        return {
            "pump_kw": pump,
            "on_pu": values("on"),
            "pumped_m3": pump * data.step_h / e,
            "served_m3": values("demanded_m3") - unmet,
            "unmet_m3": unmet,
            "unmet_kw": unmet * e / data.step_h,
            "level_m3": values("level_m3"),
        }

    def conflicts(self, data: DeviceData) -> list[str]:
        """A level the pump cannot keep above ``min_level_m3`` against the losses, or a hard
        end target it cannot reach: the highest level reachable, pumping flat out whenever
        allowed and serving no water, falls short."""
        s = self.spec
        most_m3 = np.asarray(data.inputs["allowed_pu"]) * s.pump_kw * data.step_h
        most_m3 = most_m3 / s.energy_kwh_per_m3
        initial = self.initial_level_m3(data.state)
        level, highest = initial, np.empty(len(most_m3))
        for t, inflow in enumerate(most_m3):
            level = highest[t] = min(s.max_level_m3, self.retention_pu * level + inflow)
        what = (
            f"pump_kw {s.pump_kw:g} at {s.energy_kwh_per_m3:g} kWh/m³ in allowed_hours "
            f"{[list(w) for w in s.allowed_hours]} against loss_pu_per_day {s.loss_pu_per_day:g}"
        )
        out = []
        low = np.flatnonzero(highest < s.min_level_m3 - 1e-6)
        if low.size:
            out.append(
                f"{self.name}: the level cannot stay at or above min_level_m3 "
                f"{s.min_level_m3:g} (interval {int(low[0])} reaches at most "
                f"{highest[low[0]]:g} m³) with {what}"
            )
        elif s.end_target == "hard" and highest[-1] < initial - 1e-6:
            out.append(
                f"{self.name}: the hard end target, the initial level {initial:g} m³, cannot be "
                f"reached (at most {highest[-1]:g} m³) with {what}"
            )
        return out

    # --- sizing (the tank's volume) -----------------------------------------------------
    capacity_unit = "m3"

    def capacity_units(self) -> float:
        return self.spec.capacity_m3

    def for_sizing(self, blk: Any, ctx: Context, capacity: Any) -> None:
        """Sizing is an LP: commitment is relaxed. The level stays between ``min_level_m3`` and
        the highest level, which scales with the (sized) volume at the file's
        ``max_level_m3 / capacity_m3``; it starts free and ends at least where it started."""
        s = self.spec
        for t in ctx.T:
            blk.on[t].domain = pyo.Reals
        size = s.capacity_m3 if capacity is None else capacity
        high = size * (s.max_level_m3 / s.capacity_m3)
        close_storage_cycle(blk, blk.level_m3, blk.initial_m3, s.min_level_m3, high)

    def resized(self, units: float) -> WaterTank:
        s = self.spec
        volume = max(units, s.min_level_m3 * s.capacity_m3 / s.max_level_m3 * (1 + 1e-6) + 1e-6)
        high = volume * s.max_level_m3 / s.capacity_m3
        initial = min(max(s.initial_level_m3, s.min_level_m3), high)
        return s.model_copy(
            update={"capacity_m3": volume, "max_level_m3": high, "initial_level_m3": initial}
        )

    # --- columns ----------------------------------------------------------------------
    def level_max(self, quantity: str) -> float | None:
        return self.spec.capacity_m3 if quantity == "level_m3" else None

    def lost_load_value(self, x: Any, step_h: float) -> Any:
        """Unmet water at its value per m³ [currency]."""
        return self.lost_water_value_per_m3 * x["unmet_m3"]

    # --- rule-based dispatch ---
    def rule(self, ctx: RuleContext) -> DeviceRule:
        return WaterTankRule(self, ctx)


#: the decision columns ``WaterTankRule`` writes in every interval, in ``finish``'s order
WRITTEN = ("pump_kw", "on_pu", "pumped_m3", "served_m3", "unmet_m3", "unmet_kw", "level_m3")


class WaterTankRule(DeviceRule):
    """A water tank in the rule-based dispatch (docs/formulation.md, *water tank*).

    Inside its allowed hours the pump runs at rated power (as far as the tank has room)
    whenever the level, after the interval's draw and losses, would fall below the lowest
    level from which pumping flat out in the allowed hours still to come covers the demand
    until then and ends the horizon at the initial level (``reach_floor``); the grid or the
    plant supplies it like a battery's forced charging, and a shortfall trims it first. It
    takes surplus (PV) in the ``CHARGE`` class while allowed and not full. The level never
    rises above ``max_level_m3``; water the tank cannot give without falling below
    ``min_level_m3`` is unmet. With commitment the pump runs at rated power or not at all,
    within ``max_starts_per_day``.

    Pinned to a plan (``pin``) the pump draws the plan's ``pump_kw`` within the room the actual
    level leaves, more (up to that room) only where the actual draw would leave more water
    unmet than planned, and takes no surplus; the shortfall trims it like forced charging.
    """

    absorb_rank = CHARGE

    def __init__(self, model: WaterTankModel, ctx: RuleContext):
        super().__init__(model.name, ctx)
        s = self.spec = model.spec
        self.dt, self.e, self.keep = ctx.step_h, s.energy_kwh_per_m3, model.retention_pu
        demand = ctx.series(s.name, "demand_m3")
        allowed = ctx.series(s.name, "allowed_pu")
        # the share of each interval the pump may run: u ≤ a, and u binary with commitment
        most_pu = np.floor(allowed + EPS) if s.commitment else allowed
        self.level = model.initial_level_m3(ctx.state)
        rise = most_pu * s.pump_kw * self.dt / self.e - demand
        floor = reach_floor(self.level, s.min_level_m3, rise, self.keep, ctx.n)
        # read one interval at a time: as lists
        self.floor = np.minimum(floor, s.max_level_m3).tolist()
        self.demand, self.most_pu = demand.tolist(), most_pu.tolist()
        days = day_labels(ctx.site, ctx.index)
        self.days: list[int] = days.tolist()
        self.on_before = model.initial_on_pu(ctx.state)
        self.starts = [0.0] * (int(days.max()) + 1 if ctx.n else 0)
        self.kept = self.room_kw = self.extra_kw = 0.0
        self.columns = [self.column(q) for q in WRITTEN]

    def may_start(self, t: int) -> bool:
        """Whether the pump may run in ``t`` as far as its starts per local day go."""
        most = self.spec.max_starts_per_day
        return most is None or self.on_before > EPS or self.starts[self.days[t]] < most

    def prepare(self, t: int) -> None:
        s = self.spec
        self.kept = stored_level(self.level, self.keep, -self.demand[t])
        room_kw = (s.max_level_m3 - self.kept) * self.e / self.dt
        self.room_kw = max(0.0, min(self.most_pu[t] * s.pump_kw, room_kw))
        if s.commitment:  # rated power or nothing
            fits = self.room_kw >= s.pump_kw - EPS and self.may_start(t)
            self.room_kw = s.pump_kw if fits else 0.0
        below = self.room_kw if self.kept < self.floor[t] - EPS else 0.0
        self.forced_kw = below if self.plan is None else self.pinned_kw(t)
        self.extra_kw = 0.0

    def pinned_kw(self, t: int) -> float:
        """Pinned: the pump power in ``t`` [kW] (the class's docstring)."""
        pump = min(self.planned("pump_kw", t), self.room_kw)
        pumped = pump * self.dt / self.e
        lack_m3 = self.spec.min_level_m3 - (self.kept + pumped) - self.planned("unmet_m3", t)
        if lack_m3 > EPS:
            pump = min(self.room_kw, pump + lack_m3 * self.e / self.dt)
        if self.spec.commitment and pump > EPS:
            pump = self.room_kw
        return max(0.0, pump)

    def absorb(self, t: int, surplus_kw: float) -> tuple[float, float | None]:
        """Pump surplus into the tank beyond the forced pumping."""
        room = self.room_kw - self.forced_kw
        if self.plan is not None:  # pinned: the plan's pumping only
            room = 0.0
        if self.spec.commitment:  # a whole pump's worth of surplus, or none
            self.extra_kw = room if room > EPS and surplus_kw >= room - EPS else 0.0
        else:
            self.extra_kw = max(0.0, min(room, surplus_kw))
        return self.extra_kw, None

    def finish(self, t: int) -> None:
        s = self.spec
        pump = self.forced_kw + self.extra_kw
        pumped = pump * self.dt / self.e
        unmet = min(self.demand[t], max(0.0, s.min_level_m3 - (self.kept + pumped)))
        self.level = stored_level(self.level, self.keep, pumped - self.demand[t] + unmet)
        on = pump / s.pump_kw
        if on > EPS and self.on_before <= EPS:
            self.starts[self.days[t]] += 1
        self.on_before = on
        values = (pump, on, pumped, self.demand[t] - unmet, unmet, unmet * self.e / self.dt,
                  self.level)
        for column, value in zip(self.columns, values, strict=True):
            column[t] = value
