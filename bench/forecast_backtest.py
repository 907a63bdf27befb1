"""Forecast accuracy backtest: PV on the TMY3 files pvlib ships, load on a synthetic feeder.

Run: ``python bench/forecast_backtest.py``. Prints hourly MAE, RMSE (kW and % of kWp or of
the mean load), bias and skill over 24-h persistence, for PV before and after the rolling
bias correction. The method is described in ``forecasting/backtest.py`` and
``docs/forecasting.md``; ``tests/forecasting/test_backtest.py`` reproduces the SLICE rows.
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


def main() -> None:
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
            print(
                row(f"{label} bias-corrected", r.corrected, f"({time.perf_counter() - t0:.1f} s)")
            )
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
