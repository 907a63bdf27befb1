"""Dispatch for controllers: the setpoints of the interval containing a moment and the next
few, from one immutable snapshot per site (:mod:`api.services.snapshot`).

Reading: the fast path and the route call :meth:`Dispatcher.cached_answer`, which only reads
the site's current snapshot (memory, no locks). A miss goes to a worker thread and
:meth:`Dispatcher.answer`, which loads what the snapshot lacks (a day's plans, a fallback)
into a new snapshot and swaps it in. Writing: a plan pointer moved, a new site version, a
fallback stored — in this process or any other, seen through the change feed — rebuild the
site's snapshot (:meth:`Dispatcher.refresh`).

Controllers are never left without setpoints while anything covers the moment: the
rule-based fallback is computed in the calling thread (it is cheap; the solve pool may be
full or broken), kept in memory when it cannot be stored, and with the database unreachable
any plan already in memory that covers the moment answers, stale.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from api.services.compact import CompactPlan, load_compact
from api.services.errors import Invalid, ServiceError, Unavailable
from api.services.planning import PlanService, make_state, state_data
from api.services.sites import SiteBook
from api.services.snapshot import CacheMiss, DispatchAnswer, SiteSnapshot, conditional
from api.settings import Settings
from api.store import CurrentPlan, PlanRow, SiteVersion, Store, TelemetryRow
from optimizer.state import State, site_rows
from sites.schema import Site
from sites.timeindex import day_index

__all__ = ["CacheMiss", "DispatchAnswer", "Dispatcher", "conditional"]
log = logging.getLogger("villagegrid.api")

#: Previous days searched for a last good plan that still covers a moment.
LOOKBACK_DAYS = 7
#: How far from now ``at`` may be [days].
AT_WINDOW_DAYS = 366
#: Longest ``If-None-Match`` header accepted [characters].
IF_NONE_MATCH_MAX = 200
#: How many superseded plans of a day dispatch looks through before older days' plans.
_EARLIER_PLANS = 8
#: Local days a snapshot keeps; older ones are dropped when a new one is loaded.
_DAYS_KEPT = 16


def _candidates(
    day: date, pointers: list[tuple[date, str]], earlier: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """Plan ids of ``day`` and the ``LOOKBACK_DAYS`` before it, newest day first, with the
    day's ``earlier`` (superseded) plans right after its current one; the first is "" when
    ``day`` has no pointer of its own (only its own current plan is fresh)."""
    ids = sorted(((d, plan_id) for d, plan_id in pointers
                  if day - timedelta(days=LOOKBACK_DAYS) <= d <= day), reverse=True)
    ordered = [plan_id for _, plan_id in ids]
    own = bool(ids) and ids[0][0] == day
    head, rest = (ordered[:1], ordered[1:]) if own else ([""], ordered)
    extra = [plan_id for plan_id in earlier if plan_id not in ordered]
    return tuple(head + extra + rest)


class Dispatcher:
    def __init__(
        self, store: Store, settings: Settings, sites: SiteBook, plan_service: PlanService
    ):
        self._store = store
        self._settings = settings
        self._sites = sites
        self._plan_service = plan_service
        self._snapshots: dict[str, SiteSnapshot] = {}
        self._dirty: set[str] = set()  # changed, not yet rebuilt: misses until reloaded
        self._locks: dict[str, threading.Lock] = {}
        self._last_served: dict[str, DispatchAnswer] = {}

    def _lock(self, name: str) -> threading.Lock:
        return self._locks.setdefault(name, threading.Lock())

    # --- reading ------------------------------------------------------------------------
    def _moment(self, at: datetime, now: datetime) -> int:
        if abs(at - now) > timedelta(days=AT_WINDOW_DAYS):
            raise Invalid("at is out of range",
                          [f"at: must lie within {AT_WINDOW_DAYS} days of now, got {at}"])
        return int(at.timestamp())

    def cached_answer(self, name: str, at: datetime, now: datetime) -> DispatchAnswer:
        """The answer from memory alone (safe on the event loop); CacheMiss otherwise."""
        snap = self._snapshots.get(name)
        if snap is None or name in self._dirty:
            raise CacheMiss()
        return snap.answer(self._moment(at, now), self._settings.dispatch_intervals)

    def answer(self, name: str, at: datetime, now: datetime,
               charge: Callable[[], None] | None = None) -> DispatchAnswer:
        """The answer for ``at``, loading what the snapshot lacks (runs in a worker thread).

        ``charge`` is called before a fallback plan is made and stored; it may refuse by
        raising (a limit of the caller)."""
        t_s = self._moment(at, now)
        intervals = self._settings.dispatch_intervals
        for _ in range(4 * intervals + 2):  # each miss adds a day or a fallback
            snap = self._snapshots.get(name)
            try:
                if snap is None or name in self._dirty:
                    raise CacheMiss()
                found = snap.answer(t_s, intervals)
            except CacheMiss as miss:
                try:
                    self._load(name, miss, now, charge)
                except ServiceError:
                    raise  # no such site
                except Exception as exc:  # noqa: BLE001 - the database, a failed fallback
                    return self._offline(name, t_s, now, exc)
                continue
            self._last_served[name] = found
            return found
        raise AssertionError("dispatch did not converge")  # pragma: no cover

    def _offline(self, name: str, t_s: int, now: datetime, exc: Exception) -> DispatchAnswer:
        """The database is unreachable: any plan in memory that covers the moment, a fallback
        computed in memory, or the last answer served; else 503."""
        log.warning("dispatch of %s from memory (%s: %s)", name, type(exc).__name__, exc)
        snap = self._snapshots.get(name)
        for _ in range(self._settings.dispatch_intervals + 1):
            if snap is None:
                break
            try:
                return snap.answer(t_s, self._settings.dispatch_intervals, lenient=True)
            except CacheMiss as miss:
                try:
                    plan = self._compute_fallback(snap.site, snap.version, miss, now, store=False)
                except Exception:  # noqa: BLE001 - the last answer served is the last resort
                    log.exception("the fallback plan of %s failed", name)
                    break
                snap = snap.with_fallback(miss.day, plan)  # type: ignore[arg-type]
                self._snapshots[name] = snap  # kept dirty: reloaded when the database is back
        last = self._last_served.get(name)
        if last is not None and last.start_s <= t_s < last.valid_until_s:
            return last
        raise Unavailable("the database is unreachable and no plan for this moment is in "
                          "memory; retry shortly")

    # --- loading ------------------------------------------------------------------------
    def _swap(self, name: str, snap: SiteSnapshot) -> SiteSnapshot:
        self._snapshots[name] = snap
        self._dirty.discard(name)
        return snap

    def _load(self, name: str, miss: CacheMiss, now: datetime | None = None,
              charge: Callable[[], None] | None = None) -> None:
        with self._lock(name):
            snap = self._snapshots.get(name)
            if snap is None or name in self._dirty:
                site, sv = self._sites.latest(name)
                days = list(snap.days) if snap is not None and snap.version.id == sv.id else []
                snap = self._build(site, sv, days, snap)
                self._swap(name, snap)
                return
            if miss.day is None:
                return
            if miss.day not in snap.days:
                keep = sorted(snap.days, reverse=True)[: _DAYS_KEPT - 1]
                self._swap(name, self._build(snap.site, snap.version, [*keep, miss.day], snap))
            elif miss.fallback and not self._covered(snap, miss):
                fresh = self._build(snap.site, snap.version, list(snap.days), snap)
                if self._covered(fresh, miss):  # another process stored one meanwhile
                    self._swap(name, fresh)
                    return
                if charge is not None:
                    charge()
                assert now is not None, "a fallback miss comes from answer(), which has now"
                plan = self._compute_fallback(snap.site, snap.version, miss, now, store=True)
                self._swap(name, fresh.with_fallback(miss.day, plan))

    @staticmethod
    def _covered(snap: SiteSnapshot, miss: CacheMiss) -> bool:
        try:
            snap.resolve(miss.t_s)  # type: ignore[arg-type]
        except CacheMiss:
            return False
        return True

    def _build(self, site: Site, sv: SiteVersion, days: list[date],
               old: SiteSnapshot | None) -> SiteSnapshot:
        """A snapshot of ``days`` read from the database; arrays already loaded are reused."""
        snap = SiteSnapshot(site, sv)
        known = dict(old.plans) if old is not None else {}
        for day in days:
            ids, fallbacks = self._day_ids(site, sv, day)
            wanted = [i for i in (*ids, *fallbacks) if i and i not in known]
            known.update(self._arrays(wanted))
            snap = snap.with_day(day, ids, fallbacks,
                                 {i: known[i] for i in (*ids, *fallbacks) if i in known})
        return snap

    def _day_ids(self, site: Site, sv: SiteVersion, day: date
                 ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        day_start = pd.Timestamp(day, tz=site.tz).tz_convert("UTC").to_pydatetime()
        day_end = (pd.Timestamp(day, tz=site.tz) + pd.Timedelta(days=1)).tz_convert("UTC")
        with self._store.reader() as s:
            rows = s.execute(
                select(CurrentPlan.local_day, CurrentPlan.plan_id).where(
                    CurrentPlan.site == site.name, CurrentPlan.local_day <= day,
                    CurrentPlan.local_day >= day - timedelta(days=LOOKBACK_DAYS),
                )
            ).all()
            earlier = s.scalars(
                select(PlanRow.plan_id).where(
                    PlanRow.site == site.name, PlanRow.kind != "fallback",
                    PlanRow.start < day_end.to_pydatetime(), PlanRow.end > day_start,
                ).order_by(PlanRow.requested_at.desc(), PlanRow.created_at.desc())
                .limit(_EARLIER_PLANS)
            ).all()
            fallbacks = s.scalars(
                select(PlanRow.plan_id).where(
                    PlanRow.site == site.name, PlanRow.site_version_id == sv.id,
                    PlanRow.local_day == day, PlanRow.kind == "fallback",
                ).order_by(PlanRow.created_at.desc()).limit(8)
            ).all()
        return _candidates(day, [(d, p) for d, p in rows], tuple(earlier)), tuple(fallbacks)

    def _arrays(self, plan_ids: list[str]) -> dict[str, CompactPlan]:
        if not plan_ids:
            return {}
        with self._store.reader() as s:
            rows = s.execute(
                select(PlanRow.plan_id, PlanRow.status, PlanRow.dispatch_json)
                .where(PlanRow.plan_id.in_(plan_ids))
            ).all()
        return {plan_id: load_compact(plan_id, status, text) for plan_id, status, text in rows}

    def _compute_fallback(self, site: Site, sv: SiteVersion, miss: CacheMiss, now: datetime,
                          store: bool) -> CompactPlan:
        """The rule-based plan from the missed moment to the end of its day, computed here
        (not in the solve pool); stored when ``store`` and the database takes it."""
        day, t_s = miss.day, miss.t_s
        assert day is not None and t_s is not None, "a fallback miss names its moment"
        index = day_index(site, day)
        index = index[index + site.step > pd.Timestamp(t_s, unit="s", tz="UTC")]
        state = self._state(site) if store else None
        stored = self._plan_service.fallback(site, index, state, now)
        if store:
            try:
                self._plan_service.record(site.name, sv, [day], "fallback", stored,
                                     {"fallback_from": index[0].isoformat()}, now, point=False)
            except SQLAlchemyError as exc:
                log.warning("fallback plan of %s kept in memory only (%s)", site.name,
                            type(exc).__name__)
        return load_compact(stored.plan_id, stored.status, stored.dispatch_json)

    def _state(self, site: Site) -> Any:
        """The latest measured storage levels of the site, if any were reported."""
        with self._store.reader() as s:
            body = s.scalar(
                select(TelemetryRow.body_json).where(TelemetryRow.site == site.name)
                .order_by(TelemetryRow.at.desc()).limit(1)
            )
        if body is None:
            return None
        try:
            measured = State.model_validate(state_data(json.loads(body)))
            levels = {(m.name, v.quantity) for m, v in site_rows(site) if v.usable is not None}
            return make_state(site, State(values={
                device: {q: x for q, x in values.items() if (device, q) in levels}
                for device, values in measured.values.items()}))
        except (ValueError, Invalid):
            return None  # the site changed since; its defaults apply

    # --- writing ------------------------------------------------------------------------
    def refresh(self, names: set[str] | frozenset[str] | None = None) -> None:
        """Rebuild the snapshots of ``names`` (default: every site in memory) from the
        database and swap them in; a site whose rebuild fails misses until reloaded."""
        for name in list(self._snapshots) if names is None else names:
            if name not in self._snapshots:
                continue
            try:
                with self._lock(name):
                    old = self._snapshots[name]
                    site, sv = self._sites.latest(name)
                    days = list(old.days) if old.version.id == sv.id else []
                    self._swap(name, self._build(site, sv, days, old))
            except Exception as exc:  # noqa: BLE001 - reloaded on its next poll instead
                self._dirty.add(name)
                log.warning("rebuilding the dispatch snapshot of %s failed (%s)", name,
                            type(exc).__name__)

    def invalidate(self, site: str) -> None:
        """``site`` changed in this process: rebuild its snapshot now."""
        self.refresh({site})

    # --- for telemetry ------------------------------------------------------------------
    def site(self, name: str) -> tuple[Site, SiteVersion]:
        snap = self._snapshots.get(name)
        if snap is None or name in self._dirty:
            self._load(name, CacheMiss())
            snap = self._snapshots[name]
        return snap.site, snap.version

    def current_plan(self, name: str, day: date) -> CompactPlan | None:
        """The current plan of ``day``, if it has one."""
        self.site(name)
        snap = self._snapshots[name]
        if day not in snap.days:
            self._load(name, CacheMiss(day))
            snap = self._snapshots[name]
        first = snap.days[day][0]
        return snap.plans.get(first) if first else None
