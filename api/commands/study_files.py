"""Files and progress of the study commands (``simulate``, ``size``): the weather they read,
the progress line they print and the tables and figures they write.

The commands import this module when they run, so that registering them stays cheap
(``api.cli``): it pulls in pandas and the studies.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from forecasting.weather import read_any_weather
from optimizer.studies import report
from optimizer.studies.runs import YearRun, local_frame, place_weather
from optimizer.studies.simulation import LOOK_AHEAD_DAYS
from optimizer.studies.sizing_runs import SizingRun, plot_pareto
from sites.load import dump_site
from sites.schema import Site

#: Resolution of the written plots [dots per inch].
PLOT_DPI = 110


def weather_for(
    site: Site,
    path: str | Path,
    first_day: date,
    days: int,
    look_ahead_days: int = LOOK_AHEAD_DAYS,
) -> pd.DataFrame:
    """A typical-year file placed on every calendar year the period touches (UTC index)."""
    data, meta = read_any_weather(path)
    return place_weather(site, data, meta, first_day, days, look_ahead_days)


def progress_printer(stream: TextIO | None) -> Any:
    """``show(label, days done, days, plan)`` writing one updated line to ``stream``, or None.

    Each run's time counts from the end of the one before (the first: from now).
    """
    if stream is None:
        return None
    began = [time.perf_counter()]

    def show(label: str, done: int, total: int, plan: Any) -> None:
        now = time.perf_counter()
        day, elapsed = pd.Timestamp(plan.start).date(), now - began[0]
        stream.write(f"\r{label}: day {done}/{total} ({day}, {plan.status}) {elapsed:6.1f} s")
        if done == total:
            stream.write("\n")
            began[0] = now
        stream.flush()

    return show


def write_operation(site: Site, table: pd.DataFrame, path: Path) -> Path:
    """An operation table as CSV with its index in the site's local time."""
    local_frame(site, table).to_csv(path)
    return path


def save_figure(fig: Any, path: Path) -> Path:
    """A matplotlib figure as PNG."""
    fig.savefig(path, dpi=PLOT_DPI)
    return path


def write_year(site: Site, run: YearRun, out: Path) -> list[Path]:
    """Operation tables, KPIs of each month and the year, and plots, into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for label, sim in run.sims.items():
        name = "operation.csv" if label == "optimised" else f"operation_{label}.csv"
        files.append(write_operation(site, sim.table, out / name))
    run.kpis.to_csv(out / "kpis.csv")
    files.append(out / "kpis.csv")
    main = run.sims["optimised"].table
    files.append(save_figure(report.plot_monthly_balance(site, main), out / "monthly_balance.png"))
    files.append(save_figure(report.plot_year_heatmap(site, main), out / "heatmap.png"))
    files.append(save_figure(report.plot_typical_days(site, main), out / "typical_days.png"))
    if "baseline" in run.sims:
        title = f"{site.name}: monthly energy balance, rule-based baseline"
        fig = report.plot_monthly_balance(site, run.sims["baseline"].table, title=title)
        files.append(save_figure(fig, out / "monthly_balance_baseline.png"))
    return files


def write_sizing(site: Site, run: SizingRun, out: Path) -> list[Path]:
    """Sizes, the resized site file, the dispatch check, economics, front and sensitivity."""
    out.mkdir(parents=True, exist_ok=True)
    run.sizes.to_csv(out / "sizes.csv")
    (out / "sized_site.yaml").write_text(dump_site(run.sized), encoding="utf-8")
    files = [out / "sizes.csv", out / "sized_site.yaml"]
    if run.check is not None:
        files.append(write_operation(run.sized, run.check.sim.table, out / "check_operation.csv"))
        run.check.kpis.to_csv(out / "check_kpis.csv")
        files.append(out / "check_kpis.csv")
        balance = report.plot_monthly_balance(run.sized, run.check.sim.table)
        files.append(save_figure(balance, out / "check_monthly_balance.png"))
    run.economics.to_csv(out / "economics.csv")
    files.append(out / "economics.csv")
    if run.front is not None:
        run.front.to_csv(out / "pareto.csv")
        files.append(out / "pareto.csv")
        files.append(save_figure(plot_pareto(site, run.front), out / "pareto.png"))
    if run.sensitivity is not None:
        run.sensitivity.to_csv(out / "sensitivity.csv", index=False)
        files.append(out / "sensitivity.csv")
    return files


def write_closed_loop(
    site: Site, table: pd.DataFrame, runs: dict[str, Any], out: Path
) -> list[Path]:
    """The comparison of a closed-loop study and every case's realised operation."""
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "closed_loop.csv")
    files = [out / "closed_loop.csv"]
    for label, run in runs.items():
        name = "operation_" + "".join(c if c.isalnum() else "_" for c in label) + ".csv"
        files.append(write_operation(site, run.table, out / name))
    return files
