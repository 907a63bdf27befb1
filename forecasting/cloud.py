"""Global horizontal irradiance from total cloud cover, with site-calibratable coefficients.

pvlib has no cloud-cover model, so this module implements the Kasten & Czeplak (1980)
relation between cloud cover and the ratio of all-sky to clear-sky global irradiance:

    GHI = GHI_clear · (1 − a · C^b),   C = cloud cover as a fraction in [0, 1],

with a = 0.75 and b = 3.4 fitted by Kasten & Czeplak on ten years of hourly data from Hamburg.
Both coefficients vary with climate and with the source of the cloud cover (a forecast model's
total cloud cover is not an observer's oktas), so :func:`fit_cloud_coefficients` recalibrates
them on a site's own observations.

References
----------
Kasten, F. and Czeplak, G. (1980). Solar and terrestrial radiation dependent on the amount
and type of cloud. Solar Energy 24(2), 177-189. doi:10.1016/0038-092X(80)90391-6
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

#: Clear-sky GHI below which a sample carries too little signal to fit on [W/m²].
MIN_CLEAR_GHI_FOR_FIT_WM2 = 100.0


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


def ghi_from_cloud_cover(
    cloud_cover_pct: npt.ArrayLike,
    ghi_clear_wm2: npt.ArrayLike,
    coefficients: CloudCoefficients | None = None,
) -> np.ndarray:
    """All-sky global horizontal irradiance from total cloud cover.

    Parameters
    ----------
    cloud_cover_pct : array-like
        Total cloud cover [%], clipped to [0, 100].
    ghi_clear_wm2 : array-like
        Clear-sky global horizontal irradiance [W/m²].
    coefficients : CloudCoefficients, optional
        ``a`` and ``b``; default Kasten & Czeplak (1980).

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
    return np.asarray(ghi_clear_wm2, dtype=float) * (1.0 - c.a_pu * cover**c.b)


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

    cover = np.asarray(cloud_cover_pct, dtype=float) / 100.0
    ghi = np.asarray(ghi_wm2, dtype=float)
    clear = np.asarray(ghi_clear_wm2, dtype=float)
    ok = np.isfinite(cover) & np.isfinite(ghi) & np.isfinite(clear)
    ok &= clear >= MIN_CLEAR_GHI_FOR_FIT_WM2
    if ok.sum() < 10:
        raise ValueError(
            f"fitting cloud coefficients needs at least 10 daylight samples with clear-sky "
            f"GHI ≥ {MIN_CLEAR_GHI_FOR_FIT_WM2:g} W/m², got {int(ok.sum())}"
        )
    cover, index, weight = np.clip(cover[ok], 0, 1), ghi[ok] / clear[ok], np.sqrt(clear[ok])

    def residual(p: np.ndarray) -> np.ndarray:
        return weight * (index - (1.0 - p[0] * cover ** p[1]))

    start = CloudCoefficients()
    fit = least_squares(residual, [start.a_pu, start.b], bounds=([0.0, 0.5], [1.0, 10.0]))
    return CloudCoefficients(a_pu=float(fit.x[0]), b=float(fit.x[1]))
