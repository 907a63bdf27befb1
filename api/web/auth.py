"""Logins to the pages: a session cookie made from an API key or a single-use login link.

The cookie holds a random token (only its SHA-256 is stored, as for API keys); it is
HttpOnly and SameSite=Lax, and Secure when the page came over HTTPS. A session acts with
the role and site of the key it came from, and ends when that key is revoked. A login link
(``villagegrid keys link KEY_ID``) carries its token in the URL once: ``/login?token=...``
exchanges it for a session and redirects to a URL without it; a used or expired link opens
nothing.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update

from api.services.errors import Invalid, NotFound
from api.services.keys import Principal, hash_token
from api.store import ApiKey, LoginLink, Store, WebSession

SESSION_COOKIE = "vg_session"
#: Longest life of a login link [min]; a link is for handing over now, not for keeping.
MAX_LINK_MINUTES = 24 * 60


def make_login_link(store: Store, key_id: str, now: datetime, minutes: float) -> str:
    """A single-use login token for the key ``key_id``, valid for ``minutes``."""
    if not 0 < minutes <= MAX_LINK_MINUTES:
        raise Invalid("invalid login link", [
            f"minutes: must lie in (0, {MAX_LINK_MINUTES}], got {minutes:g}"])
    with store.writer() as s:
        key = s.get(ApiKey, key_id)
        if key is None:
            raise NotFound(f"no API key with id {key_id!r}")
        if key.revoked_at is not None:
            raise Invalid("invalid login link", [f"key_id: key {key_id!r} is revoked"])
        token = secrets.token_urlsafe(32)
        s.add(LoginLink(token_sha256=hash_token(token), key_id=key_id, created_at=now,
                        expires_at=now + timedelta(minutes=minutes)))
    return token


class Sessions:
    """Opens, finds and closes the web sessions of one store."""

    def __init__(self, store: Store, hours: float):
        self._store = store
        self._life = timedelta(hours=hours)

    @property
    def max_age_s(self) -> int:
        return int(self._life.total_seconds())

    def open(self, key_id: str, now: datetime) -> str:
        """A new session for ``key_id``; returns the cookie's token."""
        token = secrets.token_urlsafe(32)
        with self._store.writer() as s:
            s.add(WebSession(token_sha256=hash_token(token), key_id=key_id, created_at=now,
                             expires_at=now + self._life))
        return token

    def principal(self, token: str | None, now: datetime) -> Principal | None:
        """Who a cookie's session acts as; None if unknown, expired or its key revoked."""
        if not token:
            return None
        with self._store.reader() as s:
            row = s.execute(
                select(ApiKey.key_id, ApiKey.role, ApiKey.site)
                .join(WebSession, WebSession.key_id == ApiKey.key_id)
                .where(WebSession.token_sha256 == hash_token(token),
                       WebSession.expires_at > now, ApiKey.revoked_at.is_(None))
            ).first()
        return None if row is None else Principal(row.key_id, row.role, row.site)

    def close(self, token: str | None) -> None:
        if token:
            with self._store.writer() as s:
                found = s.get(WebSession, hash_token(token))
                if found is not None:
                    s.delete(found)

    def exchange(self, link_token: str, now: datetime) -> str | None:
        """The key id of a login link, marking it used; None if unknown, used or expired.

        One conditional UPDATE, so two requests with the same link cannot both succeed.
        """
        digest = hash_token(link_token)
        with self._store.writer() as s:
            done = s.execute(
                update(LoginLink)
                .where(LoginLink.token_sha256 == digest, LoginLink.used_at.is_(None),
                       LoginLink.expires_at > now)
                .values(used_at=now)
            )
            if done.rowcount != 1:  # type: ignore[attr-defined]
                return None
            key_id = s.scalar(select(LoginLink.key_id).where(LoginLink.token_sha256 == digest))
            revoked = s.scalar(select(ApiKey.revoked_at).where(ApiKey.key_id == key_id))
        return None if revoked is not None else key_id
