"""Forecasts that learn from a site's meters: per-array sky fits from measured PV, the
P10/P50/P90 of every array, and the accuracy of raw and corrected forecasts over past days.

The fit itself is :mod:`forecasting.skyfit`; this module runs the PV chain for the measured
period (the raw forecast with the weather source that later forecasts will use, and the
clear-sky output of each array), lines meters up with the site's intervals, and rolls the fit
over days so that each day is corrected only from the :data:`WINDOW_DAYS` before it.

Interval conventions: a meter may label an interval mean by the interval's start, its end or
its centre (an instantaneous reading describes the moment at the centre of the interval it
stands for). :func:`align_to_start` moves any of them onto the start convention used
everywhere inside; :func:`relabel` moves a forecast onto a meter's convention for export.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from forecasting.history import resample_energy
from forecasting.metrics import Scores, scores
from forecasting.pv import forecast_pv
from forecasting.skyfit import SkyFit, apply_sky, default_fit, fit_sky
from sites.schema import PvArray, Site

#: Days of measurements a correction is fitted on (the rolling window) [d].
WINDOW_DAYS = 28
#: How far each convention's label lies after the interval's start, in intervals [-].
LABEL_OFFSET = {"start": 0.0, "centre": 0.5, "end": 1.0}
Label = Literal["start", "centre", "end"]


def _spacing(index: pd.DatetimeIndex, fallback: pd.Timedelta) -> pd.Timedelta:
    return pd.Timedelta(index.to_series().diff().median()) if len(index) > 1 else fallback


def align_to_start(series: pd.Series, label: Label, spacing: pd.Timedelta | None = None
                   ) -> pd.Series:
    """Relabel a meter's series by interval start.

    ``label`` says what the meter's timestamps mark: ``start``, ``centre`` or ``end`` of the
    interval each value describes; ``spacing`` is that interval (default: the median spacing
    of the series).
    """
    if label not in LABEL_OFFSET:
        raise ValueError(f"label must be one of {', '.join(LABEL_OFFSET)}, got {label!r}")
    index = pd.DatetimeIndex(series.index)
    step = spacing if spacing is not None else _spacing(index, pd.Timedelta(hours=1))
    out = series.copy()
    out.index = index - LABEL_OFFSET[label] * step
    return out


def relabel(frame: pd.DataFrame, step: pd.Timedelta, label: Label) -> pd.DataFrame:
    """A start-labelled forecast relabelled by the ``start``, ``centre`` or ``end`` of its
    intervals (for meters that use that convention)."""
    if label not in LABEL_OFFSET:
        raise ValueError(f"label must be one of {', '.join(LABEL_OFFSET)}, got {label!r}")
    out = frame.copy()
    out.index = pd.DatetimeIndex(frame.index) + LABEL_OFFSET[label] * step
    return out


def _check_measured(site: Site, measured: Mapping[str, pd.Series]) -> dict[str, PvArray]:
    arrays = {a.name: a for a in site.of_type(PvArray)}
    for name, series in measured.items():
        if name not in arrays:
            raise ValueError(f"measured: {name!r} is not a pv_array of site {site.name!r}; "
                             f"expected one of {sorted(arrays)}")
        if not isinstance(series.index, pd.DatetimeIndex) or series.index.tz is None:
            raise ValueError(f"measured[{name!r}] needs a tz-aware DatetimeIndex; naive refused")
        if (series < 0).any():
            raise ValueError(f"measured[{name!r}] must be ≥ 0 kW")
    return arrays


def on_site_step(site: Site, series: pd.Series, label: Label = "start") -> pd.Series:
    """A meter's series (any resolution) as interval means on the site's step, energy kept."""
    return resample_energy(align_to_start(series.astype(float), label), site.step_minutes)


@dataclass(frozen=True)
class ArrayHistory:
    """One array over a measured period, on the site's intervals [kW]."""

    raw_kw: pd.Series
    clear_kw: pd.Series
    measured_kw: pd.Series
    exclude: pd.Series
    rating_kw: float
    kwp: float


def histories(
    site: Site,
    measured: Mapping[str, pd.Series],
    weather: pd.DataFrame | None = None,
    *,
    exclude: Mapping[str, pd.Series] | None = None,
    label: Label = "start",
    **pv_options: Any,
) -> dict[str, ArrayHistory]:
    """Raw forecast, clear-sky output and measurement of every measured array.

    ``measured``: power per array [kW], any resolution, timestamps by ``label``;
    ``exclude``: per array, 1 at readings (same timestamps and labels as the measurement)
    when it was curtailed or off, else 0 — an interval touched by any such reading is
    excluded.
    """

    arrays = _check_measured(site, measured)
    if not measured:
        return {}
    resampled = {n: on_site_step(site, s, label) for n, s in measured.items()}
    start = min(s.index[0] for s in resampled.values())
    end = max(s.index[-1] for s in resampled.values())
    index = pd.date_range(start, end, freq=site.step)
    raw = forecast_pv(site, index, weather, **pv_options)
    clear = forecast_pv(site, index)
    out = {}
    for name, series in resampled.items():
        flags = pd.Series(False, index=index)
        if exclude and name in exclude and len(exclude[name]):
            share = on_site_step(site, exclude[name].astype(float).fillna(0.0), label)
            flags = share.reindex(index).fillna(0.0) > 0
        out[name] = ArrayHistory(raw[f"{name}.available_kw"], clear[f"{name}.available_kw"],
                                 series.reindex(index), flags, arrays[name].inverter_ac_kw,
                                 arrays[name].dc_capacity_kwp)
    return out


def learn_pv(site: Site, measured: Mapping[str, pd.Series], weather: pd.DataFrame | None = None,
             **options: Any) -> dict[str, SkyFit]:
    """Fit every measured array's correction and spread (options as :func:`histories`)."""
    return {name: fit_sky(h.raw_kw, h.clear_kw, h.measured_kw, h.rating_kw, site.tz, h.exclude)
            for name, h in histories(site, measured, weather, **options).items()}


def pv_quantiles(
    site: Site,
    index: pd.DatetimeIndex,
    weather: pd.DataFrame | None = None,
    fits: Mapping[str, SkyFit] | None = None,
    **pv_options: Any,
) -> pd.DataFrame:
    """Point forecast and P10/P50/P90 of every array on ``index``.

    Parameters
    ----------
    site, index, weather, **pv_options
        As :func:`forecasting.pv.forecast_pv`.
    fits : mapping of str to SkyFit, optional
        From :func:`learn_pv`; an array without one gets no correction and the documented
        default spread (:data:`forecasting.skyfit.DEFAULT_RESIDUAL_PU`).

    Returns
    -------
    pandas.DataFrame
        Per array ``<array>.available_kw`` (corrected where the fit is used), ``.raw_kw``,
        ``.p10_kw``, ``.p50_kw``, ``.p90_kw`` [kW].
    """

    raw = forecast_pv(site, index, weather, **pv_options)
    clear = forecast_pv(site, index)
    out = {}
    for a in site.of_type(PvArray):
        col = f"{a.name}.available_kw"
        fit = (fits or {}).get(a.name) or default_fit()
        band = apply_sky(fit, raw[col], clear[col], a.inverter_ac_kw, site.tz)
        out[col] = band["available_kw"]
        out[f"{a.name}.raw_kw"] = raw[col]
        for q in ("p10_kw", "p50_kw", "p90_kw"):
            out[f"{a.name}.{q}"] = band[q]
    frame = pd.DataFrame(out, index=index)
    frame.attrs["derived"] = list(raw.attrs.get("derived", []))
    return frame


def rolling(h: ArrayHistory, tz: Any, window_days: int = WINDOW_DAYS) -> pd.DataFrame:
    """Each local day corrected, with its P10/P50/P90, from the ``window_days`` before it
    only (the first day gets no correction and the default spread)."""
    days = pd.DatetimeIndex(h.raw_kw.index).tz_convert(tz).normalize()
    parts = []
    for day in days.unique():
        window = (days < day) & (days >= day - pd.Timedelta(days=window_days))
        fit = (fit_sky(h.raw_kw[window], h.clear_kw[window], h.measured_kw[window],
                       h.rating_kw, tz, h.exclude[window]) if window.any() else default_fit())
        today = days == day
        parts.append(apply_sky(fit, h.raw_kw[today], h.clear_kw[today], h.rating_kw, tz))
    return pd.concat(parts)


@dataclass(frozen=True)
class Accuracy:
    """Hourly accuracy of one array's raw and corrected forecasts over the scored days."""

    raw: Scores
    corrected: Scores
    coverage_pu: float  # share of measured hours inside P10-P90
    kwp: float


def _hourly(series: pd.Series) -> pd.Series:
    return series.resample("1h").mean()


def score_rolling(h: ArrayHistory, tz: Any, scored: pd.Series, window_days: int = WINDOW_DAYS
                  ) -> Accuracy:
    """Scores of the rolling correction over the intervals where ``scored`` is True.

    Hourly means; daylight hours with a measurement and no exclusion; the reference is 24-h
    persistence of the measurement.
    """
    band = rolling(h, tz, window_days)
    keep = scored & ~h.exclude
    frame = pd.DataFrame({"raw": h.raw_kw, "corrected": band["available_kw"],
                          "p10": band["p10_kw"], "p90": band["p90_kw"],
                          "actual": h.measured_kw, "clear": h.clear_kw}).where(keep, np.nan)
    hourly = _hourly(frame)
    persistence = _hourly(h.measured_kw.where(~h.exclude)).shift(24).reindex(hourly.index)
    day = hourly["clear"] > 0
    hourly, persistence = hourly[day], persistence[day]
    ok = hourly["actual"].notna() & hourly["raw"].notna()
    inside = (hourly["actual"] >= hourly["p10"] - 1e-9) & (hourly["actual"] <= hourly["p90"] + 1e-9)
    return Accuracy(
        raw=scores(hourly["raw"], hourly["actual"], persistence, h.kwp),
        corrected=scores(hourly["corrected"], hourly["actual"], persistence, h.kwp),
        coverage_pu=float(inside[ok].mean()) if ok.any() else float("nan"),
        kwp=h.kwp,
    )


def accuracy(
    site: Site,
    measured: Mapping[str, pd.Series],
    weather: pd.DataFrame | None = None,
    *,
    days: int,
    end: pd.Timestamp,
    **options: Any,
) -> dict[str, Accuracy]:
    """Accuracy over the ``days`` local days before ``end`` of every measured array, for the
    raw forecast and the rolling correction (options as :func:`histories`)."""
    out = {}
    end_local = pd.Timestamp(end).tz_convert(site.tz).normalize()
    first = end_local - pd.Timedelta(days=days)
    for name, h in histories(site, measured, weather, **options).items():
        index = pd.DatetimeIndex(h.raw_kw.index)
        scored = pd.Series((index >= first) & (index < end_local), index=index)
        out[name] = score_rolling(h, site.tz, scored)
    return out
