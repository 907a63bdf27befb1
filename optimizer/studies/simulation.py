"""A period of operation planned day by day: rolling horizon with state carried over.

Each local day is planned with a look-ahead (by default the day and the next one, 48 h), and
only the first day of the plan is kept, as an operator re-planning every midnight would do.
The state at the end of the kept day — what each device declares it carries (battery SoC,
gas-holder level, energy the shiftable loads have received in their current period, genset
output; ``State.from_plan``) — starts the next day's plan.
The inputs of the whole period are built once (PV from the weather file, loads, tariffs,
digester production) and sliced per day. The same days are also run under the rule-based
baseline, from its own carried state, so the savings are those of a whole year.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd

from optimizer import baseline
from optimizer.inputs import build_inputs
from optimizer.planner import Planner
from optimizer.state import State
from sites.schema import Site
from sites.timeindex import day_index

#: Days planned beyond the kept day (the look-ahead) [day].
LOOK_AHEAD_DAYS = 1


@dataclass
class Simulation:
    """The kept rows of every day's plan, and how each day's solve went."""

    site: Site
    table: pd.DataFrame
    statuses: list[str] = field(default_factory=list)
    solve_time_s: float = 0.0

    @property
    def days(self) -> int:
        return len(self.statuses)


class OptimisedDays:
    """Plans horizons with the optimizer (cost mode), re-using the built model between days.

    Days of the same shape (length, shiftable-load windows) share one built model and its
    kept HiGHS object; only inputs and state are pushed and the LP is re-solved from its last
    basis (:class:`optimizer.planner.Planner`). Per-plan baseline comparison is skipped: the
    baseline runs as its own simulation.
    """

    def __init__(self, keep: int = 4) -> None:
        self.planner = Planner(keep=keep)

    def __call__(
        self, site: Site, index: pd.DatetimeIndex, inputs: pd.DataFrame, state: Any
    ) -> Any:
        return self.planner.plan(site, index, inputs, state, assess_plan=False)


def baseline_day(site: Site, index: pd.DatetimeIndex, inputs: pd.DataFrame, state: Any) -> Any:
    """The rule-based plan of one horizon."""

    return baseline.rule_based_plan(site, inputs, state)


def period_inputs(
    site: Site,
    first_day: date,
    days: int,
    weather: pd.DataFrame | None,
    look_ahead_days: int = LOOK_AHEAD_DAYS,
) -> pd.DataFrame:
    """Every input of the period and its look-ahead, built once [kW, m³, currency/kWh ...]."""

    index = day_index(site, first_day, days + look_ahead_days)
    return build_inputs(site, index, weather=weather)


def simulate(
    site: Site,
    inputs: pd.DataFrame,
    first_day: date,
    days: int,
    *,
    planner: Callable[[Site, pd.DatetimeIndex, pd.DataFrame, Any], Any] | None = None,
    look_ahead_days: int = LOOK_AHEAD_DAYS,
    state: Any = None,
    progress: Callable[[int, int, Any], None] | None = None,
) -> Simulation:
    """Plan ``days`` local days in sequence, each with a look-ahead, keeping the first day.

    Parameters
    ----------
    site : Site
    inputs : DataFrame
        Inputs covering the period and the look-ahead (:func:`period_inputs`).
    first_day : date
        First local day.
    days : int
        Number of days kept.
    planner : callable, optional
        ``planner(site, index, inputs, state) -> Plan``: :class:`OptimisedDays` (default) or
        :func:`baseline_day`.
    state : State, optional
        Start state; the site file's by default.
    progress : callable, optional
        Called after each day with (days done, days, the day's plan).
    """

    if days < 1:
        raise ValueError(f"days must be ≥ 1, got {days}")
    planner = planner or OptimisedDays()
    current = state if state is not None else State.from_site(site)
    kept_parts: list[pd.DataFrame] = []
    sim = Simulation(site=site, table=pd.DataFrame())
    for i in range(days):
        day = first_day + timedelta(days=i)
        horizon = day_index(site, day, 1 + look_ahead_days)
        missing = horizon.difference(inputs.index)
        if len(missing):
            raise ValueError(
                f"inputs end at {inputs.index[-1]} but day {day} with its "
                f"{look_ahead_days}-day look-ahead needs up to {horizon[-1]} (UTC)"
            )
        plan = planner(site, horizon, inputs.loc[horizon], current)
        kept_index = day_index(site, day, 1)
        kept = plan.table.loc[kept_index]
        kept_parts.append(kept)
        sim.statuses.append(plan.status)
        sim.solve_time_s += float(plan.solve_time_s)
        history = pd.concat(kept_parts[-8:])
        current = State.from_plan(site, history, kept_index[-1] + site.step)
        if progress is not None:
            progress(i + 1, days, plan)
    sim.table = pd.concat(kept_parts)
    return sim
