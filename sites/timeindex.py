"""Time indexes of a site: intervals labelled by their start, tz-aware, UTC inside.

A local day runs from local midnight to the next local midnight, so a day on which daylight
saving time starts has 23 hours of intervals and one on which it ends has 25.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from sites.schema import Site

#: How far from today a plan may start [days] (the service's and the CLI's rule).
PLAN_WINDOW_DAYS = 3660


def _require_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")


def local_midnight(site: Site, day: date) -> pd.Timestamp:
    """The start of a local calendar day, as a UTC timestamp."""
    return pd.Timestamp(datetime(day.year, day.month, day.day), tz=site.tz).tz_convert("UTC")


def day_index(site: Site, day: date, days: int = 1) -> pd.DatetimeIndex:
    """Intervals covering ``days`` local days from ``day``, in UTC, labelled by start."""
    if days < 1:
        raise ValueError(f"days must be ≥ 1, got {days}")
    start = local_midnight(site, day)
    end = local_midnight(site, day + timedelta(days=days))
    return pd.date_range(start, end, freq=site.step, inclusive="left", name="start")


def horizon_index(site: Site, start: datetime, hours: float) -> pd.DatetimeIndex:
    """Intervals of ``hours`` from ``start``, which is floored to the site's step."""
    _require_aware(start, "start")
    if hours <= 0:
        raise ValueError(f"hours must be > 0, got {hours}")
    first = pd.Timestamp(start).tz_convert("UTC").floor(site.step)
    periods = int(np.ceil(hours * 60 / site.step_minutes))
    return pd.date_range(first, periods=periods, freq=site.step, name="start")


def local_hours(site: Site, index: pd.DatetimeIndex) -> np.ndarray:
    """Local clock hour of each interval's start, as a float in [0, 24)."""
    local = index.tz_convert(site.tz)
    return np.asarray(local.hour + local.minute / 60, dtype=float)


def hourly_to_index(site: Site, index: pd.DatetimeIndex, hourly: tuple[float, ...]) -> np.ndarray:
    """Map a 24-value local-hour profile onto an index (each interval takes its hour's value)."""
    hours = np.floor(local_hours(site, index)).astype(int)
    return np.asarray(hourly, dtype=float)[hours]
