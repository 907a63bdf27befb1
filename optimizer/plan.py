"""Plans: the result of planning a site over a horizon, and ``make_plan`` that makes them.

A plan is metadata plus a table with one row per interval: the inputs it was made from and
the decisions, in ``<device>.<quantity>_<unit>`` columns, with per-interval ``cost``,
``emissions_kgco2`` and ``marginal_price_per_kwh``. Solving and turning results into the
table are separate steps (``optimizer.solve``, ``Planner._table``).
"""

from __future__ import annotations

import io
import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from optimizer.errors import PlanningError
from optimizer.state import State
from sites.schema import Site

MODES = ("cost", "carbon")
STATUSES = ("optimal", "time_limit", "fallback", "infeasible")
_META = (
    "plan_id", "site", "created_at", "start", "end", "step_minutes", "status", "solver",
    "solve_time_s", "objective_terms", "kpis", "baseline", "inputs_notes",
)  # fmt: skip


def _json_safe(value: Any) -> Any:
    """Numbers and containers as JSON allows them: NaN and inf become None."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _aware(text: str | None, what: str) -> datetime | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise PlanningError(f"{what} must carry a UTC offset, got {text!r}")
    return moment


@dataclass(frozen=True)
class Plan:
    """A plan of one site over one horizon (see DESIGN.md, *The plan*).

    ``created_at`` is the ``now`` given to ``make_plan`` (None when none was given);
    ``start`` and ``end`` are in the site's local time; ``table`` has a UTC index of interval
    starts named ``start``.
    """

    plan_id: str
    site: str
    created_at: datetime | None
    start: datetime
    end: datetime
    step_minutes: int
    status: str
    solver: str
    solve_time_s: float
    objective_terms: dict = field(default_factory=dict)
    kpis: dict = field(default_factory=dict)
    baseline: dict = field(default_factory=dict)
    #: how the inputs were made: factors with their sources, weather filled, the request
    inputs_notes: dict = field(default_factory=dict)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)

    @classmethod
    def create(
        cls, site: Site, table: pd.DataFrame, *, now: datetime | None = None, **fields: Any
    ) -> Plan:
        """A new plan of ``site`` over ``table``'s index: a fresh ``plan_id``, the horizon's
        local start and end, the site's step; ``fields`` give the rest."""
        index = table.index
        return cls(
            plan_id=uuid.uuid4().hex,
            site=site.name,
            created_at=now,
            start=index[0].tz_convert(site.tz).to_pydatetime(),
            end=(index[-1] + site.step).tz_convert(site.tz).to_pydatetime(),
            step_minutes=site.step_minutes,
            table=table,
            **fields,
        )

    def to_frame(self) -> pd.DataFrame:
        """The table (a copy): one row per interval, UTC index."""
        return self.table.copy()

    def metadata(self) -> dict[str, Any]:
        """Everything but the table, JSON-safe; times in ISO 8601 with their offset."""
        return _json_safe({k: getattr(self, k) for k in _META})

    def to_dict(self) -> dict[str, Any]:
        """``{"metadata": {...}, "records": [{"start": ISO time, column: value, ...}]}``.

        Record times carry the offset of ``start`` (the site's local time).
        """
        local = self.table.index.tz_convert(self.start.tzinfo)
        names = list(self.table.columns)
        values = self.table.to_numpy(dtype=float)
        records = []
        for moment, row in zip(local, values, strict=True):
            record: dict[str, Any] = {"start": moment.isoformat()}
            record.update(
                (n, v if math.isfinite(v) else None)
                for n, v in zip(names, row.tolist(), strict=True)
            )
            records.append(record)
        return {"metadata": self.metadata(), "records": records}

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)

    def to_csv(self) -> str:
        """The table as CSV, preceded by ``# key: JSON value`` lines holding the metadata."""
        out = io.StringIO()
        for key, value in self.metadata().items():
            out.write(f"# {key}: {json.dumps(value, ensure_ascii=False)}\n")
        frame = self.table.copy()
        frame.index = frame.index.tz_convert(self.start.tzinfo).map(lambda t: t.isoformat())
        frame.index.name = "start"
        frame.to_csv(out, float_format="%.10g")
        return out.getvalue()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        """The plan ``to_dict`` produced (times back to aware datetimes, table to UTC)."""
        meta = dict(data["metadata"])
        records = data.get("records", [])
        frame = pd.DataFrame.from_records(records)
        if len(frame):
            index = pd.DatetimeIndex(pd.to_datetime(frame.pop("start"), utc=True), name="start")
            frame.index = index
            frame = frame.astype(float)
        start = _aware(meta["start"], "start")
        end = _aware(meta["end"], "end")
        assert start is not None and end is not None
        return cls(
            plan_id=meta["plan_id"],
            site=meta["site"],
            created_at=_aware(meta.get("created_at"), "created_at"),
            start=start,
            end=end,
            step_minutes=int(meta["step_minutes"]),
            status=meta["status"],
            solver=meta["solver"],
            solve_time_s=float(meta["solve_time_s"]),
            objective_terms=meta.get("objective_terms") or {},
            kpis=meta.get("kpis") or {},
            baseline=meta.get("baseline") or {},
            inputs_notes=meta.get("inputs_notes") or {},
            table=frame,
        )


def make_plan(
    site: Site,
    index: pd.DatetimeIndex,
    inputs: pd.DataFrame | None = None,
    state: State | None = None,
    *,
    mode: str = "cost",
    emission_budget_kgco2: float | None = None,
    time_limit_s: float | None = None,
    mip_rel_gap: float | None = None,
    now: datetime | None = None,
    carbon_guard: bool | None = None,
    scenarios: int = 1,
) -> Plan:
    """Plan every device of ``site`` over ``index``.

    Parameters
    ----------
    site : Site
    index : DatetimeIndex
        Interval starts, tz-aware, at the site's step.
    inputs : DataFrame, optional
        Input columns (DESIGN.md); None: ``build_inputs(site, index)``.
    state : State, optional
        Initial state; missing entries default from the site file.
    mode : {"cost", "carbon"}
        Minimise cost (with the site's carbon price), or emissions first and cost second.
    emission_budget_kgco2 : float, optional
        Emissions allowed per local day [kgCO2e] (ε-constraint; a partial day gets its share).
    time_limit_s : float, optional
        Wall-clock limit of the solver [s]; a plan cut short has status ``time_limit``.
    mip_rel_gap : float, optional
        Relative optimality gap for models with commitment (MILP).
    now : datetime, optional
        Stamps ``created_at``; nothing else depends on it.
    carbon_guard : bool, optional
        In ``cost`` mode, emit no more than the rule-based dispatch on the same inputs;
        None: the site's ``carbon_guard`` (on by default).
    scenarios : {1, 3}
        1: the deterministic plan; 3: hedged over P10/P50/P90 scenarios of PV and load
        (``optimizer.scenarios``, docs/formulation.md, *Scenario plans*).

    Serving load comes first in every mode: the plan sheds the least energy any schedule
    can, and emission limits give way to that (docs/formulation.md, *Order of goals*).

    Raises
    ------
    PlanningError
        Bad inputs, or no plan within the time limit.
    InfeasibleError
        The site's parameters contradict one another; the message names them.
    """
    if scenarios != 1:
        from optimizer.scenarios import scenario_plan

        return scenario_plan(
            site, index, inputs, state, scenarios=scenarios, mode=mode,
            emission_budget_kgco2=emission_budget_kgco2, time_limit_s=time_limit_s, now=now,
            carbon_guard=carbon_guard,
        )
    from optimizer.planner import Planner

    return Planner(keep=1).plan(
        site,
        index,
        inputs,
        state,
        mode=mode,
        emission_budget_kgco2=emission_budget_kgco2,
        time_limit_s=time_limit_s,
        mip_rel_gap=mip_rel_gap,
        now=now,
        carbon_guard=carbon_guard,
    )


def __getattr__(name: str) -> Any:
    """``Planner`` lives in ``optimizer.planner``; it is also reachable from here."""
    if name == "Planner":
        from optimizer.planner import Planner

        return Planner
    raise AttributeError(f"module 'optimizer.plan' has no attribute {name!r}")
