"""Forecasts made only from what is known when a plan is made, for closed-loop studies.

A closed-loop study (``optimizer.studies.closed_loop``) plans on a forecast and operates on
the actual inputs. The actual inputs of a typical year are built from its weather file and
the site's load profiles; a forecast variant replaces the *uncertain* columns of the
horizon being planned — what a source could give (category ``available``: PV) and what a
load is forecast to draw (input ``forecast_kw`` columns of category ``other``) — by what a
forecaster would have said at the planning instant ``issued``:

``perfect``
    The actual values (perfect foresight).
``persistence``
    The actual value at the same clock time on the latest day already past at ``issued``:
    for an interval starting at ``t`` that is ``t − k`` days with ``k = ⌊(t − issued)/1 d⌋ + 1``
    (the interval under way is not known yet). Before the first day of the inputs, the same
    clock time of their first day is used.
``cloud``
    PV from the cloud-cover chain (``forecasting.cloud``, Kasten & Czeplak 1980) on the
    actual cloud cover of the typical year (TMY3 ``TotCld``): the site's clear sky scaled by
    the cloud-cover curve instead of the measured irradiance. Loads as ``persistence``.
    Needs ``cloud_cover_pct`` in the weather; a file without it is refused.
``noisy:SIGMA``
    Each uncertain column × ``max(0, 1 + σ z)`` with ``z ~ N(0, 1)`` drawn once per column
    and interval from a seeded generator (the same error whenever that interval is
    forecast). For PV this scales the actual clear-sky index; the factor is capped at
    ``NOISE_CAP_PU``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from optimizer.site_columns import site_columns
from optimizer.inputs import input_columns
from sites.schema import Site

#: A forecast: ``forecast(index, issued)`` → the input columns of ``index`` as forecast at
#: ``issued``.
Forecast = Callable[[pd.DatetimeIndex, pd.Timestamp], pd.DataFrame]

#: Largest factor the noisy forecast applies to an actual value [-].
NOISE_CAP_PU = 2.0
#: Seed of the noisy forecast's generator (reproducible studies).
NOISE_SEED = 20261207
#: Names accepted by ``make_forecast`` (``noisy`` takes ``:SIGMA``).
VARIANTS = ("perfect", "persistence", "cloud", "noisy")

_DAY = pd.Timedelta(days=1)


def uncertain_columns(site: Site, actual: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The uncertain input columns of ``actual``: (sources' available power, loads' forecasts)."""
    sources, loads = [], []
    for c in site_columns(site):
        if c.column.role != "input" or c.name not in actual.columns:
            continue
        if c.column.category == "available":
            sources.append(c.name)
        elif c.column.quantity == "forecast_kw":
            loads.append(c.name)
    return sources, loads


def input_tops(site: Site, names: list[str]) -> pd.Series:
    """The most each input column can be (``DeviceModel.input_limits``; inf without one)."""
    columns = input_columns(site)
    tops = {}
    for name in names:
        model, quantity = columns[name]
        limit = model.input_limits().get(quantity)
        tops[name] = np.inf if limit is None else float(limit[0])
    return pd.Series(tops)


def persisted(actual: pd.DataFrame, names: list[str], index: pd.DatetimeIndex,
              issued: pd.Timestamp) -> pd.DataFrame:
    """``names`` on ``index`` from the latest past day at the same clock time [column units]."""
    lag_days = np.floor((index - issued) / _DAY).astype(int) + 1
    source = index - pd.to_timedelta(lag_days, unit="D")
    first = actual.index[0]
    early = source < first
    if early.any():  # the same clock time of the first day
        source = source.where(~early, source + pd.to_timedelta(
            np.ceil((first - source) / _DAY).astype(int), unit="D"))
    values = actual[names].reindex(source)
    return pd.DataFrame(values.to_numpy(), index=index, columns=names)


def make_forecast(
    site: Site,
    actual: pd.DataFrame,
    variant: str,
    *,
    cloud_inputs: pd.DataFrame | None = None,
    seed: int = NOISE_SEED,
) -> Forecast:
    """The forecast ``variant`` (``perfect``, ``persistence``, ``cloud``, ``noisy:SIGMA``).

    Parameters
    ----------
    site : Site
    actual : pandas.DataFrame
        The actual input columns over the study period, its look-ahead and (for
        persistence) the day before.
    variant : str
    cloud_inputs : pandas.DataFrame, optional
        For ``cloud``: the inputs built from the weather with its irradiance taken out, so
        that PV comes from the cloud cover (:func:`cloud_weather`).
    seed : int
        Seed of ``noisy``.
    """
    name, _, arg = variant.partition(":")
    sources, loads = uncertain_columns(site, actual)
    if name == "perfect" and not arg:
        return lambda index, issued: actual.loc[index]
    if name == "persistence" and not arg:
        return lambda index, issued: _with(actual, index, persisted(
            actual, sources + loads, index, issued))
    if name == "cloud" and not arg:
        if cloud_inputs is None:
            raise ValueError("forecast 'cloud' needs the inputs built on the cloud cover")

        def cloud(index: pd.DatetimeIndex, issued: pd.Timestamp) -> pd.DataFrame:
            out = _with(actual, index, persisted(actual, loads, index, issued))
            out[sources] = cloud_inputs.loc[index, sources]
            return out

        return cloud
    if name == "noisy":
        try:
            sigma = float(arg)
        except ValueError:
            sigma = -1.0
        if not 0.0 <= sigma <= 1.0:
            raise ValueError(f"forecast 'noisy:SIGMA' needs 0 ≤ SIGMA ≤ 1, got {variant!r}")
        rng = np.random.default_rng(seed)
        names = sources + loads
        factor = np.clip(1.0 + sigma * rng.standard_normal((len(actual), len(names))),
                         0.0, NOISE_CAP_PU)
        noisy = (actual[names] * factor).clip(upper=input_tops(site, names), axis=1)
        return lambda index, issued: _with(actual, index, noisy.loc[index])
    raise ValueError(
        f"forecast must be one of perfect, persistence, cloud, noisy:SIGMA; got {variant!r}"
    )


def _with(actual: pd.DataFrame, index: pd.DatetimeIndex, forecast: pd.DataFrame) -> pd.DataFrame:
    out = actual.loc[index].copy()
    out[forecast.columns] = forecast
    return out


def cloud_weather(weather: pd.DataFrame) -> pd.DataFrame:
    """The weather with its irradiance taken out, so PV is derived from the cloud cover.

    Raises
    ------
    ValueError
        When the weather has no ``cloud_cover_pct`` column.
    """
    if "cloud_cover_pct" not in weather.columns:
        raise ValueError(
            "forecast 'cloud' needs cloud_cover_pct in the weather file (TMY3 TotCld); "
            f"it has {', '.join(map(str, weather.columns))}"
        )
    return weather.drop(columns=[c for c in ("ghi_wm2", "dni_wm2", "dhi_wm2") if c in weather])
