"""``villagegrid demo``: plan tomorrow for the bundled demo village, offline.

Uses the clear-sky PV forecast and the site file's load profiles, tariff and biogas, plans
the next local day, compares the plan with the rule-based dispatch, and writes the plan as
CSV, JSON and PNG into ``--out`` (default ``./out``).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

from api.commands import CommandError
from api.commands.plan import summary, write_plan

DEMO_SITE = "demo_village.yaml"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="plan tomorrow for the bundled demo village (offline) and print a summary",
        description="Plan tomorrow for the bundled demo village offline (clear-sky PV, the "
        "site's profiles and tariff), compare it with the rule-based dispatch, and write the "
        "plan as CSV, JSON and PNG.",
    )
    p.add_argument("--out", metavar="DIR", default="out", help="where to write (default: out)")
    p.set_defaults(func=run)


def demo_site():  # type: ignore[no-untyped-def]
    """The bundled demo village, read from the installed ``sites`` package."""
    from importlib.resources import files

    from sites.load import parse_site

    resource = files("sites").joinpath(DEMO_SITE)
    return parse_site(resource.read_text(encoding="utf-8"), f"sites/{DEMO_SITE}")


def run(args: argparse.Namespace) -> int:
    from optimizer.planner import make_plan
    from sites.timeindex import day_index

    now = datetime.now(UTC)
    site = demo_site()
    tomorrow = now.astimezone(site.tz).date() + timedelta(days=1)
    plan = make_plan(site, day_index(site, tomorrow), now=now)
    out = Path(args.out)
    stem = out / f"{site.name}-{tomorrow.isoformat()}"
    try:
        out.mkdir(parents=True, exist_ok=True)
        written = write_plan(site, plan, f"{stem}.csv", f"{stem}.png")
        written += write_plan(site, plan, f"{stem}.json", None)
    except OSError as exc:
        raise CommandError(str(exc)) from None
    print(summary(site, plan))
    for path in written:
        print(f"  wrote {path}")
    return 0
