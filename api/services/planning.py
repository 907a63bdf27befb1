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

from api.schemas import PlanRequest, StateIn, WeatherIn
from api.services import jobs
from api.services.errors import Invalid, ServiceError, SolveFailed
from api.services.limit_inputs import InputLimits
from api.services.plans import summary_of
from api.services.pool import SolvePool
from api.services.sites import SiteBook
from api.settings import Settings
from api.store import PlanRow, SiteVersion, Store
from sites.schema import Battery, Digester, Genset, ShiftableLoad, Site
from sites.timeindex import day_index, horizon_index

#: How far from today a plan may start [days].
PLAN_WINDOW_DAYS = 3660
#: Solver outcomes that may become the current plan; any other leaves the pointer in place.
ACCEPTED_STATUSES = frozenset({"optimal", "time_limit"})

#: Which devices each state entry may name, and the level it must not exceed.
_STATE_DEVICES: dict[str, tuple[type, Callable[[Any], float] | None]] = {
    "battery_soc_kwh": (Battery, lambda d: d.capacity_kwh),
    "holder_m3": (Digester, lambda d: d.holder_max_m3),
    "served_kwh": (ShiftableLoad, lambda d: d.energy_kwh),
    "genset_kw": (Genset, lambda d: d.rated_kw),
}


def local_day(site: Site, moment: datetime) -> date:
    return moment.astimezone(site.tz).date()


def state_errors(site: Site, state: dict[str, dict[str, float]], prefix: str) -> list[str]:
    """Each state entry must name a device of the right kind and stay within its size."""
    errors = []
    for field, entries in state.items():
        kind, limit = _STATE_DEVICES[field]
        names = {d.name: d for d in site.of_type(kind)}
        for name, value in entries.items():
            device = names.get(name)
            if device is None:
                known = ", ".join(sorted(names)) or "none"
                errors.append(f"{prefix}.{field}.{name}: no {kind.__name__} named {name!r} "
                              f"in site {site.name!r} (known: {known})")
            elif limit is not None and value > limit(device) * (1 + 1e-9):
                errors.append(
                    f"{prefix}.{field}.{name}: must be ≤ {limit(device):g}, got {value:g}"
                )
    return errors


def make_state(site: Site, state: StateIn | dict[str, dict[str, float]] | None) -> Any:
    """An ``optimizer.state.State`` from request data, checked against the site."""
    if state is None:
        return None
    from optimizer.state import State

    data = state.model_dump() if isinstance(state, StateIn) else state
    errors = state_errors(site, data, "state")
    if errors:
        raise Invalid("the state does not fit the site", errors)
    return State(**data)


def weather_frame(weather: WeatherIn | None) -> pd.DataFrame | None:
    if weather is None:
        return None
    columns = {k: v for k, v in weather.model_dump(exclude={"time"}).items() if v is not None}
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


def with_limits(stored: jobs.StoredPlan, request: dict, limits: InputLimits | None
                ) -> tuple[jobs.StoredPlan, dict]:
    """The plan and its request, naming the grid operator's limits it was made within (the
    compact array carries them to dispatch)."""
    if limits is None:
        return stored, request
    compact = {**json.loads(stored.dispatch_json), "limits": list(limits.records)}
    stored = dataclasses.replace(stored, dispatch_json=json.dumps(compact, separators=(",", ":")))
    return stored, {**request, "limits": list(limits.records)}


class Planner:
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
        request = req.model_dump(mode="json", exclude={"weather", "overrides"})
        request["weather_given"] = req.weather is not None
        request["override_columns"] = sorted(req.overrides or {})
        return self.solve(
            site, sv, index, kind or ("day" if req.date else "horizon"), now, request,
            weather=weather_frame(req.weather), overrides=overrides_frame(req.overrides, index),
            state=state, mode=req.mode, budget=req.emission_budget_kgco2,
            time_limit_s=self._time_limit(req.time_limit_s),
        )

    def plan_tomorrow(self, name: str, now: datetime) -> dict:
        """The automatic plan: the site's next local day."""
        site, _ = self._sites.latest(name)
        tomorrow = local_day(site, now) + timedelta(days=1)
        return self.request(name, PlanRequest(date=tomorrow), now, kind="auto")

    def replan_rest_of_day(
        self, site: Site, sv: SiteVersion, at: datetime, state: Any, now: datetime
    ) -> dict:
        """Re-plan from the interval containing ``at`` to the end of its local day."""
        full = day_index(site, local_day(site, at))
        index = full[full + site.step > pd.Timestamp(at)]  # from the interval containing `at`
        request = {"replan_from": at.isoformat(), "state": state.model_dump() if state else None}
        return self.solve(
            site, sv, index, "replan", now, request, weather=None, overrides=None, state=state,
            mode="cost", budget=None, time_limit_s=self._time_limit(None),
        )

    def solve(
        self, site: Site, sv: SiteVersion, index: pd.DatetimeIndex, kind: str, now: datetime,
        request: dict, *, weather: pd.DataFrame | None, overrides: pd.DataFrame | None,
        state: Any, mode: str, budget: float | None, time_limit_s: float,
    ) -> dict:
        wait_s = time_limit_s + self._settings.solve_wait_margin_s
        limits = self._limits(site, index)
        try:
            stored = self.pool.run(
                jobs.solve_job, site, index, weather, overrides, state, mode, budget,
                time_limit_s, now, limits, wait_s=wait_s,
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
        days = sorted({local_day(site, t.to_pydatetime()) for t in index})
        stored, request = with_limits(stored, request, limits)
        return self.record(site.name, sv, days, kind, stored, request, now, point=True)

    def make_fallback(
        self, site: Site, sv: SiteVersion, index: pd.DatetimeIndex, state: Any, now: datetime
    ) -> str:
        """Store the rule-based plan for ``index`` (never made current); returns its id."""
        limits = self._limits(site, index)
        try:
            stored = self.pool.run(
                jobs.fallback_job, site, index, state, now, limits,
                wait_s=self._settings.solve_time_limit_s + self._settings.solve_wait_margin_s,
            )
        except ServiceError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported to the controller, not raised
            raise SolveFailed(
                f"no plan covers this moment and the rule-based fallback failed "
                f"({type(exc).__name__}: {exc})", status_code=503,
            ) from None
        day = local_day(site, index[0].to_pydatetime())
        stored, request = with_limits(stored, {"fallback_from": index[0].isoformat()}, limits)
        self.record(site.name, sv, [day], "fallback", stored, request, now, point=False)
        return stored.plan_id

    def record(
        self, name: str, sv: SiteVersion, days: list[date], kind: str, stored: jobs.StoredPlan,
        request: dict, now: datetime, *, point: bool,
    ) -> dict:
        """Insert the plan and (if ``point``) make it current for each local day it touches,
        in one transaction. The plan's ``local_day`` is the first of them."""
        row = PlanRow(
            plan_id=stored.plan_id, site=name, site_version_id=sv.id, local_day=days[0],
            kind=kind, status=stored.status, start=stored.start, end=stored.end,
            step_minutes=stored.step_minutes, created_at=stored.created_at, requested_at=now,
            summary_json=json.dumps(stored.summary, separators=(",", ":"), allow_nan=False),
            request_json=json.dumps(request, separators=(",", ":"), default=str),
            inputs_json=stored.inputs_json, plan_json=stored.plan_json,
            dispatch_json=stored.dispatch_json,
        )
        with self._store.writer() as s:
            s.add(row)
            s.flush()
            if point:
                for day in days:
                    self._store.upsert_pointer(s, name, day, stored.plan_id, now, now)
            current = point and self._store.pointer(s, name, days[0]) == stored.plan_id
        if point:
            self._on_moved(name)
        return summary_of(row, sv.version, current)
