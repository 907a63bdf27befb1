"""Solve time of a 3-scenario plan against the deterministic plan, on each example site.

Aim (on a 2-core machine): the scenario plan within 3× the deterministic one. Both are timed
from the same inputs to a finished plan (KPIs and baseline included), cold (a new Planner
each run), 3 runs each; the median is compared.
Run: ``python bench/scenario_speed.py [SITE ...] [--date YYYY-MM-DD] [--runs N]``; prints
figures only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sites", nargs="*", default=sorted(str(p) for p in
                                                           (ROOT / "sites").glob("*.yaml")))
    parser.add_argument("--date", default="2026-07-01")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from optimizer.inputs import build_inputs
    from optimizer.planner import make_plan
    from sites.load import load_site
    from sites.timeindex import day_index

    day = date.fromisoformat(args.date)
    print(f"{'site':<20}{'deterministic s':>17}{'3 scenarios s':>15}{'ratio':>8}   runs")
    for path in args.sites:
        site = load_site(path)
        index = day_index(site, day)
        inputs = build_inputs(site, index)
        make_plan(site, index, inputs, scenarios=3)  # imports and first-use costs
        times: dict[int, list[float]] = {1: [], 3: []}
        for _ in range(args.runs):
            for count in (1, 3):
                t0 = time.perf_counter()
                make_plan(site, index, inputs, scenarios=count)
                times[count].append(time.perf_counter() - t0)
        one, three = statistics.median(times[1]), statistics.median(times[3])
        runs = " ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(times[1], times[3], strict=True))
        print(f"{site.name:<20}{one:>17.3f}{three:>15.3f}{three / one:>8.2f}   {runs}")


if __name__ == "__main__":
    main()
