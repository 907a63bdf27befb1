"""forecasting.skyfit: the sky-conditioned correction, its exclusions, bounds, validation and
the conformal spread."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.skyfit import (
    DEFAULT_RESIDUAL_PU,
    SKY_CLASSES,
    apply_sky,
    conformal_quantiles,
    fit_sky,
)

TZ = "Asia/Shanghai"
RATING = 10.0


def clear_sky(days: int = 21) -> pd.Series:
    """A bell of clear-sky output, 06-18 local, peak 8 kW, hourly."""
    idx = pd.date_range("2026-05-01", periods=24 * days, freq="h", tz=TZ).tz_convert("UTC")
    hour = np.asarray(idx.tz_convert(TZ).hour) + 0.5
    kw = np.clip(8.0 * np.sin(np.pi * (hour - 6) / 12), 0, None)
    return pd.Series(kw, index=idx)


def cloudy_days(clear: pd.Series) -> pd.Series:
    """The forecast clear-sky index: clear (0.95) on even days, overcast (0.2) on odd ones."""
    day = pd.factorize(clear.index.tz_convert(TZ).normalize())[0]
    return pd.Series(np.where(day % 2 == 0, 0.95, 0.2), index=clear.index)


def test_conformal_quantiles_by_hand():
    # n = 9: lower = the ⌊10·0.1⌋ = 1st smallest, upper = the ⌈10·0.9⌉ = 9th
    assert conformal_quantiles(np.arange(1.0, 10.0)) == (1.0, 5.0, 9.0)
    # n = 19: the 2nd and the 18th
    assert conformal_quantiles(np.arange(1.0, 20.0)) == (2.0, 10.0, 18.0)


def test_cloudy_underprediction_is_fixed_by_class_and_a_single_ratio_would_not():
    clear = clear_sky()
    k = cloudy_days(clear)
    forecast = k * clear
    # the chain is right on clear intervals and gives only 60 % of the truth on cloudy ones
    measured = np.where(k < 0.35, forecast / 0.6, forecast)
    measured = pd.Series(measured, index=clear.index)
    fit = fit_sky(forecast, clear, measured, RATING, TZ)
    assert fit.used and fit.corrected_rmse_kw < fit.raw_rmse_kw
    out = apply_sky(fit, forecast, clear, RATING, TZ)
    err = (out["available_kw"] - measured).abs()
    assert err.max() < 0.05 * RATING  # both classes right, noon and morning
    ratio = measured.sum() / forecast.sum()  # the fortnightly factor of forecasting.bias
    assert np.sqrt(((forecast * ratio - measured) ** 2).mean()) > np.sqrt((err**2).mean())


def test_curtailed_and_off_intervals_are_left_out_of_the_fit():
    clear = clear_sky()
    forecast = 0.9 * clear
    measured = 0.8 * clear  # the array gives a little less than forecast
    curtailed = (clear > 5.0) & (np.arange(len(clear)) % 3 == 0)
    metered = measured.where(~curtailed, 1.0)  # held at 1 kW by the plan
    clean = fit_sky(forecast, clear, measured, RATING, TZ)
    excluded = fit_sky(forecast, clear, metered, RATING, TZ, exclude=curtailed)
    naive = fit_sky(forecast, clear, metered, RATING, TZ)
    assert excluded.excluded == int(curtailed.sum()) > 0 and clean.excluded == 0
    day = clean.shift_pu[SKY_CLASSES.index("clear"), 4]  # 12-15 h
    assert excluded.shift_pu[SKY_CLASSES.index("clear"), 4] == pytest.approx(day, abs=0.005)
    assert naive.shift_pu[SKY_CLASSES.index("clear"), 4] < day - 0.05


@pytest.mark.parametrize("factor", [0.0, 3.0])
def test_corrected_forecast_never_negative_nor_above_clear_sky(factor):
    clear = clear_sky()
    forecast = 0.5 * clear
    fit = fit_sky(forecast, clear, forecast * factor, RATING, TZ)
    assert fit.used
    out = apply_sky(fit, forecast, clear, RATING, TZ)
    assert (out["available_kw"] >= 0).all() and (out["available_kw"] <= clear + 1e-12).all()
    assert (out["p10_kw"] <= out["p50_kw"] + 1e-12).all()
    assert (out["p50_kw"] <= out["p90_kw"] + 1e-12).all()
    assert (out.loc[clear == 0] == 0).all().all()


def test_raw_forecast_kept_when_the_correction_does_not_help():
    clear = clear_sky()
    forecast = cloudy_days(clear) * clear
    fit = fit_sky(forecast, clear, forecast, RATING, TZ)  # a perfect forecast
    assert not fit.used and fit.raw_rmse_kw == 0.0
    out = apply_sky(fit, forecast, clear, RATING, TZ)
    assert np.array_equal(out["available_kw"], forecast)


def test_short_history_gives_the_documented_default_spread():
    clear = clear_sky(days=1)
    fit = fit_sky(0.9 * clear, clear, 0.9 * clear, RATING, TZ)
    assert fit.spread_from == "default" and not fit.used
    out = apply_sky(fit, 0.9 * clear, clear, RATING, TZ)
    noon = out.index.tz_convert(TZ).hour == 12
    lo, mid, hi = DEFAULT_RESIDUAL_PU["clear"]
    expect = 0.9 * clear[noon] + hi * clear[noon]
    assert out["p90_kw"][noon].to_numpy() == pytest.approx(expect.to_numpy())


def test_noisy_history_gives_bands_that_hold_about_80_percent_of_later_days():
    rng = np.random.default_rng(3)
    clear = clear_sky(days=100)
    forecast = 0.6 * clear  # broken sky: the noise is rarely cut at 0 or the clear sky
    truth = np.clip(forecast + rng.normal(0, 0.1, len(clear)) * clear, 0, None)
    past, later = clear.index[: 24 * 40], clear.index[24 * 40 :]
    fit = fit_sky(forecast[past], clear[past], truth[past], RATING, TZ)
    band = apply_sky(fit, forecast[later], clear[later], RATING, TZ)
    day = clear[later] > 0.5
    inside = (truth[later] >= band["p10_kw"]) & (truth[later] <= band["p90_kw"])
    assert 0.75 <= inside[day].mean() <= 0.85
