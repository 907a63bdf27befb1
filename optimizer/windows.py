"""Daily windows and periods of shiftable loads, as docs/formulation.md defines them.

An interval is in a load's window when its local start hour lies in ``[h_s, h_e)`` (an end
before the start wraps past midnight); its *window day* is the local date on which that
window opened, and its period is ``k = ordinal(window day) // N`` for a period of ``N`` days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from sites.schema import ShiftableLoad, Site, window_hours

#: Label of an interval outside every window.
OUTSIDE = -1

#: ``date.toordinal()`` of 1970-01-01: numpy counts days from there.
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

_MINUTE_NS, _HOUR_NS, _DAY_NS = 60 * 10**9, 3600 * 10**9, 86400 * 10**9


def _opened(
    site: Site, load: ShiftableLoad, index: pd.DatetimeIndex
) -> tuple[np.ndarray, np.ndarray]:
    """Whether each interval is in a window, and the period of the window that opened last
    at or before its start (the current period, inside a window or not)."""
    # local wall-clock times [ns since 1970-01-01 local]; hour and minute from them as
    # ``sites.timeindex.local_hours`` has them (the DatetimeIndex fields are much slower)
    wall_ns = index.tz_convert(site.tz).tz_localize(None).as_unit("ns").asi8
    hours = (wall_ns // _HOUR_NS) % 24 + ((wall_ns // _MINUTE_NS) % 60) / 60
    since_open = (hours - load.window_start_h) % 24
    inside = since_open < window_hours(load.window_start_h, load.window_end_h)
    opened_ns = wall_ns - pd.to_timedelta(since_open, unit="h").as_unit("ns").asi8
    ordinals = opened_ns // _DAY_NS + _EPOCH_ORDINAL
    return inside, ordinals // load.period_days


def period_labels(site: Site, load: ShiftableLoad, index: pd.DatetimeIndex) -> np.ndarray:
    """Period number of each interval, or ``OUTSIDE`` [-]."""
    inside, periods = _opened(site, load, index)
    return np.where(inside, periods, OUTSIDE)


@dataclass(frozen=True)
class Due:
    """Energy a period must receive inside the horizon [kWh]: ``low ≤ E ≤ high``."""

    low_kwh: float
    high_kwh: float


def due_energy(
    site: Site, load: ShiftableLoad, index: pd.DatetimeIndex, served_kwh: float = 0.0
) -> dict[int, Due]:
    """Bounds on the energy each period touched by the horizon receives inside it.

    Notes
    -----
    ``high = E − E_srv`` for the current period (that of the window that opened last at or
    before the horizon's start), ``E`` otherwise;
    ``low = max(0, high − P̄ W_after, high · W_in / (W_in + W_after))``, with ``W_in`` and
    ``W_after`` [h] the window time of the period inside the horizon and after its end:
    energy that can still be served later need not all be served now, but the horizon takes
    at least its pro-rata share, so deferring work past the horizon's end is not free.
    """
    labels = period_labels(site, load, index)
    touched = sorted(set(labels[labels != OUTSIDE].tolist()))
    if not touched:
        return {}
    current = int(_opened(site, load, index[:1])[1][0])
    # window time after the end: label a continuation of the index up to the last period's end
    step = pd.Timedelta(minutes=site.step_minutes)
    end = index[-1] + step
    last_day = (end.tz_convert(site.tz) + timedelta(days=load.period_days + 2)).normalize()
    after = pd.date_range(end, last_day.tz_convert("UTC"), freq=step, inclusive="left")
    after_labels = period_labels(site, load, after) if len(after) else np.array([], dtype=int)
    out = {}
    for k in touched:
        high = load.energy_kwh - (served_kwh if k == current else 0.0)
        w_after = float(np.count_nonzero(after_labels == k)) * site.step_h
        w_in = float(np.count_nonzero(labels == k)) * site.step_h
        high = max(0.0, high)
        share = high * w_in / (w_in + w_after) if w_in + w_after > 0 else high
        out[int(k)] = Due(max(0.0, high - load.max_power_kw * w_after, share), high)
    return out
