"""``villagegrid validate SITE...``: check site files and summarise them."""

from __future__ import annotations

import argparse

from api.commands import report, site_error_text
from sites.load import SiteError, load_site, summary


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check site files and print a one-line summary of each")
    p.add_argument("sites", nargs="+", metavar="SITE", help="site YAML file(s)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    failed = False
    for path in args.sites:
        try:
            site = load_site(path)
        except SiteError as exc:
            failed = True
            report("validate", site_error_text(exc))
            continue
        print(f"ok {path}: {summary(site)}")
    return 2 if failed else 0
