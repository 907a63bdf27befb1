"""API keys: random bearer tokens, stored as SHA-256 hashes, each with a role.

A token is ``vg_<key id>_<secret>`` with 256 random bits in the secret, so a plain SHA-256 of
it is enough (no password stretching is needed for a high-entropy secret). The token is shown
once, when it is made; only the hash is kept.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from api.services.changes import KEYS, record_change
from api.services.errors import Invalid, NotFound
from api.services.ttlcache import Stale, TtlCache
from api.store import ApiKey, Store

ROLES = ("admin", "manager", "controller")
LABEL_MAX = 200
_SITE_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's id, its role, and for a controller the one site it serves."""

    key_id: str
    role: str
    site: str | None


def may_read_site(principal: Principal, site: str) -> bool:
    """Admins and managers reach every site; a controller only its own."""
    return principal.role != "controller" or principal.site == site


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None for any other value.

    The one parser of the header, for the routes' dependency and the dispatch fast path.
    """
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def create_key(
    store: Store, role: str, site: str | None, now: datetime, label: str = ""
) -> tuple[ApiKey, str]:
    """Make a key; returns the stored row and the token (which is not stored)."""
    errors = []
    if role not in ROLES:
        errors.append(f"role: must be one of {', '.join(ROLES)}, got {role!r}")
    if role == "controller" and not site:
        errors.append("site: a controller key is bound to one site; give its name")
    if role != "controller" and site:
        errors.append(f"site: only controller keys are bound to a site, got {site!r} for {role}")
    if site and not _SITE_NAME.match(site):
        errors.append(f"site: must match {_SITE_NAME.pattern}, got {site!r}")
    if any(not ch.isprintable() for ch in label):
        errors.append("label: must be printable text (no control characters such as NUL)")
    if len(label) > LABEL_MAX:
        errors.append(f"label: must be at most {LABEL_MAX} characters, got {len(label)}")
    if errors:
        raise Invalid("invalid key request", errors)
    key_id = secrets.token_hex(6)
    token = f"vg_{key_id}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        key_id=key_id, token_sha256=hash_token(token), role=role, site=site or None,
        label=label, created_at=now,
    )
    with store.writer() as s:
        s.add(row)
    return row, token


def list_keys(store: Store) -> list[ApiKey]:
    with store.reader() as s:
        return list(s.scalars(select(ApiKey).order_by(ApiKey.created_at)))


class KeyRing:
    """Looks tokens up, remembering answers for ``ttl_s`` so polls do not hit the database.

    An answer is never used after ``ttl_s``; a revocation anywhere also removes the key from
    every process's memory through the change feed (:meth:`forget`).
    """

    def __init__(self, store: Store, ttl_s: float):
        self._store = store
        self._cache: TtlCache[str, Principal | None] = TtlCache(ttl_s)

    def cached(self, token: str) -> Principal | None:
        """The key's principal if this process knows it (an answer younger than ``ttl_s``),
        else None (ask ``authenticate``)."""
        try:
            return self._cache.get(hash_token(token))
        except Stale:
            return None

    def forget_all(self) -> None:
        """Drop every remembered answer."""
        self._cache.clear()

    def forget(self, key_ids: frozenset[str]) -> None:
        """Drop the remembered answers of these keys (revoked, maybe in another process)."""
        self._cache.drop_where(lambda found: found is not None and found.key_id in key_ids)

    def authenticate(self, token: str) -> Principal | None:
        """The key's principal, from memory if fresh, else from the database."""
        digest = hash_token(token)
        try:
            return self._cache.get(digest)
        except Stale:
            pass
        with self._store.reader() as s:
            row = s.scalar(select(ApiKey).where(ApiKey.token_sha256 == digest))
        found = None
        if row is not None and row.revoked_at is None:
            found = Principal(row.key_id, row.role, row.site)
        self._cache.put(digest, found)  # bounded: a flood of bad tokens cannot grow it forever
        return found

    def revoke(self, key_id: str, now: datetime) -> ApiKey:
        with self._store.writer() as s:
            row = s.get(ApiKey, key_id)
            if row is None:
                raise NotFound(f"no API key with id {key_id!r}")
            if row.revoked_at is None:
                row.revoked_at = now
                record_change(s, KEYS, key_id, now)
            digest = row.token_sha256
        self._cache.drop(digest)
        return row
