"""Work that runs in the solve pool (a worker process or thread), never on the event loop.

Each job returns a :class:`StoredPlan`: everything the database keeps for a plan, already
serialised, so the web process does no heavy work with the result.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import pandas as pd

from api.services.compact import compact_table
from api.services.learning import Metered, learned_inputs
from api.services.limit_inputs import InputLimits, apply_limits
from sites.schema import Site


@dataclass(frozen=True)
class StoredPlan:
    plan_id: str
    status: str
    start: datetime
    end: datetime
    step_minutes: int
    created_at: datetime
    summary: dict[str, Any]
    plan_json: str
    inputs_json: str
    dispatch_json: str
    learning: dict[str, Any] = field(default_factory=dict)


def stored_plan(site: Site, plan: Any, inputs: pd.DataFrame) -> StoredPlan:
    """What the database keeps of ``plan`` of ``site`` made on ``inputs``, serialised."""
    full = plan.to_dict()
    summary = full["metadata"]
    table = plan.table
    return StoredPlan(
        plan_id=str(plan.plan_id),
        status=str(plan.status),
        start=plan.start,
        end=plan.end,
        step_minutes=int(plan.step_minutes),
        created_at=plan.created_at,
        summary=summary,
        plan_json=json.dumps(full, separators=(",", ":"), allow_nan=False),
        inputs_json=inputs.to_json(orient="split", date_format="iso", date_unit="s"),
        dispatch_json=json.dumps(
            compact_table(site, table, int(plan.step_minutes)), separators=(",", ":")
        ),
    )


def solve_job(
    site: Site,
    index: pd.DatetimeIndex,
    weather: pd.DataFrame | None,
    overrides: pd.DataFrame | None,
    state: Any,
    mode: str,
    emission_budget_kgco2: float | None,
    time_limit_s: float,
    now: datetime,
    carbon_guard: bool | None = None,
    metered: Metered | None = None,
    limits: InputLimits | None = None,
    scenarios: int = 1,
) -> StoredPlan:
    """Build the inputs (learning from ``metered`` telemetry), apply the grid operator's
    ``limits``, and solve the LP (over ``scenarios`` P10/P50/P90 scenarios when 3); errors
    propagate to the caller."""
    from optimizer.inputs import build_inputs
    from optimizer.planner import make_plan

    overrides, history, learning = learned_inputs(site, index, weather, overrides, metered)
    inputs = build_inputs(site, index, weather=weather, history=history, overrides=overrides)
    inputs = apply_limits(inputs, limits)
    plan = make_plan(
        site, index, inputs, state, mode=mode, emission_budget_kgco2=emission_budget_kgco2,
        time_limit_s=time_limit_s, now=now, carbon_guard=carbon_guard, scenarios=scenarios,
    )
    return replace(stored_plan(site, plan, inputs), learning=learning)


def fallback_job(site: Site, index: pd.DatetimeIndex, state: Any, now: datetime,
                 limits: InputLimits | None = None) -> StoredPlan:
    """The rule-based dispatch for ``index`` on the default inputs (within ``limits``)."""
    from optimizer.baseline import rule_based_plan
    from optimizer.inputs import build_inputs

    inputs = apply_limits(build_inputs(site, index), limits)
    return stored_plan(site, rule_based_plan(site, inputs, state, now=now), inputs)


#: How often a worker checks that the server process that started it is alive [s].
PARENT_CHECK_S = 0.5


def exit_with_parent(parent_pid: int) -> None:
    """Pool initializer: end this worker as soon as ``parent_pid`` is gone (killed with
    ``kill -9``, it cannot stop its workers itself)."""
    import os
    import threading

    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_S)
            if os.getppid() != parent_pid:
                os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def warm_up() -> bool:
    """Import the heavy libraries once in a fresh worker so the first solve is not slow."""
    import optimizer.inputs  # noqa: F401

    return True
