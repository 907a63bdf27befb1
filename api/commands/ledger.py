"""``villagegrid ledger SITE --month YYYY-MM``: the month's waste ledger from readings.

Readings come from a CSV file (``--readings``; by default the bundled example month
``sites/readings/<site file stem>_<month>.csv`` when there is one), or with ``--from-db`` from
the service's database (``villagegrid readings import``, or the API). Writes the account as
JSON and CSV and a printable HTML report into ``--out``; prints the claims.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ledger", help="the monthly waste ledger of a site from its readings",
                       description="Feedstock, gas and its uses, and the three emission "
                       "claims of one month, as JSON, CSV and a printable HTML report.")
    p.add_argument("site", metavar="SITE", help="site YAML file with a `ledger:` block")
    p.add_argument("--month", required=True, help="local month, YYYY-MM")
    p.add_argument("--readings", metavar="CSV", help="readings file (kind,device,meter,at,"
                   "value,ts_pu,hours); default: the bundled example month, if any")
    p.add_argument("--from-db", action="store_true",
                   help="take the readings stored in the service's database instead")
    p.add_argument("--database-url", help="with --from-db; default: VILLAGEGRID_DATABASE_URL")
    p.add_argument("--out", metavar="DIR", default="out", help="where to write (default: out)")
    p.set_defaults(func=run)


def _fail(message: str, lines: list[str] = ()) -> int:  # type: ignore[assignment]
    print(f"villagegrid ledger: {message}", file=sys.stderr)
    for line in lines:
        print(f"  {line}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from optimizer.ledger.account import claims_by_month, month_bounds, monthly_account
    from optimizer.ledger.readings import parse_csv, reading_errors
    from optimizer.ledger.report import to_csv, to_html
    from sites.load import SiteError, load_site

    try:
        site = load_site(args.site)
    except SiteError as exc:
        return _fail(f"{exc.source} does not validate", exc.errors)
    if site.ledger is None:
        return _fail(f"{args.site}: ledger: the site needs a `ledger:` block (docs/ledger.md)")
    try:
        month_bounds(site, args.month)
    except ValueError as exc:
        return _fail(f"--month: {exc}")
    if args.from_db:
        readings = stored_readings(site.name, args.database_url)
    else:
        path = Path(args.readings) if args.readings else (
            Path(args.site).parent / "readings" / f"{Path(args.site).stem}_{args.month}.csv")
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            return _fail(f"--readings: cannot read {path} ({exc.strerror or exc})")
        readings, errors = parse_csv(text, "cli")
        errors += reading_errors(site, [], readings, datetime.now(UTC)) if not errors else []
        if errors:
            return _fail(f"{path}: {len(errors)} reading(s) refused", errors)
    account = monthly_account(site, readings, args.month)
    monthly = claims_by_month(site, readings, args.month)
    out = Path(args.out)
    stem = out / f"{site.name}-ledger-{args.month}"
    try:
        out.mkdir(parents=True, exist_ok=True)
        Path(f"{stem}.json").write_text(json.dumps(account, indent=1, default=str) + "\n")
        Path(f"{stem}.csv").write_text(to_csv(account))
        Path(f"{stem}.html").write_text(to_html(account, monthly))
    except OSError as exc:
        return _fail(f"--out: cannot write into {out} ({exc.strerror or exc})")
    print(summary(account))
    for suffix in ("json", "csv", "html"):
        print(f"wrote {stem}.{suffix}")
    return 0


def stored_readings(site: str, database_url: str | None) -> list:
    """The current readings of ``site`` in the service's database."""
    from api.services.readings import ReadingBook
    from api.services.sites import SiteBook
    from api.settings import Settings
    from api.store import Store

    store = Store(database_url or Settings().database_url)
    try:
        return ReadingBook(store, SiteBook(store)).current(site)
    finally:
        store.dispose()


def summary(account: dict) -> str:
    """A few lines for the terminal: gas, its balance, each claim on its own line."""
    lines = [f"{account['site']} {account['month']}"]
    for d in account["digesters"]:
        b = d["balance"]
        eff = d["realised_efficiency_pu"]
        lines.append(f"  {d['digester']}: {b['metered_m3']:.0f} m3 biogas metered, "
                     f"{d['methane_potential_m3']:.0f} m3 CH4 potential, efficiency "
                     f"{'—' if eff is None else f'{eff:.0%}'}; {b['message']}")
    for name, c in account["claims"].items():
        value = f"{c['kgco2e']:,.0f} kgCO2e" if c["status"] == "claimed" else c["status"]
        lines.append(f"  {name}: {value}" + (f" ({c['reason']})" if "reason" in c else ""))
    lines.append(f"  energy system (leaked methane): {account['energy_system_kgco2e']:,.0f} kgCO2e")
    return "\n".join(lines)
