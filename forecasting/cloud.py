"""Global horizontal irradiance from total cloud cover, with site-calibratable coefficients.

pvlib has no cloud-cover model, so this module implements the Kasten & Czeplak (1980)
relation between cloud cover and the ratio of all-sky to clear-sky global irradiance:

    GHI = GHI_clear · (1 − a · C^b),   C = cloud cover as a fraction in [0, 1],

with a = 0.75 and b = 3.4 fitted by Kasten & Czeplak on ten years of hourly data from Hamburg.
Both coefficients vary with climate and with the source of the cloud cover (a forecast model's
total cloud cover is not an observer's oktas), so :func:`fit_cloud_coefficients` recalibrates
them on a site's own observations.

With the default coefficients the model never goes below ``1 − a = 25 %`` of clear-sky GHI,
while real overcast intervals often do. Two calibrations reach them: the fitted ``a`` may go
up to 1 (a floor of 0), and :func:`fit_cloud_curve` drops the functional form altogether — a
non-increasing, piecewise-linear clear-sky index over cover bins (:data:`CURVE_KNOTS_PCT`),
the energy-weighted mean of the site's own observations in each bin, made monotone by pooling
adjacent violators (isotonic regression; Barlow et al. 1972), so its overcast end lies
wherever the site's overcast skies lie. Both are "cloud models" with a
``clear_sky_index(cover_pu)`` method, accepted as ``forecast_pv(..., cloud=...)``.

References
----------
Barlow, R. E., Bartholomew, D. J., Bremner, J. M. and Brunk, H. D. (1972). Statistical
Inference under Order Restrictions. Wiley.
Kasten, F. and Czeplak, G. (1980). Solar and terrestrial radiation dependent on the amount
and type of cloud. Solar Energy 24(2), 177-189. doi:10.1016/0038-092X(80)90391-6
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

#: Clear-sky GHI below which a sample carries too little signal to fit on [W/m²].
MIN_CLEAR_GHI_FOR_FIT_WM2 = 100.0
#: Cover at the knots of :func:`fit_cloud_curve` [%]; each knot's bin reaches halfway to
#: its neighbours.
CURVE_KNOTS_PCT = (0.0, 12.5, 25.0, 37.5, 50.0, 62.5, 75.0, 87.5, 100.0)
#: Largest clear-sky index a fitted curve may hold (cloud enhancement) [-].
MAX_CURVE_INDEX = 1.2


class CloudModel(Protocol):
    """Anything that maps cloud cover to the clear-sky index of GHI."""

    def clear_sky_index(self, cover_pu: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class CloudCoefficients:
    """Coefficients of ``GHI = GHI_clear · (1 − a·C^b)``; defaults of Kasten & Czeplak (1980)."""

    a_pu: float = 0.75
    b: float = 3.4

    def __post_init__(self) -> None:
        if not 0 <= self.a_pu <= 1:
            raise ValueError(f"a_pu must lie in [0, 1], got {self.a_pu}")
        if not 0 < self.b <= 20:
            raise ValueError(f"b must lie in (0, 20], got {self.b}")

    def clear_sky_index(self, cover_pu: np.ndarray) -> np.ndarray:
        """``1 − a·C^b`` for cover ``C`` in [0, 1] [-]."""
        return 1.0 - self.a_pu * np.asarray(cover_pu, dtype=float) ** self.b


@dataclass(frozen=True)
class CloudCurve:
    """A fitted, non-increasing clear-sky index at :data:`CURVE_KNOTS_PCT` [-]."""

    index_pu: tuple[float, ...]

    def __post_init__(self) -> None:
        k = np.asarray(self.index_pu, dtype=float)
        if k.shape != (len(CURVE_KNOTS_PCT),) or not np.all((k >= 0) & (k <= MAX_CURVE_INDEX)):
            raise ValueError(f"index_pu needs {len(CURVE_KNOTS_PCT)} values in "
                             f"[0, {MAX_CURVE_INDEX}], got {self.index_pu}")

    def clear_sky_index(self, cover_pu: np.ndarray) -> np.ndarray:
        """Linear interpolation between the knots [-]."""
        knots = np.asarray(CURVE_KNOTS_PCT) / 100.0
        return np.interp(np.asarray(cover_pu, dtype=float), knots, np.asarray(self.index_pu))


def ghi_from_cloud_cover(
    cloud_cover_pct: npt.ArrayLike,
    ghi_clear_wm2: npt.ArrayLike,
    coefficients: CloudModel | None = None,
) -> np.ndarray:
    """All-sky global horizontal irradiance from total cloud cover.

    Parameters
    ----------
    cloud_cover_pct : array-like
        Total cloud cover [%], clipped to [0, 100].
    ghi_clear_wm2 : array-like
        Clear-sky global horizontal irradiance [W/m²].
    coefficients : CloudModel, optional
        ``CloudCoefficients`` (default Kasten & Czeplak 1980) or a fitted ``CloudCurve``.

    Returns
    -------
    numpy.ndarray
        Global horizontal irradiance [W/m²].

    Notes
    -----
    ``GHI = GHI_clear · (1 − a · (C/100)^b)`` (Kasten & Czeplak 1980, eq. 6).
    """
    c = coefficients or CloudCoefficients()
    cover = np.clip(np.asarray(cloud_cover_pct, dtype=float), 0.0, 100.0) / 100.0
    return np.asarray(ghi_clear_wm2, dtype=float) * c.clear_sky_index(cover)


def fit_cloud_coefficients(
    cloud_cover_pct: npt.ArrayLike,
    ghi_wm2: npt.ArrayLike,
    ghi_clear_wm2: npt.ArrayLike,
) -> CloudCoefficients:
    """Fit ``a`` and ``b`` of :func:`ghi_from_cloud_cover` on observed data.

    Parameters
    ----------
    cloud_cover_pct : array-like
        Total cloud cover [%] (observed, or the forecast that will be used later).
    ghi_wm2 : array-like
        Measured global horizontal irradiance at the same times [W/m²].
    ghi_clear_wm2 : array-like
        Clear-sky global horizontal irradiance at the same times [W/m²].

    Returns
    -------
    CloudCoefficients
        Least-squares coefficients of the clear-sky index, ``a`` bounded to [0, 1] and
        ``b`` to [0.5, 10].

    Notes
    -----
    Only samples with ``GHI_clear ≥ 100 W/m²`` and finite values are used; the fit minimises
    ``Σ (GHI/GHI_clear − (1 − a·C^b))²`` weighted by ``GHI_clear`` so that bright hours, which
    carry the energy, count most.
    """
    from scipy.optimize import least_squares

    cover, index, clear = _samples(cloud_cover_pct, ghi_wm2, ghi_clear_wm2)
    weight = np.sqrt(clear)

    def residual(p: np.ndarray) -> np.ndarray:
        return weight * (index - (1.0 - p[0] * cover ** p[1]))

    start = CloudCoefficients()
    fit = least_squares(residual, [start.a_pu, start.b], bounds=([0.0, 0.5], [1.0, 10.0]))
    return CloudCoefficients(a_pu=float(fit.x[0]), b=float(fit.x[1]))


def _samples(cloud_cover_pct: npt.ArrayLike, ghi_wm2: npt.ArrayLike, ghi_clear_wm2: npt.ArrayLike
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cover [0-1], clear-sky index and clear-sky GHI of the usable daylight samples."""
    cover = np.asarray(cloud_cover_pct, dtype=float) / 100.0
    ghi = np.asarray(ghi_wm2, dtype=float)
    clear = np.asarray(ghi_clear_wm2, dtype=float)
    ok = np.isfinite(cover) & np.isfinite(ghi) & np.isfinite(clear)
    ok &= clear >= MIN_CLEAR_GHI_FOR_FIT_WM2
    if ok.sum() < 10:
        raise ValueError(
            f"fitting a cloud model needs at least 10 daylight samples with clear-sky "
            f"GHI ≥ {MIN_CLEAR_GHI_FOR_FIT_WM2:g} W/m², got {int(ok.sum())}"
        )
    return np.clip(cover[ok], 0, 1), ghi[ok] / clear[ok], clear[ok]


def fit_cloud_curve(
    cloud_cover_pct: npt.ArrayLike,
    ghi_wm2: npt.ArrayLike,
    ghi_clear_wm2: npt.ArrayLike,
) -> CloudCurve:
    """Fit a non-increasing clear-sky index over cover bins (no floor; module docstring).

    Parameters as :func:`fit_cloud_coefficients`. Each knot's value is the mean clear-sky
    index of the samples nearest to it, weighted by clear-sky GHI; empty bins take their
    neighbours' values; adjacent violators of the order are pooled (weights added).
    """
    cover, index, weight = _samples(cloud_cover_pct, ghi_wm2, ghi_clear_wm2)
    knots = np.asarray(CURVE_KNOTS_PCT) / 100.0
    nearest = np.abs(cover[:, None] - knots[None, :]).argmin(axis=1)
    w = np.bincount(nearest, weight, len(knots))
    mean = np.bincount(nearest, weight * index, len(knots)) / np.where(w > 0, w, 1)
    filled = np.flatnonzero(w > 0)
    mean = np.interp(np.arange(len(knots)), filled, mean[filled])
    w = np.where(w > 0, w, 1e-9)
    blocks: list[list[float]] = []  # [value, weight, count], pooled left to right
    for v, wt in zip(mean, w, strict=True):
        blocks.append([v, wt, 1])
        while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:
            v2, w2, n2 = blocks.pop()
            v1, w1, n1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    values = [b[0] for b in blocks for _ in range(int(b[2]))]
    return CloudCurve(tuple(float(np.clip(v, 0.0, MAX_CURVE_INDEX)) for v in values))
