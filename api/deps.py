"""Dependencies of the routes: the services, the clock, and who is calling."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.services.container import Services
from api.services.keys import Principal

_bearer = HTTPBearer(auto_error=False, description="an API key made with `villagegrid keys create`")


def get_services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def get_now() -> datetime:
    """The current time; the one place the service reads the clock (tests override it)."""
    return datetime.now(UTC)


ServicesDep = Annotated[Services, Depends(get_services)]
NowDep = Annotated[datetime, Depends(get_now)]


def get_principal(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller's key; 401 without a valid one."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise HTTPException(401, "an API key is required: Authorization: Bearer <token>",
                            headers=challenge)
    found = services.keys.authenticate(credentials.credentials)
    if found is None:
        raise HTTPException(401, "the API key is unknown or revoked", headers=challenge)
    return found


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency that admits only the given roles (403 for others)."""

    def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise HTTPException(403, f"this needs a {' or '.join(roles)} key, "
                                     f"not a {principal.role} key")
        return principal

    return check


def site_reader(site: str, principal: PrincipalDep) -> Principal:
    """Admins and managers reach every site; a controller only its own (403 otherwise)."""
    if principal.role == "controller" and principal.site != site:
        raise HTTPException(403, "this controller key is bound to another site")
    return principal


Manager = Annotated[Principal, Depends(require("admin", "manager"))]
Admin = Annotated[Principal, Depends(require("admin"))]
SiteAccess = Annotated[Principal, Depends(site_reader)]
