"""Readings of the biogas chain: posted one by one or as CSV, idempotent, corrected with an
audit trail, refused when implausible (rules in ``optimizer.ledger.readings``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.services.errors import Invalid, NotFound, ServiceError
from api.services.sites import SiteBook
from api.store import ReadingRow, Store
from optimizer.ledger.readings import Reading, reading_errors, with_meter
from sites.schema import Site


class Conflict(ServiceError):
    status_code = 409


def to_reading(row: ReadingRow) -> Reading:
    return Reading(kind=row.kind, device=row.device, meter=row.meter, at=row.at,
                   value=row.value, ts_pu=row.ts_pu, hours=row.hours,
                   recorded_by=row.recorded_by)


def row_out(row: ReadingRow) -> dict[str, Any]:
    return {"id": row.id, "site": row.site, "kind": row.kind, "device": row.device,
            "meter": row.meter, "at": row.at, "value": row.value, "ts_pu": row.ts_pu,
            "hours": row.hours, "revision": row.revision, "supersedes": row.supersedes,
            "reason": row.reason, "recorded_by": row.recorded_by,
            "recorded_at": row.recorded_at}


def _key(r: Reading | ReadingRow) -> tuple[str, str, str, datetime]:
    return (r.kind, r.device, r.meter, r.at)


class ReadingBook:
    """The readings of every site, in the plans' database."""

    def __init__(self, store: Store, sites: SiteBook):
        self._store = store
        self._sites = sites

    @property
    def store(self) -> Store:
        return self._store

    @property
    def sites(self) -> SiteBook:
        return self._sites

    def site(self, name: str) -> Site:
        return self._sites.latest(name)[0]

    def rows(self, name: str) -> list[ReadingRow]:
        """Every row of a site, oldest first, corrections included."""
        with self._store.reader() as s:
            return list(s.scalars(select(ReadingRow).where(ReadingRow.site == name)
                                  .order_by(ReadingRow.at, ReadingRow.revision)))

    def current_rows(self, name: str) -> list[ReadingRow]:
        """The latest revision of each reading."""
        latest: dict[tuple, ReadingRow] = {}
        for row in self.rows(name):
            key = _key(row)
            if key not in latest or row.revision > latest[key].revision:
                latest[key] = row
        return sorted(latest.values(), key=lambda r: (r.at, r.kind, r.device, r.meter))

    def current(self, name: str) -> list[Reading]:
        return [to_reading(r) for r in self.current_rows(name)]

    def post(self, name: str, readings: Sequence[Reading], who: str, now: datetime
             ) -> dict[str, Any]:
        """Store new readings all together, or none; re-posts of a stored reading are
        answered with it (``duplicates``)."""
        site = self.site(name)
        new = [with_meter(r) for r in readings]
        try:
            return self._post(site, new, who, now)
        except IntegrityError:  # the same reading posted at the same moment elsewhere
            return self._post(site, new, who, now)

    def _post(self, site: Site, new: list[Reading], who: str, now: datetime) -> dict[str, Any]:
        current = {_key(r): r for r in self.current_rows(site.name)}
        fresh: list[Reading] = []
        duplicates: list[ReadingRow] = []
        errors: list[str] = []
        seen: dict[tuple, Reading] = {}
        for i, r in enumerate(new):
            old = current.get(_key(r))
            twin = seen.get(_key(r))
            if old is not None:
                if to_reading(old).same_content(r):
                    duplicates.append(old)
                else:
                    errors.append(f"readings[{i}]: {r.kind} of {r.meter} at {r.at.isoformat()} "
                                  f"is stored already (id {old.id}, value {old.value:g}); "
                                  f"correct it with POST /v1/sites/{site.name}/readings/"
                                  f"{old.id}/corrections")
            elif twin is not None:
                if not twin.same_content(r):
                    errors.append(f"readings[{i}]: repeats {r.kind} of {r.meter} at "
                                  f"{r.at.isoformat()} with another value")
            else:
                seen[_key(r)] = r
                fresh.append(r)
        kept = [to_reading(r) for r in current.values()]
        errors += _renumbered(reading_errors(site, kept, fresh, now), fresh, new)
        if errors:
            raise Invalid("the readings are refused; none was stored", errors)
        rows = [ReadingRow(site=site.name, kind=r.kind, device=r.device, meter=r.meter,
                           at=r.at, value=r.value, ts_pu=r.ts_pu, hours=r.hours, revision=0,
                           reason="", recorded_by=who, recorded_at=now) for r in fresh]
        with self._store.writer() as s:
            s.add_all(rows)
        return {"stored": [row_out(r) for r in rows],
                "duplicates": [row_out(r) for r in duplicates]}

    def correct(self, name: str, reading_id: int, changes: dict[str, Any], reason: str,
                who: str, now: datetime) -> dict[str, Any]:
        """A new revision of a reading; the old row stays as it was."""
        site = self.site(name)
        rows = self.current_rows(name)
        old = next((r for r in rows if r.id == reading_id), None)
        if old is None:
            if any(r.id == reading_id for r in self.rows(name)):
                raise Conflict(f"reading {reading_id} has been corrected since; correct its "
                               "latest revision")
            raise NotFound(f"site {name!r} has no reading {reading_id}")
        was = to_reading(old)
        fixed = Reading(kind=was.kind, device=was.device, meter=was.meter, at=was.at,
                        value=changes.get("value", was.value),
                        ts_pu=changes.get("ts_pu", was.ts_pu),
                        hours=changes.get("hours", was.hours), recorded_by=who)
        kept = [to_reading(r) for r in rows if r.id != reading_id]
        errors = reading_errors(site, kept, [fixed], now)
        if errors:
            raise Invalid("the correction is refused", [e.replace("readings[0]", "correction")
                                                        for e in errors])
        row = ReadingRow(site=name, kind=fixed.kind, device=fixed.device, meter=fixed.meter,
                         at=fixed.at, value=fixed.value, ts_pu=fixed.ts_pu, hours=fixed.hours,
                         revision=old.revision + 1, supersedes=old.id, reason=reason,
                         recorded_by=who, recorded_at=now)
        with self._store.writer() as s:
            s.add(row)
        return row_out(row)

    def history(self, name: str, reading_id: int) -> list[dict[str, Any]]:
        """Every revision of the reading ``reading_id`` belongs to, oldest first."""
        rows = self.rows(name)
        found = next((r for r in rows if r.id == reading_id), None)
        if found is None:
            raise NotFound(f"site {name!r} has no reading {reading_id}")
        return [row_out(r) for r in rows if _key(r) == _key(found)]


def _renumbered(errors: list[str], fresh: list[Reading], new: list[Reading]) -> list[str]:
    """Messages about ``fresh[i]`` named after the reading's place in the posted batch."""
    place = {i: next(j for j, r in enumerate(new) if r is f) for i, f in enumerate(fresh)}
    out = []
    for e in errors:
        head, sep, rest = e.partition("]")
        if head.startswith("readings[") and sep:
            out.append(f"readings[{place[int(head[9:])]}]{rest}")
        else:
            out.append(e)
    return out
