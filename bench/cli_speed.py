"""How long the command line takes, as a whole process, for the commands people wait on.

Runs ``villagegrid plan demo_village.yaml --date <tomorrow> --out plan.csv``,
``villagegrid demo --out DIR`` (CSV, JSON and PNG) and ``villagegrid simulate
demo_village.yaml`` of a year on pvlib's TMY3 (operation CSVs, KPIs and plots) as fresh
processes, back to back, and prints the median wall time and the median CPU time (user +
system) of each against its aim, with the machine's load average (CPU time is the steadier
figure on a shared machine).

Run: ``python bench/cli_speed.py [--runs N] [--simulate-days N]``. Figures are printed,
never asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_s(args: list[str]) -> tuple[float, float]:
    """Wall and CPU time [s] of one fresh ``python -m api.cli`` process with ``args``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "api.cli", *args], cwd=ROOT, capture_output=True, check=True
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per command (median)")
    parser.add_argument("--simulate-days", type=int, default=365,
                        help="days of the simulated year (0: leave it out)")
    args = parser.parse_args()
    import pvlib

    tmy3 = Path(pvlib.__file__).parent / "data" / "723170TYA.CSV"
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        commands = {
            "plan --out plan.csv": [
                "plan", "sites/demo_village.yaml", "--date", tomorrow,
                "--out", str(Path(tmp) / "plan.csv"),
            ],
            "demo (CSV, JSON, PNG)": ["demo", "--out", str(Path(tmp) / "demo")],
        }  # fmt: skip
        aims = {"plan --out plan.csv": 1.2, "demo (CSV, JSON, PNG)": 2.0}
        if args.simulate_days:
            label = f"simulate, {args.simulate_days} days"
            commands[label] = [
                "simulate", "sites/demo_village.yaml", "--weather", str(tmy3), "--year", "2026",
                "--days", str(args.simulate_days), "--out", str(Path(tmp) / "year"), "--quiet",
            ]  # fmt: skip
            aims[label] = 10.0 * args.simulate_days / 365
        for label, command in commands.items():
            runs = [run_s(command) for _ in range(args.runs)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            print(
                f"  {label:<24} {wall:7.2f} s wall, {cpu:7.2f} s CPU (median of {args.runs}); "
                f"aim ≤ {aims[label]:.1f} s: CPU {cpu / aims[label]:.2f}× the aim"
            )
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} after")


if __name__ == "__main__":
    main()
