"""Shiftable load: an energy amount per period, served inside a daily window.

See docs/formulation.md, section *shiftable load*.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from optimizer.devices.base import Array, Context, DeviceData
from optimizer.devices.shedding import LoadModel, LoadRule
from optimizer.planview import Action, PlanView, by_source, served_kw
from optimizer.rules import DeviceRule, RuleContext
from optimizer.statevars import StateVar
from optimizer.windows import OUTSIDE, due_energy, period_labels
from sites.schema import ShiftableLoad, window_hours

#: State of a shiftable load (docs/formulation.md, *The device contract: state*).
STATE = (
    StateVar(
        "served_kwh", "kWh", "energy already received in the current period (that of the "
        "window that opened last at or before the horizon's start)",
        upper="energy_kwh", column="demand_kw", legacy="served_kwh",
    ),
)


class ShiftableLoadModel(LoadModel):
    spec: ShiftableLoad
    state_vars = STATE

    def __init__(self, spec: ShiftableLoad, site: Any):
        super().__init__(spec, site)
        self._labels: tuple[Any, Array] | None = None
        self._due: tuple[Any, list[tuple[float, float]]] | None = None

    def labels(self, index: pd.DatetimeIndex) -> Array:
        """Period of each interval (``OUTSIDE`` for none), as ``optimizer.windows`` defines it."""
        key = (index[0], len(index))
        if self._labels is None or self._labels[0] != key:
            self._labels = (key, period_labels(self.site, self.spec, index))
        return self._labels[1]

    def periods(self, index: pd.DatetimeIndex) -> list[int]:
        """The periods the horizon touches, in order."""
        labels = self.labels(index)
        return sorted(int(k) for k in np.unique(labels[labels != OUTSIDE]))

    def structure_key(self, index: pd.DatetimeIndex, inputs: pd.DataFrame) -> Any:
        labels = self.labels(index)
        position = {k: i for i, k in enumerate(self.periods(index))}
        return tuple(position.get(int(k), -1) for k in labels)

    def due_bounds(self, data: DeviceData) -> list[tuple[float, float]]:
        """Lower and upper bound of the energy due in each touched period [kWh]."""
        served = data.state.value(self.name, "served_kwh")
        key = (data.index[0], len(data.index), served)
        if self._due is None or self._due[0] != key:
            due = due_energy(self.site, self.spec, data.index, served)
            bounds = [(due[k].low_kwh, due[k].high_kwh) for k in self.periods(data.index)]
            self._due = (key, bounds)
        return self._due[1]

    # --- model --------------------------------------------------------------------------
    def build(self, blk: Any, ctx: Context) -> None:
        s = self.spec
        labels, touched = self.labels(ctx.index), self.periods(ctx.index)
        inside = labels != OUTSIDE
        blk.demand_kw = pyo.Var(
            ctx.T,
            bounds=lambda b, t: (s.min_power_kw, s.max_power_kw) if inside[t] else (0.0, 0.0),
        )
        self.add_shedding(blk, ctx, bounded=False)
        blk.P = pyo.RangeSet(0, len(touched) - 1)
        blk.due_low_kwh = pyo.Param(blk.P, mutable=True, initialize=0.0)
        blk.due_high_kwh = pyo.Param(blk.P, mutable=True, initialize=0.0)
        blk.due_kwh = pyo.Var(blk.P, bounds=lambda b, k: (b.due_low_kwh[k], b.due_high_kwh[k]))
        members = [np.flatnonzero(labels == k).tolist() for k in touched]
        blk.energy_due = pyo.Constraint(
            blk.P,
            rule=lambda b, k: (
                sum(ctx.step_h * b.demand_kw[t] for t in members[k]) - b.due_kwh[k] == 0
            ),
        )

    def set_data(self, blk: Any, data: DeviceData) -> None:
        for k, (low, high) in enumerate(self.due_bounds(data)):
            blk.due_low_kwh[k].set_value(low)
            blk.due_high_kwh[k].set_value(high)

    def conflicts(self, data: DeviceData) -> list[str]:
        s = self.spec
        labels, touched = self.labels(data.index), self.periods(data.index)
        out = []
        for k, (low, high) in zip(touched, self.due_bounds(data), strict=True):
            slots = int((labels == k).sum())
            most = s.max_power_kw * slots * data.step_h
            least = s.min_power_kw * slots * data.step_h
            if low > most + 1e-6:
                out.append(
                    f"{self.name}: {low:g} kWh of energy_kwh {s.energy_kwh:g} (less served_kwh "
                    f"already served) must be served within the horizon, but its window "
                    f"{s.window_start_h:g}–{s.window_end_h:g} h at max_power_kw "
                    f"{s.max_power_kw:g} holds only {most:g} kWh here"
                )
            if least > high + 1e-6:
                out.append(
                    f"{self.name}: min_power_kw {s.min_power_kw:g} across the window "
                    f"{s.window_start_h:g}–{s.window_end_h:g} h draws {least:g} kWh, more than "
                    f"the {high:g} kWh still due of energy_kwh {s.energy_kwh:g}"
                )
        return out

    # --- sizing -------------------------------------------------------------------------
    def for_sizing(self, blk: Any, ctx: Context, capacity: Any) -> None:
        """Each period touched receives its average share of the energy: the window time it
        has in the horizon over the window time of a whole period, times ``energy_kwh``."""
        s = self.spec
        labels, touched = self.labels(ctx.index), self.periods(ctx.index)
        whole_h = window_hours(s.window_start_h, s.window_end_h) * s.period_days
        for k, period in enumerate(touched):
            share = float((labels == period).sum()) * ctx.step_h / whole_h
            blk.due_low_kwh[k].set_value(s.energy_kwh * share)
            blk.due_high_kwh[k].set_value(s.energy_kwh * share)

    # --- state --------------------------------------------------------------------------
    def carried(self, var: StateVar, table: pd.DataFrame, at: pd.Timestamp) -> float | None:
        """Energy received before ``at`` in the period still current at ``at`` [kWh]: the sum
        of ``<load>.demand_kw`` × Δt over the rows of ``table`` in a period that the day from
        ``at`` also touches (at most one: the current one), within [0, ``energy_kwh``]."""
        column = f"{self.name}.{var.column}"
        if column not in table.columns:
            return None
        s = self.spec
        ahead = pd.date_range(at, at + pd.Timedelta(days=1), freq=self.site.step, inclusive="both")
        owed = set(period_labels(self.site, s, ahead).tolist()) - {OUTSIDE}
        recent = table.loc[table.index < at].iloc[-int(s.period_days * 24 / self.site.step_h):]
        mask = np.isin(period_labels(self.site, s, pd.DatetimeIndex(recent.index)), list(owed))
        served = float(recent[column].to_numpy()[mask].sum() * self.site.step_h)
        return min(max(served, 0.0), s.energy_kwh)

    # --- plain words (optimizer/explain.py) ---
    def explain(self, view: PlanView) -> Iterator[Action]:
        """The runs of this load and why they are when they are."""
        return explain_shiftable(self.spec, view)

    # --- rule-based dispatch ---
    def rule(self, ctx: RuleContext) -> DeviceRule:
        return ShiftableLoadRule(self, ctx)


class ShiftableLoadRule(LoadRule):
    """A shiftable load in the rule-based dispatch: as early as possible in its window at
    full power, keeping its minimum power for the rest of the window; it serves the share of
    each period due inside the horizon (``windows.due_energy``), as a plan must at least.
    Shed after fixed loads of the same value of lost load."""

    tie = 1

    def __init__(self, model: ShiftableLoadModel, ctx: RuleContext):
        super().__init__(model, ctx)
        self.load = model.spec
        self.labels: list[int] = model.labels(ctx.index).tolist()
        due = due_energy(ctx.site, self.load, ctx.index, ctx.state.value(model.name, "served_kwh"))
        self.left = {k: d.low_kwh for k, d in due.items()}
        self.later = [0] * ctx.n  # intervals of the period still to come
        seen: dict[int, int] = {}
        for t in range(ctx.n - 1, -1, -1):
            k = self.labels[t]
            if k != OUTSIDE:
                self.later[t] = seen.get(k, 0)
                seen[k] = self.later[t] + 1
        self.dt = ctx.step_h

    def want_kw(self, t: int) -> float:
        if self.plan is not None:  # pinned: the plan's power
            return self.planned("demand_kw", t)
        k = self.labels[t]
        if k == OUTSIDE:
            return 0.0
        s, dt = self.load, self.dt
        want = (self.left[k] - s.min_power_kw * dt * self.later[t]) / dt
        p = min(s.max_power_kw, max(s.min_power_kw, want))
        self.left[k] -= p * dt
        return p


def explain_shiftable(spec: ShiftableLoad, view: PlanView) -> Iterator[Action]:
    """Runs of the load, each by its main supply."""
    power = served_kw(view.table, spec.name)
    if power is None:
        return
    for first, stop, numbers in view.told_runs(power):
        why = by_source(view, first, stop, power, numbers)
        yield Action(*view.span(first, stop), "run", spec.name, why, numbers)
