"""``villagegrid simulate SITE --weather FILE``: a year of operation, planned day by day."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from api.commands import (
    CommandError,
    check_day,
    check_writable,
    check_year,
    load_site_or_fail,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate",
        help="plan every day of a year from a typical-year weather file, and the baseline",
        description=(
            "Plan each local day with a look-ahead, keep the day, carry the state (SoC, "
            "gas-holder level, energy served) to the next; run the rule-based baseline on the "
            "same days. Writes the operation, monthly and annual KPIs and plots to --out."
        ),
    )
    p.add_argument("site", metavar="SITE", help="site YAML file")
    p.add_argument(
        "--weather",
        required=True,
        metavar="FILE",
        help="typical-year weather file (TMY3, EPW, PVGIS TMY)",
    )
    p.add_argument("--year", type=int, default=None, help="calendar year (default: this year)")
    p.add_argument(
        "--out", default=None, metavar="DIR", help="output folder (default: ./<site>-year)"
    )
    p.add_argument("--days", type=int, default=None, help="simulate only the first N days")
    p.add_argument("--start", default=None, metavar="YYYY-MM-DD", help="first day (default: 1 Jan)")
    p.add_argument(
        "--look-ahead",
        type=int,
        default=1,
        metavar="DAYS",
        help="days planned beyond each kept day (default 1: a 48 h horizon)",
    )
    p.add_argument("--no-baseline", action="store_true", help="skip the rule-based baseline")
    p.add_argument(
        "--forecast",
        default=None,
        metavar="KIND",
        help=(
            "closed loop: plan on a forecast (perfect, persistence, cloud, noisy:SIGMA) and "
            "operate on the weather file's actual PV and load; compares the rules, day-ahead "
            "plans, re-plans and perfect foresight (docs/studies.md, Closed-loop operation)"
        ),
    )
    p.add_argument(
        "--replan",
        choices=("none", "hourly"),
        default="hourly",
        help="with --forecast: re-plan the rest of the day every hour (default) or never",
    )
    p.add_argument(
        "--scenarios",
        type=int,
        choices=(1, 3),
        default=1,
        help=(
            "with --forecast: also plan over 3 scenarios (P10/P50/P90, docs/formulation.md, "
            "*Scenario plans*) with the same re-plans"
        ),
    )
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=run)


def _first_day(args: argparse.Namespace, year: int) -> date:
    if args.start is None:
        return date(year, 1, 1)
    try:
        return check_day(date.fromisoformat(args.start), "--start")
    except ValueError:
        raise CommandError(f"--start must be a date YYYY-MM-DD, got {args.start!r}") from None


def run(args: argparse.Namespace) -> int:
    from api.commands.study_files import progress_printer, weather_for, write_year
    from forecasting.records import WeatherError
    from optimizer.errors import PlanningError
    from optimizer.studies.runs import run_year, summary_lines

    site = load_site_or_fail(args.site)
    year = check_year(datetime.now(UTC).year if args.year is None else args.year)
    first = _first_day(args, year)
    if args.days is None:
        days = (date(first.year + 1, 1, 1) - date(first.year, 1, 1)).days
    else:
        days = args.days
    if days < 1 or args.look_ahead < 0:
        raise CommandError(f"--days must be ≥ 1 and --look-ahead ≥ 0, got {days}, "
                           f"{args.look_ahead}")
    out = Path(args.out or f"{site.name}-year")
    check_writable("--out", str(out))
    if args.forecast is not None:
        return _closed_loop(args, site, first, days, out)
    try:
        weather = weather_for(site, args.weather, first, days, args.look_ahead)
        result = run_year(
            site,
            weather,
            first,
            days,
            baseline=not args.no_baseline,
            look_ahead_days=args.look_ahead,
            progress=progress_printer(None if args.quiet else sys.stderr),
        )
        files = write_year(site, result, out)
    except WeatherError as exc:  # a bad --weather file is bad input
        raise CommandError(f"--weather: {exc}") from None
    except (PlanningError, ValueError, OSError) as exc:
        raise CommandError(str(exc), code=1) from None
    for line in summary_lines(site, result.kpis, result.sims):
        print(line)
    print(f"  wrote {', '.join(str(f) for f in files)}")
    return 0


def _closed_loop(args: argparse.Namespace, site: Any, first: date, days: int, out: Path) -> int:
    from api.commands.study_files import weather_for, write_closed_loop
    from forecasting.records import WeatherError
    from forecasting.variants import VARIANTS
    from optimizer.errors import PlanningError
    from optimizer.studies import closed_loop as cl

    if args.forecast.partition(":")[0] not in VARIANTS:
        raise CommandError(
            f"--forecast must be one of perfect, persistence, cloud, noisy:SIGMA; "
            f"got {args.forecast!r}"
        )
    show = None if args.quiet else _progress_line
    try:
        weather = weather_for(site, args.weather, first - timedelta(days=1), days + 1,
                              args.look_ahead)
        actual, cloud_inputs = cl.study_inputs(
            site, weather, first, days, cloud=args.forecast == "cloud",
            look_ahead_days=args.look_ahead,
        )
        cases = cl.standard_cases(args.forecast, args.replan, args.scenarios)
        table, runs = cl.compare(site, actual, first, days, cases, cloud_inputs=cloud_inputs,
                                 look_ahead_days=args.look_ahead, progress=show)
        files = write_closed_loop(site, table, runs, out)
    except WeatherError as exc:
        raise CommandError(f"--weather: {exc}") from None
    except ValueError as exc:  # a bad forecast name or a weather file without what it needs
        raise CommandError(str(exc)) from None
    except (PlanningError, OSError) as exc:
        raise CommandError(str(exc), code=1) from None
    print(f"{site.name}: {days} day(s) from {first}, forecast {args.forecast}")
    for line in cl.table_lines(site, table):
        print(line)
    print(f"  wrote {', '.join(str(f) for f in files)}")
    return 0


def _progress_line(label: str, done: int, total: int) -> None:
    sys.stderr.write(f"\r{label}: day {done}/{total}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()
