"""The waste ledger of a site or a county, from the stored readings (docs/ledger.md)."""

from __future__ import annotations

from typing import Any

from api.services.errors import Invalid, NotFound
from api.services.readings import ReadingBook
from optimizer.ledger.account import claims_by_month, month_bounds, monthly_account, roll_up
from optimizer.ledger.report import to_csv, to_html
from sites.schema import Site


def _month(site: Site, month: str) -> str:
    """The month, checked: a local calendar month the site's time zone can represent."""
    try:
        month_bounds(site, month)
    except (ValueError, OverflowError):
        raise Invalid("the month is out of range",
                      [f"month: must be a month YYYY-MM from 1900-01 to 2199-12, got {month!r}"]
                      ) from None
    return month


class LedgerDesk:
    def __init__(self, book: ReadingBook):
        self._book = book

    def account(self, name: str, month: str) -> dict[str, Any]:
        site = self._book.site(name)
        if site.ledger is None:
            raise Invalid(f"site {name!r} keeps no ledger",
                          ["ledger: the site file needs a `ledger:` block (docs/ledger.md)"])
        return monthly_account(site, self._book.current(name), _month(site, month))

    def csv(self, account: dict[str, Any]) -> str:
        return to_csv(account)

    def html(self, name: str, account: dict[str, Any]) -> str:
        site = self._book.site(name)
        monthly = claims_by_month(site, self._book.current(name), account["month"])
        return to_html(account, monthly)

    def county(self, county: str, month: str) -> dict[str, Any]:
        sites = [self._book.site(row.site) for row in self._book.sites.list_latest()]
        members = [s for s in sites if s.county == county and s.ledger is not None]
        if not members:
            raise NotFound(f"no site with a ledger belongs to county {county!r}")
        accounts = [monthly_account(s, self._book.current(s.name), _month(s, month))
                    for s in members]
        return {"county": county, "month": month, **roll_up(accounts)}
