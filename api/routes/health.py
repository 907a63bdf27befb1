"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", responses={
    503: {"description": "the database does not answer or is full, or no solve worker runs"}})
def readyz(services: ServicesDep) -> JSONResponse:
    """The database answers a query and has room to write, and the solve pool works (a pool
    whose worker died is rebuilt here)."""
    problems = []
    try:
        services.store.ping()
    except Exception as exc:  # noqa: BLE001 - any database failure means "not ready"
        problems.append(f"database: {type(exc).__name__}")
    if services.store.full:
        problems.append("database: full (the last write found no space)")
    if not services.plan_service.pool.check():
        problems.append("solver: the solve pool is broken")
    if problems:
        return JSONResponse({"status": "unavailable", "detail": "; ".join(problems)}, 503,
                            headers={"Retry-After": "5"})
    return JSONResponse({"status": "ready", "database": services.store.dialect,
                         "solve_pool_rebuilt": services.plan_service.pool.rebuilt})
