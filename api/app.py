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

from api.deps import utc_now
from api.fastpath import DispatchFastPath
from api.middleware import BodySizeLimit, BodyTooLarge
from api.routes import dispatch, health, keys, limits, plans, sites
from api.services.container import build_services
from api.services.errors import ServiceError, validation_lines
from api.settings import Settings, get_settings

log = logging.getLogger("villagegrid.api")


def declare_bearer(app: FastAPI) -> None:
    """Declare the bearer-token scheme on every /v1 operation of the OpenAPI schema."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary,
                                 routes=app.routes)
            schema.setdefault("components", {})["securitySchemes"] = {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "an API key made with `villagegrid keys create`"}}
            for path, operations in schema["paths"].items():
                if path.startswith("/v1/"):
                    for operation in operations.values():
                        operation["security"] = [{"bearer": []}]
                        operation.setdefault("responses", {}).update({
                            "401": {"description": "no valid API key"},
                            "403": {"description": "the key's role or site does not allow it"}})
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
        return JSONResponse({"detail": exc.message, "errors": exc.errors}, exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": "the request does not validate",
                             "errors": validation_lines(exc.errors())}, 422)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(_request: Request, exc: BodyTooLarge) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "errors": []}, 413)

    for module in (dispatch, health, keys, sites, plans, limits):  # polls match the first routes
        app.include_router(module.router)
    declare_bearer(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(DispatchFastPath, state=app.state)
    return app
