"""forecasting.cloud: Kasten & Czeplak cloud-cover model and its site calibration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pvlib
import pytest

from forecasting.cloud import CloudCoefficients, fit_cloud_coefficients, ghi_from_cloud_cover
from forecasting.pv import sky
from forecasting.weather import read_tmy3
from tests.forecasting.conftest import array, make_site


def test_kasten_czeplak_end_points():
    clear = np.array([800.0, 800.0, 800.0])
    ghi = ghi_from_cloud_cover([0, 50, 100], clear)
    assert ghi[0] == 800.0
    assert ghi[1] == pytest.approx(800 * (1 - 0.75 * 0.5**3.4))
    assert ghi[2] == pytest.approx(200.0)  # overcast: a quarter of clear sky
    with pytest.raises(ValueError, match="a_pu must lie in"):
        CloudCoefficients(a_pu=1.5)


def test_fit_recovers_known_coefficients():
    rng = np.random.default_rng(1)
    cover = rng.uniform(0, 100, 3000)
    clear = rng.uniform(100, 1000, 3000)
    truth = CloudCoefficients(a_pu=0.55, b=2.2)
    ghi = ghi_from_cloud_cover(cover, clear, truth) * rng.normal(1, 0.05, 3000)
    fit = fit_cloud_coefficients(cover, ghi, clear)
    assert fit.a_pu == pytest.approx(0.55, abs=0.02) and fit.b == pytest.approx(2.2, rel=0.1)
    with pytest.raises(ValueError, match="at least 10 daylight samples"):
        fit_cloud_coefficients(cover[:5], ghi[:5], clear[:5])


def test_calibration_on_observed_tmy3_lowers_the_error():
    path = Path(pvlib.__file__).parent / "data" / "723170TYA.CSV"
    weather, meta = read_tmy3(path)
    site = make_site(
        [array("a", 25, 180)],
        latitude=meta["latitude_deg"],
        longitude=meta["longitude_deg"],
        altitude=meta["altitude_m"],
        timezone="America/New_York",
    )
    clear = sky(site, pd.DatetimeIndex(weather.index)).ghi_clear
    cover, ghi = weather["cloud_cover_pct"].to_numpy(), weather["ghi_wm2"].to_numpy()
    train, test = slice(0, None, 2), slice(1, None, 2)  # alternate hours
    fit = fit_cloud_coefficients(cover[train], ghi[train], clear[train])
    day = clear[test] > 100

    def rmse(c: CloudCoefficients) -> float:
        model = ghi_from_cloud_cover(cover[test], clear[test], c)
        return float(np.sqrt(np.mean((model - ghi[test])[day] ** 2)))

    assert rmse(fit) < rmse(CloudCoefficients())
    assert 0 < fit.a_pu <= 1


def test_calibration_reaches_skies_darker_than_a_quarter_of_clear_sky():
    from forecasting.cloud import CURVE_KNOTS_PCT, fit_cloud_curve

    rng = np.random.default_rng(7)
    cover = rng.uniform(0, 100, 3000)
    clear = rng.uniform(150, 900, 3000)
    # a site whose overcast is darker than the default floor: index 1 − 0.9·C² (floor 10 %)
    index = np.clip(1 - 0.9 * (cover / 100) ** 2 + rng.normal(0, 0.05, 3000), 0, None)
    ghi = index * clear
    assert ghi_from_cloud_cover(100.0, 1000.0) == pytest.approx(250.0)  # the default floor
    curve = fit_cloud_curve(cover, ghi, clear)
    values = np.asarray(curve.index_pu)
    assert (np.diff(values) <= 1e-12).all()  # never brighter with more cloud
    assert ghi_from_cloud_cover(100.0, 1000.0, curve) < 200.0
    knots = np.asarray(CURVE_KNOTS_PCT)
    nearest = np.abs(cover[:, None] - knots[None, :]).argmin(axis=1)
    truth = 1 - 0.9 * (cover / 100) ** 2  # each knot holds its bin's clear-sky-weighted mean
    expected = [np.average(truth[nearest == k], weights=clear[nearest == k])
                for k in range(len(knots))]
    assert values == pytest.approx(expected, abs=0.01)
    coefficients = fit_cloud_coefficients(cover, ghi, clear)
    assert 1 - coefficients.a_pu < 0.2  # the fitted Kasten floor goes below 25 % too
