"""Sites: parse and validate a site file, keep each distinct content as a new version."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from api.services.changes import SITE, record_change
from api.services.errors import Invalid, NotFound
from api.store import SiteVersion, Store
from sites.load import SiteError, parse_yaml, site_from_data
from sites.schema import Site

JSON_TYPES = ("application/json", "text/json")
#: Most values a site document may hold; bounds YAML alias expansion ("billion laughs").
MAX_NODES = 100_000


def _check_size(data: object) -> None:
    """Count the values of parsed data (aliases count each time they are used)."""
    stack, seen = [data], 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            raise SiteError("body", [f"body: more than {MAX_NODES} values (YAML aliases "
                                     "expand into copies)"])
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _unique_pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object whose keys are unique (the same rule as for YAML site files)."""
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise SiteError("body", [f"JSON object has a repeated key {key!r}"])
        out[key] = value
    return out


def parse_body(body: bytes, content_type: str | None) -> Site:
    """A Site from a YAML or JSON request body; problems raise Invalid naming each field."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid("the site body is not UTF-8", [f"byte {exc.start}: not UTF-8"]) from None
    media = (content_type or "").split(";", 1)[0].strip().lower()
    try:
        if media in JSON_TYPES or media.endswith("+json"):
            try:
                data = json.loads(text, object_pairs_hook=_unique_pairs)
            except json.JSONDecodeError as exc:
                raise SiteError("body", [f"JSON syntax error at line {exc.lineno}, column "
                                         f"{exc.colno}: {exc.msg}"]) from None
        else:
            data = parse_yaml(text, "body")
        _check_size(data)
        return site_from_data(data, "body")
    except SiteError as exc:
        raise Invalid("the site does not validate", exc.errors) from None
    except RecursionError:
        raise Invalid("the site does not validate", ["body: nested too deeply"]) from None


def canonical_json(site: Site) -> str:
    return json.dumps(site.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


class SiteBook:
    """Stored site versions, with parsed Sites cached by version id (versions never change)."""

    def __init__(self, store: Store):
        self._store = store
        self._parsed: dict[int, Site] = {}
        self._lock = threading.Lock()

    def put(self, site: Site, now: datetime) -> tuple[SiteVersion, bool]:
        """Store ``site``; same content as the latest version returns it unchanged."""
        body = canonical_json(site)
        digest = hashlib.sha256(body.encode()).hexdigest()
        for _attempt in range(5):
            try:
                with self._store.writer() as s:
                    latest = self._latest_row(s, site.name)
                    if latest is not None and latest.content_sha256 == digest:
                        return latest, False
                    row = SiteVersion(
                        site=site.name, version=(latest.version + 1) if latest else 1,
                        content_sha256=digest, body_json=body, created_at=now,
                    )
                    s.add(row)
                    record_change(s, SITE, site.name, now)
                return row, True
            except IntegrityError:
                continue  # another writer took this version number; read again
        raise Invalid(f"site {site.name!r} is being changed concurrently; retry")

    @staticmethod
    def _latest_row(s, name: str) -> SiteVersion | None:  # type: ignore[no-untyped-def]
        return s.scalar(
            select(SiteVersion).where(SiteVersion.site == name)
            .order_by(SiteVersion.version.desc()).limit(1)
        )

    def row(self, name: str, version: int | None = None) -> SiteVersion:
        with self._store.reader() as s:
            if version is None:
                row = self._latest_row(s, name)
            else:
                row = s.scalar(
                    select(SiteVersion).where(
                        SiteVersion.site == name, SiteVersion.version == version
                    )
                )
        if row is None:
            what = f"site {name!r}" + (f" version {version}" if version is not None else "")
            raise NotFound(f"no {what}")
        return row

    def site(self, row: SiteVersion) -> Site:
        cached = self._parsed.get(row.id)
        if cached is None:
            cached = Site.model_validate_json(row.body_json)
            with self._lock:
                self._parsed[row.id] = cached
        return cached

    def latest(self, name: str) -> tuple[Site, SiteVersion]:
        row = self.row(name)
        return self.site(row), row

    def by_id(self, version_id: int) -> Site:
        cached = self._parsed.get(version_id)
        if cached is not None:
            return cached
        with self._store.reader() as s:
            row = s.get(SiteVersion, version_id)
        if row is None:
            raise NotFound(f"no site version with id {version_id}")
        return self.site(row)

    def list_latest(self) -> list[SiteVersion]:
        with self._store.reader() as s:
            newest = (
                select(SiteVersion.site, func.max(SiteVersion.version).label("v"))
                .group_by(SiteVersion.site).subquery()
            )
            rows = s.scalars(
                select(SiteVersion).join(
                    newest, (SiteVersion.site == newest.c.site)
                    & (SiteVersion.version == newest.c.v)
                ).order_by(SiteVersion.site)
            )
            return list(rows)

    def versions(self, name: str) -> list[SiteVersion]:
        with self._store.reader() as s:
            rows = list(s.scalars(
                select(SiteVersion).where(SiteVersion.site == name)
                .order_by(SiteVersion.version)
            ))
        if not rows:
            raise NotFound(f"no site {name!r}")
        return rows
