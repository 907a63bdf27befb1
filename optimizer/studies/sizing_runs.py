"""Sizing studies as the CLI runs them: size, check the sized site day by day, trace the
cost–carbon front and run sensitivities. The caller reads the weather file and writes the
results (``api.commands.size``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any

import pandas as pd

from optimizer.studies import design, report
from optimizer.studies.economics import levelised_cost_of_energy, net_present_cost
from optimizer.studies.sensitivity import run_cases
from optimizer.studies.simulation import Simulation, period_inputs, simulate
from optimizer.studies.sizing import SizingResult
from sites.schema import Site


def sizing_study(
    site: Site,
    weather: pd.DataFrame,
    year: int,
    representative_days: int | None = design.DEFAULT_REPRESENTATIVE_DAYS,
    greenfield: bool = False,
) -> dict[str, Any]:
    """One sizing of ``site``: its capacities and annual figures, as a flat dict.

    Module-level, so that sensitivity cases can run it in worker processes.
    """
    hourly = design.hourly(site)
    inputs = design.year_inputs(hourly, weather, year)
    result = design.size(
        hourly, inputs, representative_days=representative_days, greenfield=greenfield
    )
    row: dict[str, Any] = {"status": result.status}
    row.update({f"{n} [{result.units[n]}]": v for n, v in result.capacities.items()})
    row.update(result.annual)
    return row


def economics_table(site: Site, result: SizingResult, served_kwh: float | None) -> pd.DataFrame:
    """Per-device economics plus rows for operation and the total, with NPC and LCOE."""
    table = result.economics.copy()
    operation = result.annual["operation_cost"]
    rate, life = site.discount_rate_pu, site.project_life_years
    table.loc["operation"] = {
        "annualised": operation,
        "npc": net_present_cost(operation, rate, life),
    }
    total = float(table["annualised"].sum())
    table.loc["total"] = {"annualised": total, "npc": float(table["npc"].sum())}
    if served_kwh:
        table["lcoe_per_kwh"] = float("nan")
        table.loc["total", "lcoe_per_kwh"] = levelised_cost_of_energy(total, served_kwh)
    return table


def _sizes(site: Site, result: SizingResult) -> pd.DataFrame:
    rows = []
    for name, value in result.capacities.items():
        rows.append(
            {
                "device": name,
                "unit": result.units[name],
                "existing": result.existing[name],
                "chosen": value,
                "added": value - result.existing[name],
            }
        )
    return pd.DataFrame(rows).set_index("device")


def plot_pareto(site: Site, front: pd.DataFrame) -> Any:
    """Annualised cost against annual emissions of the front's points (a matplotlib Figure)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 5), layout="constrained")
    ax = fig.add_subplot()
    tonnes = front["emissions_kgco2"] / 1000.0
    cost = (front["total_annualised_cost"] + front["penalty_cost"]) / 1000.0
    ax.plot(tonnes, cost, "o-", color="#3969ac")
    for i, (x, y) in enumerate(zip(tonnes, cost, strict=True)):
        ax.annotate(str(i), (x, y), textcoords="offset points", xytext=(5, 5))
    ax.set_xlabel("annual emissions [tCO2e]")
    ax.set_ylabel(f"annualised cost incl. lost load [k{site.currency}/year]")
    ax.set_title(f"{site.name}: cost–carbon front (0 = least cost)")
    ax.grid(alpha=0.3)
    return fig


@dataclass
class DispatchCheck:
    """The sized site planned day by day: its operation, KPIs and summary."""

    sim: Simulation
    kpis: pd.DataFrame
    served_kwh: float
    emissions_kgco2: float
    line: str


@dataclass
class SizingRun:
    """Everything a sizing study found; ``lines`` sum it up for a terminal."""

    result: SizingResult
    sizes: pd.DataFrame
    sized: Site
    economics: pd.DataFrame
    check: DispatchCheck | None = None
    front: pd.DataFrame | None = None
    sensitivity: pd.DataFrame | None = None
    lines: list[str] = field(default_factory=list)


def run_sizing(
    site: Site,
    weather: pd.DataFrame,
    year: int,
    *,
    representative_days: int | None = design.DEFAULT_REPRESENTATIVE_DAYS,
    greenfield: bool = False,
    pareto_points: int | None = None,
    varies: Sequence[tuple[str, Sequence[Any]]] = (),
    check_days: int = 365,
    executor: Any = None,
    progress: Callable[[str, int, int, Any], None] | None = None,
) -> SizingRun:
    """Size, check, and optionally trace the front and run sensitivities.

    ``weather`` is typical-year weather placed on ``year`` (``runs.place_weather``).
    ``executor`` runs the sensitivity cases (``run_cases``); None: in this process.
    ``progress(label, days done, days, plan)`` follows the dispatch check.
    """
    hourly = design.hourly(site)
    inputs = design.year_inputs(hourly, weather, year)
    started = time.perf_counter()
    result = design.size(
        hourly, inputs, representative_days=representative_days, greenfield=greenfield
    )
    lines = [
        f"sized {site.name} on "
        + (f"{representative_days} representative days" if representative_days else "8760 h")
        + f" in {time.perf_counter() - started:.1f} s ({result.status})"
    ]
    sizes = _sizes(site, result)
    sized = design.resized(site, result.capacities)
    check = None
    if check_days > 0:
        check = dispatch_check(sized, weather, year, check_days, progress)
        lines.append(check.line)
    served = check.served_kwh if check is not None else None
    econ = economics_table(site, result, served)
    run = SizingRun(result, sizes, sized, econ, check)
    for name, row in sizes.iterrows():
        lines.append(
            f"  {name}: {row['chosen']:,.1f} {row['unit']} (existing {row['existing']:,.1f})"
        )
    cur = site.currency
    total = econ.loc["total"]
    lines.append(
        f"  annualised cost {total['annualised']:,.0f} {cur}/year, NPC {total['npc']:,.0f} {cur}"
        + (f", LCOE {total['lcoe_per_kwh']:.3f} {cur}/kWh" if served else "")
    )
    checked_kgco2 = check.emissions_kgco2 if check is not None else None
    lines += emission_lines(result.annual["emissions_kgco2"], checked_kgco2, representative_days)
    if pareto_points:
        run.front, _ = design.pareto(
            hourly,
            inputs,
            pareto_points,
            representative_days=representative_days,
            greenfield=greenfield,
        )
        lines.append(f"  front: {len(run.front)} points written")
    if varies:
        run.sensitivity = run_cases(
            sizing_study,
            site,
            varies,
            executor=executor,
            weather=weather,
            year=year,
            representative_days=representative_days,
            greenfield=greenfield,
        )
        lines.append(f"  sensitivity: {len(run.sensitivity)} cases")
    run.lines = lines
    return run


def emission_lines(
    sizing_kgco2: float, checked_kgco2: float | None, representative_days: int | None
) -> list[str]:
    """The design's annual emissions: the day-by-day check's when there is one, beside the
    sizing LP's, with why they differ."""
    lp = f"{sizing_kgco2 / 1000:,.2f} tCO2e/year"
    if checked_kgco2 is None:
        return [f"  emissions {lp} (sizing LP; run a dispatch check for the operated year)"]
    line = f"  emissions {checked_kgco2 / 1000:,.2f} tCO2e/year (dispatch check; sizing LP {lp})"
    if abs(checked_kgco2 - sizing_kgco2) > 0.05 * max(abs(checked_kgco2), 1.0):
        why = (
            "representative days close each store on itself, so gas or charge that a real "
            "year vents, flares or carries between days is not seen"
            if representative_days
            else "the sizing LP sees the whole year at once, the check plans day by day"
        )
        line += f"; they differ because {why}"
    return [line]


def dispatch_check(
    sized: Site,
    weather: pd.DataFrame,
    year: int,
    days: int,
    progress: Callable[[str, int, int, Any], None] | None = None,
) -> DispatchCheck:
    """Plan the sized site day by day; served load and emissions scaled to a year."""
    first = date(year, 1, 1)
    inputs = period_inputs(sized, first, days, weather)
    shown = None if progress is None else partial(progress, "check")
    sim = simulate(sized, inputs, first, days, progress=shown)
    kpis = report.period_kpis(sized, sim.table)
    year_row = kpis.loc["year"]
    scale = 365.0 / days
    served = (year_row["load_kwh"] - year_row["unserved_kwh"]) * scale
    emissions = year_row["emissions_kgco2"] * scale
    line = (
        f"  dispatch check over {days} days: cost {year_row['cost'] * scale:,.0f} "
        f"{sized.currency}/year, emissions {emissions / 1000:,.2f} tCO2e/year, unserved "
        f"{year_row['unserved_kwh'] * scale:,.0f} kWh/year, renewable "
        f"{year_row['renewable_fraction_pu']:.1%}"
    )
    return DispatchCheck(sim, kpis, float(served), float(emissions), line)
