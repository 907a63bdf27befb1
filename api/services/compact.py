"""The compact dispatch array of a plan: setpoint columns only, parsed once per plan.

A plan's full JSON holds inputs, decisions and accounts for every interval; a controller
needs only the decisions. When a plan is stored, its setpoints are also stored as
``{"starts": [epoch s], "step_s": s, "columns": ["<device>.<quantity>", ...], "values": [[...]]}``
so that serving dispatch never re-parses the whole plan.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from optimizer.site_columns import controller_columns
from sites.schema import Site

DECIMALS = 4


def setpoint_columns(site: Site, columns: list[str]) -> list[str]:
    """The ``<device>.<quantity>`` columns, in their given order, that controllers act on or
    check against: the ``setpoint`` and ``level`` roles of the devices' column tables."""
    wanted = set(controller_columns(site))
    return [c for c in columns if c in wanted]


def compact_table(site: Site, table: pd.DataFrame, step_minutes: int) -> dict[str, Any]:
    """The setpoint array of a plan table of ``site`` (UTC index of interval starts)."""
    cols = setpoint_columns(site, [str(c) for c in table.columns])
    values = table[cols].to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise ValueError("the plan has non-finite setpoints")
    starts = [int(ts.timestamp()) for ts in pd.DatetimeIndex(table.index)]
    rows = [[round(float(v), DECIMALS) + 0.0 for v in row] for row in values]
    return {"starts": starts, "step_s": step_minutes * 60, "columns": cols, "values": rows}


@dataclass(frozen=True)
class CompactPlan:
    """A plan's setpoints ready to serve: per interval, ``{device: {quantity: value}}``."""

    plan_id: str
    status: str
    starts: tuple[int, ...]
    step_s: int
    setpoints: tuple[dict[str, dict[str, float]], ...]
    #: the grid operator's limits the plan was made within (``limit_inputs.Limit.record``)
    limits: tuple[dict[str, Any], ...] = ()

    @property
    def end_s(self) -> int:
        return self.starts[-1] + self.step_s if self.starts else 0

    def position(self, t_s: int) -> int | None:
        """Index of the interval containing epoch second ``t_s``, or None."""
        i = bisect.bisect_right(self.starts, t_s) - 1
        if i < 0 or t_s >= self.starts[i] + self.step_s:
            return None
        return i

    def limits_at(self, i: int) -> list[dict[str, Any]]:
        """The limits in force during interval ``i``."""
        lo, hi = self.starts[i], self.starts[i] + self.step_s
        return [lim for lim in self.limits
                if _epoch(lim["start"]) < hi and _epoch(lim["end"]) > lo]

    def column(self, device: str, quantity: str) -> list[float] | None:
        if not self.setpoints or quantity not in self.setpoints[0].get(device, {}):
            return None
        return [row[device][quantity] for row in self.setpoints]


def load_compact(plan_id: str, status: str, text: str) -> CompactPlan:
    data = json.loads(text)
    names = [c.rsplit(".", 1) for c in data["columns"]]
    rows = []
    for values in data["values"]:
        nested: dict[str, dict[str, float]] = {}
        for (device, quantity), value in zip(names, values, strict=True):
            nested.setdefault(device, {})[quantity] = value
        rows.append(nested)
    return CompactPlan(plan_id, status, tuple(data["starts"]), int(data["step_s"]), tuple(rows),
                       tuple(data.get("limits", ())))


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()
