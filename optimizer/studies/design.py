"""Design studies: size a site from a weather year, trace its cost–carbon front, resize it.

Sizing runs at hourly steps (a site on 15-minute steps is sized on its hourly copy), over
representative days chosen from the year's inputs (:mod:`optimizer.studies.representative`)
or over the full year (8760 steps). The sized site is then checked by planning its operation
day by day at the site's own step (:mod:`optimizer.studies.simulation`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from optimizer.devices import device_models
from optimizer.inputs import build_inputs
from optimizer.studies.representative import RepresentativeDays, choose_days
from optimizer.studies.sizing import SizingResult, build_sizing, solve_sizing
from sites.load import site_from_data
from sites.schema import Site
from sites.timeindex import day_index

#: A capacity below this is not built: the device leaves the resized site [unit].
NOTHING_BUILT = 1e-6
#: Periods longer than this are sized from a representative-day start [day].
WARM_START_FROM_DAYS = 60
#: Representative days used when none is asked for.
DEFAULT_REPRESENTATIVE_DAYS = 12


def hourly(site: Site) -> Site:
    """The site on 60-minute steps (sizing resolution)."""
    return site if site.step_minutes == 60 else site.model_copy(update={"step_minutes": 60})


def year_inputs(site: Site, weather: pd.DataFrame | None, year: int) -> pd.DataFrame:
    """Every input of a calendar year at the site's step."""

    days = (date(year + 1, 1, 1) - date(year, 1, 1)).days
    return build_inputs(site, day_index(site, date(year, 1, 1), days), weather=weather)


def residual_load_kw(site: Site, inputs: pd.DataFrame) -> pd.Series:
    """Load forecast minus PV available, summed over devices [kW]."""
    loads = inputs.filter(regex=r"\.forecast_kw$").sum(axis=1)
    pv = inputs.filter(regex=r"\.available_kw$").sum(axis=1)
    return loads - pv


def periods(
    site: Site, inputs: pd.DataFrame, representative_days: int | None
) -> tuple[list[pd.DatetimeIndex], list[float], RepresentativeDays | None]:
    """The periods of the sizing LP and the days each stands for.

    ``representative_days=None``: the whole of ``inputs`` as one period.
    """
    if representative_days is None:
        days = len(inputs) * site.step_h / 24.0
        return [pd.DatetimeIndex(inputs.index)], [days], None
    rep = choose_days(
        inputs,
        site.location.timezone,
        representative_days,
        residual_load=residual_load_kw(site, inputs),
    )
    indexes = [day_index(site, d, 1) for d in rep.days]
    return indexes, list(rep.weights), rep


def size(
    site: Site,
    inputs: pd.DataFrame,
    *,
    representative_days: int | None = DEFAULT_REPRESENTATIVE_DAYS,
    greenfield: bool = False,
    emission_cap_kgco2: float | None = None,
    least_carbon: bool = False,
) -> SizingResult:
    """Size ``site`` (hourly) on ``inputs`` (hourly, a year) — see :mod:`sizing`.

    On the full year (``representative_days=None``) the representative-day sizing runs first
    and its capacities warm-start the full LP.
    """
    start = None
    if representative_days is None and len(inputs) * site.step_h > 24 * WARM_START_FROM_DAYS:
        start = size(
            site,
            inputs,
            representative_days=DEFAULT_REPRESENTATIVE_DAYS,
            greenfield=greenfield,
            emission_cap_kgco2=emission_cap_kgco2,
            least_carbon=least_carbon,
        )
    indexes, weights, _ = periods(site, inputs, representative_days)
    sm = build_sizing(
        site, inputs, indexes, weights, greenfield=greenfield, budget=site.capital_budget
    )
    return solve_sizing(
        sm,
        emission_cap_kgco2=emission_cap_kgco2,
        least_carbon=least_carbon,
        start=None if start is None else start.capacities,
    )


def pareto(
    site: Site,
    inputs: pd.DataFrame,
    points: int,
    *,
    representative_days: int | None = DEFAULT_REPRESENTATIVE_DAYS,
    greenfield: bool = False,
) -> tuple[pd.DataFrame, list[SizingResult]]:
    """Cost–carbon front by the ε-constraint method, from least cost to least carbon.

    The least-cost design fixes the highest emissions :math:`E_0`; the least-carbon design
    (least emissions, then least cost) the lowest :math:`E_{N-1}`; the points between
    minimise cost with annual emissions ≤ :math:`E_0 - i (E_0 - E_{N-1})/(N-1)`. Cost here is
    money (annualised capital, operation, lost load) without the site's carbon price, which
    would count emissions twice.
    """
    if points < 2:
        raise ValueError(f"a front needs at least 2 points, got {points}")
    indexes, weights, _ = periods(site, inputs, representative_days)
    priced_out = site.model_copy(update={"carbon_price_per_kgco2": 0.0})
    sm = build_sizing(
        priced_out, inputs, indexes, weights, greenfield=greenfield, budget=site.capital_budget
    )
    cheapest = solve_sizing(sm)
    problem = cheapest.problem
    cleanest = solve_sizing(sm, least_carbon=True, problem=problem)
    high = cheapest.annual["emissions_kgco2"]
    low = cleanest.annual["emissions_kgco2"]
    results = [cheapest]
    for eps in np.linspace(high, low, points)[1:-1]:
        results.append(solve_sizing(sm, emission_cap_kgco2=float(eps), problem=problem))
    results.append(cleanest)
    rows = []
    for i, r in enumerate(results):
        row: dict[str, Any] = {"point": i, "status": r.status}
        row.update(
            {k: r.annual[k] for k in ("total_annualised_cost", "penalty_cost", "emissions_kgco2")}
        )
        row.update({f"{n} [{r.units[n]}]": v for n, v in r.capacities.items()})
        rows.append(row)
    return pd.DataFrame(rows).set_index("point"), results


def resized(site: Site, capacities: dict[str, float]) -> Site:
    """A site file with the chosen capacities (each device model rescales its own spec)."""

    by_name = {m.name: m for m in device_models(site)}
    data = site.model_dump(mode="json")
    devices = []
    for spec, raw in zip(site.devices, data["devices"], strict=True):
        units = capacities.get(spec.name)
        if units is None:
            devices.append(raw)
        elif units > NOTHING_BUILT:
            devices.append(by_name[spec.name].resized(units).model_dump(mode="json"))
    data["devices"] = devices
    return site_from_data(data, source=f"{site.name} resized")
