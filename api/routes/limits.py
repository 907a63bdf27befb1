"""Limits from the grid operator: export and import caps, curtailment, critical-peak days."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from api.deps import NowDep, ServicesDep, SiteAccess
from api.routes.sites import SiteName
from api.schemas import ErrorOut, LimitIn, LimitOut, LimitPosted

router = APIRouter(prefix="/v1/sites/{site}/limits", tags=["limits"])


@router.post("", status_code=201, response_model=LimitPosted,
             responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}})
def post_limit(site: SiteName, body: LimitIn, services: ServicesDep, now: NowDep,
               _: SiteAccess) -> dict:
    """Store a limit and re-plan the rest of the day (and later planned days) within it."""
    return services.grid_limits.post(site, body, now)


@router.get("", response_model=list[LimitOut], responses={404: {"model": ErrorOut}})
def list_limits(
    site: SiteName, services: ServicesDep, now: NowDep, _: SiteAccess,
    since: Annotated[AwareDatetime | None, Query(description="default now")] = None,
) -> list[dict]:
    """Limits that end after ``since``: in force now or still to come."""
    return services.grid_limits.list(site, since or now, now)
