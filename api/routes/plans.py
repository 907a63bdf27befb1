"""Plans: request one, read the current plan of a day, a plan by id, the versions of a day."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from api.deps import Manager, NowDep, ServicesDep
from api.routes.sites import SiteName
from api.schemas import ErrorOut, JobOut, PlanRequest, PlanSummary
from api.services.planning import local_day

router = APIRouter(tags=["plans"])
PlanId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
Format = Annotated[Literal["json", "csv"], Query(description="json (default) or csv")]
_FAILED: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorOut, "description": "bad request or failed solve; current plan kept"},
    503: {"model": ErrorOut, "description": "no solve worker free, or the solver crashed"},
    504: {"model": ErrorOut, "description": "the solve timed out; current plan kept"},
}
_DOCUMENT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "text/csv": {}}}
}


def _document(services, plan_id: str, format: str) -> Response:  # type: ignore[no-untyped-def]
    headers = {"X-Plan-Id": plan_id}
    if format == "csv":
        return Response(services.plans.csv(plan_id), media_type="text/csv", headers=headers)
    _, text = services.plans.document(plan_id)
    return Response(text, media_type="application/json", headers=headers)


@router.post("/v1/sites/{site}/plans", status_code=201, response_model=PlanSummary,
             responses=_FAILED)
def request_plan(site: SiteName, body: PlanRequest, services: ServicesDep, now: NowDep,
                 caller: Manager) -> dict:
    """Solve a plan for local day(s) or a horizon; on success it becomes current."""
    with services.limits.plan_slot(caller.key_id):
        return services.plan_service.request(site, body, now)


@router.post("/v1/sites/{site}/plans/auto", status_code=201, response_model=PlanSummary,
             responses=_FAILED)
def trigger_auto_plan(site: SiteName, services: ServicesDep, now: NowDep,
                      caller: Manager) -> dict:
    """Run the automatic planning job of the site now: its next local day."""
    with services.limits.plan_slot(caller.key_id):
        return services.plan_service.plan_tomorrow(site, now)


@router.get("/v1/sites/{site}/plans", response_model=list[PlanSummary])
def list_plans(
    site: SiteName, services: ServicesDep, _: Manager,
    date: Annotated[dt.date | None, Query(description="local day; default all")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[dict]:
    """Plan versions of the site, newest first; ``current`` marks each day's current plan."""
    services.sites.row(site)
    return services.plans.versions(site, date, limit)


@router.get("/v1/sites/{site}/plans/current", responses=_DOCUMENT)
def current_plan(
    site: SiteName, services: ServicesDep, now: NowDep, _: Manager, format: Format = "json",
    date: Annotated[dt.date | None, Query(description="local day; default today")] = None,
) -> Response:
    """The current plan of a local day, as JSON or CSV."""
    parsed, _row = services.sites.latest(site)
    day = date or local_day(parsed, now)
    return _document(services, services.plans.current_id(site, day), format)


@router.get("/v1/plans/{plan_id}", responses=_DOCUMENT)
def plan_by_id(plan_id: PlanId, services: ServicesDep, _: Manager,
               format: Format = "json") -> Response:
    return _document(services, plan_id, format)


@router.get("/v1/plans/{plan_id}/summary", response_model=PlanSummary)
def plan_summary(plan_id: PlanId, services: ServicesDep, _: Manager) -> dict:
    return services.plans.summary(plan_id)


@router.get("/v1/scheduler/jobs", response_model=list[JobOut])
def scheduler_jobs(services: ServicesDep, _: Manager) -> list[dict]:
    """The automatic planning jobs and when each runs next."""
    return services.auto.jobs()
