"""Grid-operator limits as changes to a plan's inputs (pure functions, no database).

A limit applies to every interval it overlaps, whole (a cap that starts at 11:10 holds for
the 11:00–11:15 interval too: the plan stays within it). Caps of the same column meet at
their minimum. The kinds:

- ``import_cap`` / ``export_cap``: the sum of ``<grid>.import_limit_kw`` /
  ``<grid>.export_limit_kw`` over the grid connections (or the one ``device`` names) at most
  ``cap_kw``;
- ``curtailment``: the sum of the PV arrays' ``available_kw`` (or one array's) at most
  ``cap_kw``.

A cap on a sum scales each column of it by the same factor, ``cap / sum``, where the sum
exceeds the cap: every array gives up the same share of its forecast. The sum is known only
once the forecast is made, so caps are applied in the solve job, after the inputs are built.
- ``critical_peak``: in the hours of the grid's ``critical_peak_bands``,
  ``<grid>.import_price_per_kwh`` is the band's price.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from sites.schema import Grid, PvArray, Site, window_hours
from sites.timeindex import local_hours

#: kind -> (device class it applies to, input quantity whose sum it caps)
CAP_TARGETS: dict[str, tuple[type, str]] = {
    "import_cap": (Grid, "import_limit_kw"),
    "export_cap": (Grid, "export_limit_kw"),
    "curtailment": (PvArray, "available_kw"),
}
CRITICAL_PEAK = "critical_peak"
KINDS = (*CAP_TARGETS, CRITICAL_PEAK)


@dataclass(frozen=True)
class Limit:
    """One stored limit, as planning needs it."""

    limit_id: int
    kind: str
    start: datetime
    end: datetime
    cap_kw: float | None = None
    device: str | None = None
    source: str = ""
    reference: str = ""

    def record(self, site: Site) -> dict[str, Any]:
        """The limit as plans and dispatch show it (times in the site's local time)."""
        return {"limit_id": self.limit_id, "kind": self.kind, "device": self.device,
                "cap_kw": self.cap_kw, "start": self.start.astimezone(site.tz).isoformat(),
                "end": self.end.astimezone(site.tz).isoformat(), "source": self.source,
                "reference": self.reference}


@dataclass(frozen=True)
class InputLimits:
    """What limits do to a plan's inputs: ``caps`` on sums of columns (per interval, NaN: no
    cap) and ``replace`` (NaN: keep the built value), both on the plan's index; ``records``
    for the plan and dispatch."""

    caps: tuple[tuple[tuple[str, ...], np.ndarray], ...]
    replace: pd.DataFrame
    records: tuple[dict[str, Any], ...] = field(default=())


def targets(site: Site, kind: str, device: str | None) -> list[Any]:
    """The devices a limit of ``kind`` acts on (all of its class, or the one named)."""
    cls = CAP_TARGETS[kind][0] if kind in CAP_TARGETS else Grid
    return [d for d in site.of_type(cls) if device in (None, d.name)]


def limit_errors(site: Site, kind: str, device: str | None) -> list[str]:
    """What makes a limit unusable for ``site`` (each naming the field)."""
    cls = CAP_TARGETS[kind][0] if kind in CAP_TARGETS else Grid
    found = targets(site, kind, device)
    if not found:
        names = ", ".join(d.name for d in site.of_type(cls)) or "none"
        what = f"no {cls.__name__} named {device!r}" if device else f"no {cls.__name__}"
        return [f"{'device' if device else 'kind'}: {kind} needs a {cls.__name__}; site "
                f"{site.name!r} has {what} (known: {names})"]
    if kind == CRITICAL_PEAK and not any(g.critical_peak_bands for g in found):
        return [f"kind: site {site.name!r} declares no critical_peak_bands on its grid, so a "
                "critical-peak period changes nothing"]
    return []


def _in_bands(hours: np.ndarray, grid: Grid) -> np.ndarray:
    """Price of the critical-peak band containing each local hour, NaN outside them."""
    out = np.full(len(hours), np.nan)
    for band in grid.critical_peak_bands:
        inside = (hours - band.start_h) % 24 < window_hours(band.start_h, band.end_h)
        out[inside] = band.price_per_kwh
    return out


def input_limits(site: Site, index: pd.DatetimeIndex, limits: list[Limit]
                 ) -> InputLimits | None:
    """The input changes of ``limits`` over ``index``; None when none overlaps it."""
    ends = index + pd.Timedelta(site.step)
    caps: list[tuple[tuple[str, ...], np.ndarray]] = []
    replace: dict[str, np.ndarray] = {}
    used = []
    for limit in limits:
        within = np.asarray((index < pd.Timestamp(limit.end)) & (ends > pd.Timestamp(limit.start)))
        if not within.any():
            continue
        used.append(limit.record(site))
        devices = targets(site, limit.kind, limit.device)
        if limit.kind in CAP_TARGETS:
            quantity = CAP_TARGETS[limit.kind][1]
            cap = np.where(within, float(limit.cap_kw or 0.0), np.nan)
            caps.append((tuple(f"{d.name}.{quantity}" for d in devices), cap))
        else:
            hours = local_hours(site, index)
            for g in devices:
                prices = np.where(within, _in_bands(hours, g), np.nan)
                column = replace.setdefault(f"{g.name}.import_price_per_kwh",
                                            np.full(len(index), np.nan))
                column[~np.isnan(prices)] = prices[~np.isnan(prices)]
    if not used:
        return None
    return InputLimits(tuple(caps), pd.DataFrame(replace, index=index, dtype=float),
                       tuple(used))


def apply_limits(inputs: pd.DataFrame, limits: InputLimits | None) -> pd.DataFrame:
    """``inputs`` with the caps and replacements of ``limits`` (same index) applied."""
    if limits is None:
        return inputs
    out = inputs.copy()
    for columns, cap in limits.caps:
        total = out[list(columns)].to_numpy().sum(axis=1)
        over = ~np.isnan(cap) & (total > cap)
        factor = np.ones(len(out))
        factor[over] = cap[over] / total[over]
        for column in columns:
            out[column] = out[column].to_numpy() * factor
    for column in limits.replace.columns:
        given = limits.replace[column].to_numpy()
        out[column] = np.where(np.isnan(given), out[column].to_numpy(), given)
    return out
