"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.deps import get_now
from api.middleware import BodySizeLimit, BodyTooLarge
from api.routes import dispatch, health, keys, plans, sites
from api.services.container import build_services
from api.services.errors import ServiceError
from api.settings import Settings, get_settings

log = logging.getLogger("villagegrid.api")


def validation_lines(errors: Sequence[Any]) -> list[str]:
    """``where.field: what was expected`` for each error (the bad input is not echoed: it
    may be huge or not representable in JSON, like an infinite float)."""
    lines = []
    for err in errors:
        where = ".".join(str(part) for part in err.get("loc", ()))
        lines.append(f"{where}: {err.get('msg', 'invalid')}")
    return lines


def create_app(settings: Settings | None = None) -> FastAPI:
    """The plan service; its services start with the app's lifespan and stop with it."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build_services(settings, clock=get_now)
        app.state.services = services
        if settings.scheduler_enabled:
            services.auto.start()
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

    for module in (health, keys, sites, plans, dispatch):
        app.include_router(module.router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app
