"""``villagegrid plan SITE --date YYYY-MM-DD``: plan a site's day(s) and write the plan.

The horizon starts at local midnight of ``--date`` and runs 24, 48 or 72 hours. Inputs come
from the site file and the forecasts (clear sky unless ``--weather`` gives a weather file);
``--inputs`` replaces any input column with the user's own series, and ``--state`` gives the
initial battery SoC, gas-holder levels and energy already served.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from api.commands import CommandError, check_writable, site_error_text

HORIZONS_H = (24, 48, 72)
OUT_SUFFIXES = (".csv", ".json")
PLOT_SUFFIXES = (".png",)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plan",
        help="plan a site's day(s): cost, CO2 and the schedule of every device",
        description="Plan a site from local midnight of --date for 24, 48 or 72 hours. Inputs "
        "come from the site file and the forecasts (clear sky unless --weather is given); "
        "--inputs replaces input columns with your own series and --state sets the initial "
        "battery SoC, gas-holder levels and shiftable energy already served.",
    )
    p.add_argument("site", metavar="SITE", help="site YAML file")
    p.add_argument("--date", required=True, help="first local day of the plan, YYYY-MM-DD")
    p.add_argument("--weather", metavar="FILE", help="weather forecast file (CSV or JSON)")
    p.add_argument(
        "--inputs",
        metavar="FILE.csv",
        help="CSV of input columns to use instead of the built ones, with a 'start' column "
        "of interval starts carrying a UTC offset",
    )
    p.add_argument("--state", metavar="FILE", help="initial state as JSON or YAML")
    p.add_argument("--horizon-hours", type=int, choices=HORIZONS_H, default=24)
    p.add_argument("--mode", choices=("cost", "carbon"), default="cost")
    p.add_argument("--scenarios", type=int, choices=(1, 3), default=1,
                   help="1: the deterministic plan (default); 3: hedged over P10/P50/P90 "
                   "scenarios of PV and load, sharing the first interval")
    p.add_argument("--out", metavar="FILE", help="write the plan as .csv or .json")
    p.add_argument("--plot", metavar="FILE.png", help="draw the plan")
    p.add_argument("--explain", action="store_true",
                   help="print the plan in plain words: each action with its reason")
    p.add_argument("--lang", default="en",
                   help="language of --explain: en (default) or a catalogue's, e.g. zh")
    p.set_defaults(func=run)


def parse_date(text: str, today: date) -> date:
    """A ``--date``: the API's rule, within ``PLAN_WINDOW_DAYS`` of ``today``."""
    from datetime import timedelta

    from sites.timeindex import PLAN_WINDOW_DAYS

    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--date must be a date as YYYY-MM-DD, got {text!r}") from None
    if abs(day - today) > timedelta(days=PLAN_WINDOW_DAYS):
        raise CommandError(f"--date must lie within {PLAN_WINDOW_DAYS} days of today "
                           f"({today.isoformat()}), got {text}")
    return day


def read_overrides(path: str, index: Any, tz: Any = None) -> Any:
    """Input columns from a CSV with a tz-aware ``start`` column, on the plan's index."""
    import pandas as pd

    try:
        table = pd.read_csv(path, comment="#", dtype={"start": str})
    except (OSError, ValueError) as exc:
        raise CommandError(f"--inputs {path}: cannot read the CSV: {exc}") from None
    if "start" not in table.columns:
        raise CommandError(f"--inputs {path}: needs a 'start' column of interval starts")
    try:
        starts = pd.DatetimeIndex([pd.Timestamp(s) for s in table.pop("start")], name="start")
    except ValueError as exc:
        raise CommandError(f"--inputs {path}: bad time in 'start': {exc}") from None
    if starts.tz is None and len(starts):
        raise CommandError(
            f"--inputs {path}: 'start' times need a UTC offset, e.g. 2026-07-01T00:00+08:00; "
            f"got {starts[0]}"
        )
    try:
        table.index = starts.tz_convert("UTC")
        table = table.astype(float)
    except (TypeError, ValueError) as exc:
        raise CommandError(f"--inputs {path}: {exc}") from None
    missing = index.difference(table.index)
    if len(missing):
        raise CommandError(
            f"--inputs {path}: no rows for {len(missing)} interval(s) of the plan, the first at "
            f"{(missing[0].tz_convert(tz) if tz is not None else missing[0]).isoformat()}"
        )
    return table[~table.index.duplicated()].reindex(index)


def read_state(path: str) -> Any:
    """A State from a JSON or YAML file."""
    from pydantic import ValidationError

    from optimizer.state import State
    from sites.load import SiteError, parse_yaml, validation_errors

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"--state {path}: cannot read the file: {exc.strerror}") from None
    try:
        data = parse_yaml(text, path)  # YAML is a superset of JSON
    except SiteError as exc:
        raise CommandError(f"--state {exc}") from None
    try:
        return State.model_validate(data)
    except ValidationError as exc:
        raise CommandError(f"--state {path}: " + "; ".join(validation_errors(exc, data))) from None


def summary(site: Any, plan: Any) -> str:
    """A few lines on a plan beside the rule-based dispatch: cost, CO2, shares, unserved."""
    k, b = plan.kpis, plan.baseline
    start = plan.start.strftime("%Y-%m-%d %H:%M %Z")
    hours = (plan.end - plan.start).total_seconds() / 3600
    rows = (
        ("cost", "cost", site.currency, 1.0, "{:.2f}"),
        ("emissions", "emissions_kgco2", "kgCO2e", 1.0, "{:.1f}"),
        ("renewable share", "renewable_fraction_pu", "%", 100.0, "{:.1f}"),
        ("self-sufficiency", "self_sufficiency_pu", "%", 100.0, "{:.1f}"),
        ("unserved", "unserved_kwh", "kWh", 1.0, "{:.1f}"),
    )
    lines = [
        f"{plan.site}: {hours:g} h from {start} — {plan.status} "
        f"({plan.solver}, {plan.solve_time_s:.2f} s)",
        f"  {'':<17}{'plan':>12}{'rule-based' if b else '':>12}",
    ]
    for label, key, unit, scale, fmt in rows:
        mine = fmt.format(k[key] * scale)
        theirs = fmt.format(b[key] * scale) if key in b else ""
        lines.append(f"  {label:<17}{mine:>12}{theirs:>12}  {unit}")
    if "cost_saving" in b:
        lines += comparison_lines(site, plan)
    lines += scenario_lines(site, plan)
    from forecasting.quality import describe_gaps

    lines += [f"  {line}" for line in describe_gaps(plan.inputs_notes.get("weather_filled", {}))]
    return "\n".join(lines)


def scenario_lines(site: Any, plan: Any) -> list[str]:
    """The scenarios a hedged plan was made for: weight and cost of each, and what is served."""
    terms = plan.objective_terms
    if "scenarios" not in terms:
        return []
    each = ", ".join(f"{s['name']} (weight {s['weight']:g}) {s['cost']:.2f}"
                     for s in terms["scenarios"])
    return [f"  scenarios: cost {each} {site.currency}; expected objective "
            f"{terms['expected_objective']:.2f}, expected emissions "
            f"{terms['expected_emissions_kgco2']:.1f} kgCO2e (the limits hold on these); "
            f"served: the shared first interval and the {terms['served_scenario']} path"]


def _amount(value: float, unit: str, more: str, less: str, same: str, digits: int) -> str:
    if abs(value) < 0.5 * 10.0**-digits:
        return same
    return f"{less} {abs(value):.{digits}f} {unit}" if value >= 0 else (
        f"{more} {abs(value):.{digits}f} {unit} more"
    )


def comparison_lines(site: Any, plan: Any) -> list[str]:
    """What the plan saves against the rules, on equal terms or with the difference valued,
    and how its CO2 is counted."""
    b, terms, cur = plan.baseline, plan.objective_terms, site.currency
    money = _amount(b["cost_saving"], cur, "costs", "saves", "costs as much", 2)
    carbon = _amount(b["emissions_saving_kgco2"], "kgCO2e", "emits", "avoids", "emits as much", 1)
    lines = [f"  against the rules the plan {money} and {carbon}"]
    if not b.get("equal_terms", True):
        served, stored = b.get("served_more_kwh", 0.0), b.get("stored_more_value", 0.0)
        parts = []
        if abs(served) > 1e-3:
            more = "more" if served > 0 else "less"
            parts.append(f"serves {abs(served):.1f} kWh {more} load (worth "
                         f"{abs(b['served_more_value']):.2f} {cur} at the value of lost load)")
        if abs(stored) > 1e-3:
            more = "more" if stored > 0 else "less"
            parts.append(f"ends with {abs(stored):.2f} {cur} {more} stored energy")
        lines.append("  not on equal terms: the plan " + " and ".join(parts)
                     + f"; valued, it saves {b['valued_saving']:.2f} {cur}")
    # the carbon factor a device's inputs rest on (the grid's), as the plan noted it
    notes = (plan.inputs_notes.get("sources") or {}).values()
    factor = next((n for n in notes if "carbon_kgco2_per_kwh" in n and n.get("source")), None)
    counted = {"location": "gross grid import", "net": "grid import less export"}
    if factor is not None:
        value = factor["carbon_kgco2_per_kwh"]
        shown = f"{value:g} kgCO2/kWh" if isinstance(value, int | float) else str(value)
        lines.append(
            f"  CO2 ({site.carbon_accounting}-based): {counted[site.carbon_accounting]} × "
            f"{shown} ({factor['source']})"
        )
    if terms.get("carbon_guard"):
        held = "" if terms.get("emission_limits_met", True) else (
            " (could not hold while serving the load: the plan emits as little as it can)"
        )
        lines.append(f"  carbon guard: at most {terms['carbon_guard_kgco2']:.1f} kgCO2e{held}")
    return lines


def write_plan(site: Any, plan: Any, out: str | None, plot: str | None) -> list[Path]:
    """Write the plan as CSV or JSON (by suffix) and its picture; return the paths."""
    written = []
    try:
        if out is not None:
            path = Path(out)
            text = plan.to_csv() if path.suffix.lower() == ".csv" else plan.to_json(indent=1)
            path.write_text(text, encoding="utf-8")
            written.append(path)
        if plot is not None:
            from optimizer.plot import plot_plan

            plot_plan(site, plan, plot)
            written.append(Path(plot))
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot write the plan: {exc}") from None
    return written


def make(args: argparse.Namespace) -> tuple[Any, Any]:
    """The site and its plan from the command's arguments."""
    from forecasting.weather import WeatherError, read_weather
    from optimizer.errors import PlanningError
    from optimizer.planner import make_plan
    from sites.load import SiteError, load_site
    from sites.timeindex import day_index

    check_writable("--out", args.out, OUT_SUFFIXES)
    check_writable("--plot", args.plot, PLOT_SUFFIXES)
    now = datetime.now(UTC)
    day = parse_date(args.date, now.date())
    try:
        site = load_site(args.site)
    except SiteError as exc:
        raise CommandError(site_error_text(exc)) from None
    index = day_index(site, day, args.horizon_hours // 24)
    from forecasting.quality import check_irradiance, weather_gaps

    weather, gaps = None, {}
    if args.weather is not None:
        try:
            weather, _ = read_weather(args.weather)
            check_irradiance(weather)
        except WeatherError as exc:
            raise CommandError(f"--weather: {exc}") from None
        gaps = weather_gaps(weather, index[0], index[-1] + site.step, site.tz)
    overrides = read_overrides(args.inputs, index, site.tz) if args.inputs else None
    state = read_state(args.state) if args.state else None
    try:
        from optimizer.inputs import build_inputs

        inputs = build_inputs(site, index, weather=weather, overrides=overrides)
        plan = make_plan(
            site, index, inputs, state, mode=args.mode, now=now, scenarios=args.scenarios
        )
    except WeatherError as exc:
        raise CommandError(f"--weather: {exc}") from None
    except PlanningError as exc:
        raise CommandError(str(exc)) from None
    notes = {**plan.inputs_notes, "weather": args.weather or "clear sky"}
    if gaps:
        notes["weather_filled"] = gaps
    return site, replace(plan, inputs_notes=notes)


def explained(site: Any, plan: Any, lang: str) -> str:
    """The plan in plain words in ``lang`` (the pages' catalogues)."""
    from api.web.i18n import Local, read_catalogues
    from api.web.words import as_text
    from optimizer.explain import explain

    catalogues = read_catalogues()
    return as_text(explain(site, plan), Local(lang, catalogues[lang], site.currency))


def check_lang(lang: str) -> None:
    from api.web.i18n import read_catalogues

    known = sorted(read_catalogues())
    if lang not in known:
        raise CommandError(f"--lang must be one of {', '.join(known)}, got {lang!r}")


def run(args: argparse.Namespace) -> int:
    if args.explain:
        check_lang(args.lang)
    site, plan = make(args)
    print(summary(site, plan))
    if args.explain:
        print(explained(site, plan, args.lang))
    for path in write_plan(site, plan, args.out, args.plot):
        print(f"  wrote {path}")
    return 0
