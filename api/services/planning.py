"""Making plans: build the index and inputs of a request, solve in the pool, store the plan
and move the current pointer, all or nothing.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.schemas import PlanRequest, StateIn, WeatherIn
from api.services import jobs
from api.services.changes import PLANS, record_change
from api.services.errors import Invalid, ServiceError, SolveFailed
from api.services.learning import MeterBook, accuracy_job
from api.services.limit_inputs import InputLimits
from api.services.plans import summary_of
from api.services.pool import SolvePool
from api.services.sites import SiteBook
from api.settings import Settings
from api.store import CurrentPlan, PlanRow, SiteVersion, Store
from forecasting.learn import WINDOW_DAYS
from optimizer.state import State, legacy_names
from sites.schema import Site
from sites.timeindex import PLAN_WINDOW_DAYS, day_index, horizon_index

#: Solver outcomes that may become the current plan; any other leaves the pointer in place.
ACCEPTED_STATUSES = frozenset({"optimal", "time_limit"})

#: The parts of a plan request that re-plans and scheduled plans inherit (the manager's goal).
GOAL_FIELDS = ("mode", "emission_budget_kgco2", "carbon_guard", "scenarios")

def local_day(site: Site, moment: datetime) -> date:
    return moment.astimezone(site.tz).date()


def state_data(body: Any) -> dict[str, Any]:
    """The state part of a request or telemetry body (a model or its stored JSON): ``values``
    and the former per-kind fields that were given, as ``optimizer.state.State`` takes them."""
    data = body.model_dump(exclude_none=True) if hasattr(body, "model_dump") else dict(body)
    names = {"values", *legacy_names()}
    return {k: v for k, v in data.items() if k in names and v is not None}


def checked_state(site: Site, data: dict[str, Any], prefix: str) -> tuple[State, list[str]]:
    """An unresolved ``State`` from body data, and what in it does not fit ``site``."""
    state = State.model_validate(data)
    return state, state.errors(site, prefix)


def make_state(site: Site, state: StateIn | dict[str, Any] | State | None) -> State | None:
    """An ``optimizer.state.State`` from request data, checked against the site."""
    if state is None:
        return None
    if not isinstance(state, State):
        state = State.model_validate(state_data(state))
    errors = state.errors(site, "state")
    if errors:
        raise Invalid("the state does not fit the site", errors)
    return state


def weather_frame(weather: WeatherIn | None) -> pd.DataFrame | None:
    if weather is None:
        return None
    columns: dict[str, Any] = {}
    for key, values in weather.model_dump(exclude={"time"}).items():
        if isinstance(values, dict):  # per-array sensors: <array>.<quantity>
            columns.update({f"{name}.{key}": series for name, series in values.items()})
        elif values is not None:
            columns[key] = values
    if not columns:
        series = ", ".join(k for k in WeatherIn.model_fields if k != "time")
        raise Invalid("bad weather", [f"weather: give at least one series with time: {series}"])
    index = pd.DatetimeIndex(pd.to_datetime(weather.time, utc=True), name="time")
    if not index.is_monotonic_increasing or index.has_duplicates:
        raise Invalid("bad weather", ["weather.time: must be strictly increasing"])
    return pd.DataFrame(columns, index=index)


def overrides_frame(
    overrides: dict[str, list[float]] | None, index: pd.DatetimeIndex
) -> pd.DataFrame | None:
    if overrides is None:
        return None
    errors = [
        f"overrides.{name}: needs one value per interval ({len(index)}), got {len(values)}"
        for name, values in overrides.items() if len(values) != len(index)
    ]
    if errors:
        raise Invalid("bad overrides", errors)
    return pd.DataFrame(overrides, index=index, dtype=float)


def inherited_inputs(
    site: Site, replaced: PlanRow | None, index: pd.DatetimeIndex
) -> pd.DataFrame | None:
    """The inputs a re-plan keeps from the plan it replaces, on ``index``: the columns that
    plan's request overrode, and the PV it made from weather the request carried."""
    if replaced is None:
        return None
    asked = json.loads(replaced.request_json or "{}")
    columns = list(asked.get("override_columns") or [])
    if asked.get("weather_source") == "request":
        columns += [c for c in _input_names(site) if c.endswith(".available_kw")]
    if not columns:
        return None
    from io import StringIO

    given = pd.read_json(StringIO(replaced.inputs_json), orient="split")
    given.index = pd.DatetimeIndex(given.index, tz="UTC") if given.index.tz is None else given.index
    kept = given.reindex(index)[[c for c in dict.fromkeys(columns) if c in given.columns]]
    kept = kept.dropna(axis=1)  # columns the old horizon does not cover are made anew
    return kept if len(kept.columns) else None


def _input_names(site: Site) -> list[str]:
    from optimizer.inputs import input_columns

    return list(input_columns(site))
def with_limits(stored: jobs.StoredPlan, request: dict, limits: InputLimits | None
                ) -> tuple[jobs.StoredPlan, dict]:
    """The plan and its request, naming the grid operator's limits it was made within (the
    compact array carries them to dispatch)."""
    if limits is None:
        return stored, request
    compact = {**json.loads(stored.dispatch_json), "limits": list(limits.records)}
    stored = dataclasses.replace(stored, dispatch_json=json.dumps(compact, separators=(",", ":")))
    return stored, {**request, "limits": list(limits.records)}


class PlanService:
    """Solves plans in the pool and records them; calls ``on_moved(site)`` after a pointer move."""

    def __init__(
        self, store: Store, settings: Settings, sites: SiteBook, on_moved: Callable[[str], None],
        limits: Callable[[Site, pd.DatetimeIndex], InputLimits | None] | None = None,
    ):
        self._store = store
        self._settings = settings
        self._sites = sites
        self._on_moved = on_moved
        self._limits = limits or (lambda _site, _index: None)
        self.pool = SolvePool(settings)
        self.meters = MeterBook(store)

    def close(self) -> None:
        self.pool.close()

    def _time_limit(self, asked: float | None) -> float:
        cap = self._settings.solve_time_limit_s
        return min(asked, cap) if asked is not None else cap

    def request(self, name: str, req: PlanRequest, now: datetime, kind: str = "") -> dict:
        """Plan what ``req`` asks for; returns the summary of the new current plan."""
        site, sv = self._sites.latest(name)
        window = timedelta(days=PLAN_WINDOW_DAYS)
        if req.date is not None and abs(req.date - local_day(site, now)) > window:
            raise Invalid("date out of range", [f"date: must lie within {PLAN_WINDOW_DAYS} days "
                                                f"of today, got {req.date.isoformat()}"])
        if req.start is not None and abs(req.start - now) > window:
            raise Invalid("start out of range", [f"start: must lie within {PLAN_WINDOW_DAYS} "
                                                 f"days of now, got {req.start.isoformat()}"])
        if req.date is not None:
            index = day_index(site, req.date, req.days)
        else:
            index = horizon_index(site, req.start or now, req.horizon_hours or 0)
        state = make_state(site, req.state)
        weather = weather_frame(req.weather)
        request = req.model_dump(mode="json", exclude={"weather", "overrides"})
        if weather is not None:
            from forecasting.quality import check_irradiance, weather_gaps
            from forecasting.weather import WeatherError

            try:
                check_irradiance(weather)
            except WeatherError as exc:
                raise Invalid("bad weather", [f"weather.{exc}"]) from None
            gaps = weather_gaps(weather, index[0], index[-1] + site.step, site.tz)
            if gaps:
                request["weather_filled"] = gaps
        request["horizon_end"] = (index[-1] + site.step).isoformat()
        request["weather_source"] = "request" if req.weather is not None else "clear sky"
        request["override_columns"] = sorted(req.overrides or {})
        return self.solve(
            site, sv, index, kind or ("day" if req.date else "horizon"), now, request,
            weather=weather, overrides=overrides_frame(req.overrides, index),
            state=state, mode=req.mode, budget=req.emission_budget_kgco2,
            time_limit_s=self._time_limit(req.time_limit_s), carbon_guard=req.carbon_guard,
            scenarios=req.scenarios,
        )

    def _replaced(self, name: str, day: date) -> PlanRow | None:
        """The plan a new plan of ``day`` replaces: the day's current plan, else the site's
        latest current plan before that day (for its goal only)."""
        with self._store.reader() as s:
            plan_id = self._store.pointer(s, name, day)
            if plan_id is None:
                plan_id = s.scalar(
                    select(CurrentPlan.plan_id)
                    .where(CurrentPlan.site == name, CurrentPlan.local_day < day)
                    .order_by(CurrentPlan.local_day.desc())
                    .limit(1)
                )
            return None if plan_id is None else s.get(PlanRow, plan_id)

    def goal_of(self, name: str, day: date) -> tuple[dict[str, Any], PlanRow | None]:
        """The goal (``GOAL_FIELDS``) of the plan a new plan of ``day`` replaces, and that
        plan when it is the day's own."""
        row = self._replaced(name, day)
        if row is None:
            return {}, None
        asked = json.loads(row.request_json or "{}")
        goal = {k: asked[k] for k in GOAL_FIELDS if asked.get(k) is not None}
        if "inherited" in asked:  # a re-plan's goal is the one it inherited
            goal = {**asked["inherited"], **goal}
        return goal, row if row.local_day == day else None
    def forecast_accuracy(self, name: str, days: int, now: datetime) -> dict:
        """The accuracy of the site's PV forecasts over its last ``days`` local days."""
        site, _ = self._sites.latest(name)
        metered = self.meters.metered(site, now, days=days + WINDOW_DAYS)
        arrays = self.pool.run(accuracy_job, site, metered, days, now,
                               wait_s=self._settings.solve_time_limit_s)
        return {"site": name, "days": days, "end": now, "window_days": WINDOW_DAYS,
                "readings": metered.readings, "arrays": arrays}

    def plan_tomorrow(self, name: str, now: datetime) -> dict:
        """The automatic plan: the site's next local day, with the goal of the plan it
        replaces (the day's current plan, else the site's latest)."""
        site, _ = self._sites.latest(name)
        tomorrow = local_day(site, now) + timedelta(days=1)
        goal, _ = self.goal_of(name, tomorrow)
        return self.request(name, PlanRequest(date=tomorrow, **goal), now, kind="auto")

    def replan_rest_of_day(
        self, site: Site, sv: SiteVersion, at: datetime, state: Any, now: datetime
    ) -> dict:
        """Re-plan from the interval containing ``at`` to the end of its local day, with the
        goal and the given inputs (overrides, weather-derived PV) of the plan it replaces."""
        day = local_day(site, at)
        full = day_index(site, day)
        index = full[full + site.step > pd.Timestamp(at)]  # from the interval containing `at`
        goal, replaced = self.goal_of(site.name, day)
        overrides = inherited_inputs(site, replaced, index)
        request = {
            "replan_from": at.isoformat(), "state": state.model_dump() if state else None,
            "horizon_end": (index[-1] + site.step).isoformat(), "inherited": goal,
            "inherited_from": replaced.plan_id if replaced is not None else None,
            "override_columns": sorted(overrides.columns) if overrides is not None else [],
            **goal,
        }
        return self.solve(
            site, sv, index, "replan", now, request, weather=None, overrides=overrides,
            state=state, mode=goal.get("mode", "cost"),
            budget=goal.get("emission_budget_kgco2"), time_limit_s=self._time_limit(None),
            carbon_guard=goal.get("carbon_guard"), scenarios=goal.get("scenarios", 1),
        )

    def solve(
        self, site: Site, sv: SiteVersion, index: pd.DatetimeIndex, kind: str, now: datetime,
        request: dict, *, weather: pd.DataFrame | None, overrides: pd.DataFrame | None,
        state: Any, mode: str, budget: float | None, time_limit_s: float,
        carbon_guard: bool | None = None, scenarios: int = 1,
    ) -> dict:
        wait_s = time_limit_s + self._settings.solve_wait_margin_s
        limits = self._limits(site, index)
        try:
            stored = self.pool.run(
                jobs.solve_job, site, index, weather, overrides, state, mode, budget,
                time_limit_s, now, carbon_guard, self.meters.metered(site, now), limits,
                scenarios, wait_s=wait_s,
            )
        except ServiceError:
            raise
        except ValueError as exc:  # PlanningError, InfeasibleError, bad overrides
            raise SolveFailed(f"planning failed: {exc}; the current plan is unchanged") from None
        except Exception as exc:  # noqa: BLE001 - any solver crash is reported, not raised
            raise SolveFailed(
                f"planning failed ({type(exc).__name__}: {exc}); the current plan is unchanged",
                status_code=503,
            ) from None
        if stored.status not in ACCEPTED_STATUSES:
            raise SolveFailed(
                f"the solver ended with status {stored.status!r}; the current plan is unchanged"
            )
        if stored.learning:
            request = {**request, "forecast_learning": stored.learning}
        days = sorted({local_day(site, t.to_pydatetime()) for t in index})
        stored, request = with_limits(stored, request, limits)
        return self.record(site.name, sv, days, kind, stored, request, now, point=True)

    def fallback(self, site: Site, index: pd.DatetimeIndex, state: Any, now: datetime
                 ) -> jobs.StoredPlan:
        """The rule-based plan for ``index`` within the grid operator's limits, computed in
        the calling thread: it is cheap, and it must not depend on the solve pool, which may
        be full or broken."""
        limits = self._limits(site, index)
        stored = jobs.fallback_job(site, index, state, now, limits)
        return with_limits(stored, {}, limits)[0]

    def record(
        self, name: str, sv: SiteVersion, days: list[date], kind: str, stored: jobs.StoredPlan,
        request: dict, now: datetime, *, point: bool,
    ) -> dict:
        """Insert the plan and (if ``point``) make it current for each local day it touches;
        see :func:`store_plan`."""
        row, current = store_plan(self._store, name, sv, days, kind, stored, request, now,
                                  point=point, keep=self._settings.superseded_plans_kept)
        if point:
            self._on_moved(name)
        return summary_of(row, sv.version, current)


def store_plan(
    store: Store, name: str, sv: SiteVersion, days: list[date], kind: str,
    stored: jobs.StoredPlan, request: dict, now: datetime, *, point: bool,
    keep: int | None = None,
) -> tuple[PlanRow, bool]:
    """Insert the plan and (if ``point``) make it current for each local day it touches, in one
    transaction that also tells other processes (the change feed); returns the row and whether
    it is current. The plan's ``local_day`` is the first of ``days``. A plan id that is already
    stored raises ``IntegrityError``. ``keep``: prune the site-day's superseded plans to that
    many (``prune_plans``)."""
    row = PlanRow(
        plan_id=stored.plan_id, site=name, site_version_id=sv.id, local_day=days[0],
        kind=kind, status=stored.status, start=stored.start, end=stored.end,
        step_minutes=stored.step_minutes, created_at=stored.created_at, requested_at=now,
        summary_json=json.dumps(stored.summary, separators=(",", ":"), allow_nan=False),
        request_json=json.dumps(request, separators=(",", ":"), default=str),
        inputs_json=stored.inputs_json, plan_json=stored.plan_json,
        dispatch_json=stored.dispatch_json,
    )
    with store.writer() as s:
        s.add(row)
        s.flush()
        if point:
            for day in days:
                store.upsert_pointer(s, name, day, stored.plan_id, now, now)
        record_change(s, PLANS, name, now)
        current = point and store.pointer(s, name, days[0]) == stored.plan_id
        if keep is not None:
            prune_plans(s, name, days[0], kind == "fallback", keep)
    return row, current


def prune_plans(s: Session, name: str, day: date, fallback: bool, keep: int) -> None:
    """Retention: of the site-day's plans that are no current plan, keep the newest ``keep``
    (solved and fallback plans counted apart), delete the rest."""
    kind = PlanRow.kind == "fallback" if fallback else PlanRow.kind != "fallback"
    current = select(CurrentPlan.plan_id).where(CurrentPlan.site == name)
    old = (select(PlanRow.plan_id).where(
        PlanRow.site == name, PlanRow.local_day == day, kind, PlanRow.plan_id.not_in(current)
    ).order_by(PlanRow.created_at.desc(), PlanRow.plan_id).offset(keep))
    doomed = list(s.scalars(old))
    if doomed:
        s.execute(delete(PlanRow).where(PlanRow.plan_id.in_(doomed)))
