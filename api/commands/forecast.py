"""``villagegrid forecast SITE --date YYYY-MM-DD``: PV and load forecasts of a site.

Prints the energy of every array and load over the horizon; ``--out`` writes the interval
table (site-local timestamps with their offset), ``--plot`` a PNG of each array's output and
the loads on a local time axis. Without ``--weather`` the PV forecast is clear sky
(optionally ``--cloud-cover``), which needs no network.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from api.commands import CommandError, check_writable, load_site_or_fail


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "forecast",
        help="forecast each PV array's output and each load for local days",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("site", metavar="SITE", help="site YAML file")
    p.add_argument("--date", required=True, help="first local day, YYYY-MM-DD")
    p.add_argument("--days", type=int, default=1, help="number of days (default 1)")
    p.add_argument(
        "--weather",
        metavar="FILE",
        help="weather file (CSV/JSON in the forecasting vocabulary, TMY3, EPW, PVGIS TMY, a "
        "saved Open-Meteo response), or 'open-meteo' to fetch a forecast (needs the network)",
    )
    p.add_argument("--cloud-cover", type=float, metavar="PCT", help="uniform cloud cover [%%]")
    p.add_argument("--history", metavar="FILE", help="CSV of measured load kW (time + loads)")
    p.add_argument(
        "--measured", metavar="FILE",
        help="CSV of measured PV kW (time + one column per array): the forecast is corrected "
        "by sky class and hour from it (with the same weather source) and its P10/P50/P90 "
        "learnt from its errors; without it the bands are the documented default spread",
    )
    p.add_argument(
        "--label", choices=("start", "centre", "end"), default="start",
        help="what the timestamps of --measured and of --out mark: the start (default), "
        "centre or end of each interval",
    )
    p.add_argument("--out", metavar="FILE.csv", help="write the interval table as CSV")
    p.add_argument("--plot", metavar="FILE.png", help="plot arrays and loads to a PNG")
    p.set_defaults(func=run)


def _fail(message: str, code: int = 2) -> int:
    raise CommandError(message, code)


#: Distance between the site and the weather's location that earns a warning [°].
FAR_DEG = 1.0


def _weather(site: Any, path: str, day: date, days: int) -> tuple[Any, dict]:
    """Read or fetch weather; a typical year is moved onto the requested calendar year(s)."""
    from datetime import timedelta

    import pandas as pd

    from forecasting.weather import get_weather, read_any_weather, to_year

    loc = site.location
    if path == "open-meteo":
        last = day + timedelta(days=days)  # UTC days: one more covers the local horizon
        return get_weather(loc.latitude_deg, loc.longitude_deg, str(day - timedelta(days=1)),
                           str(last))  # fmt: skip
    data, meta = read_any_weather(path)
    lat, lon = meta.get("latitude_deg"), meta.get("longitude_deg")
    if lat is not None and lon is not None:
        if max(abs(lat - loc.latitude_deg), abs(lon - loc.longitude_deg)) > FAR_DEG:
            where = f"{loc.latitude_deg:.2f}°, {loc.longitude_deg:.2f}°"
            print(f"warning: the weather is for {lat:.2f}°, {lon:.2f}°, the site is at {where}",
                  file=sys.stderr)  # fmt: skip
    if "year" in meta:  # a typical year: lay it onto the years the horizon touches
        years = range(day.year - 1, day.year + 2 + days // 365)
        data = pd.concat([to_year(data, y) for y in years]).sort_index()
        data = data[~data.index.duplicated()]
    return data, meta


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from api.commands.plan import PLOT_SUFFIXES, parse_date

    check_writable("--out", args.out, (".csv",))
    check_writable("--plot", args.plot, PLOT_SUFFIXES)
    site = load_site_or_fail(args.site)
    day = parse_date(args.date, datetime.now(UTC).date())
    if args.days < 1:
        return _fail(f"--days must be ≥ 1, got {args.days}")

    from forecasting.history import read_history
    from forecasting.learn import learn_pv, pv_quantiles, relabel
    from forecasting.load import forecast_loads
    from forecasting.records import WeatherError, WeatherServiceError
    from sites.timeindex import day_index

    index = day_index(site, day, args.days)
    try:
        weather, meta = _weather(site, args.weather, day, args.days) if args.weather else (None, {})
        history = read_history(args.history) if args.history else None
        fits = (learn_pv(site, read_history(args.measured), weather, label=args.label,
                         cloud_cover_pct=args.cloud_cover) if args.measured else {})
        bands = pv_quantiles(site, index, weather, fits, cloud_cover_pct=args.cloud_cover)
        pv = bands[[c for c in bands.columns if c.endswith(".available_kw")]]
        pv.attrs["derived"] = bands.attrs.get("derived", [])
        loads = forecast_loads(site, index, history)
    except WeatherServiceError as exc:
        return _fail(str(exc), code=1)
    except (WeatherError, ValueError) as exc:
        return _fail(str(exc))
    table = bands.join(loads)
    source = meta.get("source", "clear sky (Ineichen)")
    if args.cloud_cover is not None and weather is None:
        source += f" with {args.cloud_cover:g} % cloud cover"
    print(f"{site.name}: {args.date}, {args.days} day(s), {len(index)} intervals of "
          f"{site.step_minutes} min; weather: {source}")  # fmt: skip
    for note in pv.attrs.get("derived", []):
        print(f"  derived: {note}")
    for name, fit in fits.items():
        verdict = "used" if fit.used else "not used (raw kept)"
        held = (f"held-out RMSE {fit.raw_rmse_kw:.3f} kW raw, {fit.corrected_rmse_kw:.3f} kW "
                f"corrected" if fit.raw_rmse_kw is not None else "too few days to validate")
        print(f"  correction of {name}: {verdict}; {fit.days} days, {fit.intervals} intervals, "
              f"{fit.excluded} excluded; {held}; spread from {fit.spread_from}")
    for column in [*pv.columns, *loads.columns]:
        device, _, quantity = column.partition(".")
        peak = table[column].max()
        energy = table[column].sum() * site.step_h
        band = ""
        if quantity == "available_kw":
            p10, p50, p90 = (table[f"{device}.{q}_kw"].sum() * site.step_h
                             for q in ("p10", "p50", "p90"))
            band = f"  P10/P50/P90 {p10:.1f}/{p50:.1f}/{p90:.1f} kWh"
        print(f"  {device:<24} {energy:10.1f} kWh  peak {peak:8.2f} kW  ({quantity}){band}")
    if args.out:
        local = relabel(table, site.step, args.label)
        local.index = local.index.tz_convert(site.tz).map(lambda t: t.isoformat())
        local.index.name = args.label
        local.to_csv(args.out, float_format="%.4f")
        print(f"wrote {args.out}")
    if args.plot:
        plot(site, pv, loads, Path(args.plot))
        print(f"wrote {args.plot}")
    return 0


def plot(site: Any, pv: Any, loads: Any, path: Path) -> None:
    """Each array's output (lines) and the loads (dashed) over local time, to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    local = pv.index.tz_convert(site.tz)
    edges = local.append(local[-1:] + site.step)  # the last interval drawn to its end

    def closed(series: Any) -> Any:
        return list(series) + [series.iloc[-1]]

    fig, ax = plt.subplots(figsize=(11, 5), constrained_layout=True)
    for column in pv.columns:
        ax.step(edges, closed(pv[column]), where="post", label=column.split(".")[0])
    for column in loads.columns:
        ax.step(edges, closed(loads[column]), where="post", linestyle="--",
                label=column.split(".")[0])
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %H:%M", tz=site.tz))
    ax.set_xlabel(f"local time ({site.location.timezone})")
    ax.set_ylabel("power [kW]")
    ax.set_title(f"{site.name}: PV available (solid) and load forecasts (dashed)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", ncol=2)
    fig.savefig(path, dpi=110)
    plt.close(fig)
