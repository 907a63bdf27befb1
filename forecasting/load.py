"""Load forecasts: per fixed load and per heat load, kW for every interval of an index.

Without history, a fixed load follows its 24-value ``profile_kw`` or spreads its
``daily_energy_kwh`` over the local day with a typical rural shape (:data:`SHAPES`); a heat
load follows its 24-value ``profile_kw`` of useful heat or cold. With a measured history for a
load (kW at any resolution), :mod:`forecasting.history` forecasts it instead.

Every interval takes the value of the local clock hour in which it starts, so a 24-value
profile holds for a whole hour and the energy of a 15-minute step equals a quarter of the
hour's. On a day when daylight saving time starts (23 h) the skipped hour's energy is not
served; on a 25-h day the repeated hour is served twice.

The shapes
----------
The weights below are stylised, hand-set shapes (relative power by local hour, normalised
here to the day's energy); they encode the qualitative patterns reported in surveys of
rural electricity use, not fitted data:

- ``rural_household``: low at night, a morning bump (06-08, cooking and water heating), a
  midday bump (11-13), and the evening peak (18-22) of lighting, television and cooking that
  dominates rural household demand (Mandelli et al. 2016; Blodgett et al. 2017); the evening
  peak is about four times the night base.
- ``school``: occupied 08-17 with a lunch dip, a small standby load outside hours.
- ``farm_daytime``: workshop, milling and pumping from 06 to 18, peaking in the morning,
  standby at night.
- ``flat``: constant, for loads with no daily pattern (telecom towers, cold rooms on
  thermostat).

References
----------
Mandelli, S., Merlo, M. and Colombo, E. (2016). Novel procedure to formulate load profiles for
off-grid rural areas. Energy for Sustainable Development 31, 130-142.
Blodgett, C., Dauenhauer, P., Louie, H. and Kickham, L. (2017). Accuracy of energy-use surveys
in predicting rural mini-grid user consumption. Energy for Sustainable Development 41, 88-105.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
import pandas as pd

from forecasting.history import forecast_from_history
from sites.schema import FixedLoad, HeatLoad, Site
from sites.timeindex import hourly_to_index

# fmt: off
_RAW_SHAPES: dict[str, tuple[float, ...]] = {
    "rural_household": (
        0.45, 0.40, 0.38, 0.37, 0.38, 0.50, 0.80, 0.95, 0.75, 0.60, 0.60, 0.75,
        0.80, 0.65, 0.55, 0.55, 0.65, 0.90, 1.40, 1.75, 1.80, 1.50, 1.00, 0.65,
    ),
    "school": (
        0.10, 0.10, 0.10, 0.10, 0.10, 0.10, 0.10, 0.40, 1.00, 1.00, 1.00, 1.00,
        0.60, 1.00, 1.00, 1.00, 1.00, 0.40, 0.15, 0.15, 0.15, 0.10, 0.10, 0.10,
    ),
    "farm_daytime": (
        0.10, 0.10, 0.10, 0.10, 0.10, 0.30, 0.80, 1.00, 1.00, 1.00, 0.90, 0.80,
        0.60, 0.80, 0.90, 0.90, 0.80, 0.60, 0.30, 0.15, 0.10, 0.10, 0.10, 0.10,
    ),
    "flat": (1.0,) * 24,
}
# fmt: on

#: Share of the daily energy used in each local hour, per ``LoadShape`` (each sums to 1).
SHAPES: MappingProxyType[str, tuple[float, ...]] = MappingProxyType(
    {k: tuple(np.asarray(v) / sum(v)) for k, v in _RAW_SHAPES.items()}
)


def hourly_profile_kw(load: FixedLoad) -> tuple[float, ...]:
    """The 24 local-hour powers of a fixed load without history [kW].

    ``profile_kw`` as given, else ``daily_energy_kwh × share_h / 1 h`` with the load's shape.
    """
    if load.profile_kw is not None:
        return load.profile_kw
    assert load.daily_energy_kwh is not None  # the schema requires one of the two
    return tuple(load.daily_energy_kwh * w for w in SHAPES[load.shape])


def forecast_loads(
    site: Site,
    index: pd.DatetimeIndex,
    history: dict[str, pd.Series] | None = None,
) -> pd.DataFrame:
    """Forecast power of every fixed load and every heat load of a site.

    Parameters
    ----------
    site : Site
    index : pandas.DatetimeIndex
        Interval starts, tz-aware.
    history : dict of str to pandas.Series, optional
        Measured power [kW] of some fixed loads, tz-aware index at any resolution; those loads
        are forecast from their history (:func:`forecasting.history.forecast_from_history`).

    Returns
    -------
    pandas.DataFrame
        ``<load>.forecast_kw`` [kW] for each fixed load and ``<heat_load>.forecast_kw`` [kW of
        useful heat or cold] for each heat load, on ``index``.
    """
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise ValueError("index must be a tz-aware DatetimeIndex of interval starts")
    fixed = site.of_type(FixedLoad)
    history = dict(history or {})
    unknown = sorted(set(history) - {d.name for d in fixed})
    if unknown:
        raise ValueError(
            f"history: {', '.join(map(repr, unknown))} not fixed loads of site {site.name!r}; "
            f"expected one of {sorted(d.name for d in fixed)}"
        )
    columns: dict[str, np.ndarray] = {}
    for load in fixed:
        if load.name in history:
            series = forecast_from_history(site, index, history[load.name], name=load.name)
            columns[f"{load.name}.forecast_kw"] = series.to_numpy()
        else:
            columns[f"{load.name}.forecast_kw"] = hourly_to_index(
                site, index, hourly_profile_kw(load)
            )
    for heat in site.of_type(HeatLoad):
        columns[f"{heat.name}.forecast_kw"] = hourly_to_index(site, index, heat.profile_kw)
    return pd.DataFrame(columns, index=index)
