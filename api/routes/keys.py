"""API keys (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import Admin, NowDep, ServicesDep
from api.schemas import KeyCreated, KeyIn, KeyOut
from api.services import keys as key_service

router = APIRouter(prefix="/v1/keys", tags=["keys"])
KeyId = Annotated[str, Path(max_length=32, pattern=r"^[0-9a-f]+$")]


def _out(row) -> dict:  # type: ignore[no-untyped-def]
    return {"key_id": row.key_id, "role": row.role, "site": row.site, "label": row.label,
            "created_at": row.created_at, "revoked_at": row.revoked_at}


@router.post("", status_code=201, response_model=KeyCreated)
def create_key(body: KeyIn, services: ServicesDep, now: NowDep, _: Admin) -> dict:
    """Make a key; the token is in this answer only."""
    row, token = key_service.create_key(services.store, body.role, body.site, now, body.label)
    return {**_out(row), "token": token}


@router.get("", response_model=list[KeyOut])
def list_keys(services: ServicesDep, _: Admin) -> list[dict]:
    return [_out(row) for row in key_service.list_keys(services.store)]


@router.delete("/{key_id}", response_model=KeyOut)
def revoke_key(key_id: KeyId, services: ServicesDep, now: NowDep, _: Admin) -> dict:
    return _out(services.keys.revoke(key_id, now))
