"""The waste ledger of a site or a county, from the stored readings (docs/ledger.md)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from api.services.errors import Invalid, NotFound
from api.services.readings import ReadingBook
from api.store import PlanRow
from optimizer.ledger.account import claims_by_month, month_bounds, monthly_account, roll_up
from optimizer.ledger.report import to_csv, to_html
from sites.schema import Digester, Site


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
        month = _month(site, month)
        planned = self.planned(site, month)
        return monthly_account(site, self._book.current(name), month, planned=planned)

    def planned(self, site: Site, month: str) -> dict[str, tuple[float, str]] | None:
        """Biogas the day's current plans expected, per digester, over the days of the month
        that have one [m³]; None when no day has a plan."""
        from optimizer.devices import device_models
        from optimizer.plan import Plan

        start, end = month_bounds(site, month)
        days = pd.date_range(start.tz_convert(site.tz), end.tz_convert(site.tz), freq="D",
                             inclusive="left").date
        store = self._book.store
        totals = {d.name: 0.0 for d in site.of_type(Digester)}
        models = [m for m in device_models(site) if m.name in totals]
        covered = 0
        with store.reader() as s:
            for day in days:
                plan_id = store.pointer(s, site.name, day)
                row = s.get(PlanRow, plan_id) if plan_id else None
                if row is None:
                    continue
                table = Plan.from_dict(json.loads(row.plan_json)).table
                local = table.index.tz_convert(site.tz).date
                today = table[local == day]
                for m in models:  # the gas that reached the holder
                    totals[m.name] += float(m.plan_columns(today)["produced_m3"].sum())
                covered += 1
        if not covered:
            return None
        source = f"current plans of {covered} of {len(days)} days"
        return {name: (m3, source) for name, m3 in totals.items()}

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
