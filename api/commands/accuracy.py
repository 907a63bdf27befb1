"""``villagegrid forecast-accuracy SITE --measured FILE.csv``: how well the PV forecasts of a
site matched its meters over the last days, raw and corrected.

Each scored day is forecast with the weather source (``--weather``, else clear sky) and
corrected by sky class and hour from the measured days before it only (at most 28); hourly
MAE and RMSE as % of each array's kWp, bias [kW], skill against 24-h persistence of the
measurement, and the share of measured hours inside the P10-P90 band.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "forecast-accuracy",
        help="score raw and corrected PV forecasts against measured PV",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("site", metavar="SITE", help="site YAML file")
    p.add_argument("--measured", metavar="FILE", required=True,
                   help="CSV of measured PV kW: a time column (with UTC offset) + one per array")
    p.add_argument("--weather", metavar="FILE", help="weather file of the measured period")
    p.add_argument("--days", type=int, default=7, help="last local days scored (default 7)")
    p.add_argument("--label", choices=("start", "centre", "end"), default="start",
                   help="what the measured timestamps mark (default: interval start)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from api.commands import load_site_or_fail
    from api.commands.forecast import _fail, _weather

    site = load_site_or_fail(args.site)
    if args.days < 1:
        return _fail(f"--days must be ≥ 1, got {args.days}")

    import pandas as pd

    from forecasting.history import read_history
    from forecasting.learn import accuracy
    from forecasting.weather import WeatherError

    try:
        measured = read_history(args.measured)
        end = max(s.dropna().index[-1] for s in measured.values())
        end = (end.tz_convert(site.tz).normalize() + pd.Timedelta(days=1))
        weather = None
        if args.weather:
            weather, _ = _weather(site, args.weather, (end - pd.Timedelta(days=60)).date(), 61)
        scored = accuracy(site, measured, weather, days=args.days, end=end, label=args.label)
    except (WeatherError, ValueError) as exc:
        return _fail(str(exc))
    print(f"{site.name}: PV forecast accuracy over the {args.days} local day(s) before "
          f"{end.date()}; hourly, daylight; % of kWp")
    print(f"  {'array':<20} {'':<10} {'MAE%':>6} {'RMSE%':>6} {'bias kW':>8} {'skill':>6} "
          f"{'hours':>6}")
    for name, a in scored.items():
        for label, s in (("raw", a.raw), ("corrected", a.corrected)):
            print(f"  {name:<20} {label:<10} {s.mae_pct:6.2f} {s.rmse_pct:6.2f} "
                  f"{s.bias_kw:+8.3f} {s.skill:6.3f} {s.hours:6d}")
        print(f"  {name:<20} P10-P90 band holds {100 * a.coverage_pu:.1f} % of measured hours")
    return 0
