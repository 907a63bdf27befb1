"""How fast the rule-based dispatch runs on the example sites.

For each example site and a 48-h horizon at the site's step, this prints the median time of
``optimizer.baseline.rule_based_plan`` (the carbon guard of every plan and the baseline of
every simulated day) and of ``optimizer.baseline.dispatch`` alone (the interval loop and the
plan table, without the KPIs), and the intervals per second of the dispatch.

Run: ``python bench/rules_speed.py [--repeat N] [--days D]``. Figures are printed, never
asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimizer.baseline import dispatch, rule_based_plan  # noqa: E402
from optimizer.inputs import build_inputs  # noqa: E402
from sites.load import load_site  # noqa: E402
from sites.timeindex import day_index  # noqa: E402

SITES = ("demo_village", "dairy_cooperative", "mountain_hamlet")
DAY = date(2026, 6, 3)


def median_ms(run, args: tuple, repeat: int) -> float:  # type: ignore[no-untyped-def]
    """Median wall time of ``run(*args)`` over ``repeat`` runs, after one warm-up [ms]."""
    run(*args)
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        run(*args)
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--days", type=int, default=2, help="horizon [days]")
    args = parser.parse_args()
    print(f"rule-based dispatch, {args.days * 24} h horizon, median of {args.repeat} runs")
    print(f"{'site':<20}{'T':>6}{'rule_based_plan ms':>20}{'dispatch ms':>14}{'intervals/s':>14}")
    for name in SITES:
        site = load_site(ROOT / "sites" / f"{name}.yaml")
        inputs = build_inputs(site, day_index(site, DAY, args.days))
        plan_ms = median_ms(rule_based_plan, (site, inputs), args.repeat)
        dispatch_ms = median_ms(dispatch, (site, inputs), args.repeat)
        rate = len(inputs) / dispatch_ms * 1000
        print(f"{name:<20}{len(inputs):>6}{plan_ms:>20.1f}{dispatch_ms:>14.1f}{rate:>14.0f}")


if __name__ == "__main__":
    main()
