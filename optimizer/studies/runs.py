"""Study runs as the CLI starts them: read the files, run, write tables and plots to a folder."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

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


def weather_for(
    site: Site,
    path: str | Path,
    first_day: date,
    days: int,
    look_ahead_days: int = LOOK_AHEAD_DAYS,
) -> pd.DataFrame:
    """A typical-year file placed on every calendar year the period touches (UTC index)."""
    from forecasting.weather import read_any_weather

    data, meta = read_any_weather(path)
    return place_weather(site, data, meta, first_day, days, look_ahead_days)


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
    forecasting.weather.WeatherError
    """
    from forecasting.weather import WeatherError

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


def _progress_printer(stream: TextIO | None, label: str) -> Any:
    if stream is None:
        return None
    started = time.perf_counter()

    def show(done: int, total: int, plan: Any) -> None:
        elapsed = time.perf_counter() - started
        day = pd.Timestamp(plan.start).date()
        stream.write(f"\r{label}: day {done}/{total} ({day}, {plan.status}) {elapsed:6.1f} s")
        if done == total:
            stream.write("\n")
        stream.flush()

    return show


def local_frame(site: Site, table: pd.DataFrame) -> pd.DataFrame:
    """The table with its index in the site's local time, for files people read."""
    out = table.copy()
    out.index = pd.DatetimeIndex(table.index).tz_convert(site.tz)
    out.index.name = "start"
    return out


def write_simulation(
    site: Site, sims: dict[str, Simulation], out: Path
) -> tuple[pd.DataFrame, list[Path]]:
    """Operation tables, KPIs of each month and the year, and plots; returns the KPI table."""
    out.mkdir(parents=True, exist_ok=True)
    files = []
    kpi_parts = []
    for label, sim in sims.items():
        name = "operation.csv" if label == "optimised" else f"operation_{label}.csv"
        local_frame(site, sim.table).to_csv(out / name)
        files.append(out / name)
        kpis = report.period_kpis(site, sim.table)
        kpi_parts.append(kpis.assign(dispatch=label).set_index("dispatch", append=True))
    table = pd.concat(kpi_parts).swaplevel().sort_index(level=0, sort_remaining=False)
    table.to_csv(out / "kpis.csv")
    files.append(out / "kpis.csv")
    main = sims["optimised"].table
    files.append(report.plot_monthly_balance(site, main, out / "monthly_balance.png"))
    files.append(report.plot_year_heatmap(site, main, out / "heatmap.png"))
    files.append(report.plot_typical_days(site, main, out / "typical_days.png"))
    if "baseline" in sims:
        files.append(
            report.plot_monthly_balance(
                site,
                sims["baseline"].table,
                out / "monthly_balance_baseline.png",
                title=f"{site.name}: monthly energy balance, rule-based baseline",
            )
        )
    return table, files


def run_year(
    site: Site,
    weather_path: str | Path,
    first_day: date,
    days: int,
    out: Path,
    *,
    baseline: bool = True,
    look_ahead_days: int = LOOK_AHEAD_DAYS,
    progress: TextIO | None = None,
) -> list[str]:
    """Simulate ``days`` days from a typical-year file and write the results to ``out``.

    Returns the lines of a short summary (annual cost, emissions and savings).
    """
    weather = weather_for(site, weather_path, first_day, days, look_ahead_days)
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
            progress=_progress_printer(progress, label),
        )
        sims[label].solve_time_s = time.perf_counter() - started
    table, files = write_simulation(site, sims, out)
    return summary_lines(site, table, sims, files)


def summary_lines(
    site: Site, kpis: pd.DataFrame, sims: dict[str, Simulation], files: list[Path]
) -> list[str]:
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
    lines.append(f"  wrote {', '.join(str(f) for f in files)}")
    return lines
