"""Limits from the grid operator: validated, stored as received, and planned with.

A posted limit re-plans what it touches: the rest of today (from the interval containing
now, from the state the current plan expects there) and each later day that already has a current
plan. Every later plan and fallback of those periods applies it too (the plan service asks
:meth:`LimitBook.for_index`). A failed re-plan leaves the limit stored and says why.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select

from api.schemas import LimitIn, PlanRequest
from api.services.compact import CompactPlan
from api.services.dispatch import Dispatcher
from api.services.errors import Invalid, SolveFailed
from api.services.limit_inputs import InputLimits, Limit, input_limits, limit_errors
from api.services.planning import PlanService, local_day, make_state
from api.services.sites import SiteBook
from api.services.telemetry import merged, plan_frame, served_so_far
from api.store import GridLimitRow, Store
from optimizer.state import State
from sites.schema import Site

#: How far ahead a limit may start [days].
LIMIT_WINDOW_DAYS = 31
#: How far ahead a limit may end [days] (a standing cap is re-posted each decade).
LIMIT_END_DAYS = 3660
#: Later days re-planned when a limit arrives: those with a plan, up to this far ahead [days].
REPLAN_AHEAD_DAYS = 7
def limit_of(row: GridLimitRow) -> Limit:
    return Limit(row.id, row.kind, row.start, row.end, row.cap_kw, row.device, row.source,
                 row.reference)


def limit_out(row: GridLimitRow) -> dict[str, Any]:
    return {"limit_id": row.id, "site": row.site, "kind": row.kind, "device": row.device,
            "cap_kw": row.cap_kw, "start": row.start, "end": row.end, "source": row.source,
            "reference": row.reference, "via": row.via, "received_at": row.received_at}


def planned_state(site: Site, plan: CompactPlan | None, at: datetime) -> State:
    """The state the plan expects at the start of the interval containing ``at``: each
    declared quantity from its carrying column (``State.from_plan``), and the energy served
    so far (``served_so_far``)."""
    i = None if plan is None else plan.position(int(at.timestamp()))
    if plan is None or i is None:
        return State.from_site(site)
    start = pd.Timestamp(plan.starts[i], unit="s", tz="UTC")
    carried = State.from_plan(site, plan_frame(plan), start)
    served = {name: {"served_kwh": kwh} for name, kwh in served_so_far(site, plan, at).items()}
    return State(values=merged(carried.values, served))


class LimitBook:
    """Stored limits; the plan service asks it which apply to an index."""

    def __init__(self, store: Store):
        self._store = store

    def rows(self, site: str, start: datetime, end: datetime | None = None
             ) -> list[GridLimitRow]:
        """Limits of ``site`` that overlap ``[start, end)`` (no end: all after ``start``),
        oldest first."""
        query = select(GridLimitRow).where(GridLimitRow.site == site, GridLimitRow.end > start)
        if end is not None:
            query = query.where(GridLimitRow.start < end)
        with self._store.reader() as s:
            return list(s.scalars(query.order_by(GridLimitRow.id)))

    def for_index(self, site: Site, index: pd.DatetimeIndex) -> InputLimits | None:
        start = index[0].to_pydatetime()
        end = (index[-1] + pd.Timedelta(site.step)).to_pydatetime()
        return input_limits(site, index, [limit_of(r) for r in self.rows(site.name, start, end)])

    def add(self, site: str, body: LimitIn, now: datetime, via: str) -> GridLimitRow:
        row = GridLimitRow(site=site, kind=body.kind, device=body.device, cap_kw=body.cap_kw,
                           start=body.start, end=body.end, source=body.source,
                           reference=body.reference, via=via, received_at=now)
        with self._store.writer() as s:
            s.add(row)
        return row


class LimitDesk:
    def __init__(self, book: LimitBook, sites: SiteBook, dispatcher: Dispatcher,
                 plan_service: PlanService):
        self.book = book
        self._sites = sites
        self._dispatcher = dispatcher
        self._plan_service = plan_service

    def post(self, name: str, body: LimitIn, now: datetime, via: str = "http") -> dict[str, Any]:
        """Validate and store a limit, then re-plan what it touches."""
        site, sv = self._sites.latest(name)
        errors = limit_errors(site, body.kind, body.device)
        if body.end <= now:
            errors.append(f"end: must be in the future, got {body.end.isoformat()}")
        if body.start - now > timedelta(days=LIMIT_WINDOW_DAYS):
            errors.append(f"start: must lie within {LIMIT_WINDOW_DAYS} days of now, got "
                          f"{body.start.isoformat()}")
        if now - body.start > timedelta(days=LIMIT_END_DAYS):
            errors.append(f"start: must lie within {LIMIT_END_DAYS} days of now, got "
                          f"{body.start.isoformat()}")
        if body.end - now > timedelta(days=LIMIT_END_DAYS):
            errors.append(f"end: must lie within {LIMIT_END_DAYS} days of now, got "
                          f"{body.end.isoformat()}")
        if errors:
            raise Invalid("the limit does not fit the site", errors)
        row = self.book.add(name, body, now, via)
        out: dict[str, Any] = {**limit_out(row), "replanned": False, "plans": []}
        try:
            out["plans"] = self._replan(site, sv, body, now)
        except SolveFailed as exc:
            out["replan_error"] = exc.message
        out["replanned"] = bool(out["plans"])
        return out

    def _replan(self, site: Site, sv: Any, body: LimitIn, now: datetime) -> list[dict]:
        today = local_day(site, now)
        first = local_day(site, max(body.start, now))
        last = min(local_day(site, body.end - timedelta(microseconds=1)),
                   today + timedelta(days=REPLAN_AHEAD_DAYS))
        plans = []
        for offset in range((last - first).days + 1):
            day = first + timedelta(days=offset)
            plan = self._dispatcher.current_plan(site.name, day)
            if day == today:
                state = make_state(site, planned_state(site, plan, now))
                plans.append(self._plan_service.replan_rest_of_day(site, sv, now, state, now))
            elif plan is not None:  # a later day that already has a plan
                plans.append(self._plan_service.request(site.name, PlanRequest(date=day), now,
                                                   kind="limits"))
        return plans

    def list(self, name: str, since: datetime, now: datetime) -> list[dict[str, Any]]:
        """Limits of ``name`` that end after ``since``."""
        self._sites.row(name)
        if abs(since - now) > timedelta(days=LIMIT_END_DAYS):
            raise Invalid("since is out of range",
                          [f"since: must lie within {LIMIT_END_DAYS} days of now, got "
                           f"{since.isoformat()}"])
        return [limit_out(r) for r in self.book.rows(name, since)]
