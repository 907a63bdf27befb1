"""Dispatch for controllers: the setpoints of the interval containing a moment and the next
few, from in-memory copies of the stored compact arrays.

Each interval is served by the first of:
1. the current plan of its local day, if it covers the interval (fresh);
2. the last good plan: the current plan of the latest of the previous days that covers it
   (stale);
3. the rule-based fallback plan of its local day, made once and stored (stale).
A poll costs a few dictionary lookups: pointers and sites are cached for
``dispatch_cache_ttl_s`` (and dropped at once when this process moves a pointer), compact
arrays for as long as they are used (plans never change), and rendered answers by the plans
and intervals they contain.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select

from api.services.compact import CompactPlan, load_compact
from api.services.errors import Invalid
from api.services.planning import Planner
from api.services.sites import SiteBook
from api.settings import Settings
from api.store import CurrentPlan, PlanRow, SiteVersion, Store, TelemetryRow
from sites.schema import Site
from sites.timeindex import day_index

#: Previous days searched for a last good plan that still covers a moment.
LOOKBACK_DAYS = 7
#: How far from now ``at`` may be [days].
AT_WINDOW_DAYS = 366
_CACHE_LIMIT = 4096


class CacheMiss(Exception):
    """Raised when an answer needs the database and the caller asked for memory only."""


@dataclass(frozen=True)
class DispatchAnswer:
    body: bytes
    etag: str
    valid_until_s: int


def conditional(
    found: DispatchAnswer, moment_s: float, poll_interval_s: int, if_none_match: str | None
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a dispatch answer: 304 when ``If-None-Match`` names its
    ETag; ``max-age`` until the interval ends, at most the poll interval."""
    max_age = max(1, min(poll_interval_s, math.ceil(found.valid_until_s - moment_s)))
    headers = {"ETag": found.etag, "Cache-Control": f"private, max-age={max_age}"}
    if if_none_match is not None and found.etag in (t.strip() for t in if_none_match.split(",")):
        return 304, headers, b""
    return 200, headers, found.body


class Dispatcher:
    def __init__(self, store: Store, settings: Settings, sites: SiteBook, planner: Planner):
        self._store = store
        self._settings = settings
        self._sites = sites
        self._planner = planner
        self._ttl_s = settings.dispatch_cache_ttl_s
        self._site_cache: dict[str, tuple[Site, SiteVersion, float]] = {}
        self._pointers: dict[str, dict[date, tuple[tuple[str, ...], float]]] = {}
        self._arrays: dict[str, CompactPlan] = {}
        self._fallbacks: dict[tuple[str, int, date], list[str]] = {}
        self._rendered: dict[str, dict[tuple, DispatchAnswer]] = {}
        self._locks: dict[str, threading.Lock] = {}

    def invalidate(self, site: str) -> None:
        """Forget what this process cached about ``site`` (its pointer moved or it changed)."""
        self._site_cache.pop(site, None)
        self._pointers.pop(site, None)
        self._rendered.pop(site, None)

    # --- cached lookups -------------------------------------------------------------------
    def site(self, name: str, io: bool = True) -> tuple[Site, SiteVersion]:
        hit = self._site_cache.get(name)
        if hit is not None and hit[2] > time.monotonic():
            return hit[0], hit[1]
        if not io:
            raise CacheMiss(name)
        site, sv = self._sites.latest(name)
        self._site_cache[name] = (site, sv, time.monotonic() + self._ttl_s)
        return site, sv

    def candidates(self, name: str, day: date, io: bool = True) -> tuple[str, ...]:
        """Current plans of ``day`` and the days before it, newest day first."""
        per_site = self._pointers.setdefault(name, {})
        hit = per_site.get(day)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        if not io:
            raise CacheMiss(name)
        with self._store.reader() as s:
            rows = s.execute(
                select(CurrentPlan.local_day, CurrentPlan.plan_id).where(
                    CurrentPlan.site == name, CurrentPlan.local_day <= day,
                    CurrentPlan.local_day >= day - timedelta(days=LOOKBACK_DAYS),
                ).order_by(CurrentPlan.local_day.desc())
            ).all()
        ids = tuple(plan_id for _, plan_id in rows)
        # the first id is fresh only if it is that day's own pointer; "" marks a missing one
        entry = ids if rows and rows[0][0] == day else ("",) + ids
        if len(per_site) > _CACHE_LIMIT:
            per_site.clear()
        per_site[day] = (entry, time.monotonic() + self._ttl_s)
        return entry

    def compact(self, plan_id: str, io: bool = True) -> CompactPlan:
        hit = self._arrays.get(plan_id)
        if hit is not None:
            return hit
        if not io:
            raise CacheMiss(plan_id)
        with self._store.reader() as s:
            status, text = s.execute(
                select(PlanRow.status, PlanRow.dispatch_json).where(PlanRow.plan_id == plan_id)
            ).one()
        loaded = load_compact(plan_id, status, text)
        if len(self._arrays) > _CACHE_LIMIT:
            self._arrays.clear()
        self._arrays[plan_id] = loaded
        return loaded

    # --- resolution ---------------------------------------------------------------------
    def _resolve(self, site: Site, sv: SiteVersion, t_s: int, now: datetime, io: bool
                 ) -> tuple[CompactPlan, int, bool]:
        day = datetime.fromtimestamp(t_s, site.tz).date()
        for rank, plan_id in enumerate(self.candidates(site.name, day, io)):
            if not plan_id:
                continue
            plan = self.compact(plan_id, io)
            i = plan.position(t_s)
            if i is not None:
                return plan, i, rank == 0
        if not io:
            found = self._known_fallback((site.name, sv.id, day), t_s, io=False)
            if found is None:
                raise CacheMiss(site.name)
            return found, found.position(t_s), False  # type: ignore[return-value]
        plan = self._fallback(site, sv, day, t_s, now)
        i = plan.position(t_s)
        assert i is not None, "a fallback plan covers the moment it was made for"
        return plan, i, False

    def _fallback(self, site: Site, sv: SiteVersion, day: date, t_s: int, now: datetime
                  ) -> CompactPlan:
        key = (site.name, sv.id, day)
        found = self._known_fallback(key, t_s)
        if found is not None:
            return found
        lock = self._locks.setdefault(site.name, threading.Lock())
        with lock:
            found = self._known_fallback(key, t_s, refresh=True)
            if found is not None:
                return found
            index = day_index(site, day)
            index = index[index + site.step > pd.Timestamp(t_s, unit="s", tz="UTC")]
            plan_id = self._planner.make_fallback(site, sv, index, self._state(site), now)
            self._fallbacks.setdefault(key, []).insert(0, plan_id)
            return self.compact(plan_id)

    def _known_fallback(self, key: tuple[str, int, date], t_s: int, refresh: bool = False,
                        io: bool = True) -> CompactPlan | None:
        if refresh:
            with self._store.reader() as s:
                self._fallbacks[key] = list(s.scalars(
                    select(PlanRow.plan_id).where(
                        PlanRow.site == key[0], PlanRow.site_version_id == key[1],
                        PlanRow.local_day == key[2], PlanRow.kind == "fallback",
                    ).order_by(PlanRow.created_at.desc()).limit(8)
                ))
        for plan_id in self._fallbacks.get(key, ()):
            plan = self.compact(plan_id, io)
            if plan.position(t_s) is not None:
                return plan
        return None

    def _state(self, site: Site) -> Any:
        """The latest measured storage levels of the site, if any were reported."""
        from api.services.planning import make_state

        with self._store.reader() as s:
            body = s.scalar(
                select(TelemetryRow.body_json).where(TelemetryRow.site == site.name)
                .order_by(TelemetryRow.at.desc()).limit(1)
            )
        if body is None:
            return None
        data = json.loads(body)
        levels = {k: data.get(k) or {} for k in ("battery_soc_kwh", "holder_m3")}
        try:
            return make_state(site, levels)
        except ValueError:
            return None  # the site changed since; its defaults apply

    # --- the answer ---------------------------------------------------------------------
    def answer(self, name: str, at: datetime, now: datetime, io: bool = True) -> DispatchAnswer:
        """The dispatch answer for ``at``; with ``io=False`` it raises CacheMiss rather than
        touch the database or the pool, so it can run on the event loop."""
        if abs(at - now) > timedelta(days=AT_WINDOW_DAYS):
            raise Invalid("at is out of range",
                          [f"at: must lie within {AT_WINDOW_DAYS} days of now, got {at}"])
        site, sv = self.site(name, io)
        t_s = int(at.timestamp())
        picks = []
        fresh = False
        for k in range(self._settings.dispatch_intervals):
            plan, i, is_fresh = self._resolve(site, sv, t_s, now, io)
            fresh = is_fresh if k == 0 else fresh
            picks.append((plan, i))
            t_s = plan.starts[i] + plan.step_s
        key = (tuple((p.plan_id, i) for p, i in picks), fresh)
        rendered = self._rendered.setdefault(name, {})
        hit = rendered.get(key)
        if hit is None:
            hit = self._render(site, picks, fresh)
            if len(rendered) > _CACHE_LIMIT:
                rendered.clear()
            rendered[key] = hit
        return hit

    @staticmethod
    def _render(site: Site, picks: list[tuple[CompactPlan, int]], fresh: bool) -> DispatchAnswer:
        def local(t_s: int) -> str:
            return datetime.fromtimestamp(t_s, site.tz).isoformat()

        intervals = [
            {"start": local(p.starts[i]), "end": local(p.starts[i] + p.step_s),
             "plan_id": p.plan_id, "status": p.status, "setpoints": p.setpoints[i]}
            for p, i in picks
        ]
        first, i0 = picks[0]
        valid_until_s = first.starts[i0] + first.step_s
        doc = {
            "site": site.name, "plan_id": first.plan_id, "status": first.status,
            "stale": not fresh, "fallback": first.status == "fallback",
            "interval_start": intervals[0]["start"], "valid_until": local(valid_until_s),
            "setpoints": intervals[0]["setpoints"], "intervals": intervals,
        }
        body = json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:24] + '"'
        return DispatchAnswer(body, etag, valid_until_s)
