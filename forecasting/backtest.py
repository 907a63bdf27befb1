"""Forecast accuracy: metrics, a PV backtest on typical-year files, a load backtest.

PV: a typical-year file (TMY3) carries observed cloud cover next to measured irradiance. The
"actual" output of an array is the PV chain run on the file's measured GHI/DNI/DHI,
temperature and wind; the "forecast" is the same chain run on the observed cloud cover alone
(a perfect cloud forecast: Kasten & Czeplak → DISC), plus temperature and wind. The
reference is 24-hour persistence of the actual output. The bias correction of
:mod:`forecasting.bias` is fitted each day on the :data:`BIAS_WINDOW_DAYS` days before it
(never on the day itself) and applied to that day.

Load: a synthetic but realistic feeder history (:func:`synthetic_load`) is forecast day by
day with :func:`forecasting.history.forecast_from_history` from the weeks before each day.

Metrics are over hourly values: PV over the hours when the sun is up, load over all hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.bias import fit_ratio
from forecasting.history import forecast_from_history, resample_energy
from forecasting.learn import ArrayHistory, score_rolling
from forecasting.load import SHAPES
from forecasting.metrics import Scores, scores
from forecasting.pv import forecast_pv
from forecasting.weather import read_tmy3
from sites.schema import PvArray, Site

#: Days before a forecast day on which its bias correction is fitted.
BIAS_WINDOW_DAYS = 14


def tmy3_site(
    path: str | Path, timezone: str, losses_pct: float = 14.0
) -> tuple[Site, pd.DataFrame]:
    """A one-array site at a TMY3 file's station (10 kWp south roof, 25° tilt, hourly)."""
    weather, meta = read_tmy3(path)
    site = Site.model_validate(
        {
            "name": "backtest",
            "location": {
                "latitude_deg": meta["latitude_deg"],
                "longitude_deg": meta["longitude_deg"],
                "altitude_m": meta["altitude_m"],
                "timezone": timezone,
            },
            "step_minutes": 60,
            "devices": [
                {
                    "name": "roof",
                    "kind": "pv_array",
                    "surface": "roof",
                    "tilt_deg": 25,
                    "azimuth_deg": 180,
                    "dc_capacity_kwp": 10.0,
                    "inverter_ac_kw": 9.0,
                    "temperature_model": "sapm_close_mount_glass_glass",
                    "losses_pct": losses_pct,
                }
            ],
        }
    )
    return site, weather


def rolling_bias(site: Site, forecast: pd.Series, actual: pd.Series) -> pd.Series:
    """Each day's forecast times a ratio fitted on the previous :data:`BIAS_WINDOW_DAYS` days."""
    rating = site.of_type(PvArray)[0].inverter_ac_kw
    days = forecast.index.tz_convert(site.tz).normalize()
    out = forecast.copy()
    for day in days.unique():
        window = (days < day) & (days >= day - pd.Timedelta(days=BIAS_WINDOW_DAYS))
        if window.sum() == 0:
            continue
        factor = fit_ratio(forecast[window], actual[window], rating).factor
        today = days == day
        out[today] = np.minimum(forecast[today] * factor, rating)
    return out


@dataclass(frozen=True)
class PvBacktest:
    raw: Scores
    corrected: Scores  # one ratio per array (forecasting.bias)
    kwp: float
    sky: Scores  # by sky class and hour, validated (forecasting.skyfit)
    coverage_pu: float  # share of scored hours inside P10-P90


def pv_backtest(
    path: str | Path,
    timezone: str,
    days: slice | None = None,
    real_losses_pct: float | None = None,
) -> PvBacktest:
    """Cloud-cover forecast vs PV from measured irradiance over a TMY3 file (module doc).

    ``days`` selects whole local days by position (e.g. ``slice(150, 180)``) for a shorter run.
    ``real_losses_pct``: the "actual" array has these losses instead of the modelled 14 %
    (soiling, shading, a wrong nameplate), the case a bias correction is meant for.
    """

    site, weather = tmy3_site(path, timezone)
    real = site if real_losses_pct is None else tmy3_site(path, timezone, real_losses_pct)[0]
    local = weather.index.tz_convert(site.tz)
    first, last = local[0].normalize() + pd.Timedelta(days=1), local[-1].normalize()
    starts = pd.date_range(first, last, freq="D")
    starts = starts[days] if days is not None else starts
    index = pd.date_range(starts[0], starts[-1] + pd.Timedelta(days=1), freq="1h",
                          inclusive="left").tz_convert("UTC")  # fmt: skip
    measured = weather[["ghi_wm2", "dni_wm2", "dhi_wm2", "temp_air_c", "wind_speed_ms"]]
    clouds = weather[["cloud_cover_pct", "temp_air_c", "wind_speed_ms"]]
    actual = forecast_pv(real, index, measured)["roof.available_kw"]
    forecast = forecast_pv(site, index, clouds)["roof.available_kw"]
    persistence = actual.shift(24)
    corrected = rolling_bias(site, forecast, actual)
    day = (actual > 0) | (forecast > 0)
    kwp = site.of_type(PvArray)[0].dc_capacity_kwp
    keep = day & persistence.notna()
    keep &= pd.Series(index >= index[0] + pd.Timedelta(days=BIAS_WINDOW_DAYS), index=index)
    rating = site.of_type(PvArray)[0].inverter_ac_kw
    clear = forecast_pv(site, index)["roof.available_kw"]
    history = ArrayHistory(forecast, clear, actual, pd.Series(False, index=index), rating, kwp)
    sky = score_rolling(history, site.tz, keep)
    return PvBacktest(
        raw=scores(forecast[keep], actual[keep], persistence[keep], kwp),
        corrected=scores(corrected[keep], actual[keep], persistence[keep], kwp),
        kwp=kwp,
        sky=sky.corrected,
        coverage_pu=sky.coverage_pu,
    )


def synthetic_load(
    start: str, days: int, timezone: str, *, mean_kw: float = 25.0, seed: int = 0
) -> pd.Series:
    """A realistic village feeder at 10-min resolution [kW].

    ``rural_household`` daily shape × weekday factor (Sundays +12 %, Saturdays +6 %, a
    market day on Wednesdays +8 %) × slow seasonal swing (±10 % over the year) × a day-level
    weather factor (AR(1), φ = 0.6, σ = 6 %) × interval noise (σ = 12 %, i.i.d.; a feeder of
    ~100 homes), plus pump starts (15 kW for 30 min, ~2 a day at random times).
    """
    rng = np.random.default_rng(seed)
    idx = pd.date_range(pd.Timestamp(start, tz=timezone), periods=days * 144, freq="10min")
    local = idx.tz_convert(timezone)
    hours = np.asarray(local.hour + local.minute / 60)
    shape = np.asarray(SHAPES["rural_household"]) * 24
    base = np.interp(hours, np.arange(24) + 0.5, shape, period=24)
    weekday = np.array([1.0, 1.0, 1.08, 1.0, 1.0, 1.06, 1.12])[local.dayofweek]
    season = 1 + 0.10 * np.cos(2 * np.pi * (local.dayofyear - 15) / 365)
    day_level = np.zeros(days)
    for d in range(1, days):
        day_level[d] = 0.6 * day_level[d - 1] + rng.normal(0, 0.06 * np.sqrt(1 - 0.36))
    day_no = np.arange(len(idx)) // 144
    noise = rng.normal(1.0, 0.12, len(idx))
    kw = np.asarray(mean_kw * base * weekday * season * (1 + day_level[day_no]) * noise)
    for start_i in rng.integers(0, len(idx) - 3, size=2 * days):
        kw[start_i : start_i + 3] += 15.0
    return pd.Series(np.clip(kw, 0, None), index=idx, name="feeder_kw")


@dataclass(frozen=True)
class LoadBacktest:
    scores: Scores
    mean_kw: float


def load_backtest(site: Site, history: pd.Series, first_day: int, days: int) -> LoadBacktest:
    """Forecast each of ``days`` local days from ``first_day`` (position in the history) with
    all history before it; score hourly means against the actual and 24-h persistence."""

    hourly = resample_energy(history, 60)
    local_days = history.index.tz_convert(site.tz).normalize().unique()
    forecasts = []
    for day in local_days[first_day : first_day + days]:
        past = history[history.index < day]
        index = pd.date_range(day, day + pd.Timedelta(days=1), freq=site.step, inclusive="left")
        index = index.tz_convert("UTC")
        forecasts.append(forecast_from_history(site, index, past, name="feeder"))
    forecast = resample_energy(pd.concat(forecasts), 60)
    actual = hourly.reindex(forecast.index)
    persistence = hourly.shift(24).reindex(forecast.index)
    mean_kw = float(actual.mean())
    return LoadBacktest(scores(forecast, actual, persistence, mean_kw), mean_kw)
