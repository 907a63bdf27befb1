"""Closed-loop operation of the example villages: rules, day-ahead plans, hourly re-plans,
(scenario plans) and perfect foresight, realised on the typical year's actual PV and load.

A full year of hourly re-plans is 8760 LP solves per case and site; on a shared 2-core machine
the default is a sample: ``--slices`` periods of ``--days`` days spread over the year (one
per season by default), each started from the site file's state. Sums over the slices.
Run: ``python bench/closed_loop.py [SITE ...] [--forecast persistence] [--days 3]
[--slices 4] [--scenarios 1]``; prints the tables only.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
SITES = ("mountain_hamlet", "dairy_cooperative", "demo_village")


def default_weather() -> str:
    import pvlib

    return os.path.join(os.path.dirname(pvlib.__file__), "data", "723170TYA.CSV")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sites", nargs="*", default=[str(ROOT / "sites" / f"{s}.yaml")
                                                     for s in SITES])
    parser.add_argument("--weather", default=None, help="typical-year file (default: pvlib TMY3)")
    parser.add_argument("--forecast", default="persistence")
    parser.add_argument("--days", type=int, default=3, help="days per slice")
    parser.add_argument("--slices", type=int, default=4, help="slices over the year")
    parser.add_argument("--scenarios", type=int, default=1)
    parser.add_argument("--year", type=int, default=2026)
    args = parser.parse_args()

    from api.commands.study_files import weather_for
    from optimizer.studies import closed_loop as cl
    from sites.load import load_site

    for path in args.sites:
        site = load_site(path)
        began = time.perf_counter()
        parts = []
        for k in range(args.slices):
            first = date(args.year, 1, 15) + timedelta(days=round(k * 365 / args.slices))
            weather = weather_for(site, args.weather or default_weather(),
                                  first - timedelta(days=1), args.days + 1)
            actual, cloud_inputs = cl.study_inputs(site, weather, first, args.days,
                                                   cloud=args.forecast == "cloud")
            cases = cl.standard_cases(args.forecast, "hourly", args.scenarios)
            table, _ = cl.compare(site, actual, first, args.days, cases,
                                  cloud_inputs=cloud_inputs)
            parts.append(table.drop(columns="kept_pu"))
        total = sum(parts[1:], parts[0])
        rules, perfect = total.loc["rules", "total"], total.loc["perfect", "total"]
        total["kept_pu"] = [cl.kept_share(rules, x, perfect) for x in total["total"]]
        print(f"{site.name}: {args.slices} × {args.days} days from {args.year}-01-15, "
              f"forecast {args.forecast} ({time.perf_counter() - began:.0f} s)")
        for line in cl.table_lines(site, total):
            print(line)
        print(total.round(3).to_csv())
        sys.stdout.flush()


if __name__ == "__main__":
    main()
