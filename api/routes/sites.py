"""Sites: create or update from a YAML or JSON site file, list, get."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse

from api.deps import Manager, NowDep, ServicesDep
from api.schemas import ErrorOut, SiteDetail, SiteOut
from api.services.errors import Invalid
from api.services.sites import parse_body
from sites.load import dump_site, summary

router = APIRouter(prefix="/v1/sites", tags=["sites"])
SiteName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_\-]*$")]
_SITE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorOut, "description": "the site does not validate"}
}


def _out(services, row, changed=None) -> dict:  # type: ignore[no-untyped-def]
    return {"name": row.site, "version": row.version, "content_sha256": row.content_sha256,
            "created_at": row.created_at, "summary": summary(services.sites.site(row)),
            "changed": changed}


def _store(services, body: bytes, content_type: str | None, now, name: str | None) -> dict:  # type: ignore[no-untyped-def]
    site = parse_body(body, content_type)
    if name is not None and site.name != name:
        raise Invalid("the site name differs from the URL",
                      [f"name: must be {name!r} (the URL's site), got {site.name!r}"])
    row, changed = services.sites.put(site, now)
    services.dispatcher.invalidate(site.name)
    if services.settings.scheduler_enabled:
        services.auto.schedule(site.name, site.location.timezone)
    return _out(services, row, changed)


@router.post("", status_code=201, response_model=SiteOut, openapi_extra=_SITE_BODY,
             responses=_ERRORS)
async def create_site(request: Request, services: ServicesDep, now: NowDep, _: Manager) -> dict:
    """Register a site, or add a version if its content changed (YAML or JSON body)."""
    body = await request.body()
    return await run_in_threadpool(
        _store, services, body, request.headers.get("content-type"), now, None
    )


@router.put("/{site}", response_model=SiteOut, openapi_extra=_SITE_BODY, responses=_ERRORS)
async def put_site(site: SiteName, request: Request, services: ServicesDep, now: NowDep,
                   _: Manager) -> dict:
    """Create or update the named site; the body's ``name`` must match."""
    body = await request.body()
    return await run_in_threadpool(
        _store, services, body, request.headers.get("content-type"), now, site
    )


@router.get("", response_model=list[SiteOut])
def list_sites(services: ServicesDep, _: Manager) -> list[dict]:
    return [_out(services, row) for row in services.sites.list_latest()]


@router.get("/{site}", response_model=SiteDetail,
            responses={200: {"content": {"application/yaml": {}}}})
def get_site(
    site: SiteName, services: ServicesDep, _: Manager,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    format: Literal["json", "yaml"] = "json",
):  # type: ignore[no-untyped-def]
    """The latest (or a given) version of a site, as JSON or as a YAML site file."""
    row = services.sites.row(site, version)
    parsed = services.sites.site(row)
    if format == "yaml":
        return PlainTextResponse(dump_site(parsed), media_type="application/yaml")
    return {**_out(services, row), "site": parsed.model_dump(mode="json")}


@router.get("/{site}/versions", response_model=list[SiteOut])
def site_versions(site: SiteName, services: ServicesDep, _: Manager) -> list[dict]:
    return [_out(services, row) for row in services.sites.versions(site)]
