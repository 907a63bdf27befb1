"""Fleet planning speed: a synthetic county planned serially, on 1 and on 2 Dask workers.

The county is generated from the three example sites with a fixed seed: each village copies
one of them, moves it up to ±1.5° in latitude and longitude, and scales its PV, its batteries
and its loads by independent factors. Each run plans the county's next day and stores every
plan in a fresh SQLite database, as ``villagegrid fleet plan`` does.

Printed per run: wall time (without starting the cluster and its workers' first imports and
first solve, printed apart as "start"), throughput, the
median task time, the per-task overhead (worker time not spent inside tasks, per task), the
peak memory of each worker process, and the parallel efficiency against the serial run;
then the projected time of a 300-village night on k cores, and the machine's load average.

    python bench/fleet_speed.py                 # 60 villages (a few minutes on 2 busy cores)
    python bench/fleet_speed.py --sites 1000    # the full county
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.fleet.executor import DaskExecutor, SerialExecutor  # noqa: E402
from api.fleet.roster import Member, Roster  # noqa: E402
from api.fleet.runner import plan_fleet  # noqa: E402
from sites.load import SiteError, load_site, site_from_data  # noqa: E402

TEMPLATES = ("demo_village", "mountain_hamlet", "dairy_cooperative")
COUNTIES = ("North County", "South County", "River County", "Hill County", "Lake County")
DAY = date(2026, 7, 2)
#: (device kind or load type, fields scaled together) by the factor named first.
SCALED = {
    "pv": ("pv_array", ("dc_capacity_kwp", "inverter_ac_kw")),
    "battery": ("battery", ("capacity_kwh", "max_charge_kw", "max_discharge_kw")),
    "load": ("load", ("daily_energy_kwh", "energy_kwh", "max_power_kw", "min_power_kw")),
}


def _scaled(device: dict[str, Any], factors: dict[str, float]) -> dict[str, Any]:
    out = dict(device)
    for factor, (kind, fields) in SCALED.items():
        if device["kind"] != kind:
            continue
        for name in fields:
            if out.get(name) is not None:
                out[name] = round(out[name] * factors[factor], 3)
        if kind == "load" and out.get("profile_kw") is not None:
            out["profile_kw"] = [round(v * factors[factor], 3) for v in out["profile_kw"]]
    return out


def synthetic_county(n: int, seed: int) -> Roster:
    """``n`` villages made from the example sites (see the module notes)."""
    rng = random.Random(seed)
    bases = {t: load_site(ROOT / "sites" / f"{t}.yaml").model_dump(mode="json")
             for t in TEMPLATES}
    roster = Roster()
    while len(roster.members) < n:
        i = len(roster.members)
        data = dict(bases[rng.choice(TEMPLATES)])
        factors = {k: rng.uniform(0.6, 1.6) for k in SCALED}
        loc = dict(data["location"])
        loc["latitude_deg"] = round(loc["latitude_deg"] + rng.uniform(-1.5, 1.5), 4)
        loc["longitude_deg"] = round(loc["longitude_deg"] + rng.uniform(-1.5, 1.5), 4)
        county = COUNTIES[i % len(COUNTIES)]
        data.update(name=f"v{i:04d}-{data['name']}"[:64], county=county,
                    township=f"{county.split()[0]} Town {rng.randint(1, 8)}", location=loc,
                    devices=[_scaled(d, factors) for d in data["devices"]])
        try:
            site = site_from_data(data, source=data["name"])
        except SiteError:
            continue  # a scaled copy outside some bound: draw another
        roster.members.append(Member(site.name, site.county, site.township,
                                     site.model_dump(mode="json"), "synthetic"))
    return roster


def warm_up() -> float:
    """Import and plan one small village once in this process (first-use costs) [s]."""
    from optimizer.planner import Planner
    from sites.timeindex import day_index

    began = time.perf_counter()
    site = load_site(ROOT / "sites" / "mountain_hamlet.yaml")
    Planner(keep=1, threads=1).plan(site, day_index(site, DAY))
    return time.perf_counter() - began


def measure(label: str, roster: Roster, executor: Any, workers: int, folder: Path) -> dict:
    url = f"sqlite:///{folder / (label.replace(' ', '_') + '.db')}"
    began = time.perf_counter()
    run = plan_fleet(roster, DAY, executor, url, now=datetime.now(UTC))
    wall = time.perf_counter() - began
    table = run.table
    n = len(table)
    task_s = table["task_time_s"].astype(float)
    peaks = table.groupby("worker_pid")["peak_rss_mb"].max()
    return {
        "label": label, "workers": workers, "sites": n, "wall_s": wall,
        "sites_per_s": n / wall, "task_median_s": float(task_s.median()),
        "task_sum_s": float(task_s.sum()),
        "task_cpu_median_s": float(table["task_cpu_s"].astype(float).median()),
        "task_cpu_mean_s": float(table["task_cpu_s"].astype(float).mean()),
        "overhead_per_task_s": (wall * workers - float(task_s.sum())) / n,
        "peak_mb": [round(float(v)) for v in peaks],
        "statuses": table["status"].value_counts().to_dict(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=60)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--runs", default="serial,1,2",
                        help="runs to make: serial and/or worker counts (default serial,1,2)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    roster = synthetic_county(args.sites, args.seed)
    print(f"synthetic county: {len(roster.members)} villages (seed {args.seed}), "
          f"{os.cpu_count()} cores, load average {load_before[0]:.2f} {load_before[1]:.2f} "
          f"{load_before[2]:.2f} before the runs")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        runs = [r.strip() for r in args.runs.split(",") if r.strip()]
        if "serial" in runs:
            start_s = warm_up()
            results.append(measure("serial", roster, SerialExecutor(), 1, folder))
            results[-1]["cluster_start_s"] = start_s
        for workers in sorted(int(r) for r in runs if r != "serial"):
            t0 = time.perf_counter()
            executor = DaskExecutor.local(workers)
            executor.client.run(warm_up)
            start_s = time.perf_counter() - t0
            try:
                results.append(measure(f"dask {workers}", roster, executor, workers, folder))
                results[-1]["cluster_start_s"] = start_s
            finally:
                executor.close()
    serial = next((r for r in results if r["label"] == "serial"), None)
    print(f"{'run':<8}{'wall s':>9}{'sites/s':>9}{'task med s':>11}{'cpu med s':>10}"
          f"{'overhead s':>11}{'efficiency':>11}{'start s':>9}  peak MB per worker   statuses")
    for r in results:
        eff = serial["wall_s"] / (r["workers"] * r["wall_s"]) if serial else float("nan")
        r["efficiency"] = eff
        print(f"{r['label']:<8}{r['wall_s']:>9.1f}{r['sites_per_s']:>9.2f}"
              f"{r['task_median_s']:>11.3f}{r['task_cpu_median_s']:>10.3f}"
              f"{r['overhead_per_task_s']:>11.3f}{eff:>11.2f}"
              f"{r.get('cluster_start_s', 0.0):>9.1f}  {r['peak_mb']!s:<20}{r['statuses']}")
    two = next(r for r in reversed(results) if r["label"] != "serial")
    k_two = two["workers"]
    per_site_s = two["wall_s"] * k_two / two["sites"]  # core-seconds per village, measured
    eff2 = two.get("efficiency", float("nan"))
    print(f"projected 300-village night (core-seconds per village from the {k_two}-worker "
          f"run, {per_site_s:.3f}; efficiency held at its figure):")
    for k in (1, 2, 4, 8, 16, 32):
        print(f"  {k:>2} cores: {300 * per_site_s / k:7.1f} s")
    if serial:
        print(f"  (serial measured: {300 * serial['wall_s'] / serial['sites']:.1f} s for 300)")
    print(f"1000 villages on {k_two} workers at this rate: {1000 * per_site_s / k_two:.0f} s "
          f"(efficiency {eff2:.2f})")
    cpu_s = two["task_cpu_mean_s"] + max(two["overhead_per_task_s"], 0.0)
    print(f"on idle cores (CPU seconds per task {two['task_cpu_mean_s']:.3f} + overhead "
          f"{max(two['overhead_per_task_s'], 0.0):.3f} per task from the {k_two}-worker run, "
          "perfect scaling assumed):")
    for n, k in ((300, 1), (300, 2), (300, 8), (1000, 2)):
        print(f"  {n:>4} villages on {k:>2} cores: {n * cpu_s / k:7.1f} s")
    load_after = os.getloadavg()
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
