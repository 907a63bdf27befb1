"""``villagegrid validate SITE...``: check site files and summarise them."""

from __future__ import annotations

import argparse
import sys

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
            print(f"{exc.source}: {len(exc.errors)} error(s)", file=sys.stderr)
            for line in exc.errors:
                print(f"  {line}", file=sys.stderr)
            continue
        print(f"ok {path}: {summary(site)}")
    return 2 if failed else 0
