"""Dispatch for controllers: the setpoints of the interval containing a moment and the next
few, from in-memory copies of the stored compact arrays.

Each interval is served by the first of:
1. the current plan of its local day, if it covers the interval (fresh);
2. the last good plan (stale): an earlier plan of its local day that covers it (newest
   first: a short plan made later does not hide a full-day plan), else the current plan of
   the latest of the previous days that covers it;
3. the rule-based fallback plan of its local day, made once and stored (stale).
A poll costs a few dictionary lookups: pointers and sites are cached for
``dispatch_cache_ttl_s`` (dropped at once when this process moves a pointer; when one
expires, one request reloads it while the others are served the old value), compact
arrays for as long as they are used (plans never change), and rendered answers by the plans
and intervals they contain.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select

from api.services.compact import CompactPlan, load_compact
from api.services.errors import Invalid
from api.services.planning import Planner
from api.services.sites import SiteBook
from api.services.ttlcache import Stale, TtlCache
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


#: how many superseded plans of a day dispatch looks through before older days' plans
_EARLIER_PLANS = 8


def _candidates(
    day: date, pointers: list[tuple[date, str]], earlier: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """Plan ids of ``day`` and the ``LOOKBACK_DAYS`` before it, newest day first, with the
    day's ``earlier`` (superseded) plans right after its current one; the first is "" when
    ``day`` has no pointer of its own (only its own current plan is fresh)."""
    ids = [(d, plan_id) for d, plan_id in pointers if day - timedelta(days=LOOKBACK_DAYS) <= d
           <= day]
    ids.sort(reverse=True)
    ordered = [plan_id for _, plan_id in ids]
    own = bool(ids) and ids[0][0] == day
    head, rest = (ordered[:1], ordered[1:]) if own else ([""], ordered)
    extra = [plan_id for plan_id in earlier if plan_id not in ordered]
    return tuple(head + extra + rest)


class Dispatcher:
    def __init__(self, store: Store, settings: Settings, sites: SiteBook, planner: Planner):
        self._store = store
        self._settings = settings
        self._sites = sites
        self._planner = planner
        self._ttl_s = settings.dispatch_cache_ttl_s
        self._site_cache: TtlCache[str, tuple[Site, SiteVersion]] = TtlCache(self._ttl_s)
        self._pointers: dict[str, TtlCache[date, tuple[str, ...]]] = {}
        self._arrays: dict[str, CompactPlan] = {}
        self._fallbacks: dict[tuple[str, int, date], list[str]] = {}
        self._rendered: dict[str, dict[tuple, DispatchAnswer]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._generation: dict[str, int] = {}  # bumped by invalidate: refreshes read before it
        # are dropped

    def invalidate(self, site: str) -> None:
        """Forget what this process cached about ``site`` (its pointer moved or it changed)."""
        self._generation[site] = self._generation.get(site, 0) + 1
        self._site_cache.drop(site)
        self._pointers.pop(site, None)
        self._rendered.pop(site, None)

    # --- cached lookups -------------------------------------------------------------------
    def site(self, name: str, io: bool = True) -> tuple[Site, SiteVersion]:
        try:
            return self._site_cache.get(name, share=not io)
        except Stale:
            if not io:
                raise CacheMiss(name) from None
        found = self._sites.latest(name)
        self._site_cache.put(name, found)
        return found

    def candidates(self, name: str, day: date, io: bool = True) -> tuple[str, ...]:
        """Current plans of ``day`` and the days before it, newest day first."""
        per_site = self._pointers.setdefault(name, TtlCache(self._ttl_s, _CACHE_LIMIT))
        try:
            return per_site.get(day, share=not io)
        except Stale:
            if not io:
                raise CacheMiss(name) from None
        site = self.site(name)[0]
        day_start = pd.Timestamp(day, tz=site.tz).tz_convert("UTC").to_pydatetime()
        day_end = (pd.Timestamp(day, tz=site.tz) + pd.Timedelta(days=1)).tz_convert("UTC")
        with self._store.reader() as s:
            rows = s.execute(
                select(CurrentPlan.local_day, CurrentPlan.plan_id).where(
                    CurrentPlan.site == name, CurrentPlan.local_day <= day,
                    CurrentPlan.local_day >= day - timedelta(days=LOOKBACK_DAYS),
                )
            ).all()
            earlier = s.scalars(
                select(PlanRow.plan_id)
                .where(
                    PlanRow.site == name, PlanRow.kind != "fallback",
                    PlanRow.start < day_end.to_pydatetime(), PlanRow.end > day_start,
                )
                .order_by(PlanRow.requested_at.desc(), PlanRow.created_at.desc())
                .limit(_EARLIER_PLANS)
            ).all()
        entry = _candidates(day, [(d, plan_id) for d, plan_id in rows], tuple(earlier))
        per_site.put(day, entry)
        return entry

    def refresh(self) -> None:
        """Reload every cached pointer and site in two queries, so that polls keep being
        served from memory (run every ``dispatch_cache_ttl_s`` by a background thread)."""
        wanted = [(name, day) for name, per_site in list(self._pointers.items())
                  for day in per_site.keys()]
        generation = dict(self._generation)
        if wanted:
            days = [day for _, day in wanted]
            with self._store.reader() as s:
                rows = s.execute(
                    select(CurrentPlan.site, CurrentPlan.local_day, CurrentPlan.plan_id).where(
                        CurrentPlan.site.in_({name for name, _ in wanted}),
                        CurrentPlan.local_day <= max(days),
                        CurrentPlan.local_day >= min(days) - timedelta(days=LOOKBACK_DAYS),
                    )
                ).all()
            by_site: dict[str, list[tuple[date, str]]] = {}
            for name, day, plan_id in rows:
                by_site.setdefault(name, []).append((day, plan_id))
            for name, day in wanted:
                per_site = self._pointers.get(name)
                if per_site is not None and self._generation.get(name) == generation.get(name):
                    # the day's earlier plans stay candidates (a pointer moved elsewhere adds
                    # its old plan to them)
                    earlier = tuple(i for i in per_site.peek(day) or () if i)
                    per_site.put(day, _candidates(day, by_site.get(name, []), earlier))
        cached = set(self._site_cache.keys())
        if cached:
            for row in self._sites.list_latest():
                if row.site in cached and self._generation.get(row.site) == generation.get(
                    row.site
                ):
                    self._site_cache.put(row.site, (self._sites.site(row), row))

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
            if len(self._fallbacks) > 16 * _CACHE_LIMIT:
                self._fallbacks.clear()  # bounded; the stored fallbacks are found again
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
             "plan_id": p.plan_id, "status": p.status, "setpoints": p.setpoints[i],
             "limits": p.limits_at(i)}
            for p, i in picks
        ]
        first, i0 = picks[0]
        valid_until_s = first.starts[i0] + first.step_s
        doc = {
            "site": site.name, "plan_id": first.plan_id, "status": first.status,
            "stale": not fresh, "fallback": first.status == "fallback",
            "interval_start": intervals[0]["start"], "valid_until": local(valid_until_s),
            "setpoints": intervals[0]["setpoints"], "limits": intervals[0]["limits"],
            "intervals": intervals,
        }
        body = json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:24] + '"'
        return DispatchAnswer(body, etag, valid_until_s)
