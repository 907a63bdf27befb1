"""Forecast accuracy backtest: PV on the TMY3 files pvlib ships, load on a synthetic feeder.

Run: ``python bench/forecast_backtest.py``. Prints hourly MAE, RMSE (kW and % of kWp or of
the mean load), bias and skill over 24-h persistence, for PV raw, after the rolling one-ratio
bias correction and after the sky-class correction, with the share of hours inside P10-P90;
then the dark skies (below 25 % of clear sky) and what each cloud calibration reaches.
``--default-spread`` prints the residual quantiles behind
``forecasting.skyfit.DEFAULT_RESIDUAL_PU``. The method is described in
``forecasting/backtest.py`` and ``docs/forecasting.md``;
``tests/forecasting/test_backtest.py`` reproduces the SLICE rows.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pvlib  # noqa: E402

from forecasting.backtest import Scores, load_backtest, pv_backtest, synthetic_load  # noqa: E402
from sites.schema import Site  # noqa: E402

STATIONS = (
    ("723170TYA.CSV", "Greensboro NC", "America/New_York"),
    ("703165TY.csv", "Sand Point AK", "America/Anchorage"),
)
#: The short PV slice the tests reproduce: days 135-179 of the typical year (mid-May to
#: June; the first 14 days only feed the bias correction).
SLICE = slice(135, 180)
#: PV runs: (span, days, losses of the real array; None = as modelled, 14 %).
RUNS = (("year", None, None), ("slice", SLICE, None), ("year", None, 24.0), ("slice", SLICE, 24.0))
#: The load runs: a year of history, scored from day 35; and the test's 120-day slice.
LOAD_RUNS = (("year", 365, 35, 330), ("slice", 120, 35, 60))


def row(label: str, s: Scores, unit: str) -> str:
    return (
        f"{label:<38} {s.mae_kw:6.3f} {s.rmse_kw:6.3f} {s.mae_pct:6.2f} {s.rmse_pct:6.2f} "
        f"{s.bias_kw:+7.3f} {s.skill:6.3f} {s.persistence_rmse_pct:7.2f} {s.hours:6d}  {unit}"
    )


def _station(path: Path, tz: str) -> tuple:
    """Site, weather, hourly index, PV from measured irradiance, cloud forecast, clear sky."""
    from forecasting.backtest import tmy3_site
    from forecasting.pv import forecast_pv

    site, weather = tmy3_site(path, tz)
    index = weather.index[24:-24].floor("h")
    measured = weather[["ghi_wm2", "dni_wm2", "dhi_wm2", "temp_air_c", "wind_speed_ms"]]
    actual = forecast_pv(site, index, measured)["roof.available_kw"]
    raw = forecast_pv(site, index, weather[["cloud_cover_pct", "temp_air_c", "wind_speed_ms"]])
    clear = forecast_pv(site, index)["roof.available_kw"]
    return site, weather, index, actual, raw["roof.available_kw"], clear


def dark_skies(path: Path, name: str, tz: str) -> None:
    """How often GHI is below 25 % of clear sky, and how low each cloud model goes."""
    import numpy as np
    import pandas as pd

    from forecasting.cloud import fit_cloud_coefficients, fit_cloud_curve
    from forecasting.learn import ArrayHistory, rolling
    from forecasting.pv import sky

    site, weather, index, actual, raw, clear = _station(path, tz)
    at = sky(site, pd.DatetimeIndex(weather.index))
    ok = at.ghi_clear >= 100
    kt = weather["ghi_wm2"].to_numpy()[ok] / at.ghi_clear[ok]
    cover = weather["cloud_cover_pct"].to_numpy()[ok]
    kasten = fit_cloud_coefficients(cover, kt * at.ghi_clear[ok], at.ghi_clear[ok])
    curve = fit_cloud_curve(cover, kt * at.ghi_clear[ok], at.ghi_clear[ok])
    band = rolling(ArrayHistory(raw, clear, actual, pd.Series(False, index=index), 9.0, 10.0),
                   site.tz)
    day = clear.to_numpy() >= 0.05 * 9.0
    dark = day & (actual.to_numpy() < 0.25 * clear.to_numpy())
    low = band["p10_kw"].to_numpy() <= actual.to_numpy() + 1e-9
    print(f"  {name}: {100 * np.mean(kt < 0.25):.1f} % of daylight hours below 25 %; floor at "
          f"100 % cover: Kasten default 25 %, fitted Kasten a={kasten.a_pu:.2f} "
          f"b={kasten.b:.2f} → {100 * (1 - kasten.a_pu):.0f} %, fitted curve "
          f"{100 * curve.index_pu[-1]:.0f} %; array hours below 25 % of its clear sky: "
          f"{100 * dark[day].mean():.1f} %, of which P10 reaches {100 * low[dark].mean():.0f} %")


def default_spread() -> None:
    """The residual quantiles of the raw chain by sky class at Greensboro."""
    from forecasting.skyfit import class_spread

    data = Path(pvlib.__file__).parent / "data"
    site, _, _, actual, raw, clear = _station(data / "723170TYA.CSV", "America/New_York")
    for name, q in class_spread(raw, clear, actual, 9.0, site.tz).items():
        print(f"  {name:<9} P10 {q[0]:+.2f}  P50 {q[1]:+.2f}  P90 {q[2]:+.2f}")


def main() -> None:
    if "--default-spread" in sys.argv[1:]:
        default_spread()
        return
    data = Path(pvlib.__file__).parent / "data"
    head = (
        f"{'':<38} {'MAE':>6} {'RMSE':>6} {'MAE%':>6} {'RMSE%':>6} {'bias':>7} {'skill':>6} "
        f"{'pers%':>7} {'hours':>6}"
    )
    print("PV, hourly, daylight hours; kW, % of kWp; 10 kWp south roof, 25° tilt")
    print(head)
    for file, name, tz in STATIONS:
        for span, days, real_losses in RUNS:
            t0 = time.perf_counter()
            r = pv_backtest(data / file, tz, days=days, real_losses_pct=real_losses)
            label = f"{name} {span}" + (f" {real_losses:g}%" if real_losses else "")
            print(row(f"{label} raw", r.raw, "% of kWp"))
            print(row(f"{label} one ratio", r.corrected, ""))
            print(row(f"{label} sky class", r.sky, f"P10-P90 holds {100 * r.coverage_pu:.1f} % "
                      f"({time.perf_counter() - t0:.1f} s)"))
    print("\nDark skies: daylight hours (clear-sky GHI ≥ 100 W/m²) below 25 % of clear sky")
    for file, name, tz in STATIONS:
        dark_skies(data / file, name, tz)
    print("\nLoad, hourly; kW, % of mean load; synthetic village feeder (seed 5)")
    print(head)
    site = Site.model_validate(
        {
            "name": "feeder",
            "location": {"latitude_deg": 24.18, "longitude_deg": 113.05,
                         "timezone": "Asia/Shanghai"},
            "step_minutes": 60,
            "devices": [{"name": "grid", "kind": "grid", "max_import_kw": 100,
                         "import_tariff": [{"start_h": 0, "end_h": 24, "price_per_kwh": 0.6}],
                         "carbon_kgco2_per_kwh": 0.5}],
        }
    )  # fmt: skip
    for span, length, first, days in LOAD_RUNS:
        history = synthetic_load("2025-01-01", length, "Asia/Shanghai", seed=5)
        r = load_backtest(site, history, first_day=first, days=days)
        print(row(f"feeder {span} ({r.mean_kw:.1f} kW mean)", r.scores, "% of mean load"))


if __name__ == "__main__":
    main()
