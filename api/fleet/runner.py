"""Runs a task per site of a roster on an executor and gathers one row per site, and the
county roll-up of those rows.

Rows of sites whose file was rejected, and of tasks that never came back (their workers kept
dying), are part of the table with status ``failed`` or ``lost`` and the reason, so the table
always has every site of the fleet.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from api.fleet import studies, tasks
from api.fleet.executor import Executor, Lost
from api.fleet.roster import Member, Roster

#: Statuses of a plan that count as planned by the optimizer.
SOLVED = ("optimal", "time_limit")
#: Columns summed in the roll-up.
SUMMED = ("cost", "emissions_kgco2", "unserved_kwh", "baseline_cost", "baseline_emissions_kgco2",
          "cost_saving", "emissions_saving_kgco2")


@dataclass
class FleetRun:
    """One row per site (``table``), what ran it, and how long the whole run took [s]."""

    table: pd.DataFrame
    executor: str
    wall_s: float


def _lost_row(member: Member, lost: Lost) -> dict[str, Any]:
    return {"site": member.name, "county": member.county, "township": member.township,
            "status": "lost", "reason": lost.reason}


def run_members(
    fn: Callable[..., dict[str, Any]], roster: Roster, items: list[dict[str, Any]],
    executor: Executor, *, kind: str, shared: dict[str, Any] | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> FleetRun:
    """``fn(item, **shared)`` for every member (``items[i]`` belongs to ``members[i]``)."""
    began = time.perf_counter()
    run = uuid.uuid4().hex[:8]
    keys = [f"{kind}-{m.name}-{run}" for m in roster.members]

    def row_of(i: int, value: Any) -> dict[str, Any]:
        return _lost_row(roster.members[i], value) if isinstance(value, Lost) else value

    def seen(i: int, value: Any) -> None:
        if on_row is not None:
            on_row(row_of(i, value))

    values = executor.map(fn, items, shared=shared, keys=keys, on_result=seen, errors="return")
    rows = [row_of(i, v) for i, v in enumerate(values)]
    rows += [{"site": Path(r.source).stem, "status": "failed", "reason": f"{r.source}: {r.reason}"}
             for r in roster.rejected]
    table = pd.DataFrame(rows)
    if {"cost", "baseline_cost"} <= set(table.columns):  # a fallback has no baseline: NaN
        table["cost_saving"] = table["baseline_cost"] - table["cost"]
        table["emissions_saving_kgco2"] = (table["baseline_emissions_kgco2"]
                                           - table["emissions_kgco2"])
    if len(table):
        table = table.sort_values(["county", "township", "site"], na_position="last",
                                  kind="stable").reset_index(drop=True)
    return FleetRun(table, executor.description, time.perf_counter() - began)


def plan_fleet(
    roster: Roster, day: date, executor: Executor, database_url: str, *, now: datetime,
    days: int = 1, mode: str = "cost", time_limit_s: float = 60.0, kind: str = "fleet",
    on_row: Callable[[dict[str, Any]], None] | None = None,
    goals: dict[str, dict[str, Any]] | None = None,
) -> FleetRun:
    """Plan and store every member's ``days`` local days from ``day``; see ``tasks.plan_site``.

    ``goals``: per site name, a goal that replaces ``mode`` (``mode``,
    ``emission_budget_kgco2``, ``carbon_guard``; e.g. that of the plan a nightly plan replaces).
    """
    items = [
        {"spec": m.spec, "date": day.isoformat(), "days": days, "mode": mode,
         "time_limit_s": float(time_limit_s), "kind": kind, "now": now.isoformat(),
         **(goals or {}).get(str(m.spec.get("name")), {})}
        for m in roster.members
    ]
    return run_members(partial(tasks.plan_site, database_url=database_url), roster, items,
                       executor, kind="plan", on_row=on_row)


def simulate_fleet(
    roster: Roster, weather: tuple[pd.DataFrame, dict[str, Any]], first_day: date, days: int,
    executor: Executor, *, look_ahead_days: int = 1, baseline: bool = True,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> FleetRun:
    """A period of operation of every member from one typical-year weather (data, meta)."""
    items = [{"spec": m.spec, "first_day": first_day.isoformat(), "days": days,
              "look_ahead_days": look_ahead_days, "baseline": baseline} for m in roster.members]
    return run_members(studies.simulate_site, roster, items, executor, kind="simulate",
                       shared={"weather": weather}, on_row=on_row)


def size_fleet(
    roster: Roster, weather: tuple[pd.DataFrame, dict[str, Any]], year: int,
    executor: Executor, *, representative_days: int | None = 12, greenfield: bool = False,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> FleetRun:
    """A sizing study of every member from one typical-year weather (data, meta)."""
    items = [{"spec": m.spec, "year": year, "representative_days": representative_days,
              "greenfield": greenfield} for m in roster.members]
    return run_members(studies.size_site, roster, items, executor, kind="size",
                       shared={"weather": weather}, on_row=on_row)


def rollup(table: pd.DataFrame) -> pd.DataFrame:
    """Per county (and currency): sites by status and the sums of cost, CO2 and unserved
    energy, with the rule-based dispatch beside them and the savings against it."""
    if table.empty:
        return pd.DataFrame()
    frame = table.copy()
    frame["county"] = frame.get("county", pd.Series(index=frame.index, dtype=object))
    frame["county"] = frame["county"].fillna("(no county)")
    if "currency" not in frame:
        frame["currency"] = None
    frame["currency"] = frame["currency"].fillna("")
    groups = frame.groupby(["county", "currency"], sort=True)
    out = groups.size().to_frame("sites")
    status = frame["status"].fillna("lost")
    for name in ("optimal", "time_limit", "fallback", "infeasible", "failed", "lost"):
        out[name] = (status == name).groupby([frame["county"], frame["currency"]]).sum()
    for column in SUMMED:
        if column in frame:
            out[column] = groups[column].sum(min_count=1)
    return out.reset_index()
