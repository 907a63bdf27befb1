"""The input series of a plan: PV, loads, tariffs, carbon, outages, biogas — one table.

``build_inputs`` makes every input column for a time index: PV and load forecasts come from
``forecasting``, weather quantities a device declares (``DeviceModel.weather_inputs``) from the
weather table, the rest (tariffs, carbon intensity, outages, digester production and cooking
gas) from the site file; ``overrides`` replace any column with the caller's own series.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import pandas as pd

from forecasting.weather import weather_at
from optimizer.devices import device_models
from optimizer.errors import PlanningError
from sites.schema import Site

#: Input values smaller than this are set to zero: HiGHS warns about tiny matrix values.
TINY = 1e-9

#: Upper bounds of inputs that have one (quantity suffix -> largest value).
_UPPER = {"available_pu": 1.0}

#: Lower bounds of inputs that may be negative (quantity suffix -> lowest value); every other
#: input is ≥ 0. Temperatures [°C] stay above absolute zero.
_LOWER = {"_c": -273.15}

#: Which forecasting function makes each kind of forecast input.
_FORECASTERS = {
    "pv": ("forecasting.pv", "forecast_pv"),
    "load": ("forecasting.load", "forecast_loads"),
    "digester": ("forecasting.digester", "forecast_digesters"),
}


def check_index(site: Site, index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The index in UTC, checked: tz-aware, regular at the site's step, not empty."""
    if not isinstance(index, pd.DatetimeIndex) or len(index) == 0:
        raise PlanningError("index must be a non-empty pandas DatetimeIndex of interval starts")
    if index.tz is None:
        raise PlanningError(
            f"index must be timezone-aware (UTC inside), got naive timestamps from {index[0]}"
        )
    wrong = np.asarray((index[1:] - index[:-1]) != pd.Timedelta(site.step))
    if wrong.any():
        bad = int(np.flatnonzero(wrong)[0])
        raise PlanningError(
            f"index must step by the site's step_minutes ({site.step_minutes} min); "
            f"{index[bad]} is followed by {index[bad + 1]}"
        )
    return index.tz_convert("UTC")


#: Relative slack on a device's input limit (forecast round-off) [pu].
LIMIT_SLACK_PU = 1e-6


def check_limits(site: Site, table: dict[str, np.ndarray], index: pd.DatetimeIndex) -> None:
    """Every input within what its device can deliver (``DeviceModel.input_limits``).

    Raises
    ------
    PlanningError
        Naming the column, the first interval over the limit (site time) and the limit.
    """
    for name, (model, quantity) in input_columns(site).items():
        limit = model.input_limits().get(quantity)
        if limit is None or name not in table:
            continue
        top, field = limit
        over = np.flatnonzero(table[name] > top * (1 + LIMIT_SLACK_PU) + TINY)
        if over.size:
            t = int(over[0])
            when = index[t].tz_convert(site.tz).isoformat()
            raise PlanningError(
                f"input {name!r} is {table[name][t]:g} at {when}, above what {model.name} can "
                f"deliver: {field} = {top:g} ({over.size} interval(s) over)"
            )


def input_columns(site: Site) -> dict[str, tuple[Any, str]]:
    """Every input column of the site -> (its device model, its quantity)."""

    return {f"{m.prefix}{q}": (m, q) for m in device_models(site) for q in m.inputs}


def _forecast(kind: str, site: Site, index: pd.DatetimeIndex, arg: Any) -> pd.DataFrame:
    module_name, function = _FORECASTERS[kind]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise PlanningError(
            f"{kind} forecasts need {module_name}.{function}, which is not available "
            f"({exc}); pass those input columns as overrides instead"
        ) from None
    return getattr(module, function)(site, index, arg)


def check_column(name: str, values: Any, index: pd.DatetimeIndex) -> np.ndarray:
    """One input column as floats, checked: same index, finite, ≥ 0 (a temperature ``_c``:
    above absolute zero), within its bound."""
    if isinstance(values, pd.Series):
        if len(values.index) != len(index) or not values.index.equals(index):
            raise PlanningError(
                f"input {name!r} must have the plan's index ({len(index)} intervals)"
            )
        values = values.to_numpy()
    array = np.asarray(values, dtype=float)
    if array.shape != (len(index),):
        raise PlanningError(f"input {name!r} must have {len(index)} values, got {array.shape}")
    if not np.isfinite(array).all():
        raise PlanningError(
            f"input {name!r} must be finite; interval {int(np.argmin(np.isfinite(array)))} is not"
        )
    low = next((v for suffix, v in _LOWER.items() if name.endswith(suffix)), 0.0)
    if (array < low).any():
        t = int(np.argmax(array < low))
        raise PlanningError(f"input {name!r} must be ≥ {low:g}, got {array[t]:g} at {index[t]}")
    top = next((v for suffix, v in _UPPER.items() if name.endswith(suffix)), None)
    if top is not None and (array > top).any():
        raise PlanningError(f"input {name!r} must be ≤ {top:g}, got {array.max():g}")
    return np.where(np.abs(array) < TINY, 0.0, array)


def build_inputs(
    site: Site,
    index: pd.DatetimeIndex,
    *,
    weather: pd.DataFrame | None = None,
    history: dict[str, pd.Series] | None = None,
    overrides: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every input column of the site over ``index``.

    Parameters
    ----------
    site : Site
    index : DatetimeIndex
        Interval starts, tz-aware, at the site's step.
    weather : DataFrame, optional
        Weather for the PV forecast (``forecasting.pv``) and the devices' ``weather_inputs``
        (``forecasting.weather.weather_at``); None: clear sky and default air temperature.
    history : dict, optional
        Measured load series for the load forecast (``forecasting.load``).
    overrides : DataFrame, optional
        Columns that replace the built ones; each must be a known input column on the same
        index, finite and ≥ 0.

    Returns
    -------
    DataFrame
        Columns ``<device>.<quantity>_<unit>`` (see DESIGN.md), UTC index.
    """
    index = check_index(site, index)
    columns = input_columns(site)
    given: dict[str, np.ndarray] = {}
    if overrides is not None:
        unknown = [c for c in overrides.columns if c not in columns]
        if unknown:
            raise PlanningError(
                f"overrides: unknown input column(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(columns)}"
            )
        if overrides.index.tz is None:
            raise PlanningError("overrides must have a timezone-aware index")
        over = overrides.tz_convert("UTC") if overrides.index.tz is not None else overrides
        given = {c: check_column(c, over[c], index) for c in over.columns}
        check_limits(site, given, index)
    out: dict[str, np.ndarray] = {}
    forecasts: dict[str, pd.DataFrame] = {}
    args = {"pv": weather, "load": history, "digester": weather}
    for name, (model, quantity) in columns.items():
        if name in given:
            out[name] = given[name]
        elif quantity in model.weather_inputs:
            values = weather_at(weather, index, site.step, model.weather_inputs[quantity])
            out[name] = check_column(name, values, index)
        elif model.forecast is not None:
            if model.forecast not in forecasts:
                forecasts[model.forecast] = _forecast(
                    model.forecast, site, index, args[model.forecast]
                )
            frame = forecasts[model.forecast]
            if name not in frame.columns:
                raise PlanningError(f"the {model.forecast} forecast has no column {name!r}")
            out[name] = check_column(name, frame[name].to_numpy(), index)
        else:
            out[name] = check_column(name, model.site_inputs(index)[quantity], index)
    return pd.DataFrame(out, index=index)


def validate_inputs(site: Site, index: pd.DatetimeIndex, inputs: pd.DataFrame) -> pd.DataFrame:
    """The site's input columns of a caller's table, checked; other columns are dropped."""
    index = check_index(site, index)
    models = input_columns(site)
    columns = list(models)
    absent = [c for c in columns if c not in inputs.columns]
    missing = [c for c in absent if models[c][1] not in models[c][0].optional_inputs]
    if missing:
        raise PlanningError(f"inputs lack the column(s) {', '.join(map(repr, missing))}")
    if inputs.index.tz is None:
        raise PlanningError("inputs must have a timezone-aware index")
    if not inputs.index.equals(index):
        raise PlanningError(
            f"inputs must have the plan's index ({len(index)} intervals from {index[0]})"
        )
    if absent:  # optional inputs left out: the site's values
        inputs = inputs.assign(**{c: models[c][0].site_inputs(index)[models[c][1]]
                                  for c in absent})
    values = inputs[columns].to_numpy(dtype=float, copy=True)
    if not (np.isfinite(values).all() and (values >= 0).all()) or any(
        c.endswith(tuple(_UPPER)) for c in columns
    ):
        values = np.column_stack(
            [check_column(c, values[:, i], index) for i, c in enumerate(columns)]
        )
    values[np.abs(values) < TINY] = 0.0
    check_limits(site, {c: values[:, i] for i, c in enumerate(columns)}, index)
    return pd.DataFrame(values, index=index, columns=columns)
