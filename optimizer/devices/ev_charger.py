"""EV charger: daily charging sessions of vehicles sharing one connection, optionally V2G.

See docs/formulation.md, section *EV charger*. Each session of the site file repeats every
day; the input ``<charger>.<session>_plugged_pu`` (1 while the vehicle is plugged in) says
when, and an ``--inputs`` table may replace it. A *visit* is one run of plugged intervals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from optimizer.columns import Column
from optimizer.devices.base import Array, Context, DeviceData, DeviceModel
from optimizer.errors import PlanningError
from optimizer.rules import MUST_RUN, DeviceRule, RuleContext, Source
from optimizer.statevars import StateVar
from sites.schema import EvCharger, EvSession, lost_load_value_per_kwh
from sites.timeindex import local_hours

#: State of a charger (docs/formulation.md, *EV charger*, *State*).
STATE = (
    StateVar(
        "delivered_kwh", "kWh", "energy delivered (net of vehicle-to-grid) into the vehicles "
        "plugged in at the horizon's start since they arrived",
        upper=lambda c: sum(s.capacity_kwh for s in c.sessions),
    ),
)

#: Plan-table columns of every charger; per-session rows come from ``session_columns``.
COLUMNS = (
    Column("charge_kw", "kW", "decision", -1, "demand", "EV charging",
           "power drawn from the bus to charge the vehicles"),
    Column("unmet_kw", "kW", "decision", 0, "shed", "EV unmet",
           "energy a vehicle lacks at its departure (or at the horizon's end, of its share "
           "due by then), over the interval it leaves in, as power"),
)  # fmt: skip

#: The discharge column of a charger with a V2G session.
V2G_COLUMN = Column("discharge_kw", "kW", "decision", 1, "storage_out", "EV discharge",
                    "power the vehicles feed to the bus (vehicle-to-grid)", source="battery")

#: A plugged-in share above this counts as plugged in [-].
PLUGGED_PU = 0.5


def session_columns(s: EvSession) -> tuple[Column, ...]:
    """The plan-table columns of one session."""
    rows = [
        Column(f"{s.name}_plugged_pu", "pu", "input", 0, "other", f"{s.name} plugged",
               "1 while the vehicle is plugged in"),
        Column(f"{s.name}_charge_kw", "kW", "setpoint", 0, "other", f"{s.name} charge",
               "power drawn from the bus for this vehicle"),
    ]
    if s.v2g:
        rows.append(Column(f"{s.name}_discharge_kw", "kW", "setpoint", 0, "other",
                           f"{s.name} discharge", "power this vehicle feeds to the bus"))
    rows.append(Column(f"{s.name}_kwh", "kWh", "level", 0, "other", f"{s.name} delivered",
                       "energy delivered into the vehicle since it arrived, at the end of "
                       "the interval (0 while away)"))
    return tuple(rows)


def plugged_series(site: Any, s: EvSession, index: pd.DatetimeIndex) -> Array:
    """1 where the daily session has the vehicle plugged in at an interval's start, else 0."""
    since = (local_hours(site, index) - s.arrival_h) % 24
    return (since < s.window_h).astype(float)


@dataclass(frozen=True)
class Visit:
    """One run of plugged intervals of session ``k``: intervals ``first`` .. ``last``."""

    k: int
    first: int
    last: int


def find_visits(plugged: list[Array]) -> list[Visit]:
    """The visits of each session's plugged series, by session then time."""
    out = []
    for k, series in enumerate(plugged):
        on = np.concatenate([[False], np.asarray(series) > PLUGGED_PU, [False]])
        edges = np.flatnonzero(np.diff(on.astype(int)))
        out += [Visit(k, int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    return out


def owed_kwh(site: Any, spec: EvCharger, index: pd.DatetimeIndex, visits: list[Visit]) -> Array:
    """Energy each visit must have received by its last interval in the horizon [kWh].

    Notes
    -----
    ``E_s`` for a visit that departs inside the horizon. A visit still plugged in at the
    horizon's end owes its pro-rata share ``E_s · W_in / (W_in + W_after)``, with ``W_in``
    [h] its plugged time up to the horizon's end (counted from the daily arrival for a visit
    in progress at the start) and ``W_after`` [h] the time the daily session still has after
    the end: deferring charging past the horizon is not free.
    """
    n, dt = len(index), site.step_h
    end = index[-1:] + pd.Timedelta(hours=dt)
    out = []
    for v in visits:
        s = spec.sessions[v.k]
        if v.last < n - 1:
            out.append(s.energy_kwh)
            continue
        w_in = (v.last - v.first + 1) * dt
        if v.first == 0 and plugged_series(site, s, index[:1])[0]:
            w_in += float((local_hours(site, index[:1])[0] - s.arrival_h) % 24)
        w_after = 0.0
        if plugged_series(site, s, end)[0]:
            w_after = s.window_h - float((local_hours(site, end)[0] - s.arrival_h) % 24)
        out.append(s.energy_kwh * min(1.0, w_in / (w_in + w_after)))
    return np.asarray(out, dtype=float)


def split_delivered(delivered_kwh: float, rooms: list[float]) -> list[float]:
    """``delivered_kwh`` [kWh] shared among the vehicles plugged in at the start, in file
    order, each up to its room [kWh] (the rule-based dispatch's reading of the state)."""
    out, left = [], delivered_kwh
    for room in rooms:
        out.append(min(left, room))
        left -= out[-1]
    return out


class EvChargerModel(DeviceModel):
    spec: EvCharger
    state_vars = STATE

    def __init__(self, spec: EvCharger, site: Any):
        super().__init__(spec, site)
        self.inputs = tuple(f"{s.name}_plugged_pu" for s in spec.sessions)
        self.optional_inputs = self.inputs

    @property
    def lost_load_value_per_kwh(self) -> float:
        """Value of a kWh a vehicle lacks at departure [currency/kWh] (``sites.schema``)."""
        return lost_load_value_per_kwh(self.spec, self.site.value_of_lost_load_per_kwh)

    @property
    def v2g(self) -> bool:
        return any(s.v2g for s in self.spec.sessions)

    def columns(self) -> tuple[Column, ...]:
        rows = list(COLUMNS[:1]) + ([V2G_COLUMN] if self.v2g else []) + list(COLUMNS[1:])
        return tuple(rows) + tuple(c for s in self.spec.sessions for c in session_columns(s))

    # --- inputs -----------------------------------------------------------------------
    def site_inputs(self, index: pd.DatetimeIndex) -> dict[str, Array]:
        return {f"{s.name}_plugged_pu": plugged_series(self.site, s, index)
                for s in self.spec.sessions}

    def input_limits(self) -> dict[str, tuple[float, str]]:
        return {q: (1.0, "plugged in (1)") for q in self.inputs}

    def visits(self, inputs: Any) -> list[Visit]:
        """The visits in an input table or mapping (columns or quantities)."""
        def series(q: str) -> Array:
            key = q if q in inputs else f"{self.prefix}{q}"
            return np.asarray(inputs[key], dtype=float)

        return find_visits([series(q) for q in self.inputs])

    def structure_key(self, index: pd.DatetimeIndex, inputs: pd.DataFrame) -> Any:
        return tuple(self.visits(inputs))

    # --- model ------------------------------------------------------------------------
    def build(self, blk: Any, ctx: Context) -> None:
        c, dt = self.spec, ctx.step_h
        visits = self.visits(ctx.inputs)
        sessions = range(len(c.sessions))
        at = np.full((len(c.sessions), ctx.n), -1, dtype=int)  # visit of (k, t), -1: away
        for i, v in enumerate(visits):
            at[v.k, v.first:v.last + 1] = i
        eta = c.efficiency_pu

        def top(k: int, t: int, v2g: bool = False) -> tuple[float, float]:
            s = c.sessions[k]
            return (0.0, min(s.max_kw, c.max_kw) if at[k, t] >= 0 and (s.v2g or not v2g) else 0.0)

        blk.S = pyo.RangeSet(0, len(c.sessions) - 1)
        blk.V = pyo.RangeSet(0, len(visits) - 1)
        blk.charge_kw = pyo.Var(blk.S, ctx.T, bounds=lambda b, k, t: top(k, t))
        blk.discharge_kw = pyo.Var(blk.S, ctx.T, bounds=lambda b, k, t: top(k, t, True))
        blk.level_kwh = pyo.Var(
            blk.S, ctx.T,
            bounds=lambda b, k, t: (0.0, c.sessions[k].capacity_kwh if at[k, t] >= 0 else 0.0),
        )
        blk.initial_kwh = pyo.Var(
            blk.V, bounds=lambda b, i: (0.0, c.sessions[visits[i].k].capacity_kwh
                                        if visits[i].first == 0 else 0.0),
        )
        blk.unmet_kwh = pyo.Var(blk.V, bounds=(0.0, None))
        blk.owed_value_kwh = pyo.Param(blk.V, mutable=True, initialize=0.0)
        blk.owed_kwh = pyo.Var(blk.V, bounds=lambda b, i: (b.owed_value_kwh[i],) * 2)

        def before(k: int, t: int) -> Any:
            i = at[k, t]
            return blk.initial_kwh[i] if visits[i].first == t else blk.level_kwh[k, t - 1]

        blk.level_balance = pyo.Constraint(
            blk.S, ctx.T,
            rule=lambda b, k, t: pyo.Constraint.Skip if at[k, t] < 0 else (
                b.level_kwh[k, t] - before(k, t)
                - eta * dt * b.charge_kw[k, t] + dt / eta * b.discharge_kw[k, t] == 0
            ),
        )
        blk.charger_limit = pyo.Constraint(
            ctx.T, rule=lambda b, t: sum(b.charge_kw[k, t] + b.discharge_kw[k, t]
                                         for k in sessions) <= c.max_kw,
        )
        blk.energy_due = pyo.Constraint(
            blk.V, rule=lambda b, i: (
                b.level_kwh[visits[i].k, visits[i].last] + b.unmet_kwh[i] - b.owed_kwh[i] >= 0
            ),
        )
        starting = [i for i, v in enumerate(visits) if v.first == 0]
        blk.delivered_value_kwh = pyo.Param(mutable=True, initialize=0.0)
        if starting:
            blk.delivered_kwh = pyo.Var(bounds=(blk.delivered_value_kwh,) * 2)
            blk.delivered_split = pyo.Constraint(
                expr=sum(blk.initial_kwh[i] for i in starting) - blk.delivered_kwh == 0
            )

    def check_ports(self, plugged: Any, index: pd.DatetimeIndex) -> None:
        """Refuse inputs that plug in more vehicles at once than the charger has ports.

        Raises
        ------
        PlanningError
            Naming the charger, the first such interval and ``ports``.
        """
        busy = sum((np.asarray(plugged[q]) > PLUGGED_PU).astype(int) for q in self.inputs)
        over = np.flatnonzero(busy > self.spec.ports)
        if over.size:
            t = int(over[0])
            raise PlanningError(
                f"{self.name}: inputs {self.prefix}*_plugged_pu plug in {int(busy[t])} vehicles "
                f"at {index[t].tz_convert(self.site.tz).isoformat()}, more than ports "
                f"({self.spec.ports})"
            )

    def set_data(self, blk: Any, data: DeviceData) -> None:
        self.check_ports(data.inputs, data.index)
        visits = self.visits(data.inputs)
        for i, owed in enumerate(owed_kwh(self.site, self.spec, data.index, visits)):
            blk.owed_value_kwh[i].set_value(float(owed))
        blk.delivered_value_kwh.set_value(data.state.value(self.name, "delivered_kwh"))

    def bus_kw(self, blk: Any, t: int) -> Any:
        return sum(blk.discharge_kw[k, t] - blk.charge_kw[k, t] for k in blk.S)

    def penalty(self, blk: Any, ctx: Context) -> Any:
        return self.lost_load_value_per_kwh * sum(blk.unmet_kwh[i] for i in blk.V)

    def unserved_kwh(self, blk: Any, ctx: Context) -> Any:
        return sum(blk.unmet_kwh[i] for i in blk.V)

    def decisions(self, values: Any, data: DeviceData) -> dict[str, Array]:
        visits = self.visits(data.inputs)
        unmet = np.zeros(len(data.index))
        for v, kwh in zip(visits, np.atleast_1d(values("unmet_kwh")), strict=True):
            unmet[v.last] += kwh / data.step_h
        charge, discharge, level = (
            values(q).reshape(len(self.spec.sessions), -1)
            for q in ("charge_kw", "discharge_kw", "level_kwh")
        )
        return self.table(charge, discharge, level, unmet)

    def table(self, charge: Array, discharge: Array, level: Array, unmet: Array) -> dict:
        """Decision columns from per-session (session × interval) powers [kW] and levels
        [kWh] and the unmet energy at departures as power [kW]."""
        out = {"charge_kw": charge.sum(axis=0)}
        if self.v2g:
            out["discharge_kw"] = discharge.sum(axis=0)
        out["unmet_kw"] = unmet
        for k, s in enumerate(self.spec.sessions):
            out[f"{s.name}_charge_kw"] = charge[k]
            if s.v2g:
                out[f"{s.name}_discharge_kw"] = discharge[k]
            out[f"{s.name}_kwh"] = level[k]
        return out

    def conflicts(self, data: DeviceData) -> list[str]:
        c = self.spec
        out = []
        delivered = data.state.value(self.name, "delivered_kwh")
        room = sum(c.sessions[v.k].capacity_kwh for v in self.visits(data.inputs) if v.first == 0)
        if delivered > room + 1e-6:
            out.append(f"{self.name}: state delivered_kwh {delivered:g} is more than the vehicles "
                       f"plugged in at the start can hold above their arrival level ({room:g} "
                       f"kWh of energy_kwh or room_kwh)")
        return out

    # --- sizing -------------------------------------------------------------------------
    def for_sizing(self, blk: Any, ctx: Context, capacity: Any) -> None:
        """The day repeats: a visit in progress at the start begins with what the same
        session's visit still plugged in at the end has received (the same vehicle, a horizon
        later), or with nothing if the session has no such visit; the state is not read."""
        if not hasattr(blk, "delivered_split"):
            return
        blk.delivered_split.deactivate()
        visits = self.visits(ctx.inputs)
        ending = {v.k: i for i, v in enumerate(visits) if v.last == ctx.n - 1}
        starting = [i for i, v in enumerate(visits) if v.first == 0]

        def before(b: Any, i: int) -> Any:
            k = visits[i].k
            return b.level_kwh[k, ctx.n - 1] if ending.get(k, i) != i else 0.0

        blk.sized_cycle = pyo.Constraint(
            starting, rule=lambda b, i: b.initial_kwh[i] - before(b, i) == 0
        )

    # --- state --------------------------------------------------------------------------
    def carried(self, var: StateVar, table: pd.DataFrame, at: pd.Timestamp) -> float | None:
        """Energy in the vehicles still plugged in at ``at`` since they arrived [kWh]: Σ over
        sessions plugged in at ``at`` (the table's ``<session>_plugged_pu`` there, else the
        daily list) of ``<charger>.<session>_kwh`` in the last row before ``at``."""
        before = table.loc[table.index < at]
        if before.empty:
            return None
        total = 0.0
        for s in self.spec.sessions:
            level = f"{self.prefix}{s.name}_kwh"
            if level not in table.columns:
                return None
            plug = f"{self.prefix}{s.name}_plugged_pu"
            if plug in table.columns and at in table.index:
                now = float(table.loc[at, plug]) > PLUGGED_PU
            else:
                now = bool(plugged_series(self.site, s, pd.DatetimeIndex([at]))[0])
            total += float(before[level].iloc[-1]) if now else 0.0
        return total

    # --- columns ----------------------------------------------------------------------
    def lost_load_value(self, x: Any, step_h: float) -> Any:
        return self.lost_load_value_per_kwh * x["unmet_kw"] * step_h

    # --- rule-based dispatch ---
    def rule(self, ctx: RuleContext) -> DeviceRule:
        return EvChargerRule(self, ctx)


class EvChargerRule(DeviceRule):
    """Uncontrolled charging: each vehicle charges from its arrival at the most it and the
    charger allow (sessions in file order share ``max_kw``) until it has what the horizon
    owes it (``owed_kwh``: its ``energy_kwh``, or the pro-rata share of a visit still plugged
    in at the horizon's end, as a plan must at least); no vehicle-to-grid. The charging is
    drawn as ``forced_kw``: a shortfall of supply trims it before any load is shed, and what
    a vehicle lacks at departure is reported as unmet.

    Pinned to a plan (``pin``), each vehicle plugged in charges (and feeds the bus) at the
    plan's ``<session>_charge_kw`` (``_discharge_kw``), within its and the charger's limits,
    the room left in its battery and what it holds; the state's ``delivered_kwh`` is shared
    as the plan's levels share it. The planned feed is given anyway; the planned charging
    is ``forced_kw``, trimmed by a shortfall of supply."""

    def __init__(self, model: EvChargerModel, ctx: RuleContext):
        super().__init__(model.name, ctx)
        c = self.spec = model.spec
        self.model, self.dt = model, ctx.step_h
        plugged = {q: ctx.series(model.name, q) for q in model.inputs}
        model.check_ports(plugged, ctx.index)
        self.visits = model.visits(plugged)
        self.owed = owed_kwh(ctx.site, c, ctx.index, self.visits)
        starting = [i for i, v in enumerate(self.visits) if v.first == 0]
        given = split_delivered(ctx.state.value(model.name, "delivered_kwh"),
                                [c.sessions[self.visits[i].k].energy_kwh for i in starting])
        self.had = np.zeros(len(self.visits))  # energy in each visit's battery so far [kWh]
        self.had[starting] = given
        shape = (len(c.sessions), ctx.n)
        self.charge, self.level, self.unmet = np.zeros(shape), np.zeros(shape), np.zeros(ctx.n)
        self.discharge = np.zeros(shape)
        self.want: list[tuple[int, float]] = []
        #: pinned: (visit, power [kW]) each visit feeds the bus at in this interval
        self.feed: list[tuple[int, float]] = []

    def pin(self, plan: dict[str, list[float]]) -> None:
        """Follow ``plan``; the vehicles plugged in at the start hold ``delivered_kwh`` as
        the plan's levels before its first interval share it (the rest, in file order)."""
        super().pin(plan)
        c, dt, eta = self.spec, self.dt, self.spec.efficiency_pu
        starting = [i for i, v in enumerate(self.visits) if v.first == 0]
        shares = []
        for i in starting:
            s = c.sessions[self.visits[i].k]
            level = self.planned(f"{s.name}_kwh", 0)
            shares.append(max(0.0, level - eta * dt * self.planned(f"{s.name}_charge_kw", 0)
                              + dt / eta * self.planned(f"{s.name}_discharge_kw", 0)))
        total = self.ctx.state.value(self.name, "delivered_kwh") if starting else 0.0
        given = split_delivered(total, shares)
        rooms = [c.sessions[self.visits[i].k].capacity_kwh - g
                 for i, g in zip(starting, given, strict=True)]
        more = split_delivered(total - sum(given), rooms)
        self.had[starting] = np.add(given, more)

    def followed(self, t: int) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
        """(visit, power [kW]) each visit plugged in at ``t`` charges and feeds the bus at:
        the plan's, within the session's and the charger's limits, the battery's room and
        what it holds."""
        c, dt, eta = self.spec, self.dt, self.spec.efficiency_pu
        free, charge, feed = c.max_kw, [], []
        for i, v in enumerate(self.visits):
            if not v.first <= t <= v.last:
                continue
            s = c.sessions[v.k]
            room = max(0.0, s.capacity_kwh - self.had[i]) / (eta * dt)
            p = max(0.0, min(self.planned(f"{s.name}_charge_kw", t), s.max_kw, free, room))
            free -= p
            held = max(0.0, self.had[i]) * eta / dt  # not counting charging a shortfall may trim
            q = self.planned(f"{s.name}_discharge_kw", t) if s.v2g else 0.0
            q = max(0.0, min(q, s.max_kw, free, held))
            free -= q
            charge.append((i, p))
            feed.append((i, q))
        return charge, feed

    def wanted(self, t: int) -> list[tuple[int, float]]:
        """(visit, power [kW]) each visit plugged in at ``t`` would charge at."""
        c, free, out = self.spec, self.spec.max_kw, []
        for i, v in enumerate(self.visits):
            if v.first <= t <= v.last:
                left = max(0.0, self.owed[i] - self.had[i]) / (c.efficiency_pu * self.dt)
                p = max(0.0, min(c.sessions[v.k].max_kw, free, left))
                free -= p
                out.append((i, p))
        return out

    def prepare(self, t: int) -> None:
        if self.plan is None:
            self.want, self.feed = self.wanted(t), []
        else:
            self.want, self.feed = self.followed(t)
        self.forced_kw = sum(p for _, p in self.want)

    def sources(self, t: int) -> list[Source]:
        """Pinned: the planned feed to the bus, given anyway (as must-run output)."""
        feed = sum(q for _, q in self.feed)
        return [Source(feed, 0.0, rank=MUST_RUN, spill=lambda _: 0.0)] if feed > 0 else []

    def finish(self, t: int) -> None:
        c, dt, left = self.spec, self.dt, self.forced_kw  # what supply allowed
        fed = dict(self.feed)
        for i, p in self.want:
            v = self.visits[i]
            got = min(p, left)
            left -= got
            out = fed.get(i, 0.0)
            self.had[i] += c.efficiency_pu * got * dt - dt / c.efficiency_pu * out
            self.charge[v.k, t], self.discharge[v.k, t] = got, out
            self.level[v.k, t] = self.had[i]
            if t == v.last:
                self.unmet[t] += max(0.0, self.owed[i] - self.had[i]) / dt
        last = len(self.unmet) - 1
        if self.plan is not None and t == last:
            # operated rows that end before the plan's: a visit still plugged in owes at
            # most what the plan itself lacks there (nothing, unless the plan ends here too)
            self.unmet[t] = min(self.unmet[t], self.planned("unmet_kw", t))
        # an interval's columns are final once it is settled: written at the first interval
        # (so they take their place in the table) and for all intervals at the last
        if t in (0, last):
            table = self.model.table(self.charge, self.discharge, self.level, self.unmet)
            for quantity, series in table.items():
                for row, value in enumerate(series[: t + 1].tolist()):
                    self.put(quantity, row, value)
