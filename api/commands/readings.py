"""``villagegrid readings``: import, list and correct readings in the service's database.

The same rules and audit trail as the API (``api/services/readings.py``); the recording key
is ``cli``.
"""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("readings", help="import, list and correct feedstock and meter readings")
    p.add_argument("--database-url", help="default: VILLAGEGRID_DATABASE_URL or the SQLite file")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    imp = actions.add_parser("import", help="store a CSV of readings (all or none)")
    imp.add_argument("site", help="site name, as registered")
    imp.add_argument("csv", help="kind,device,meter,at,value,ts_pu,hours")
    imp.add_argument("--site-file", help="register (or update) this site file first")
    show = actions.add_parser("list", help="list the current readings of a site")
    show.add_argument("site")
    show.add_argument("--kind")
    fix = actions.add_parser("correct", help="correct a reading (a new revision)")
    fix.add_argument("site")
    fix.add_argument("id", type=int)
    fix.add_argument("--value", type=float, required=True)
    fix.add_argument("--reason", required=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime
    from pathlib import Path

    from api.services.errors import ServiceError
    from api.services.readings import ReadingBook
    from api.services.sites import SiteBook
    from api.settings import Settings
    from api.store import Store
    from optimizer.ledger.readings import parse_csv
    from sites.load import SiteError, load_site

    store = Store(args.database_url or Settings().database_url)
    now = datetime.now(UTC)
    book = ReadingBook(store, SiteBook(store))
    try:
        if args.action == "import":
            if args.site_file:
                book.sites.put(load_site(args.site_file), now)
            try:
                text = Path(args.csv).read_text(encoding="utf-8")
            except OSError as exc:
                print(f"error: {args.csv}: cannot read ({exc.strerror or exc})", file=sys.stderr)
                return 2
            readings, errors = parse_csv(text, "cli")
            if errors:
                raise ServiceError("the CSV does not parse", errors)
            out = book.post(args.site, readings, "cli", now)
            print(f"stored {len(out['stored'])} reading(s), {len(out['duplicates'])} already "
                  "stored")
        elif args.action == "list":
            for row in book.current_rows(args.site):
                if args.kind is None or row.kind == args.kind:
                    print(f"{row.id}\t{row.at.isoformat()}\t{row.kind}\t{row.device}\t"
                          f"{row.meter}\t{row.value:g}\trev {row.revision}")
        else:
            fixed = book.correct(args.site, args.id, {"value": args.value}, args.reason, "cli",
                                 now)
            print(f"reading {fixed['id']} (revision {fixed['revision']}) supersedes {args.id}")
    except SiteError as exc:
        for line in exc.errors:
            print(f"error: {exc.source}: {line}", file=sys.stderr)
        return 2
    except ServiceError as exc:
        for line in exc.errors or [exc.message]:
            print(f"error: {line}", file=sys.stderr)
        return 2
    finally:
        store.dispose()
    return 0
