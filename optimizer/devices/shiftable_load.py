"""Shiftable load: an energy amount per period, served inside a daily window.

See docs/formulation.md, section *shiftable load*.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from optimizer.devices.base import Array, Context, DeviceData, DeviceModel
from sites.schema import ShiftableLoad, window_hours
from sites.timeindex import local_hours


class ShiftableLoadModel(DeviceModel):
    spec: ShiftableLoad

    # --- calendar -----------------------------------------------------------------------
    def _window_days(self, moments: pd.DatetimeIndex) -> tuple[Array, list[date]]:
        """Whether each moment lies in a window, and the local date its window opened."""
        s = self.spec
        since_open = (local_hours(self.site, moments) - s.window_start_h) % 24
        inside = since_open < window_hours(s.window_start_h, s.window_end_h)
        local = moments.tz_convert(self.site.tz)
        opened = local - pd.to_timedelta(since_open, unit="h")
        return inside, [ts.date() for ts in opened]

    def periods(self, index: pd.DatetimeIndex) -> tuple[Array, list[int]]:
        """Period number (-1 outside the windows) of each interval, and the periods touched."""
        inside, days = self._window_days(index)
        n = self.spec.period_days
        labels = np.array([d.toordinal() // n for d in days])
        labels[~inside] = -1
        touched = sorted({int(k) for k in labels if k >= 0})
        return labels, touched

    def current_period(self, index: pd.DatetimeIndex) -> int:
        """The period of the window that opened last at or before the horizon's start."""
        _, days = self._window_days(index[:1])
        return days[0].toordinal() // self.spec.period_days

    def window_h_after(self, period: int, end: pd.Timestamp) -> float:
        """Window time of ``period`` that lies after ``end`` [h]."""
        s = self.spec
        length = window_hours(s.window_start_h, s.window_end_h)
        total = 0.0
        for ordinal in range(period * s.period_days, (period + 1) * s.period_days):
            day = date.fromordinal(ordinal)
            opens = pd.Timestamp(day.isoformat(), tz=self.site.tz) + pd.Timedelta(
                hours=s.window_start_h
            )
            closes = opens + pd.Timedelta(hours=length)
            later = (closes - max(opens, end)).total_seconds() / 3600
            total += max(0.0, later)
        return total

    def structure_key(self, index: pd.DatetimeIndex, inputs: pd.DataFrame) -> Any:
        labels, touched = self.periods(index)
        position = {k: i for i, k in enumerate(touched)}
        return tuple(position.get(int(k), -1) for k in labels)

    def due_bounds(self, data: DeviceData) -> list[tuple[float, float]]:
        """Lower and upper bound of the energy due in each touched period [kWh]."""
        s = self.spec
        _, touched = self.periods(data.index)
        current = self.current_period(data.index)
        end = data.index[-1] + self.site.step
        out = []
        for k in touched:
            remaining = s.energy_kwh - (data.state.served_kwh[self.name] if k == current else 0.0)
            later = s.max_power_kw * self.window_h_after(k, end)
            out.append((max(0.0, remaining - later), max(0.0, remaining)))
        return out

    # --- model --------------------------------------------------------------------------
    def build(self, blk: Any, ctx: Context) -> None:
        s = self.spec
        labels, touched = self.periods(ctx.index)
        inside = labels >= 0
        blk.power_kw = pyo.Var(
            ctx.T,
            bounds=lambda b, t: (s.min_power_kw, s.max_power_kw) if inside[t] else (0.0, 0.0),
        )
        blk.P = pyo.RangeSet(0, len(touched) - 1)
        blk.due_low_kwh = pyo.Param(blk.P, mutable=True, initialize=0.0)
        blk.due_high_kwh = pyo.Param(blk.P, mutable=True, initialize=0.0)
        blk.due_kwh = pyo.Var(blk.P, bounds=lambda b, k: (b.due_low_kwh[k], b.due_high_kwh[k]))
        members = [np.flatnonzero(labels == k).tolist() for k in touched]
        blk.energy_due = pyo.Constraint(
            blk.P,
            rule=lambda b, k: sum(b.power_kw[t] for t in members[k]) * ctx.step_h == b.due_kwh[k],
        )

    def set_data(self, blk: Any, data: DeviceData) -> None:
        for k, (low, high) in enumerate(self.due_bounds(data)):
            blk.due_low_kwh[k].set_value(low)
            blk.due_high_kwh[k].set_value(high)

    def bus_kw(self, blk: Any, t: int) -> Any:
        return -blk.power_kw[t]

    def decisions(self, values: Any, data: DeviceData) -> dict[str, Array]:
        return {"power_kw": values("power_kw")}

    def conflicts(self, data: DeviceData) -> list[str]:
        s = self.spec
        labels, touched = self.periods(data.index)
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
