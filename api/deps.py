"""Dependencies of the routes: the services, the clock, and who is calling.

They are ``async`` because they do no blocking work on the common path (all from memory);
FastAPI would otherwise run each in a worker thread. A key not yet cached is looked up in a
worker thread.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from api.services.container import Services
from api.services.keys import Principal, bearer_token, may_read_site


async def get_services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def utc_now() -> datetime:
    """The current time; the one place the service reads the clock."""
    return datetime.now(UTC)


async def get_now(request: Request) -> datetime:
    """The app's clock (``create_app(clock=...)``; tests pass a settable one)."""
    return request.app.state.clock()  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(get_services)]
NowDep = Annotated[datetime, Depends(get_now)]


async def get_principal(request: Request) -> Principal:
    """The caller's key, from ``Authorization: Bearer <token>``; 401 without a valid one.

    The header is read here rather than through ``fastapi.security.HTTPBearer`` to keep the
    dependency chain of a dispatch poll short; the OpenAPI schema declares the scheme
    (see :func:`api.app.declare_bearer`).
    """
    challenge = {"WWW-Authenticate": "Bearer"}
    services = request.app.state.services
    failures = services.limits.auth_failures
    address = f"address:{request.client.host if request.client else '-'}"
    token = bearer_token(request.headers.get("authorization"))
    found = services.keys.cached(token) if token is not None else None
    if found is not None:
        return found  # type: ignore[no-any-return]
    failures.check(address, "this client address")  # 429 after too many failures
    if token is not None:  # not in memory: the database is asked in a worker thread
        found = await run_in_threadpool(services.keys.authenticate, token)
    if found is None:
        failures.count(address)
        raise HTTPException(401, "an API key is required: Authorization: Bearer <token>"
                            if token is None else "the API key is unknown or revoked",
                            headers=challenge)
    return found  # type: ignore[no-any-return]


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits only the given roles (403 for others)."""

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            article = "an" if roles[0][0] in "aeiou" else "a"
            raise HTTPException(403, f"this needs {article} {' or '.join(roles)} key, "
                                     f"not a {principal.role} key")
        return principal

    return check


async def site_reader(site: str, request: Request) -> Principal:
    """Admins and managers reach every site; a controller only its own (403 otherwise).

    One dependency (it calls :func:`get_principal` itself), as dispatch polls are frequent.
    """
    principal = await get_principal(request)
    if not may_read_site(principal, site):
        raise HTTPException(403, "this controller key is bound to another site")
    return principal


Manager = Annotated[Principal, Depends(require("admin", "manager"))]
Admin = Annotated[Principal, Depends(require("admin"))]
SiteAccess = Annotated[Principal, Depends(site_reader)]
