"""What the pages show, gathered from the stores: the sites a key may see with today's
status, the plan of a site's day, the plan versions of a day to compare.

A day is shown by the first of: its current plan (``current``); the newest other plan that
covers part of it (``stale``, the last good plan); its rule-based fallback plan
(``fallback``); the same order dispatch serves controllers in.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import case, select

from api.services.container import Services
from api.services.errors import NotFound
from api.services.keys import Principal, may_read_site
from api.store import PlanRow
from optimizer.explain import Explanation, explain
from optimizer.plan import Plan
from sites.schema import Site

UNGROUPED = ""  #: county or township of a site that names none


@dataclass(frozen=True)
class Shown:
    """A stored plan as a page shows it."""

    plan: Plan
    site: Site
    summary: dict[str, Any]
    state: str  #: current, stale, fallback, or superseded (an older version picked by id)
    mode: str
    explanation: Explanation

    def age(self, now: datetime) -> timedelta:
        return now - self.summary["created_at"]


@dataclass(frozen=True)
class SiteCard:
    name: str
    description: str
    day: date
    shown: Shown | None


@dataclass
class Township:
    name: str
    sites: list[SiteCard] = field(default_factory=list)


@dataclass
class County:
    name: str
    townships: list[Township] = field(default_factory=list)


def day_bounds(site: Site, day: date) -> tuple[datetime, datetime]:
    start = pd.Timestamp(day, tz=site.tz)
    return start.to_pydatetime(), (start + pd.Timedelta(days=1)).to_pydatetime()


class ParsedPlans:
    """Plans already parsed and explained, by id (stored plans never change); the oldest
    entries are dropped beyond ``limit``."""

    def __init__(self, limit: int = 256):
        self._limit = limit
        self._data: dict[str, tuple[Plan, Site, Explanation]] = {}
        self._lock = threading.Lock()

    def get(self, plan_id: str) -> tuple[Plan, Site, Explanation] | None:
        return self._data.get(plan_id)

    def put(self, plan_id: str, value: tuple[Plan, Site, Explanation]) -> None:
        with self._lock:
            while len(self._data) >= self._limit:
                self._data.pop(next(iter(self._data)))
            self._data[plan_id] = value


class Pages:
    """The page data of one app instance."""

    def __init__(self, services: Services, parsed: ParsedPlans | None = None):
        self._services = services
        self._parsed = parsed if parsed is not None else ParsedPlans()

    def visible(self, principal: Principal) -> list[Site]:
        """Latest versions of the sites ``principal`` may read, by name."""
        books = self._services.sites
        return [books.site(row) for row in books.list_latest()
                if may_read_site(principal, row.site)]

    def site(self, name: str) -> Site:
        return self._services.sites.latest(name)[0]

    def _pick(self, site: Site, day: date) -> tuple[str, str] | None:
        """The plan id that shows ``day`` and its state (see the module's docstring)."""
        try:
            return self._services.plans.current_id(site.name, day), "current"
        except NotFound:
            pass
        start, end = day_bounds(site, day)
        with self._services.store.reader() as s:
            row = s.execute(
                select(PlanRow.plan_id, PlanRow.kind)
                .where(PlanRow.site == site.name, PlanRow.start < end, PlanRow.end > start)
                .order_by(case((PlanRow.kind == "fallback", 1), else_=0),
                          PlanRow.requested_at.desc(), PlanRow.created_at.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return row.plan_id, "fallback" if row.kind == "fallback" else "stale"

    def shown(self, site: Site, day: date, plan_id: str | None = None) -> Shown | None:
        """The plan of ``day`` (or the plan ``plan_id`` of the site), ready for a page."""
        if plan_id is None:
            picked = self._pick(site, day)
            if picked is None:
                return None
            plan_id, state = picked
        else:
            state = ""
        parsed = self._parsed.get(plan_id)
        if parsed is None:
            summary, text = self._services.plans.document(plan_id)
        else:
            summary = self._services.plans.summary(plan_id)
        if summary["site"] != site.name:
            raise NotFound(f"site {site.name!r} has no plan with id {plan_id!r}")
        if parsed is None:
            plan = Plan.from_dict(json.loads(text))
            planned = self._services.sites.site(
                self._services.sites.row(site.name, summary["site_version"]))
            parsed = (plan, planned, explain(planned, plan))
            self._parsed.put(plan_id, parsed)
        if not state:
            state = "current" if summary["current"] else (
                "fallback" if summary["kind"] == "fallback" else "superseded")
        plan, planned, explanation = parsed
        return Shown(plan, planned, summary, state, self.mode(plan_id), explanation)

    def modes(self, plan_ids: list[str]) -> dict[str, str]:
        """The mode each plan was requested in (``cost`` when the request names none)."""
        with self._services.store.reader() as s:
            rows = s.execute(select(PlanRow.plan_id, PlanRow.request_json)
                             .where(PlanRow.plan_id.in_(plan_ids))).all()
        out = {}
        for plan_id, text in rows:
            request = json.loads(text or "{}")
            mode = request.get("mode") if isinstance(request, dict) else None
            out[plan_id] = str(mode or "cost")
        return out

    def mode(self, plan_id: str) -> str:
        return self.modes([plan_id]).get(plan_id, "cost")

    def versions(self, site: Site, day: date) -> list[dict[str, Any]]:
        """Plan versions that cover ``day``, newest first, with the mode of each."""
        start, end = day_bounds(site, day)
        rows = [r for r in self._services.plans.versions(site.name, None, 200)
                if _aware(r["start"]) < end and _aware(r["end"]) > start]
        modes = self.modes([r["plan_id"] for r in rows])
        return [{**r, "mode": modes.get(r["plan_id"], "cost")} for r in rows]

    def overview(self, principal: Principal, now: datetime) -> list[County]:
        """County -> township -> village, each village with today's plan."""
        counties: dict[str, County] = {}
        for site in self.visible(principal):
            day = now.astimezone(site.tz).date()
            card = SiteCard(site.name, site.description, day, self.shown(site, day))
            county = counties.setdefault(site.county or UNGROUPED, County(site.county or ""))
            towns = {t.name: t for t in county.townships}
            town = towns.get(site.township or UNGROUPED)
            if town is None:
                town = Township(site.township or "")
                county.townships.append(town)
            town.sites.append(card)
        ordered = sorted(counties.values(), key=lambda c: (c.name == UNGROUPED, c.name))
        for county in ordered:
            county.townships.sort(key=lambda t: (t.name == UNGROUPED, t.name))
        return ordered


def _aware(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
