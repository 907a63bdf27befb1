"""The FastAPI application factory."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.deps import utc_now
from api.fastpath import DispatchFastPath
from api.middleware import BodySizeLimit, BodyTooLarge
from api.routes import dispatch, forecasts, health, keys, limits, plans, sites
from api.routes import ledger as ledger_routes
from api.services.container import build_services
from api.services.errors import Insufficient, ServiceError, Unavailable, validation_lines
from api.settings import Settings, get_settings
from api.store import is_full, is_outage
from api.web.router import install as install_pages

log = logging.getLogger("villagegrid.api")


def _v1(path: str, _method: str) -> bool:
    return path.startswith("/v1/")


#: Error answers the OpenAPI schema lists, with the operations that can give them.
_ERROR_ANSWERS: dict[str, tuple[str, Callable[[str, str], bool]]] = {
    "401": ("no valid API key", _v1),
    "403": ("the key's role or site does not allow it", _v1),
    "404": ("no such site, plan or key", lambda path, _m: path.startswith("/v1/") and "{" in path),
    "413": ("the request body is too large", lambda _p, method: method in ("post", "put")),
    "422": ("the request does not validate; `errors` names each field", _v1),
    "429": ("a limit of this key was reached; retry after `Retry-After` seconds", _v1),
    "503": ("the database or the solver is unavailable; retry after `Retry-After` seconds",
            lambda path, _m: path != "/healthz"),
}


def declare_bearer(app: FastAPI) -> None:
    """Declare the bearer-token scheme on every /v1 operation of the OpenAPI schema, and the
    error answers each operation can give."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary,
                                 routes=app.routes)
            schema.setdefault("components", {})["securitySchemes"] = {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "an API key made with `villagegrid keys create`"}}
            error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
            for path, operations in schema["paths"].items():
                for method, operation in operations.items():
                    answers = operation.setdefault("responses", {})
                    for status, (description, applies) in _ERROR_ANSWERS.items():
                        # FastAPI's own 422 names a body shape the service does not send
                        if applies(path, method) and (status not in answers or status == "422"):
                            answers[status] = {"description": description, "content": error}
                    if path.startswith("/v1/"):
                        operation["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(
    settings: Settings | None = None, clock: Callable[[], datetime] = utc_now
) -> FastAPI:
    """The plan service; its services start with the app's lifespan and stop with it.

    ``clock`` gives the current time to requests and to the scheduler.
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build_services(settings, clock=clock)
        app.state.services = services
        services.start()
        # Objects alive now live as long as the app: keep them out of the cyclic garbage
        # collector's full passes, which otherwise pause every request for tens of ms.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            services.close()

    app = FastAPI(
        title="villagegrid",
        version="1",
        summary="Plans for village microgrids and dispatch for their controllers.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = clock

    @app.exception_handler(ServiceError)
    async def _service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse({"detail": exc.message, "errors": exc.errors}, exc.status_code,
                            headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": "the request does not validate",
                             "errors": validation_lines(exc.errors())}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI's "error parsing the body": bad input, as any
            return JSONResponse({"detail": "the request does not validate",
                                 "errors": ["body: not JSON in UTF-8"]}, 422)
        return JSONResponse({"detail": exc.detail, "errors": []}, exc.status_code,
                            headers=exc.headers)

    @app.exception_handler(SQLAlchemyError)
    async def _database_error(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        store = request.app.state.services.store
        if is_full(exc):
            error: ServiceError = Insufficient(
                "the database is full: nothing was stored; free disk space and retry")
        elif is_outage(exc):
            store.note_down(exc)
            error = Unavailable("the database is unavailable; retry shortly")
        else:
            log.error("database error: %s: %s", type(exc).__name__, exc)
            error = Unavailable("the database refused the request; retry shortly")
        return await _service_error(request, error)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(_request: Request, exc: BodyTooLarge) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "errors": []}, 413)

    # polls match the first routes
    for module in (dispatch, health, keys, sites, plans, forecasts, limits):
        app.include_router(module.router)
    install_pages(app)
    app.include_router(ledger_routes.router)
    declare_bearer(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(DispatchFastPath, state=app.state)
    return app
