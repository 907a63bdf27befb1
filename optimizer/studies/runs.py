"""A period of operation from typical-year weather: place the weather on the site's years,
simulate the optimised and the rule-based dispatch, and sum them up. The caller reads the
weather file and writes the results (``api.commands.simulate``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from forecasting.records import WeatherError
from optimizer.studies import report
from optimizer.studies.simulation import (
    LOOK_AHEAD_DAYS,
    OptimisedDays,
    Simulation,
    baseline_day,
    period_inputs,
    simulate,
)
from optimizer.studies.typical_year import typical_year
from sites.schema import Site
from sites.timeindex import local_midnight


def place_weather(
    site: Site,
    data: pd.DataFrame,
    meta: dict[str, Any],
    first_day: date,
    days: int,
    look_ahead_days: int = LOOK_AHEAD_DAYS,
) -> pd.DataFrame:
    """Typical-year weather already read (``read_any_weather``) placed on the site's years."""
    last = first_day + timedelta(days=days + look_ahead_days)
    years = range(first_day.year, last.year + 1)
    placed = pd.concat([typical_year(data, meta, site, y) for y in years]).sort_index()
    placed = placed[~placed.index.duplicated(keep="last")]
    start = local_midnight(site, first_day)
    check_coverage(site, placed, start, local_midnight(site, first_day + timedelta(days=days)))
    return placed


#: Largest distance from an interval to the nearest weather record [h]: hourly files have
#: records every hour; a wider hole is a gap the file does not cover.
MAX_WEATHER_GAP_H = 2.0


def check_coverage(
    site: Site, weather: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> None:
    """Refuse weather that leaves any interval of [start, end) without a record within
    ``MAX_WEATHER_GAP_H``, naming the first such interval in site time.

    Raises
    ------
    forecasting.records.WeatherError
    """
    grid = pd.date_range(start, end, freq=site.step, inclusive="left").tz_convert("UTC")
    times = pd.DatetimeIndex(weather.index).tz_convert("UTC")
    if len(times) == 0:
        raise WeatherError("the weather has no records")
    pos = np.clip(times.searchsorted(grid), 0, len(times) - 1)
    after = np.abs(np.asarray((times[pos] - grid) / pd.Timedelta(hours=1), dtype=float))
    before_pos = np.clip(pos - 1, 0, len(times) - 1)
    before = np.abs(np.asarray((grid - times[before_pos]) / pd.Timedelta(hours=1), dtype=float))
    missing = np.flatnonzero(np.minimum(after, before) > MAX_WEATHER_GAP_H)
    if missing.size:
        first = grid[int(missing[0])].tz_convert(site.tz)
        raise WeatherError(
            f"the weather does not cover the simulated days: no record within "
            f"{MAX_WEATHER_GAP_H:g} h of {first.isoformat()} ({missing.size} of {len(grid)} "
            f"intervals uncovered; a typical-year file needs a whole year of records)"
        )


def local_frame(site: Site, table: pd.DataFrame) -> pd.DataFrame:
    """The table with its index in the site's local time, for files people read."""
    out = table.copy()
    out.index = pd.DatetimeIndex(table.index).tz_convert(site.tz)
    out.index.name = "start"
    return out


def kpi_table(site: Site, sims: dict[str, Simulation]) -> pd.DataFrame:
    """KPIs of each month and of the period, per dispatch (``(dispatch, period)`` rows)."""
    parts = []
    for label, sim in sims.items():
        kpis = report.period_kpis(site, sim.table)
        parts.append(kpis.assign(dispatch=label).set_index("dispatch", append=True))
    return pd.concat(parts).swaplevel().sort_index(level=0, sort_remaining=False)


@dataclass
class YearRun:
    """The simulations of a period (``optimised`` and maybe ``baseline``) and their KPIs."""

    sims: dict[str, Simulation]
    kpis: pd.DataFrame


def run_year(
    site: Site,
    weather: pd.DataFrame,
    first_day: date,
    days: int,
    *,
    baseline: bool = True,
    look_ahead_days: int = LOOK_AHEAD_DAYS,
    progress: Callable[[str, int, int, Any], None] | None = None,
) -> YearRun:
    """Simulate ``days`` days with typical-year weather already placed (:func:`place_weather`).

    ``progress(label, days done, days, the day's plan)`` is called after each day of each
    dispatch (``optimised``, ``baseline``). Each simulation's ``solve_time_s`` is its wall
    time [s].
    """
    inputs = period_inputs(site, first_day, days, weather, look_ahead_days)
    planners: dict[str, Any] = {"optimised": OptimisedDays()}
    if baseline:
        planners["baseline"] = baseline_day
    sims = {}
    for label, planner in planners.items():
        started = time.perf_counter()
        sims[label] = simulate(
            site,
            inputs,
            first_day,
            days,
            planner=planner,
            look_ahead_days=look_ahead_days,
            progress=None if progress is None else partial(progress, label),
        )
        sims[label].solve_time_s = time.perf_counter() - started
    return YearRun(sims, kpi_table(site, sims))


def summary_lines(site: Site, kpis: pd.DataFrame, sims: dict[str, Simulation]) -> list[str]:
    """A few lines for the terminal: totals of the period and savings against the baseline."""
    cur = site.currency
    lines = []
    for label, sim in sims.items():
        row = kpis.loc[(label, "year")]
        bad = sum(s not in ("optimal", "fallback") for s in sim.statuses)
        lines.append(
            f"{label:>9}: {sim.days} days, cost {row['cost']:,.0f} {cur}, "
            f"{row['emissions_kgco2'] / 1000:,.1f} tCO2, renewable "
            f"{row['renewable_fraction_pu']:.1%}, unserved {row['unserved_kwh']:,.0f} kWh"
            + (f", {bad} day(s) not optimal" if bad else "")
            + f" ({sim.solve_time_s:.1f} s)"
        )
    if "baseline" in sims:
        opt, base = kpis.loc[("optimised", "year")], kpis.loc[("baseline", "year")]
        lines.append(
            f"  savings: {base['cost'] - opt['cost']:,.0f} {cur} and "
            f"{(base['emissions_kgco2'] - opt['emissions_kgco2']) / 1000:,.1f} tCO2 "
            f"against the rule-based baseline"
        )
    return lines
