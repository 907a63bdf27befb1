"""Wall time of a year of daily plans and of the 8760-hour sizing LP for the demo village.

Aims (on a 2-core machine): 365 daily plans in under 60 s, the 8760-h sizing LP in under 30 s.
Run: ``python bench/studies_speed.py [SITE] [--weather FILE] [--days N]``; prints figures only.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]


def default_weather() -> str:
    import pvlib

    return os.path.join(os.path.dirname(pvlib.__file__), "data", "723170TYA.CSV")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("site", nargs="?", default=str(ROOT / "sites" / "demo_village.yaml"))
    parser.add_argument("--weather", default=None, help="typical-year file (default: pvlib TMY3)")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--year", type=int, default=2026)
    args = parser.parse_args()

    from optimizer.studies import design
    from optimizer.studies.runs import weather_for
    from optimizer.studies.simulation import OptimisedDays, period_inputs, simulate
    from optimizer.studies.sizing import build_sizing, solve_sizing
    from sites.load import load_site

    site = load_site(args.site)
    first = date(args.year, 1, 1)
    t0 = time.perf_counter()
    weather = weather_for(site, args.weather or default_weather(), first, 365)
    inputs = period_inputs(site, first, args.days, weather)
    t1 = time.perf_counter()
    print(
        f"{site.name}: weather + inputs of {args.days} days at {site.step_minutes} min: "
        f"{t1 - t0:.1f} s"
    )

    planner = OptimisedDays()
    parts: dict[str, float] = {}

    def tally(done: int, total: int, plan: object) -> None:
        for key, value in planner.planner.last_timings.items():
            parts[key] = parts.get(key, 0.0) + value

    sim = simulate(site, inputs, first, args.days, planner=planner, progress=tally)
    t2 = time.perf_counter()
    bad = sum(s != "optimal" for s in sim.statuses)
    print(
        f"{args.days} daily plans (48 h horizon, {len(inputs) // (args.days + 1) * 2} intervals): "
        f"{t2 - t1:.1f} s ({(t2 - t1) / args.days * 1000:.0f} ms/day, {bad} not optimal)"
        "  aim < 60 s"
    )
    inside = parts.pop("total_s", 0.0)
    split = ", ".join(f"{k} {v:.1f} s" for k, v in parts.items())
    print(f"  inside Planner.plan: {inside:.1f} s ({split}); outside: {t2 - t1 - inside:.1f} s")

    hourly = design.hourly(site)
    year_inputs = design.year_inputs(hourly, weather, args.year)
    t3 = time.perf_counter()
    indexes, weights, _ = design.periods(hourly, year_inputs, None)
    sm = build_sizing(hourly, year_inputs, indexes, weights, budget=hourly.capital_budget)
    t4 = time.perf_counter()
    result = solve_sizing(sm)
    t5 = time.perf_counter()
    print(
        f"8760-h sizing LP: build {t4 - t3:.1f} s + compile and solve {t5 - t4:.1f} s = "
        f"{t5 - t3:.1f} s ({result.status})  aim < 30 s"
    )
    indexes, weights, _ = design.periods(hourly, year_inputs, design.DEFAULT_REPRESENTATIVE_DAYS)
    t6 = time.perf_counter()
    rep = solve_sizing(build_sizing(hourly, year_inputs, indexes, weights))
    t7 = time.perf_counter()
    print(
        f"{len(indexes)}-representative-day sizing LP: {t7 - t6:.1f} s; total annualised cost "
        f"{rep.annual['total_annualised_cost']:,.0f} vs full year "
        f"{result.annual['total_annualised_cost']:,.0f} {site.currency}/year "
        f"({rep.annual['total_annualised_cost'] / result.annual['total_annualised_cost'] - 1:+.1%})"
    )


if __name__ == "__main__":
    main()
