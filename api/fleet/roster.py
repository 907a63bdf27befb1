"""Which sites make a fleet: a folder of site files, or the service's site registry, filtered by
county and township.

A roster holds each site as JSON data (what a task receives) and the files that could not be
read, each with its reason, so that a bad file is reported beside the others' results and
never stops them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api.services.sites import SiteBook
from api.store import Store
from sites.load import SiteError, load_site
from sites.schema import Site

SITE_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Member:
    """One site of a fleet: its name, place in the county, and the site as JSON data."""

    name: str
    county: str | None
    township: str | None
    spec: dict[str, Any]
    source: str


@dataclass(frozen=True)
class Rejected:
    """A site file that is not part of the run, and why."""

    source: str
    reason: str


@dataclass
class Roster:
    members: list[Member] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    @classmethod
    def of(cls, sites: Iterable[Site]) -> Roster:
        """A roster of sites already validated (e.g. one site of the registry)."""
        return cls(members=[_member(s, f"site {s.name!r}") for s in sites])


def _member(site: Site, source: str) -> Member:
    return Member(site.name, site.county, site.township, site.model_dump(mode="json"), source)


def _matches(site: Site, county: str | None, township: str | None) -> bool:
    return (county is None or site.county == county) and (
        township is None or site.township == township
    )


def _collect(
    found: Iterable[tuple[str, Site | None, str]], county: str | None, township: str | None
) -> Roster:
    """Members from (source, site or None, reason) triples; a name seen twice is rejected."""
    roster = Roster()
    seen: dict[str, str] = {}
    for source, site, reason in found:
        if site is None:
            roster.rejected.append(Rejected(source, reason))
        elif not _matches(site, county, township):
            continue
        elif site.name in seen:
            roster.rejected.append(
                Rejected(source, f"site name {site.name!r} is already used by {seen[site.name]}")
            )
        else:
            seen[site.name] = source
            roster.members.append(_member(site, source))
    return roster


def from_folder(
    folder: str | Path, county: str | None = None, township: str | None = None
) -> Roster:
    """Every ``*.yaml`` site file directly in ``folder`` that lies in the county/township.

    A file that does not validate is rejected with its errors (its county is unknown, so it
    is reported whatever the filter).

    Raises
    ------
    FileNotFoundError
        ``folder`` is not a directory.
    """
    path = Path(folder)
    if not path.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder of site files")

    def read() -> Iterable[tuple[str, Site | None, str]]:
        for file in sorted(p for p in path.iterdir() if p.suffix.lower() in SITE_SUFFIXES):
            try:
                yield str(file), load_site(file), ""
            except SiteError as exc:
                yield str(file), None, "; ".join(exc.errors)
            except OSError as exc:
                yield str(file), None, f"cannot read the file: {exc.strerror}"

    return _collect(read(), county, township)


def from_registry(store: Store, county: str | None = None, township: str | None = None) -> Roster:
    """The latest version of every site stored in the service's database, filtered."""
    book = SiteBook(store)
    found = ((f"registry:{row.site} v{row.version}", book.site(row), "")
             for row in book.list_latest())
    return _collect(found, county, township)
