"""What a process knows about one site's dispatch, as one immutable value.

A :class:`SiteSnapshot` holds the site and its version, the candidate plans of every local
day loaded so far, the stored fallback plans of those days and the compact arrays of all of
them. Answering a poll from it is a pure function of the snapshot and the moment; anything
it lacks raises :class:`CacheMiss`, and :class:`api.services.dispatch.Dispatcher` loads that
into a new snapshot and swaps it in. Nothing in a snapshot changes after it is made (its
``rendered`` memo only remembers answers the snapshot itself determines).

Each interval is served by the first of:
1. the current plan of its local day, if it covers the interval (fresh);
2. the last good plan (stale): an earlier plan of its local day that covers it (newest
   first), else the current plan of the latest of the previous days that covers it;
3. the rule-based fallback plan of its local day (stale).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from api.services.compact import CompactPlan
from api.store import SiteVersion
from sites.schema import Site

_RENDERED_LIMIT = 4096


class CacheMiss(Exception):
    """The snapshot lacks a day (``day`` set), or a fallback for ``day`` at ``t_s``, or does
    not exist (``day`` None)."""

    def __init__(self, day: date | None = None, t_s: int | None = None, fallback: bool = False):
        super().__init__(day)
        self.day = day
        self.t_s = t_s
        self.fallback = fallback


@dataclass(frozen=True)
class DispatchAnswer:
    body: bytes
    etag: str
    valid_until_s: int
    start_s: int = 0


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


@dataclass(frozen=True)
class SiteSnapshot:
    site: Site
    version: SiteVersion
    #: per local day: plan ids, the day's current plan first ("" if it has none)
    days: Mapping[date, tuple[str, ...]] = field(default_factory=dict)
    #: per local day: stored (or, without a database, computed) fallback plans, newest first
    fallbacks: Mapping[date, tuple[str, ...]] = field(default_factory=dict)
    plans: Mapping[str, CompactPlan] = field(default_factory=dict)
    rendered: dict[tuple, DispatchAnswer] = field(default_factory=dict, compare=False)

    def with_day(self, day: date, ids: tuple[str, ...], fallbacks: tuple[str, ...],
                 plans: Mapping[str, CompactPlan]) -> SiteSnapshot:
        return replace(self, days={**self.days, day: ids},
                       fallbacks={**self.fallbacks, day: fallbacks},
                       plans={**self.plans, **plans}, rendered={})

    def with_fallback(self, day: date, plan: CompactPlan) -> SiteSnapshot:
        ids = (plan.plan_id, *self.fallbacks.get(day, ()))
        return replace(self, fallbacks={**self.fallbacks, day: ids},
                       plans={**self.plans, plan.plan_id: plan}, rendered={})

    def _day(self, t_s: int) -> date:
        return datetime.fromtimestamp(t_s, self.site.tz).date()

    def resolve(self, t_s: int, lenient: bool = False) -> tuple[CompactPlan, int, bool]:
        """The plan, position and freshness for epoch second ``t_s``.

        ``lenient`` (the database is unreachable): a day not loaded counts as having no
        plans, so any loaded plan or fallback that covers the moment answers.
        """
        day = self._day(t_s)
        ids = self.days.get(day)
        if ids is None and not lenient:
            raise CacheMiss(day)
        for rank, plan_id in enumerate(ids or ()):
            plan = self.plans.get(plan_id) if plan_id else None
            i = plan.position(t_s) if plan is not None else None
            if i is not None:
                return plan, i, rank == 0  # type: ignore[return-value]
        others = (p for d in sorted(self.days, reverse=True) for p in self.days[d]) if lenient \
            else ()
        for plan_id in (*self.fallbacks.get(day, ()), *others):
            plan = self.plans.get(plan_id)
            i = plan.position(t_s) if plan is not None else None
            if i is not None:
                return plan, i, False  # type: ignore[return-value]
        raise CacheMiss(day, t_s, fallback=True)

    def answer(self, t_s: int, intervals: int, lenient: bool = False) -> DispatchAnswer:
        picks = []
        fresh = False
        for k in range(intervals):
            plan, i, is_fresh = self.resolve(t_s, lenient)
            fresh = is_fresh if k == 0 else fresh
            picks.append((plan, i))
            t_s = plan.starts[i] + plan.step_s
        key = (tuple((p.plan_id, i) for p, i in picks), fresh)
        hit = self.rendered.get(key)
        if hit is None:
            hit = render(self.site, picks, fresh)
            if len(self.rendered) > _RENDERED_LIMIT:
                self.rendered.clear()
            self.rendered[key] = hit
        return hit


#: Shed power below this is no shedding [kW] (setpoints are rounded to 4 decimals).
SHED_THRESHOLD_KW = 1e-3


def shedding(intervals: list[dict[str, Any]]) -> dict[str, Any]:
    """Planned load shedding, for the top of the dispatch document: the loads shed in the
    current interval [kW] and the starts of every interval served that sheds any load."""

    def shed(setpoints: dict[str, dict[str, float]]) -> dict[str, float]:
        return {
            device: q["shed_kw"]
            for device, q in setpoints.items()
            if q.get("shed_kw", 0.0) > SHED_THRESHOLD_KW
        }

    now = shed(intervals[0]["setpoints"])
    return {
        "now": bool(now),
        "now_kw": round(sum(now.values()), 4),
        "loads_kw": now,
        "intervals": [iv["start"] for iv in intervals if shed(iv["setpoints"])],
    }


def render(site: Site, picks: list[tuple[CompactPlan, int]], fresh: bool) -> DispatchAnswer:
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
        "shedding": shedding(intervals),
        "interval_start": intervals[0]["start"], "valid_until": local(valid_until_s),
        "setpoints": intervals[0]["setpoints"], "limits": intervals[0]["limits"],
        "intervals": intervals,
    }
    body = json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:24] + '"'
    return DispatchAnswer(body, etag, valid_until_s, first.starts[i0])
