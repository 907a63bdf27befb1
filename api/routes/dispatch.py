"""Dispatch and telemetry, for controllers."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import AwareDatetime

from api.deps import NowDep, ServicesDep, SiteAccess
from api.routes.sites import SiteName
from api.schemas import ErrorOut, TelemetryIn, TelemetryOut
from api.services.dispatch import IF_NONE_MATCH_MAX, CacheMiss, conditional

router = APIRouter(prefix="/v1/sites/{site}", tags=["controllers"])


@router.get(
    "/dispatch",
    responses={
        200: {"description": "setpoints of the interval containing `at` (default now) and "
                             "the next ones", "content": {"application/json": {}}},
        304: {"description": "unchanged since the ETag given in If-None-Match"},
        422: {"model": ErrorOut},
    },
)
async def dispatch(
    site: SiteName, request: Request, now: NowDep, caller: SiteAccess,
    at: Annotated[AwareDatetime | None, Query(description="a moment with its UTC offset")] = None,
    if_none_match: Annotated[str | None, Header(max_length=IF_NONE_MATCH_MAX)] = None,
) -> Response:
    """Setpoints for a controller; ``stale`` when they do not come from the day's current plan.

    Served from memory on the event loop when everything it needs is cached; otherwise (a
    pointer to re-read, a fallback plan to make) the work runs in a worker thread. Polls
    without ``at`` whose key and answer are cached are answered by
    :class:`api.fastpath.DispatchFastPath` before they reach this route.
    """
    moment = at or now
    services = request.app.state.services
    try:
        found = services.dispatcher.cached_answer(site, moment, now)
    except CacheMiss:
        # a fallback stored for an explicit moment counts against the key's daily limit
        charge = None if at is None else partial(
            services.limits.fallbacks.hit, f"key:{caller.key_id}", f"key {caller.key_id}")
        found = await run_in_threadpool(services.dispatcher.answer, site, moment, now, charge)
    status, headers, body = conditional(
        found, moment.timestamp(), services.settings.poll_interval_s, if_none_match
    )
    if status == 304:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.post("/telemetry", status_code=201, response_model=TelemetryOut,
             responses={422: {"model": ErrorOut}})
def telemetry(site: SiteName, body: TelemetryIn, services: ServicesDep, now: NowDep,
              caller: SiteAccess) -> dict:
    """Store measured state; re-plan the rest of the day when asked or when it strays.

    A report equal to one already stored (same site, time and measurements: a retry) is not
    stored again; the answer repeats the first one's ids with ``duplicate`` true.
    """
    return services.telemetry.report(site, body, now, caller.key_id)
