"""Sky-conditioned correction of one array's PV forecast from its measured output, and the
distribution of the errors that remain.

Method
------
Everything is done in the array's own clear-sky index, ``k = P / P_clear``, where ``P_clear``
is the array's AC output under the clear sky (the chain run with no weather), so that one
correction fits mornings, noons and façades alike.

1. **Cells.** Each daylight interval falls in a sky class by the *forecast's* index ``k_f``
   (:data:`SKY_EDGES`: overcast ``k_f < 0.35``, broken ``0.35 ≤ k_f < 0.75``, clear
   ``k_f ≥ 0.75``) and in a block of :data:`HOUR_BLOCK_H` local clock hours. The class comes
   from the forecast, not the measurement, because that is what is known when the correction
   is applied.
2. **Usable intervals.** Daylight (``P_clear ≥`` :data:`MIN_SHARE_OF_RATING` of the inverter
   rating), the measurement known, the forecast below :data:`CLIPPING_SHARE` of the rating
   (the inverter caps both series there), and not *excluded*: intervals when the array was
   curtailed or its inverter was off measure less than the array could give.
3. **Shift per cell.** ``δ = Σ (P_measured − P_forecast) / Σ P_clear`` over the cell: the
   change of clear-sky index that removes the cell's energy bias. Sparse cells are shrunk
   towards their class, and classes towards no change:
   ``δ_cell ← (n·δ_cell + N₀·δ_class) / (n + N₀)``, ``δ_class ← n·δ_class / (n + N₀)``
   with ``N₀ =`` :data:`SHRINK_INTERVALS`. The corrected forecast is
   ``clip(P_forecast + δ·P_clear, 0, P_clear)``: never negative, never above the array's
   clear-sky output (itself within the inverter rating).
4. **Held-out validation.** The days are split into :data:`FOLDS` groups (day number modulo
   ``FOLDS``); each group is predicted by shifts fitted on the others. The correction is used
   only if its held-out RMSE is below the raw forecast's; otherwise the raw forecast is kept.
   Both RMSEs are reported. The shifts finally used are fitted on all usable intervals.
5. **Error distribution.** The held-out residuals ``r = (P_measured − P_predicted) / P_clear``
   of the forecast that is kept give the P10/P50/P90 of every cell: the cell's own residuals
   when it has :data:`MIN_QUANTILE_INTERVALS`, else its class's, else all of them; when fewer
   than :data:`MIN_CONFORMAL_INTERVALS` residuals exist at all, :data:`DEFAULT_RESIDUAL_PU`.
   Quantiles use the split-conformal order statistics (Vovk et al. 2005; Lei et al. 2018):
   the lower bound at level ``q`` is the ``⌊(n+1)q⌋``-th smallest residual, the upper the
   ``⌈(n+1)(1−q)⌉``-th, which keeps each one-sided level for any ``n`` — short histories give
   wider bands, not overconfident ones.

References
----------
Vovk, V., Gammerman, A. and Shafer, G. (2005). Algorithmic Learning in a Random World.
Springer. Lei, J. et al. (2018). Distribution-free predictive inference for regression.
Journal of the American Statistical Association 113(523), 1094-1111.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: Upper edges of the overcast and broken classes of the forecast clear-sky index [-].
SKY_EDGES = (0.35, 0.75)
SKY_CLASSES = ("overcast", "broken", "clear", "low-sun")
#: The class of dawn and dusk: residuals only, never shifted.
LOW_SUN = 3
#: Length of the blocks of local clock hours [h].
HOUR_BLOCK_H = 3
N_BLOCKS = 24 // HOUR_BLOCK_H
#: Daylight: the array's clear-sky output is at least this share of its rating [-].
MIN_SHARE_OF_RATING = 0.05
#: Intervals with a forecast at or above this share of the rating are clipped, ignored [-].
CLIPPING_SHARE = 0.98
#: The bands may reach this multiple of the clear-sky output (cloud enhancement, and a clear
#: sky that the Linke-turbidity climatology darkens) [-]; the point forecast stays ≤ 1×.
MAX_BAND_CLEAR_SKY_INDEX = 1.5
#: Pseudo-count of the shrinkage of cells towards their class and classes towards 0.
SHRINK_INTERVALS = 8
#: Groups of days of the held-out validation.
FOLDS = 3
#: Residuals a cell (or class) needs for its own quantiles.
MIN_QUANTILE_INTERVALS = 30
#: Fewest residuals for a conformal P10/P90 (⌈(n+1)·0.9⌉ ≤ n needs n ≥ 9).
MIN_CONFORMAL_INTERVALS = 9
#: The quantile levels served [-].
LEVELS = (0.1, 0.5, 0.9)
#: Residual quantiles (P10, P50, P90) of the clear-sky index by sky class, used without
#: history [-]: the residuals of the uncorrected cloud-cover chain against the PV from
#: measured irradiance over the Greensboro NC TMY3 year (:func:`class_spread`, printed by
#: ``bench/forecast_backtest.py --default-spread``; the cloud model under-predicts there,
#: hence medians above 0).
DEFAULT_RESIDUAL_PU = {
    "overcast": (0.01, 0.17, 0.52),
    "broken": (-0.07, 0.16, 0.45),
    "clear": (-0.11, 0.01, 0.12),
    "low-sun": (-0.65, 0.17, 0.90),
}


@dataclass(frozen=True)
class SkyFit:
    """A fitted correction of one array and its residual distribution.

    ``shift_pu[c, b]`` is the change of clear-sky index of class ``c`` in hour block ``b``;
    ``residual_pu[c, b]`` the P10, P50, P90 of the residual there. ``raw_rmse_kw`` and
    ``corrected_rmse_kw`` are held-out RMSEs (None without enough days to validate).
    """

    shift_pu: np.ndarray
    residual_pu: np.ndarray
    used: bool
    intervals: int
    excluded: int
    raw_rmse_kw: float | None = None
    corrected_rmse_kw: float | None = None
    spread_from: str = "default"
    days: int = field(default=0)

    def summary(self) -> dict[str, Any]:
        """The fit in plain numbers (for reports and plan metadata)."""
        return {
            "used": self.used,
            "intervals": self.intervals,
            "excluded": self.excluded,
            "days": self.days,
            "heldout_raw_rmse_kw": self.raw_rmse_kw,
            "heldout_corrected_rmse_kw": self.corrected_rmse_kw,
            "spread_from": self.spread_from,
            "shift_pu": {
                name: [round(float(v), 4) for v in self.shift_pu[c]]
                for c, name in enumerate(SKY_CLASSES)
            },
        }


def default_fit() -> SkyFit:
    """No correction and the documented default spread."""
    table = np.array([DEFAULT_RESIDUAL_PU[name] for name in SKY_CLASSES], dtype=float)
    residual = np.repeat(table[:, None, :], N_BLOCKS, axis=1)
    return SkyFit(np.zeros((len(SKY_CLASSES), N_BLOCKS)), residual, False, 0, 0)


def cells(forecast_kw: np.ndarray, clear_kw: np.ndarray, index: pd.DatetimeIndex, tz: Any,
          rating_kw: float) -> tuple[np.ndarray, np.ndarray]:
    """Sky class (by the forecast's clear-sky index; ``low-sun`` where the clear-sky output
    is under :data:`MIN_SHARE_OF_RATING` of the rating) and local hour block of each interval."""
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(clear_kw > 0, forecast_kw / clear_kw, 0.0)
    classes = np.searchsorted(np.asarray(SKY_EDGES), k, side="right")
    classes[clear_kw < MIN_SHARE_OF_RATING * rating_kw] = LOW_SUN
    blocks = np.asarray(index.tz_convert(tz).hour) // HOUR_BLOCK_H
    return classes, blocks


def _shifts(diff_kw: np.ndarray, clear_kw: np.ndarray, c: np.ndarray, b: np.ndarray
            ) -> np.ndarray:
    """Shrunk per-cell shifts of clear-sky index (step 3 of the module's method)."""
    n_c = len(SKY_CLASSES)
    shift = np.zeros((n_c, N_BLOCKS))
    for ci in range(LOW_SUN):
        inc = c == ci
        n = int(inc.sum())
        if n == 0:
            continue
        cls = diff_kw[inc].sum() / clear_kw[inc].sum() * n / (n + SHRINK_INTERVALS)
        for bi in range(N_BLOCKS):
            cell = inc & (b == bi)
            m = int(cell.sum())
            own = diff_kw[cell].sum() / clear_kw[cell].sum() if m else 0.0
            shift[ci, bi] = (m * own + SHRINK_INTERVALS * cls) / (m + SHRINK_INTERVALS)
    return shift


def _apply(shift: np.ndarray, forecast_kw: np.ndarray, clear_kw: np.ndarray, c: np.ndarray,
           b: np.ndarray) -> np.ndarray:
    return np.clip(forecast_kw + shift[c, b] * clear_kw, 0.0, clear_kw)


def conformal_quantiles(residuals: np.ndarray) -> tuple[float, float, float]:
    """P10, P50, P90 of residuals by the split-conformal order statistics (module Notes)."""
    r = np.sort(residuals)
    n = len(r)
    lower = max(int(np.floor((n + 1) * LEVELS[0])), 1)
    upper = min(int(np.ceil((n + 1) * LEVELS[2])), n)
    return float(r[lower - 1]), float(np.median(r)), float(r[upper - 1])


def _residual_table(r: np.ndarray, c: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, str]:
    """Residual quantiles per cell, falling back to the class, all residuals, the default."""
    table = default_fit().residual_pu.copy()
    if len(r) < MIN_CONFORMAL_INTERVALS:
        return table, "default"
    pooled = conformal_quantiles(r)
    used = set()
    for ci in range(len(SKY_CLASSES)):
        inc = c == ci
        cls = conformal_quantiles(r[inc]) if inc.sum() >= MIN_QUANTILE_INTERVALS else pooled
        for bi in range(N_BLOCKS):
            cell = inc & (b == bi)
            own = cell.sum() >= MIN_QUANTILE_INTERVALS
            table[ci, bi] = conformal_quantiles(r[cell]) if own else cls
            used.add("cell" if own else ("class" if inc.sum() >= MIN_QUANTILE_INTERVALS
                                         else "pooled"))
    return table, "+".join(sorted(used))


def fit_sky(
    forecast_kw: pd.Series,
    clear_kw: pd.Series,
    measured_kw: pd.Series,
    rating_kw: float,
    tz: Any,
    exclude: pd.Series | None = None,
) -> SkyFit:
    """Fit the correction and residual distribution of one array (module's method).

    Parameters
    ----------
    forecast_kw, clear_kw : pandas.Series
        The raw forecast and the array's clear-sky output on the same interval index [kW].
    measured_kw : pandas.Series
        Measured interval-mean AC power [kW]; reindexed to the forecast's index, NaN = unknown.
    rating_kw : float
        Inverter AC rating [kW].
    tz
        The site's time zone (hour blocks are local clock hours).
    exclude : pandas.Series of bool, optional
        True where the array was curtailed or off; those intervals are left out.
    """
    index = pd.DatetimeIndex(forecast_kw.index)
    f = forecast_kw.to_numpy(dtype=float)
    clear = clear_kw.reindex(index).to_numpy(dtype=float)
    m = measured_kw.reindex(index).to_numpy(dtype=float)
    out = (np.zeros(len(index), dtype=bool) if exclude is None
           else exclude.reindex(index, fill_value=False).to_numpy(dtype=bool))
    seen = (clear > 0) & np.isfinite(m)
    excluded = int((seen & out).sum())
    seen &= ~out
    use = (clear >= MIN_SHARE_OF_RATING * rating_kw) & (f < CLIPPING_SHARE * rating_kw)
    c, b = cells(f, clear, index, tz, rating_kw)
    days = pd.factorize(index.tz_convert(tz).normalize())[0]
    f, clear, m, c, b, days, use = (v[seen] for v in (f, clear, m, c, b, days, use))
    unique_days = np.unique(days[use])
    base = dict(intervals=int(use.sum()), excluded=excluded, days=len(unique_days))
    if len(unique_days) < FOLDS:
        fit = default_fit()
        return SkyFit(fit.shift_pu, fit.residual_pu, False, spread_from="default", **base)
    fold = np.searchsorted(unique_days, days) % FOLDS
    held = np.empty_like(f)
    for k in range(FOLDS):
        test, train = fold == k, (fold != k) & use
        shift = _shifts(m[train] - f[train], clear[train], c[train], b[train])
        held[test] = _apply(shift, f[test], clear[test], c[test], b[test])
    raw_rmse = float(np.sqrt(np.mean((f - m) ** 2)))
    corrected_rmse = float(np.sqrt(np.mean((held - m) ** 2)))
    used = corrected_rmse < raw_rmse
    predicted = held if used else f
    residual, spread_from = _residual_table((m - predicted) / clear, c, b)
    shift = (_shifts(m[use] - f[use], clear[use], c[use], b[use]) if used
             else np.zeros_like(default_fit().shift_pu))
    return SkyFit(shift, residual, used, raw_rmse_kw=raw_rmse,
                  corrected_rmse_kw=corrected_rmse, spread_from=spread_from, **base)


def apply_sky(fit: SkyFit, forecast_kw: pd.Series, clear_kw: pd.Series, rating_kw: float,
              tz: Any) -> pd.DataFrame:
    """The corrected forecast and its P10/P50/P90 on the forecast's index [kW].

    Returns
    -------
    pandas.DataFrame
        Columns ``available_kw`` (corrected if the fit is used, else the raw forecast),
        ``p10_kw``, ``p50_kw``, ``p90_kw``: ``clip(P + r_q·P_clear, 0, top)`` with the
        cell's residual quantiles ``r_q`` and ``top`` = :data:`MAX_BAND_CLEAR_SKY_INDEX` ×
        ``P_clear`` (the inverter rating at low sun); ordered ``p10 ≤ p50 ≤ p90``; zero at
        night.
    """
    index = pd.DatetimeIndex(forecast_kw.index)
    f = forecast_kw.to_numpy(dtype=float)
    clear = clear_kw.reindex(index).to_numpy(dtype=float)
    c, b = cells(f, clear, index, tz, rating_kw)
    point = _apply(fit.shift_pu, f, clear, c, b) if fit.used else f
    top = np.where(c == LOW_SUN, rating_kw,
                   np.maximum(MAX_BAND_CLEAR_SKY_INDEX * clear, point))
    out = {"available_kw": point}
    for j, level in enumerate(LEVELS):
        out[f"p{round(level * 100)}_kw"] = np.clip(point + fit.residual_pu[c, b, j] * clear,
                                                   0.0, top)
    return pd.DataFrame(out, index=index)


def class_spread(forecast_kw: pd.Series, clear_kw: pd.Series, measured_kw: pd.Series,
                 rating_kw: float, tz: Any) -> dict[str, tuple[float, float, float]]:
    """P10, P50, P90 of the residual clear-sky index of an uncorrected forecast, per sky class
    (how :data:`DEFAULT_RESIDUAL_PU` was measured)."""
    index = pd.DatetimeIndex(forecast_kw.index)
    f = forecast_kw.to_numpy(dtype=float)
    clear = clear_kw.reindex(index).to_numpy(dtype=float)
    m = measured_kw.reindex(index).to_numpy(dtype=float)
    c, _ = cells(f, clear, index, tz, rating_kw)
    ok = (clear > 0) & np.isfinite(m)
    r = (m - f) / np.where(ok, clear, 1.0)
    return {name: conformal_quantiles(r[ok & (c == i)]) for i, name in enumerate(SKY_CLASSES)
            if (ok & (c == i)).sum() >= MIN_CONFORMAL_INTERVALS}
