"""Study tasks of one site, as they run on a worker: a period of operation, a sizing.

Each receives the site as JSON data and the county's typical-year weather as read
(``(data, meta)``, scattered once to every worker), places the weather on the site
(``optimizer.studies.runs.place_weather``) and returns a flat dict; a site that fails returns
its reason instead.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pandas as pd

from api.fleet.tasks import SOLVER_THREADS, finish, head, site_of
from optimizer.studies.runs import place_weather

#: Annual figures a simulation row carries, for the optimised and the baseline dispatch.
SIM_COLUMNS = ("cost", "emissions_kgco2", "unserved_kwh", "renewable_fraction_pu")


def _year_row(site: Any, table: pd.DataFrame) -> dict[str, float]:
    from optimizer.studies.report import period_kpis

    row = period_kpis(site, table).loc["year"]
    return {c: float(row[c]) for c in SIM_COLUMNS}


def simulate_site(item: dict[str, Any], *, weather: tuple[pd.DataFrame, dict]) -> dict[str, Any]:
    """Operate ``item['days']`` days from ``item['first_day']``, planned day by day with a
    look-ahead, beside the rule-based baseline (``item['baseline']``)."""
    from optimizer.studies.simulation import OptimisedDays, baseline_day, period_inputs, simulate

    began = time.perf_counter()
    result = head(item["spec"], began)
    try:
        site = site_of(item["spec"])
        first, days = date.fromisoformat(item["first_day"]), int(item["days"])
        look = int(item["look_ahead_days"])
        placed = place_weather(site, *weather, first, days, look)
        inputs = period_inputs(site, first, days, placed, look)
        optimised = OptimisedDays()
        optimised.planner.threads = SOLVER_THREADS
        sim = simulate(site, inputs, first, days, planner=optimised, look_ahead_days=look)
        short = sum(s != "optimal" for s in sim.statuses)
        result.update(status="optimal" if not short else f"{short} day(s) not optimal",
                      days=days, **_year_row(site, sim.table))
        if item["baseline"]:
            base = simulate(site, inputs, first, days, planner=baseline_day,
                            look_ahead_days=look)
            result.update({f"baseline_{k}": v for k, v in _year_row(site, base.table).items()})
    except Exception as exc:  # noqa: BLE001 - one site's failure never stops the others
        result.update(status="failed", reason=f"{type(exc).__name__}: {exc}")
    return finish(result, began)


def size_site(item: dict[str, Any], *, weather: tuple[pd.DataFrame, dict]) -> dict[str, Any]:
    """Size the site's devices (``optimizer.studies.sizing_runs.sizing_study``)."""
    from optimizer.studies.sizing_runs import sizing_study

    began = time.perf_counter()
    result = head(item["spec"], began)
    try:
        site = site_of(item["spec"])
        year = int(item["year"])
        first = date(year, 1, 1)
        days = (date(year + 1, 1, 1) - first).days
        placed = place_weather(site, *weather, first, days)
        result.update(sizing_study(site, placed, year, item["representative_days"],
                                   bool(item["greenfield"])))
    except Exception as exc:  # noqa: BLE001 - one site's failure never stops the others
        result.update(status="failed", reason=f"{type(exc).__name__}: {exc}")
    return finish(result, began)
