"""Per-array bias correction of PV forecasts from measured AC power.

Method
------
For each array, over a recent period with measurements (a few days to weeks):

1. measured AC power is resampled to the site's step, conserving energy
   (:func:`forecasting.history.resample_energy`);
2. the forecast for the same intervals is made with the same weather source that later
   forecasts will use (so the correction absorbs both model and weather-source bias);
3. only *daylight, unclipped* intervals count: the forecast is above
   :data:`MIN_SHARE_OF_RATING` of the inverter rating (drops dawn, dusk and the noise of a
   near-zero denominator) and below :data:`CLIPPING_SHARE` of it (there the inverter caps both
   series and hides any bias), and the measurement is known;
4. the correction is the ratio of energies ``k = Σ measured / Σ forecast`` over those
   intervals — the factor that removes the mean bias (the least-squares fit of
   ``measured ≈ k·forecast`` weights the same intervals by forecast²; the energy ratio is less
   driven by a few bright hours) — bounded to :data:`BOUNDS`;
5. fewer than :data:`MIN_INTERVALS` usable intervals give no correction (factor 1).

The factor multiplies later forecasts of that array, which stay capped at the inverter's
AC rating (``forecast_pv(..., corrections=...)``). It captures soiling, shading, module
degradation, a wrong DC capacity or loss figure, and the systematic error of the weather
source; it does not fix timing errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from forecasting.history import resample_energy
from forecasting.pv import forecast_pv
from sites.schema import PvArray, Site

#: Smallest and largest correction factor [-].
BOUNDS = (0.5, 1.5)
#: Intervals with a forecast below this share of the inverter rating are ignored [-].
MIN_SHARE_OF_RATING = 0.05
#: Intervals with a forecast at or above this share of the rating are clipped, ignored [-].
CLIPPING_SHARE = 0.98
#: Usable intervals needed for a correction.
MIN_INTERVALS = 8


@dataclass(frozen=True)
class BiasFit:
    """A fitted correction and the data behind it."""

    factor: float
    intervals: int
    measured_kwh: float
    forecast_kwh: float
    bounded: bool


def fit_ratio(forecast_kw: pd.Series, measured_kw: pd.Series, rating_kw: float) -> BiasFit:
    """Fit the correction factor of one array (steps 3-5 of the module's method).

    Parameters
    ----------
    forecast_kw, measured_kw : pandas.Series
        Interval-mean AC power on the same index [kW].
    rating_kw : float
        Inverter AC rating [kW].
    """
    measured = measured_kw.reindex(forecast_kw.index).to_numpy(dtype=float)
    forecast = forecast_kw.to_numpy(dtype=float)
    use = np.isfinite(measured) & (forecast > MIN_SHARE_OF_RATING * rating_kw)
    use &= forecast < CLIPPING_SHARE * rating_kw
    step_h = (
        (forecast_kw.index[1] - forecast_kw.index[0]) / pd.Timedelta(hours=1)
        if len(forecast_kw) > 1
        else 1.0
    )
    m_kwh, f_kwh = float(measured[use].sum() * step_h), float(forecast[use].sum() * step_h)
    if use.sum() < MIN_INTERVALS or f_kwh <= 0:
        return BiasFit(1.0, int(use.sum()), m_kwh, f_kwh, bounded=False)
    raw = m_kwh / f_kwh
    factor = float(np.clip(raw, *BOUNDS))
    return BiasFit(factor, int(use.sum()), m_kwh, f_kwh, bounded=factor != raw)


def fit_corrections(
    site: Site,
    measured: dict[str, pd.Series],
    weather: pd.DataFrame | None = None,
    **pv_options: Any,
) -> dict[str, BiasFit]:
    """Fit a correction for every array with measurements.

    Parameters
    ----------
    site : Site
    measured : dict of str to pandas.Series
        Measured AC power per array name [kW], tz-aware index, any resolution.
    weather : pandas.DataFrame, optional
        The weather source of the forecasts to be corrected, for the measured period
        (``None``: clear sky, the offline default).
    **pv_options
        Passed to :func:`forecasting.pv.forecast_pv` (``cloud_cover_pct``, ``cloud``).

    Returns
    -------
    dict of str to BiasFit
        Use ``{name: fit.factor}`` as ``forecast_pv(..., corrections=...)``.
    """

    arrays = {a.name: a for a in site.of_type(PvArray)}
    fits: dict[str, BiasFit] = {}
    for name, series in measured.items():
        if name not in arrays:
            raise ValueError(f"measured: {name!r} is not a pv_array of site {site.name!r}")
        if not isinstance(series.index, pd.DatetimeIndex) or series.index.tz is None:
            raise ValueError(f"measured[{name!r}] needs a tz-aware DatetimeIndex; naive refused")
        if (series < 0).any():
            raise ValueError(f"measured[{name!r}] must be ≥ 0 kW")
        resampled = resample_energy(series.astype(float), site.step_minutes)
        index = pd.DatetimeIndex(resampled.index)
        forecast = forecast_pv(site, index, weather, **pv_options)[f"{name}.available_kw"]
        fits[name] = fit_ratio(forecast, resampled, arrays[name].inverter_ac_kw)
    return fits
