"""Load forecasts from measured history: energy-conserving resampling and a weekly-profile
forecaster.

Method
------
1. The measured series (kW, any resolution, each sample the mean power from its timestamp to
   the next) is resampled to the site's step by integrating its piecewise-constant energy over
   each target interval (:func:`resample_energy`): the energy of every full interval is kept
   exactly; gaps (NaN) are left out and an interval with less than half of its time measured
   becomes NaN.
2. The similar-day estimate of an interval is a weighted mean of the same local weekday and
   clock time in the last four weeks whose values are known (weights :data:`WEEK_WEIGHTS`,
   the most recent heaviest). Same-weekday averaging keeps the weekly rhythm (market days,
   weekends) that 24-h persistence breaks, and averaging several weeks cancels much of the
   interval noise. With less than 8 days of history, the same clock time of the last days
   is averaged instead (weights :data:`DAY_WEIGHTS`). This is the "similar day" family of
   short-term load forecasters (Hong & Fan 2016).
3. Level: weather and season move a whole day up or down, and such spells last a few days.
   The last measured 24 h are compared with their own similar-day estimate (made only from
   data before them); the forecast is scaled by ``1 + LEVEL_WEIGHT·(ratio − 1)``, bounded to
   :data:`LEVEL_BOUNDS`.

Reference
---------
Hong, T. and Fan, S. (2016). Probabilistic electric load forecasting: a tutorial review.
International Journal of Forecasting 32(3), 914-938.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.records import WeatherError, parse_times
from sites.schema import Site

#: Weights of the last four same-weekday values (most recent first), and the lags tried.
WEEK_WEIGHTS = (0.4, 0.3, 0.2, 0.1)
WEEK_LAGS = tuple(7 * k for k in range(1, 13))
#: Weights of the last days at the same clock time when history is shorter than 8 days.
DAY_WEIGHTS = (0.5, 0.3, 0.2)
DAY_LAGS = tuple(range(1, 8))
#: Share of the last day's departure from its similar-day estimate carried into the
#: forecast, and the bounds of the resulting factor [-].
LEVEL_WEIGHT = 0.5
LEVEL_BOUNDS = (0.7, 1.3)


def _check_history(history: pd.Series, name: str) -> pd.Series:
    if not isinstance(history, pd.Series):
        raise ValueError(f"history[{name!r}] must be a pandas Series of kW, got {type(history)}")
    if not isinstance(history.index, pd.DatetimeIndex) or history.index.tz is None:
        raise ValueError(
            f"history[{name!r}] needs a tz-aware DatetimeIndex; naive timestamps are refused"
        )
    values = pd.to_numeric(history, errors="coerce").astype(float)
    bad = values[(values < 0) | np.isinf(values)]
    if len(bad):
        raise ValueError(f"history[{name!r}] must be ≥ 0 kW; {bad.index[0]} has {bad.iloc[0]}")
    if values.notna().sum() < 2:
        raise ValueError(f"history[{name!r}] needs at least two measured values")
    return values.sort_index()


def resample_energy(history: pd.Series, step_minutes: int) -> pd.Series:
    """Resample measured power to ``step_minutes`` intervals, conserving energy.

    Parameters
    ----------
    history : pandas.Series
        Power [kW], tz-aware index; each sample holds from its timestamp to the next one (the
        last for the median spacing). NaN marks a gap.
    step_minutes : int
        Target interval length [min]; intervals are aligned to multiples of it in UTC.

    Returns
    -------
    pandas.Series
        Mean power of each target interval [kW], labelled by interval start (UTC); NaN where
        less than half of the interval was measured.

    Notes
    -----
    With ``E(t) = ∫ p dt`` the cumulative energy of the piecewise-constant measurement,
    ``p̄_i = (E(t_{i+1}) − E(t_i)) / (measured time in [t_i, t_{i+1}))``; ``E`` is linear
    between sample boundaries, so evaluating it at the target edges is exact.
    """
    h = history.dropna() if history.isna().all() else history
    t = h.index.tz_convert("UTC").as_unit("ns").asi8.astype(float) / 3.6e12  # hours
    spacing = float(np.median(np.diff(t))) if len(t) > 1 else step_minutes / 60
    edges = np.append(t, t[-1] + spacing)
    p = h.to_numpy(dtype=float)
    known = np.isfinite(p)
    energy = np.concatenate(([0.0], np.cumsum(np.where(known, p, 0.0) * np.diff(edges))))
    measured = np.concatenate(([0.0], np.cumsum(known * np.diff(edges))))
    step = pd.Timedelta(minutes=step_minutes)
    first = h.index[0].tz_convert("UTC").floor(step)
    last = (h.index[-1].tz_convert("UTC") + pd.Timedelta(hours=spacing)).ceil(step)
    bins = pd.date_range(first, last, freq=step, name="start")
    b = bins.as_unit("ns").asi8.astype(float) / 3.6e12
    d_energy = np.diff(np.interp(b, edges, energy))
    d_time = np.diff(np.interp(b, edges, measured))
    mean = np.where(d_time >= 0.5 * step_minutes / 60, d_energy / np.maximum(d_time, 1e-12), np.nan)
    return pd.Series(mean, index=bins[:-1])


def _wall(index: pd.DatetimeIndex, site: Site) -> pd.DatetimeIndex:
    return index.tz_convert(site.tz).tz_localize(None)


def _similar_days(
    by_wall: pd.Series,
    target: pd.DatetimeIndex,
    limit: pd.Timestamp,
    lag_days: tuple[int, ...],
    weights: tuple[float, ...],
) -> np.ndarray:
    """Weighted mean of ``by_wall`` at ``target − lag`` for the first ``len(weights)`` lags
    with a value before ``limit`` (local wall-clock times); NaN where there is none."""
    total = np.zeros(len(target))
    weight_sum = np.zeros(len(target))
    used = np.zeros(len(target), dtype=int)
    for lag in lag_days:
        moments = target - pd.Timedelta(days=lag)
        values = by_wall.reindex(moments).to_numpy()
        ok = np.isfinite(values) & (moments < limit) & (used < len(weights))
        w = np.where(ok, np.asarray(weights)[np.minimum(used, len(weights) - 1)], 0.0)
        total += w * np.nan_to_num(values)
        weight_sum += w
        used += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight_sum > 0, total / weight_sum, np.nan)


def forecast_from_history(
    site: Site, index: pd.DatetimeIndex, history: pd.Series, *, name: str = "load"
) -> pd.Series:
    """Forecast a load on ``index`` from its measured power (method in the module docstring).

    Parameters
    ----------
    site : Site
    index : pandas.DatetimeIndex
        Interval starts to forecast, tz-aware.
    history : pandas.Series
        Measured power [kW], tz-aware index, any resolution.
    name : str
        The load's name, for error messages.

    Returns
    -------
    pandas.Series
        Forecast mean power per interval [kW] on ``index``.
    """
    series = resample_energy(_check_history(history, name), site.step_minutes).dropna()
    by_wall = series.groupby(_wall(pd.DatetimeIndex(series.index), site)).mean()
    end = _wall(pd.DatetimeIndex([series.index[-1] + site.step]), site)[0]
    weekly = (series.index[-1] - series.index[0]) >= pd.Timedelta(days=8)
    lags, weights = (WEEK_LAGS, WEEK_WEIGHTS) if weekly else (DAY_LAGS, DAY_WEIGHTS)
    forecast = _similar_days(by_wall, _wall(index, site), end, lags, weights)
    if np.isnan(forecast).any():
        missing = index[np.isnan(forecast)][0]
        raise ValueError(
            f"history[{name!r}] has no value at the same clock time on an earlier day for "
            f"{missing.tz_convert(site.tz).isoformat()}; it covers "
            f"{series.index[0].tz_convert(site.tz).isoformat()} to "
            f"{series.index[-1].tz_convert(site.tz).isoformat()}"
        )
    if weekly:
        forecast = forecast * _level(by_wall, series, site, lags, weights)
    return pd.Series(forecast, index=index, name=f"{name}.forecast_kw")


def _level(
    by_wall: pd.Series,
    series: pd.Series,
    site: Site,
    lags: tuple[int, ...],
    weights: tuple[float, ...],
) -> float:
    """Level factor: how far the last measured day ran above its own similar-day estimate,
    damped by :data:`LEVEL_WEIGHT` and bounded by :data:`LEVEL_BOUNDS`."""
    last = series[series.index > series.index[-1] - pd.Timedelta(days=1)]
    last_wall = _wall(pd.DatetimeIndex(last.index), site)
    estimate = _similar_days(by_wall, last_wall, last_wall[0], lags, weights)
    ok = np.isfinite(estimate)
    if ok.sum() < len(last) // 2 or estimate[ok].sum() <= 0:
        return 1.0
    ratio = float(last.to_numpy()[ok].sum() / estimate[ok].sum())
    return float(np.clip(1 + LEVEL_WEIGHT * (ratio - 1), *LEVEL_BOUNDS))


def read_history(path: str | Path) -> dict[str, pd.Series]:
    """Read measured load power from a CSV: a ``time`` column (ISO 8601 with a UTC offset)
    and one column of kW per load, named after the load (a ``_kw`` suffix is dropped).

    Returns
    -------
    dict of str to pandas.Series
        Measured power per load [kW], UTC index; empty cells are gaps (NaN).
    """

    path = Path(path)
    try:
        table = pd.read_csv(path, comment="#", dtype={"time": str})
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the file: {exc.strerror}") from None
    if "time" not in table.columns or len(table.columns) < 2:
        raise ValueError(
            f"{path}: expected a 'time' column and one kW column per load, got "
            f"{list(table.columns)}"
        )
    try:
        index = parse_times(table["time"], str(path))
    except WeatherError as exc:
        raise ValueError(str(exc)) from None
    out = {}
    for col in (c for c in table.columns if c != "time"):
        values = pd.to_numeric(table[col], errors="coerce")
        bad = table[col].notna() & values.isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(f"{path}: row {row + 1}: {col} must be a number of kW")
        name = col.removesuffix("_kw")
        out[name] = _check_history(pd.Series(values.to_numpy(), index=index, name=name), name)
    return out
