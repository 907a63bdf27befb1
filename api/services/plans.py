"""Reading stored plans: the current plan of a day, a plan by id, the versions of a day."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import select

from api.services.errors import NotFound
from api.store import CurrentPlan, PlanRow, SiteVersion, Store


def summary_of(row: PlanRow, site_version: int, current: bool) -> dict[str, Any]:
    """The metadata of a stored plan, without its table."""
    meta = json.loads(row.summary_json)
    return {
        "plan_id": row.plan_id, "site": row.site, "site_version": site_version,
        "local_day": row.local_day, "kind": row.kind, "status": row.status,
        "start": meta.get("start") or row.start, "end": meta.get("end") or row.end,
        "step_minutes": row.step_minutes,
        "created_at": row.created_at, "current": current,
        "kpis": meta.get("kpis") or {}, "baseline": meta.get("baseline") or {},
        "solver": meta.get("solver"), "solve_time_s": meta.get("solve_time_s"),
        "request": json.loads(row.request_json) if row.request_json else {},
    }


class PlanBook:
    def __init__(self, store: Store):
        self._store = store

    def _one(self, plan_id: str) -> tuple[PlanRow, int, bool]:
        with self._store.reader() as s:
            hit = s.execute(
                select(PlanRow, SiteVersion.version)
                .join(SiteVersion, SiteVersion.id == PlanRow.site_version_id)
                .where(PlanRow.plan_id == plan_id)
            ).first()
            if hit is None:
                raise NotFound(f"no plan with id {plan_id!r}")
            row, version = hit
            current = self._store.pointer(s, row.site, row.local_day) == row.plan_id
        return row, version, current

    def current_id(self, site: str, day: date) -> str:
        with self._store.reader() as s:
            plan_id = self._store.pointer(s, site, day)
        if plan_id is None:
            raise NotFound(f"site {site!r} has no current plan for {day.isoformat()}")
        return plan_id

    def summary(self, plan_id: str) -> dict[str, Any]:
        row, version, current = self._one(plan_id)
        return summary_of(row, version, current)

    def document(self, plan_id: str) -> tuple[dict[str, Any], str]:
        """The plan's summary and its full JSON text, as stored."""
        row, version, current = self._one(plan_id)
        return summary_of(row, version, current), row.plan_json

    def csv(self, plan_id: str) -> str:
        from optimizer.plan import Plan

        _, text = self.document(plan_id)
        return str(Plan.from_dict(json.loads(text)).to_csv())

    def versions(self, site: str, day: date | None, limit: int) -> list[dict[str, Any]]:
        """Plans of a site (of one local day if given), newest first, marked if current."""
        with self._store.reader() as s:
            query = (
                select(PlanRow, SiteVersion.version, CurrentPlan.plan_id)
                .join(SiteVersion, SiteVersion.id == PlanRow.site_version_id)
                .outerjoin(CurrentPlan, (CurrentPlan.site == PlanRow.site)
                           & (CurrentPlan.local_day == PlanRow.local_day))
                .where(PlanRow.site == site)
            )
            if day is not None:
                query = query.where(PlanRow.local_day == day)
            query = query.order_by(
                PlanRow.requested_at.desc(), PlanRow.created_at.desc(), PlanRow.plan_id
            )
            rows = s.execute(query.limit(limit)).all()
        return [summary_of(row, v, pointed == row.plan_id) for row, v, pointed in rows]
