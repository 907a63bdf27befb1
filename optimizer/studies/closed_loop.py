"""Closed-loop operation: plans made on forecasts, operated against what actually happened.

Each local day is planned at midnight on a forecast made only from what is known then
(``forecasting.variants``), over the day and its look-ahead. The plan is operated against
the actual inputs by the real-time rule (``optimizer.operation``): devices follow their
setpoints and the forecast error goes to the stores, then the grid, then curtailment or
shedding. With ``replan="hourly"`` the rest of the horizon is planned again every hour from
the realised state (``State.from_plan`` on the realised rows) on a fresh forecast; with
``"none"`` the midnight plan is followed all day. A plan the solver fails on is replaced by
the rules' plan on the same forecast and counted (``ClosedLoop.failed``). The realised rows
of every day form one table with the columns, costs and emissions of a plan table.

The reference cases of docs/studies.md, *Closed-loop operation*: the rule-based dispatch on
the actual inputs (``rules``, :func:`rules_operation`), and perfect foresight (the
``perfect`` forecast without re-plans). The study returns results and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd

from forecasting.variants import Forecast, cloud_weather, make_forecast
from optimizer.accounting import lost_load_value
from optimizer.baseline import rule_based_plan
from optimizer.errors import PlanningError
from optimizer.operation import operate
from optimizer.planner import Planner
from optimizer.scenarios import scenario_plan
from optimizer.state import State
from optimizer.studies.simulation import LOOK_AHEAD_DAYS, baseline_day, period_inputs, simulate
from sites.schema import Site
from sites.timeindex import day_index

#: Re-plan choices: once a day at midnight, or every hour.
REPLANS = ("none", "hourly")
#: Statuses of a plan made by the optimizer (any other is a failed re-plan).
SOLVED = ("optimal",)
#: Days of realised rows handed to ``State.from_plan`` (a shiftable load's current period).
HISTORY_DAYS = 2


@dataclass
class ClosedLoop:
    """The realised operation of a period and how its plans went."""

    site: Site
    table: pd.DataFrame  #: realised rows (a plan table) [kW, kWh, m³, currency, kgCO2e]
    statuses: list[str] = field(default_factory=list)  #: every plan's status
    solve_time_s: float = 0.0

    @property
    def failed(self) -> int:
        """Plans the optimizer did not solve (fallbacks, time-outs, infeasible)."""
        return sum(s not in SOLVED for s in self.statuses)


def replan_starts(site: Site, replan: str, n: int) -> list[int]:
    """Positions in a day of ``n`` intervals where a plan is made."""
    if replan not in REPLANS:
        raise ValueError(f"replan must be one of {', '.join(REPLANS)}, got {replan!r}")
    if replan == "none":
        return [0]
    per_hour = max(1, round(1.0 / site.step_h))
    return list(range(0, n, per_hour))


def closed_loop(
    site: Site,
    actual: pd.DataFrame,
    forecast: Forecast,
    first_day: date,
    days: int,
    *,
    replan: str = "hourly",
    plan_horizon: Callable[..., Any] | None = None,
    look_ahead_days: int = LOOK_AHEAD_DAYS,
    state: State | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ClosedLoop:
    """Plan on ``forecast``, operate on ``actual``, re-plan as ``replan`` says.

    Parameters
    ----------
    site : Site
    actual : pandas.DataFrame
        Actual inputs covering the period and its look-ahead (``period_inputs``).
    forecast : callable
        ``forecast(index, issued)`` → the inputs of ``index`` as forecast at ``issued``
        (``forecasting.variants.make_forecast``).
    first_day, days : date, int
        The local days operated.
    replan : str
        ``"none"`` (the midnight plan all day) or ``"hourly"``.
    plan_horizon : callable, optional
        ``plan_horizon(site, index, inputs, state)`` → Plan; the optimizer (cost mode, built
        models kept between re-plans of the same shape) by default.
    state : State, optional
        Start state; the site file's by default.
    progress : callable, optional
        Called after each day with (days done, days).
    """
    if days < 1:
        raise ValueError(f"days must be ≥ 1, got {days}")
    per_day = len(day_index(site, first_day, 1))
    if plan_horizon is None:
        planner = Planner(keep=len(replan_starts(site, replan, per_day)) + 2)

        def plan_horizon(site: Site, index: Any, inputs: Any, state: Any) -> Any:
            return planner.plan(site, index, inputs, state, assess_plan=False)

    current = state if state is not None else State.from_site(site)
    run = ClosedLoop(site=site, table=pd.DataFrame())
    parts: list[pd.DataFrame] = []
    for i in range(days):
        day = first_day + timedelta(days=i)
        kept = day_index(site, day, 1)
        horizon = day_index(site, day, 1 + look_ahead_days)
        missing = horizon.difference(actual.index)
        if len(missing):
            raise ValueError(f"actual inputs end before {missing[0]} (day {day} and look-ahead)")
        starts = replan_starts(site, replan, len(kept))
        for p, end in zip(starts, [*starts[1:], len(kept)], strict=True):
            index = horizon[p:]
            predicted = forecast(index, index[0])
            try:
                plan = plan_horizon(site, index, predicted, current)
            except PlanningError:  # a failed solve: the rules' plan on the same forecast
                plan = rule_based_plan(site, predicted, current)
            run.statuses.append(plan.status)
            run.solve_time_s += float(plan.solve_time_s)
            realised = operate(site, plan.table, actual.loc[kept[p:end]], current)
            parts.append(realised)
            recent = pd.concat(parts[-HISTORY_DAYS * len(starts):])
            current = State.from_plan(site, recent, kept[end - 1] + site.step)
        if progress is not None:
            progress(i + 1, days)
    run.table = pd.concat(parts)
    return run


def rules_operation(
    site: Site,
    actual: pd.DataFrame,
    first_day: date,
    days: int,
    *,
    look_ahead_days: int = LOOK_AHEAD_DAYS,
    state: State | None = None,
) -> ClosedLoop:
    """The rule-based dispatch on the actual inputs, day by day with the state carried."""
    sim = simulate(site, actual, first_day, days, planner=baseline_day,
                   look_ahead_days=look_ahead_days, state=state)
    return ClosedLoop(site=site, table=sim.table, statuses=["optimal"] * sim.days,
                      solve_time_s=sim.solve_time_s)


def figures(site: Site, run: ClosedLoop) -> dict[str, float]:
    """Realised totals: ``cost``, ``carbon_cost`` (carbon price × emissions) and
    ``lost_load`` (value of lost load) [currency] and their sum ``total`` — what the plans
    minimise —, ``emissions_kgco2`` [kgCO2e], ``unserved_kwh`` [kWh], ``failed_plans`` [-]."""
    table = run.table
    cost, lost = float(table["cost"].sum()), float(lost_load_value(site, table))
    emissions = float(table["emissions_kgco2"].sum())
    carbon = site.carbon_price_per_kgco2 * emissions
    return {
        "cost": cost,
        "carbon_cost": carbon,
        "lost_load": lost,
        "total": cost + carbon + lost,
        "emissions_kgco2": emissions,
        "unserved_kwh": float(table["unserved_kw"].sum() * site.step_h),
        "failed_plans": float(run.failed),
    }


def kept_share(rules: float, value: float, perfect: float) -> float:
    """Share of the perfect-foresight saving kept: ``(rules − x)/(rules − perfect)`` [-]
    (NaN when perfect foresight saves nothing)."""
    saving = rules - perfect
    return (rules - value) / saving if abs(saving) > 1e-9 else float("nan")


def comparison(site: Site, runs: dict[str, ClosedLoop]) -> pd.DataFrame:
    """One row of :func:`figures` per run, and ``kept_pu`` of the saving on ``total``
    (cost, carbon cost and value of lost load) against ``rules`` and ``perfect`` when both
    are there."""
    rows = pd.DataFrame({label: figures(site, run) for label, run in runs.items()}).T
    if "rules" in rows.index and "perfect" in rows.index:
        r, p = rows.loc["rules", "total"], rows.loc["perfect", "total"]
        rows["kept_pu"] = [kept_share(r, x, p) for x in rows["total"]]
    return rows


@dataclass
class Case:
    """One closed-loop run of a comparison: ``forecast`` variant (None: the rules),
    ``replan`` and the number of ``scenarios`` each plan hedges over."""

    label: str
    forecast: str | None
    replan: str = "none"
    scenarios: int = 1


def standard_cases(forecast: str, replan: str = "hourly", scenarios: int = 1) -> list[Case]:
    """(a) the rules, (b) day-ahead on ``forecast``, (c) with ``replan``, (d) with
    ``scenarios`` (when more than one), (e) perfect foresight."""
    cases = [Case("rules", None), Case("day-ahead", forecast)]
    if replan != "none":
        cases.append(Case(f"{replan} re-plans", forecast, replan))
    if scenarios > 1:
        cases.append(Case(f"{scenarios} scenarios, {replan} re-plans", forecast, replan,
                          scenarios))
    return [*cases, Case("perfect", "perfect")]


def compare(
    site: Site,
    actual: pd.DataFrame,
    first_day: date,
    days: int,
    cases: list[Case],
    *,
    cloud_inputs: pd.DataFrame | None = None,
    look_ahead_days: int = LOOK_AHEAD_DAYS,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[pd.DataFrame, dict[str, ClosedLoop]]:
    """Run every case on the same actual inputs; return :func:`comparison` and the runs.

    ``actual`` covers the day before ``first_day`` (for persistence), the period and its
    look-ahead (``period_inputs(site, first_day − 1 day, days + 1, weather)``).
    """
    runs: dict[str, ClosedLoop] = {}
    for case in cases:
        def step(done: int, total: int, label: str = case.label) -> None:
            if progress is not None:
                progress(label, done, total)

        if case.forecast is None:
            runs[case.label] = rules_operation(site, actual, first_day, days,
                                               look_ahead_days=look_ahead_days)
            continue
        forecast = make_forecast(site, actual, case.forecast, cloud_inputs=cloud_inputs)
        runs[case.label] = closed_loop(
            site, actual, forecast, first_day, days, replan=case.replan,
            plan_horizon=scenario_planner(case.scenarios, case.replan, site),
            look_ahead_days=look_ahead_days, progress=step,
        )
    return comparison(site, runs), runs


def scenario_planner(scenarios: int, replan: str, site: Site) -> Callable[..., Any] | None:
    """The planner of a case: the default optimizer for one scenario (None), or plans hedged
    over P10/P50/P90 scenarios of PV and load (``optimizer.scenarios.scenario_plan``)."""
    if scenarios == 1:
        return None

    def hedged(site: Site, index: Any, inputs: Any, state: Any) -> Any:
        return scenario_plan(site, index, inputs, state, scenarios=scenarios)

    return hedged


def study_inputs(
    site: Site,
    weather: pd.DataFrame | None,
    first_day: date,
    days: int,
    *,
    cloud: bool = False,
    look_ahead_days: int = LOOK_AHEAD_DAYS,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The actual inputs from the day before ``first_day`` to the end of the look-ahead, and
    (``cloud``) the same built on the weather's cloud cover instead of its irradiance."""
    start = first_day - timedelta(days=1)
    actual = period_inputs(site, start, days + 1, weather, look_ahead_days)
    if not cloud:
        return actual, None
    if weather is None:
        raise ValueError("forecast 'cloud' needs a weather file with cloud cover")
    covered = cloud_weather(weather)
    return actual, period_inputs(site, start, days + 1, covered, look_ahead_days)


def table_lines(site: Site, table: pd.DataFrame) -> list[str]:
    """The comparison as lines for a terminal."""
    cur = site.currency
    lines = [f"{'':>28} {'cost':>11} {'total':>11} {'tCO2':>8} {'unserved':>9} {'kept':>6} "
             f"{'failed':>6}",
             f"{'':>28} {cur:>11} {cur:>11} {'':>8} {'kWh':>9} {'%':>6} {'plans':>6}"]
    for label, row in table.iterrows():
        kept = row.get("kept_pu", float("nan"))
        lines.append(
            f"{label!s:>28} {row['cost']:11,.0f} {row['total']:11,.0f} "
            f"{row['emissions_kgco2'] / 1000:8,.2f} {row['unserved_kwh']:9,.1f} "
            f"{kept * 100:6.1f} {row['failed_plans']:6.0f}"
        )
    return lines
