"""``villagegrid size SITE --weather FILE``: choose capacities, cost–carbon front, sensitivity."""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from datetime import UTC, date, datetime
from pathlib import Path

from api.commands import (
    FIRST_YEAR,
    LAST_YEAR,
    CommandError,
    check_writable,
    load_site_or_fail,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "size",
        help="choose PV, battery, gas-holder and genset capacities for least annualised cost",
        description=(
            "Size every device that has `economics` in the site file (existing capacity is kept "
            "as a lower bound) in one LP over representative days or the full year; write the "
            "sizes, the economics table, the resized site file and a day-by-day dispatch check."
        ),
    )
    p.add_argument("site", metavar="SITE", help="site YAML file")
    p.add_argument("--weather", required=True, metavar="FILE", help="typical-year weather file")
    p.add_argument("--year", type=int, default=None, help="calendar year (default: this year)")
    p.add_argument(
        "--out", default=None, metavar="DIR", help="output folder (default: ./<site>-size)"
    )
    p.add_argument(
        "--days",
        type=int,
        default=12,
        metavar="K",
        help="representative days (default 12); 0: the full year, 8760 hourly steps",
    )
    p.add_argument("--greenfield", action="store_true", help="ignore existing capacity")
    p.add_argument(
        "--pareto", type=int, default=None, metavar="N", help="N-point cost–carbon front"
    )
    p.add_argument(
        "--vary",
        action="append",
        default=[],
        metavar="PARAM=v1,v2",
        help="sensitivity: size again for each value (dotted site path); repeatable",
    )
    p.add_argument(
        "--check-days",
        type=int,
        default=365,
        metavar="N",
        help="days of the dispatch check of the sized site (0: none; default 365)",
    )
    p.add_argument(
        "--workers", type=int, default=None,
        help="Dask LocalCluster processes for --vary (default: cores; 1: this process)",
    )
    p.add_argument(
        "--scheduler", metavar="ADDRESS", default=None,
        help="run the --vary cases on this Dask scheduler, e.g. tcp://10.0.0.5:8786",
    )
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from api.commands.study_files import progress_printer, weather_for, write_sizing
    from api.fleet.executor import ExecutorError, open_executor
    from forecasting.records import WeatherError
    from optimizer.errors import PlanningError
    from optimizer.studies.sensitivity import checked_cases, parse_vary
    from optimizer.studies.sizing_runs import run_sizing
    from sites.load import SiteError

    site = load_site_or_fail(args.site)
    try:
        varies = [parse_vary(v) for v in args.vary]
        grid = checked_cases(site, varies)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    year = datetime.now(UTC).year if args.year is None else args.year
    problems = [
        f"{option} must be {rule}, got {value}"
        for option, value, bad, rule in (
            ("--days", args.days, not 0 <= args.days <= 366, "from 0 to 366"),
            ("--pareto", args.pareto, args.pareto is not None and args.pareto < 2, "≥ 2"),
            ("--check-days", args.check_days, args.check_days < 0, "≥ 0"),
            ("--workers", args.workers, args.workers is not None and args.workers < 1, "≥ 1"),
            ("--year", year, not FIRST_YEAR <= year <= LAST_YEAR,
             f"a calendar year from {FIRST_YEAR} to {LAST_YEAR}"),
        )
        if bad
    ]
    if problems:
        raise CommandError("; ".join(problems))
    out = Path(args.out or f"{site.name}-size")
    check_writable("--out", str(out))
    parallel = len(grid) > 1 and (args.scheduler is not None or args.workers != 1)
    days = (date(year + 1, 1, 1) - date(year, 1, 1)).days
    try:
        weather = weather_for(site, args.weather, date(year, 1, 1), days)
        with open_executor(args.scheduler, args.workers) if parallel else nullcontext() as ex:
            sizing = run_sizing(
                site,
                weather,
                year,
                representative_days=args.days or None,
                greenfield=args.greenfield,
                pareto_points=args.pareto,
                varies=varies,
                check_days=args.check_days,
                executor=ex,
                progress=progress_printer(None if args.quiet else sys.stderr),
            )
        files = write_sizing(site, sizing, out)
    except (SiteError, ExecutorError) as exc:
        raise CommandError(str(exc)) from None
    except WeatherError as exc:  # a bad --weather file is bad input
        raise CommandError(f"--weather: {exc}") from None
    except (PlanningError, ValueError, OSError) as exc:
        raise CommandError(str(exc), code=1) from None
    for line in sizing.lines:
        print(line)
    print(f"  wrote {', '.join(str(f) for f in files)}")
    return 0
