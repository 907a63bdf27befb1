"""``villagegrid fleet plan|simulate|size``: every village of a county, one task per site.

The fleet is a folder of site files (``--sites DIR``) or the service's site registry
(``--registry``), filtered by ``--county`` and ``--township``. Tasks run on a Dask
``LocalCluster`` of ``--workers`` single-threaded processes (default: the cores), on an
existing scheduler (``--scheduler tcp://host:8786``), or in this process (``--workers 1``).
``plan`` stores every plan in the database (``--database``, default the service's) from inside
its task; all three print a per-site table and a county roll-up and write them as CSV.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

MAX_TIME_LIMIT_S = 3600.0


class FleetInputError(Exception):
    """A bad option or file: the command exits with code 2 before any work starts."""


def _common(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--sites", metavar="DIR", help="folder of site YAML files")
    where.add_argument("--registry", action="store_true",
                       help="the sites stored in the service's database (--database)")
    p.add_argument("--county", help="only sites of this county")
    p.add_argument("--township", help="only sites of this township")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--scheduler", metavar="ADDRESS",
                     help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786")
    how.add_argument("--workers", type=int, metavar="N",
                     help="LocalCluster worker processes (default: the cores); 1: no Dask")
    p.add_argument("--connect-timeout", type=float, default=10.0, metavar="S",
                   help="seconds to wait for --scheduler to answer (default 10)")
    p.add_argument("--database", metavar="URL",
                   help="SQLAlchemy URL (default: VILLAGEGRID_DATABASE_URL or ./villagegrid.db)")
    p.add_argument("--out", metavar="DIR", help="folder for the CSV files and the plot")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def register(sub: argparse._SubParsersAction) -> None:
    fleet = sub.add_parser(
        "fleet", help="plan, simulate or size every village of a county at once (Dask)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    what = fleet.add_subparsers(dest="fleet_command", metavar="WHAT", required=True)
    plan = what.add_parser("plan", help="plan and store every site's day(s)")
    _common(plan)
    plan.add_argument("--date", required=True, help="first local day, YYYY-MM-DD")
    plan.add_argument("--days", type=int, choices=(1, 2, 3), default=1, help="days planned")
    plan.add_argument("--mode", choices=("cost", "carbon"), default="cost")
    plan.add_argument("--time-limit", type=float, default=60.0, metavar="S",
                      help="seconds per site for inputs and solver; then the rule-based plan")
    plan.set_defaults(func=run_plan)
    for name, helps in (("simulate", "a period of operation of every site"),
                        ("size", "a sizing study of every site")):
        p = what.add_parser(name, help=helps)
        _common(p)
        p.add_argument("--weather", required=True, metavar="FILE",
                       help="typical-year weather file (TMY3, EPW, PVGIS TMY, pvlib:NAME)")
        p.add_argument("--year", type=int, default=None, help="calendar year (default: this year)")
        p.set_defaults(func=run_simulate if name == "simulate" else run_size)
        if name == "simulate":
            p.add_argument("--start", metavar="YYYY-MM-DD", help="first day (default: 1 Jan)")
            p.add_argument("--days", type=int, default=None, help="days (default: the year)")
            p.add_argument("--look-ahead", type=int, default=1, metavar="DAYS")
            p.add_argument("--no-baseline", action="store_true")
        else:
            p.add_argument("--rep-days", type=int, default=12, metavar="K",
                           help="representative days (default 12); 0: the full year")
            p.add_argument("--greenfield", action="store_true", help="ignore existing capacity")


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FleetInputError(f"{option} must be a date YYYY-MM-DD, got {text!r}") from None


def _database(args: argparse.Namespace) -> str:
    if args.database:
        return str(args.database)
    from api.settings import get_settings

    return get_settings().database_url


def _roster(args: argparse.Namespace, database_url: str) -> Any:
    from api.fleet import roster

    if args.workers is not None and args.workers < 1:
        raise FleetInputError(f"--workers must be ≥ 1, got {args.workers}")
    if args.registry:
        from api.store import Store

        store = Store(database_url)
        try:
            found = roster.from_registry(store, args.county, args.township)
        finally:
            store.dispose()
        where = f"the registry at {database_url}"
    else:
        try:
            found = roster.from_folder(args.sites, args.county, args.township)
        except FileNotFoundError as exc:
            raise FleetInputError(f"--sites {exc}") from None
        where = args.sites
    if not found.members and not found.rejected:
        scope = " and ".join(f"{k} {v!r}" for k, v in (("county", args.county),
                                                       ("township", args.township)) if v)
        raise FleetInputError(f"no site in {where}" + (f" lies in {scope}" if scope else ""))
    return found


def _weather(path: str) -> tuple[Any, dict]:
    from forecasting.weather import WeatherError, read_any_weather

    try:
        return read_any_weather(path)
    except (WeatherError, OSError) as exc:
        raise FleetInputError(f"--weather: {exc}") from None


def _year(args: argparse.Namespace) -> int:
    year = datetime.now(UTC).year if args.year is None else args.year
    if not 1 <= year <= 9998:
        raise FleetInputError(f"--year must be a calendar year from 1 to 9998, got {year}")
    return year


def _progress(args: argparse.Namespace, total: int) -> Any:
    if args.quiet:
        return None
    done = [0]

    def show(row: dict[str, Any]) -> None:
        done[0] += 1
        print(f"  [{done[0]}/{total}] {row.get('site')}: {row.get('status')}", file=sys.stderr)

    return show


def _check_out(out: Path) -> None:
    """``--out`` must be a folder, or a path whose nearest existing parent is a writable one."""
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise FleetInputError(f"--out {out}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise FleetInputError(f"--out {out}: cannot write into {existing}")


def _execute(args: argparse.Namespace, work: Any, out: Path) -> int:
    """Open the executor (nothing is written if it cannot start), run, print, write."""
    from api.fleet import report
    from api.fleet.executor import ExecutorError, open_executor
    from api.fleet.runner import rollup

    _check_out(out)
    try:
        with open_executor(args.scheduler, args.workers, args.connect_timeout) as executor:
            if not args.quiet:
                print(f"fleet {args.fleet_command}: {executor.description}", file=sys.stderr)
            run, stem = work(executor)
    except ExecutorError as exc:
        print(f"villagegrid fleet: {exc}; nothing was run or written", file=sys.stderr)
        return 2
    table = run.table
    print("\n".join(report.lines(table, report.COLUMNS[args.fleet_command])))
    print("\n".join(report.reasons(table) or [""]))
    summed = rollup(table)
    if len(summed) and "cost" in summed:
        print("\ncounty roll-up")
        print("\n".join(report.lines(summed, report.ROLLUP)))
    print(f"\n{len(table)} site(s) in {run.wall_s:.1f} s on {run.executor}")
    written = [out / f"{stem}.csv", out / f"{stem}_rollup.csv"]
    try:
        out.mkdir(parents=True, exist_ok=True)
        table.to_csv(written[0], index=False)
        summed.to_csv(written[1], index=False)
        if "cost" in table:
            fig = report.plot_fleet(table, f"fleet {args.fleet_command}: {stem}")
            fig.savefig(out / f"{stem}.png", dpi=100)
            written.append(out / f"{stem}.png")
    except OSError as exc:
        print(f"villagegrid fleet: cannot write into --out {out}: {exc}", file=sys.stderr)
        return 1
    print("wrote " + ", ".join(str(p) for p in written))
    answered = ~table["status"].isin(["failed", "lost", "infeasible"])
    return 0 if answered.any() else 1  # sites that failed are reported; none answering is 1


def _guarded(run: Any) -> Any:
    def command(args: argparse.Namespace) -> int:
        try:
            return int(run(args))
        except FleetInputError as exc:
            print(f"villagegrid fleet {args.fleet_command}: {exc}", file=sys.stderr)
            return 2

    return command


@_guarded
def run_plan(args: argparse.Namespace) -> int:
    from api.fleet.runner import plan_fleet

    day = _date(args.date, "--date")
    if not 0 < args.time_limit <= MAX_TIME_LIMIT_S:
        raise FleetInputError(
            f"--time-limit must be > 0 and ≤ {MAX_TIME_LIMIT_S:g} s, got {args.time_limit:g}"
        )
    url = _database(args)
    found = _roster(args, url)
    out = Path(args.out or f"fleet-plan-{day.isoformat()}")

    def work(executor: Any) -> tuple[Any, str]:
        run = plan_fleet(found, day, executor, url, now=datetime.now(UTC), days=args.days,
                         mode=args.mode, time_limit_s=args.time_limit,
                         on_row=_progress(args, len(found.members)))
        return run, f"fleet_plan_{day.isoformat()}"

    return _execute(args, work, out)


@_guarded
def run_simulate(args: argparse.Namespace) -> int:
    from api.fleet.runner import simulate_fleet

    year = _year(args)
    first = _date(args.start, "--start") if args.start else date(year, 1, 1)
    days = args.days if args.days is not None else (
        date(first.year + 1, 1, 1) - date(first.year, 1, 1)).days
    if days < 1 or args.look_ahead < 0:
        raise FleetInputError(
            f"--days must be ≥ 1 and --look-ahead ≥ 0, got {days}, {args.look_ahead}"
        )
    found = _roster(args, _database(args))
    weather = _weather(args.weather)
    out = Path(args.out or f"fleet-simulate-{first.isoformat()}")
    last = first + timedelta(days=days - 1)

    def work(executor: Any) -> tuple[Any, str]:
        run = simulate_fleet(found, weather, first, days, executor,
                             look_ahead_days=args.look_ahead, baseline=not args.no_baseline,
                             on_row=_progress(args, len(found.members)))
        return run, f"fleet_simulate_{first.isoformat()}_{last.isoformat()}"

    return _execute(args, work, out)


@_guarded
def run_size(args: argparse.Namespace) -> int:
    from api.fleet.runner import size_fleet

    year = _year(args)
    if not 0 <= args.rep_days <= 366:
        raise FleetInputError(f"--rep-days must be from 0 to 366, got {args.rep_days}")
    found = _roster(args, _database(args))
    weather = _weather(args.weather)
    out = Path(args.out or f"fleet-size-{year}")

    def work(executor: Any) -> tuple[Any, str]:
        run = size_fleet(found, weather, year, executor,
                         representative_days=args.rep_days or None, greenfield=args.greenfield,
                         on_row=_progress(args, len(found.members)))
        return run, f"fleet_size_{year}"

    return _execute(args, work, out)
