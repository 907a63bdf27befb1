"""Readings of the biogas chain and the monthly waste ledger (docs/ledger.md).

Controllers post their own site's readings; managers and admins post, read and correct any
site's, and read the ledger.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from api.deps import Manager, NowDep, ServicesDep, SiteAccess
from api.routes.sites import SiteName
from api.schemas import ErrorOut
from api.services.errors import Invalid
from api.services.ledger import LedgerDesk
from api.services.readings import ReadingBook, row_out
from optimizer.ledger.readings import Reading, parse_csv

router = APIRouter(tags=["ledger"])
Month = Annotated[str, Query(pattern=r"^(19|20|21)\d{2}-(0[1-9]|1[0-2])$",
                             description="local month YYYY-MM")]
_ERRORS: dict[int | str, dict[str, Any]] = {422: {"model": ErrorOut}, 409: {"model": ErrorOut}}
_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/ReadingsIn"}},
    "text/csv": {"schema": {"type": "string"}}}}}


class ReadingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(max_length=32)
    device: str = Field(max_length=64)
    meter: str = Field(default="", max_length=64)
    at: AwareDatetime
    value: float = Field(allow_inf_nan=False)
    ts_pu: float | None = Field(default=None, allow_inf_nan=False)
    hours: float | None = Field(default=None, allow_inf_nan=False)


class ReadingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    readings: list[ReadingIn] = Field(min_length=1, max_length=20_000)


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: float | None = Field(default=None, allow_inf_nan=False)
    ts_pu: float | None = Field(default=None, allow_inf_nan=False)
    hours: float | None = Field(default=None, allow_inf_nan=False)
    reason: str = Field(min_length=1, max_length=1000)


def _book(services: Any) -> ReadingBook:
    return ReadingBook(services.store, services.sites)


def _parse(body: bytes, content_type: str | None, who: str) -> list[Reading]:
    kind = (content_type or "").split(";")[0].strip().lower()
    text = body.decode("utf-8", errors="replace")
    if kind == "text/csv":
        readings, errors = parse_csv(text, who)
        if errors:
            raise Invalid("the readings CSV does not parse; none was stored", errors)
        return readings
    try:
        if body.lstrip().startswith(b"{") and b'"readings"' not in body:
            data = ReadingsIn(readings=[ReadingIn.model_validate_json(body)])  # one reading
        else:
            data = ReadingsIn.model_validate_json(body)
    except ValidationError as exc:
        lines = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise Invalid("the readings do not validate", lines) from None
    return [Reading(**r.model_dump(), recorded_by=who) for r in data.readings]


@router.post("/v1/sites/{site}/readings", status_code=201, responses=_ERRORS,
             openapi_extra=_BODY)
async def post_readings(site: SiteName, request: Request, services: ServicesDep, now: NowDep,
                        who: SiteAccess) -> dict:
    """Store readings: one JSON reading, JSON ``{"readings": [...]}`` or a CSV upload; all of
    them or none."""
    body = await request.body()

    def work() -> dict:
        readings = _parse(body, request.headers.get("content-type"), who.key_id)
        return _book(services).post(site, readings, who.key_id, now)

    return await run_in_threadpool(work)


@router.get("/v1/sites/{site}/readings")
def list_readings(site: SiteName, services: ServicesDep, _: Manager,
                  kind: str | None = None, start: AwareDatetime | None = None,
                  end: AwareDatetime | None = None, history: bool = False) -> list[dict]:
    """Current readings (or every revision with ``history=true``), oldest first."""
    book = _book(services)
    book.site(site)
    rows = book.rows(site) if history else book.current_rows(site)
    return [row_out(r) for r in rows if (kind is None or r.kind == kind)
            and (start is None or r.at >= start) and (end is None or r.at < end)]


@router.post("/v1/sites/{site}/readings/{reading_id}/corrections", status_code=201,
             responses=_ERRORS)
def correct_reading(site: SiteName, reading_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
                    body: CorrectionIn, services: ServicesDep, now: NowDep, who: Manager
                    ) -> dict:
    """A corrected revision; the corrected row is kept (GET .../history)."""
    changes = body.model_dump(exclude_none=True, exclude={"reason"})
    return _book(services).correct(site, reading_id, changes, body.reason, who.key_id, now)


@router.get("/v1/sites/{site}/readings/{reading_id}/history")
def reading_history(site: SiteName, reading_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
                    services: ServicesDep, _: Manager) -> list[dict]:
    return _book(services).history(site, reading_id)


@router.get("/v1/sites/{site}/ledger",
            responses={200: {"content": {"text/csv": {}, "text/html": {}}}})
def site_ledger(site: SiteName, month: Month, services: ServicesDep, _: Manager,
                format: Literal["json", "csv", "html"] = "json"):  # type: ignore[no-untyped-def]
    """The month's account: JSON, CSV, or a printable HTML report with its charts."""
    desk = LedgerDesk(_book(services))
    account = desk.account(site, month)
    if format == "csv":
        return PlainTextResponse(desk.csv(account), media_type="text/csv")
    if format == "html":
        return HTMLResponse(desk.html(site, account))
    return account


@router.get("/v1/ledger/counties/{county}")
def county_ledger(county: Annotated[str, Path(min_length=1, max_length=64)], month: Month,
                  services: ServicesDep, _: Manager) -> dict:
    """The villages of a county, summed claim by claim."""
    return LedgerDesk(_book(services)).county(county, month)

