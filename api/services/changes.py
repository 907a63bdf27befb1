"""The change feed: how every server process on one database learns what another changed.

A change (a plan pointer moved, a fallback stored, a new site version, a key revoked) adds a
row to ``changes`` in its own transaction. Each process polls the rows after the last id it
saw, every ``dispatch_cache_ttl_s``, and rebuilds what they name: a site's dispatch snapshot,
or forgets a revoked key. So a revocation or a new plan takes effect everywhere within one
poll interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from api.store import ChangeRow, Store

#: Kinds of change.
PLANS, SITE, KEYS = "plans", "site", "keys"
#: How long a change row is kept; a process polls far more often than this.
KEEP = timedelta(hours=1)


def record_change(session: Session, kind: str, subject: str, now: datetime) -> None:
    """Add a change row to the caller's transaction; ``subject`` is the site, or for
    ``KEYS`` the revoked key's id."""
    session.add(ChangeRow(kind=kind, subject=subject, at=now))


@dataclass(frozen=True)
class Changes:
    sites: frozenset[str]
    #: ids of revoked keys
    keys: frozenset[str]
    #: sites with a new version (a subset of ``sites``)
    new_sites: frozenset[str] = frozenset()
    #: True when rows were pruned before this process saw them: rebuild everything
    everything: bool = False


class ChangeFeed:
    """Reads the change rows after the last one this process saw."""

    def __init__(self, store: Store):
        self._store = store
        self._last: int | None = None

    def poll(self, now: datetime) -> Changes:
        with self._store.reader() as s:
            if self._last is None:  # start after what exists: this process loads afresh
                self._last = s.scalar(select(func.max(ChangeRow.id))) or 0
                return Changes(frozenset(), frozenset())
            rows = s.execute(
                select(ChangeRow.id, ChangeRow.kind, ChangeRow.subject)
                .where(ChangeRow.id > self._last).order_by(ChangeRow.id)
            ).all()
            oldest = s.scalar(select(func.min(ChangeRow.id))) if rows else None
        everything = oldest is not None and oldest > self._last + 1 and self._last > 0
        if rows:
            self._last = rows[-1][0]
        if rows and (rows[-1][0] // 100) != (rows[0][0] - 1) // 100:  # every 100 rows or so
            with self._store.writer() as s:  # drop rows every process has long seen
                s.execute(delete(ChangeRow).where(ChangeRow.at < now - KEEP))

        def subjects(*kinds: str) -> frozenset[str]:
            return frozenset(subject for _, kind, subject in rows if kind in kinds)

        return Changes(subjects(PLANS, SITE), subjects(KEYS), subjects(SITE), everything)
