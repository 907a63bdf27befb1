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


def sizing_floor_s(problem) -> float:  # type: ignore[no-untyped-def]
    """HiGHS's own run time [s] on a sizing LP as handed over (its own rows and bounds, the
    cost objective), solved cold by a fresh Highs: the floor of the sizing rows."""
    import highspy
    import numpy as np

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(problem.highs.getLp())
    extra = h.getNumRow() - problem.n_rows
    if extra:
        h.deleteRows(extra, np.arange(problem.n_rows, h.getNumRow(), dtype=np.int32))
    low, high = problem.model_bounds()
    cols = np.arange(problem.n_cols, dtype=np.int32)
    h.changeColsBounds(problem.n_cols, cols, np.clip(low, -1e30, 1e30), np.clip(high, -1e30, 1e30))
    h.changeColsCost(problem.n_cols, cols, problem.rows["objective"])
    h.run()
    return float(h.getRunTime())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("site", nargs="?", default=str(ROOT / "sites" / "demo_village.yaml"))
    parser.add_argument("--weather", default=None, help="typical-year file (default: pvlib TMY3)")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--year", type=int, default=2026)
    args = parser.parse_args()

    from api.commands.study_files import weather_for
    from optimizer.studies import design
    from optimizer.studies.simulation import OptimisedDays, period_inputs, simulate
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
    rep = design.size(hourly, year_inputs)
    t4 = time.perf_counter()
    print(f"{design.DEFAULT_REPRESENTATIVE_DAYS}-representative-day sizing LP: {t4 - t3:.1f} s")
    for greenfield in (False, True):
        t5 = time.perf_counter()
        full = design.size(hourly, year_inputs, representative_days=None, greenfield=greenfield)
        t6 = time.perf_counter()
        cost = full.annual["total_annualised_cost"]
        floor = sizing_floor_s(full.problem)
        print(
            f"8760-h sizing LP{' (greenfield)' if greenfield else ''}: {t6 - t5:.1f} s "
            f"({full.status}; warm-started from representative days); HiGHS's own cold run "
            f"of the same LP {floor:.1f} s, {(t6 - t5) / floor:.2f}× that floor (aim ≤ 2×); "
            f"capacities {', '.join(f'{n} {v:.1f}' for n, v in full.capacities.items())}"
        )
        if not greenfield:
            rep_cost = rep.annual["total_annualised_cost"]
            print(
                f"  total annualised cost: representative days {rep_cost:,.0f}, full year "
                f"{cost:,.0f} {site.currency}/year ({rep_cost / cost - 1:+.1%})"
            )


if __name__ == "__main__":
    main()
