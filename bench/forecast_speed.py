"""Speed of the PV and load forecasts: a 10-array site, one day at 15 min and one year hourly.

Run: ``python bench/forecast_speed.py``. Prints the median wall time of repeated calls after
a warm-up (imports and pvlib's turbidity file read), for clear sky and for hourly weather
(cloud cover only, the path that adds Kasten & Czeplak and DISC). Aims on a 2-core machine:
a day well under 0.1 s, a year under 3 s.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from forecasting.load import forecast_loads  # noqa: E402
from forecasting.pv import forecast_pv  # noqa: E402
from sites.schema import Site  # noqa: E402
from sites.timeindex import day_index  # noqa: E402

MODELS = ("sapm_close_mount_glass_glass", "sapm_insulated_back_glass_polymer",
          "pvsyst_semi_integrated", "sapm_open_rack_glass_glass", "pvsyst_insulated")  # fmt: skip


def ten_array_site(step_minutes: int) -> Site:
    arrays = [
        {"name": f"array-{i}", "kind": "pv_array", "surface": "facade" if i % 4 == 3 else "roof",
         "tilt_deg": 90 if i % 4 == 3 else 10 + 5 * i, "azimuth_deg": 90 + 20 * i,
         "dc_capacity_kwp": 10 + i, "inverter_ac_kw": 9 + i,
         "temperature_model": MODELS[i % len(MODELS)]}
        for i in range(10)
    ]  # fmt: skip
    loads = [{"name": "homes", "kind": "load", "type": "fixed", "daily_energy_kwh": 300.0}]
    return Site.model_validate({
        "name": "ten-arrays",
        "location": {"latitude_deg": 24.18, "longitude_deg": 113.05, "timezone": "Asia/Shanghai"},
        "step_minutes": step_minutes,
        "devices": arrays + loads,
    })  # fmt: skip


def timed(call: Callable[[], object], repeat: int) -> float:
    call()  # warm-up
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def hourly_clouds(index: pd.DatetimeIndex) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    t = pd.date_range(index[0] - pd.Timedelta(hours=1), index[-1] + pd.Timedelta(hours=2),
                      freq="1h")  # fmt: skip
    return pd.DataFrame({"cloud_cover_pct": rng.uniform(0, 100, len(t)),
                         "temp_air_c": rng.uniform(10, 35, len(t)),
                         "wind_speed_ms": rng.uniform(0, 5, len(t))}, index=t)  # fmt: skip


def main() -> None:
    day_site, year_site = ten_array_site(15), ten_array_site(60)
    day = day_index(day_site, date(2026, 6, 21))
    year = day_index(year_site, date(2026, 1, 1), days=365)
    cases = (
        ("day, 15 min, clear sky", lambda: forecast_pv(day_site, day), 20),
        ("day, 15 min, hourly cloud cover",
         lambda: forecast_pv(day_site, day, hourly_clouds(day)), 20),
        ("year, hourly, clear sky", lambda: forecast_pv(year_site, year), 3),
        ("year, hourly, hourly cloud cover",
         lambda: forecast_pv(year_site, year, hourly_clouds(year)), 3),
        ("loads, year hourly", lambda: forecast_loads(year_site, year), 3),
    )  # fmt: skip
    print(f"10 arrays; {len(day)} intervals a day, {len(year)} a year")
    for label, call, repeat in cases:
        print(f"{label:<36} {timed(call, repeat):8.4f} s")


if __name__ == "__main__":
    main()
