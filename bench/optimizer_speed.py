"""How fast the optimizer plans the demo village, and how far above HiGHS's own time it is.

For a day at 15 min (T = 96), a week at 15 min (T = 672) and a year hourly (T = 8760) this
prints the model build, the hand-off to HiGHS (compiling the Pyomo model to matrices and
passing them), HiGHS's run, reading the results back into the plan table, and the total; and
the **floor**: HiGHS's own run time (``Highs.getRunTime``) on the same LP passed cold to a
fresh ``Highs`` object. ``total / floor`` is the modelling overhead. It then re-plans the
same horizon with new forecasts and a new initial state (the kept model is updated and
re-solved), times the rule-based baseline, counts HiGHS runs per plan on a site with 8× the
demo's devices, measures the peak memory of a first plan of a year in a fresh process, and
measures import times.

Run: ``python bench/optimizer_speed.py [--repeat N] [--skip-year]``. Figures are printed,
never asserted.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from datetime import date
from importlib.resources import files
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402


def demo_site(step_minutes: int):  # type: ignore[no-untyped-def]
    from sites.load import parse_site

    text = files("sites").joinpath("demo_village.yaml").read_text(encoding="utf-8")
    site = parse_site(text, "demo_village.yaml")
    return site.model_copy(update={"step_minutes": step_minutes})


def floor_s(planner) -> float:  # type: ignore[no-untyped-def]
    """HiGHS's own run time [s] on the kept model's LP as handed over for the plan's first
    run (the cost objective, the model's own rows and bounds: no stage rows, emission limits
    or one-way restrictions), solved cold by a fresh Highs."""
    import highspy

    ((_, problem),) = planner._kept.values()  # a Planner(keep=1) holds one model
    lp = problem.highs.getLp()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(lp)
    extra = h.getNumRow() - problem.n_rows
    if extra:
        h.deleteRows(extra, np.arange(problem.n_rows, h.getNumRow(), dtype=np.int32))
    low, high = problem.model_bounds()
    cols = np.arange(problem.n_cols, dtype=np.int32)
    h.changeColsBounds(problem.n_cols, cols, np.clip(low, -1e30, 1e30), np.clip(high, -1e30, 1e30))
    h.changeColsCost(problem.n_cols, cols, problem.compiled.rows["objective"])
    h.run()
    return float(h.getRunTime())


def perturbed(inputs, rng):  # type: ignore[no-untyped-def]
    """New forecasts: PV and loads scaled by ±20 % per interval."""
    out = inputs.copy()
    for c in out.columns:
        if c.endswith(".available_kw") or c.endswith(".forecast_kw"):
            out[c] = out[c] * rng.uniform(0.8, 1.2, len(out))
    return out


def case(label: str, step_minutes: int, days: int, repeat: int) -> None:
    from optimizer.baseline import dispatch, rule_based_plan
    from optimizer.inputs import build_inputs
    from optimizer.planner import Planner
    from optimizer.state import State
    from sites.timeindex import day_index

    site = demo_site(step_minutes)
    index = day_index(site, date(2026, 6, 1), days)
    t0 = time.perf_counter()
    inputs = build_inputs(site, index)
    inputs_s = time.perf_counter() - t0
    rows: dict[str, list[float]] = {}
    for _ in range(repeat):
        planner = Planner(keep=1)
        plan = planner.plan(site, index, inputs, assess_plan=False)
        t = planner.last_timings
        for key, value in (
            ("build", t["build_s"]),
            ("hand-off", t["compile_s"] + t["pass_s"]),
            ("HiGHS run", t["solver_s"]),
            ("read-back", t["readback_s"]),
            ("total", t["total_s"]),
            ("floor", floor_s(planner)),
        ):
            rows.setdefault(key, []).append(value)
    # re-plans: new forecasts and a new state, same kept model
    rng = np.random.default_rng(1)
    replans, solver = [], []
    battery = site.device("village-battery")
    for i in range(max(repeat, 3)):
        soc = battery.capacity_kwh * (0.3 + 0.1 * (i % 5))
        state = State(battery_soc_kwh={battery.name: soc})
        planner.plan(site, index, perturbed(inputs, rng), state, assess_plan=False)
        replans.append(planner.last_timings["total_s"])
        solver.append(planner.last_timings["solver_s"])
    # the same first plan without the carbon guard (its rule-based dispatch and re-solve)
    unguarded = []
    for _ in range(repeat):
        planner = Planner(keep=1)
        planner.plan(site, index, inputs, assess_plan=False, carbon_guard=False)
        unguarded.append(planner.last_timings["total_s"])
    rules_s, dispatch_s = [], []
    for _ in range(max(repeat, 3)):
        t0 = time.perf_counter()
        rule_based_plan(site, inputs)
        rules_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        dispatch(site, inputs)
        dispatch_s.append(time.perf_counter() - t0)
    baseline_s, dispatch_only_s = statistics.median(rules_s), statistics.median(dispatch_s)

    med = {k: statistics.median(v) for k, v in rows.items()}
    print(
        f"\n{label}: T = {len(index)} ({step_minutes}-min steps), {plan.status}, "
        f"{len(plan.table.columns)} columns; inputs built in {inputs_s * 1e3:.0f} ms"
    )
    for key in ("build", "hand-off", "HiGHS run", "read-back", "total", "floor"):
        print(f"  {key:<10} {med[key] * 1e3:10.1f} ms")
    floor = med["floor"]
    print(
        f"  first plan / floor   {med['total'] / floor:6.2f}× (build {med['build'] / floor:.2f}×, "
        f"hand-off {med['hand-off'] / floor:.2f}×, HiGHS {med['HiGHS run'] / floor:.2f}×; "
        "carbon guard on, the default)"
    )
    print(
        f"  first plan without the carbon guard {statistics.median(unguarded) * 1e3:.1f} ms, "
        f"{statistics.median(unguarded) / floor:.2f}× the floor"
    )
    warm = statistics.median(solver)
    print(
        f"  re-plan    {statistics.median(replans) * 1e3:10.1f} ms "
        f"(HiGHS {warm * 1e3:.1f} ms; new forecasts and SoC; median of {len(replans)}); "
        f"re-plan / warm floor {statistics.median(replans) / warm:.2f}×"
    )
    print(
        f"  rules      {baseline_s * 1e3:10.1f} ms (rule-based plan with its KPIs, "
        f"{baseline_s / floor:.2f}× the floor; the dispatch alone {dispatch_only_s * 1e3:.1f} ms, "
        f"{dispatch_only_s / floor:.2f}×)"
    )


def scaled_site(factor: int):  # type: ignore[no-untyped-def]
    """The demo village with ``factor`` copies of every device but the grid."""
    from sites.schema import Site

    data = demo_site(15).model_dump(mode="json", exclude_unset=True)
    devices = []
    for d in data["devices"]:
        if d["kind"] == "grid":
            devices.append(d)
            continue
        for k in range(factor):
            copy = {**d, "name": f"{d['name']}-{k}"}
            if isinstance(copy.get("fuel"), dict) and copy["fuel"].get("digester"):
                copy["fuel"] = {**copy["fuel"], "digester": f"{copy['fuel']['digester']}-{k}"}
            devices.append(copy)
    return Site.model_validate({**data, "devices": devices})


def runs_per_plan(factor: int, repeat: int) -> None:
    """HiGHS runs and time per first plan of a day on the demo village with ``factor``× its
    devices (stages, one-way re-solves and the carbon guard's re-solve included)."""
    from optimizer.planner import Planner
    from sites.timeindex import day_index

    site = scaled_site(factor)
    index = day_index(site, date(2026, 6, 1))
    rows = []
    for _ in range(repeat):
        planner = Planner(keep=1)
        planner.plan(site, index, assess_plan=False)
        ((_, problem),) = planner._kept.values()
        rows.append((problem.runs, planner.last_timings["solver_s"], floor_s(planner)))
    runs = statistics.median(r[0] for r in rows)
    highs, floor = statistics.median(r[1] for r in rows), statistics.median(r[2] for r in rows)
    print(
        f"\n{factor}× the demo's devices, a day at 15 min: {runs:.0f} HiGHS runs per plan, "
        f"{highs * 1e3:.0f} ms of HiGHS against a {floor * 1e3:.0f} ms floor ({highs / floor:.2f}×)"
    )


def peak_year_mib() -> float:
    """Peak resident memory [MiB] of a fresh process making a first plan of a year (hourly)."""
    code = (
        "import resource, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(ROOT / 'bench')!r})\n"
        "from datetime import date\n"
        "from optimizer_speed import demo_site\n"
        "from optimizer.planner import Planner\n"
        "from sites.timeindex import day_index\n"
        "site = demo_site(60)\n"
        "Planner(keep=1).plan(site, day_index(site, date(2026, 6, 1), 365), assess_plan=False)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1]) / 1024  # ru_maxrss is in KiB on Linux


def import_ms(statement: str, runs: int = 5) -> tuple[float, float]:
    """Medians over ``runs`` fresh interpreters running ``statement``: wall time [ms] and the
    sum of its top-level imports by ``-X importtime`` [ms]."""
    cmd = [sys.executable, "-X", "importtime", "-c", statement]
    walls, sums = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
        walls.append((time.perf_counter() - t0) * 1e3)
        # "import time: self [us] | cumulative | name": top-level imports have no indent
        top = [ln for ln in done.stderr.splitlines()[1:] if re.search(r"\| \S[^|]*$", ln)]
        sums.append(sum(int(ln.split("|")[1]) for ln in top) / 1e3)
    return statistics.median(walls), statistics.median(sums)


def imports() -> None:
    print("\nimport time (median of 5 fresh interpreters; -X importtime, top-level imports)")
    bare_wall, bare_imports = import_ms("pass")
    for label, statement in (
        ("import optimizer", "import optimizer"),
        ("import optimizer.plan (Pyomo, HiGHS)", "import optimizer.plan"),
        ("CLI: villagegrid --help", "import sys; sys.argv=['villagegrid','--help']\n"
         "import api.cli\ntry: api.cli.main()\nexcept SystemExit: pass"),
    ):  # fmt: skip
        wall, cumulative = import_ms(statement)
        print(
            f"  {label:<38} {cumulative - bare_imports:8.1f} ms of imports, "
            f"{wall - bare_wall:8.1f} ms wall, above a bare interpreter"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (median)")
    parser.add_argument("--skip-year", action="store_true", help="leave out T = 8760")
    args = parser.parse_args()
    from optimizer.planner import Planner
    from sites.timeindex import day_index

    warm = demo_site(60)  # first use pulls in scipy.stats etc.; not part of the figures
    Planner().plan(warm, day_index(warm, date(2026, 6, 1), 1), assess_plan=False)
    case("a day", 15, 1, args.repeat)
    case("a week", 15, 7, max(1, args.repeat // 2))
    runs_per_plan(8, args.repeat)
    if not args.skip_year:
        case("a year", 60, 365, 1)
        print(f"  peak memory of a first plan of a year: {peak_year_mib():.0f} MiB")
    imports()


if __name__ == "__main__":
    main()
