"""forecasting.bias: a per-array ratio fitted on measured power and applied to forecasts."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from forecasting.bias import BOUNDS, fit_corrections
from forecasting.pv import forecast_pv
from sites.timeindex import day_index
from tests.forecasting.conftest import array, make_site

START = dt.date(2026, 5, 1)


def sites(true_losses: float) -> tuple:
    """The modelled site (14 % losses) and the 'real' one with other losses, 5-min metering."""
    model = make_site([array("roof", 25, 180), array("wall", 90, 270)])
    real = make_site(
        [array("roof", 25, 180, losses_pct=true_losses), array("wall", 90, 270)],
        step_minutes=15,
    )
    return model, real


def test_fitted_ratio_removes_a_loss_bias_on_later_days():
    model, real = sites(true_losses=30.0)
    past = day_index(real, START, days=7)
    measured_df = forecast_pv(real, past)
    measured = {"roof": measured_df["roof.available_kw"], "wall": measured_df["wall.available_kw"]}
    fits = fit_corrections(model, measured)
    assert fits["roof"].factor == pytest.approx(0.70 / 0.86, rel=0.01)
    assert fits["wall"].factor == pytest.approx(1.0, abs=1e-9)
    assert fits["roof"].intervals > 7 * 30 and not fits["roof"].bounded

    later = day_index(model, START + dt.timedelta(days=10))
    truth = forecast_pv(real, later).sum()
    raw = forecast_pv(model, later).sum()
    fixed = forecast_pv(model, later, corrections={k: f.factor for k, f in fits.items()}).sum()
    assert raw["roof.available_kw"] > 1.2 * truth["roof.available_kw"]
    assert fixed["roof.available_kw"] == pytest.approx(truth["roof.available_kw"], rel=0.01)


def test_hourly_measurements_are_resampled_and_ratio_is_bounded():
    model, _ = sites(true_losses=14.0)
    hourly = make_site([array("roof", 25, 180), array("wall", 90, 270)], step_minutes=60)
    idx = day_index(hourly, START, days=3)
    hourly_kw = forecast_pv(hourly, idx)["roof.available_kw"]
    fit = fit_corrections(model, {"roof": hourly_kw})["roof"]
    # same physics, coarser metering: the energy ratio stays near 1
    assert fit.factor == pytest.approx(1.0, abs=0.03)
    broken = fit_corrections(model, {"roof": hourly_kw * 0.0})["roof"]
    assert broken.factor == BOUNDS[0] and broken.bounded


def test_clipped_intervals_do_not_count():
    """A 16 kWp array on a 10 kW inverter clips at noon in the model; the real one has more
    losses and clips less. Counting clipped intervals pulls the ratio towards 1."""
    big = {"dc_capacity_kwp": 16.0, "inverter_ac_kw": 10.0}
    model = make_site([array("big", 25, 180, **big)])
    real = make_site([array("big", 25, 180, losses_pct=40.0, **big)])
    idx = day_index(model, START, days=3)
    forecast = forecast_pv(model, idx)["big.available_kw"]
    measured = forecast_pv(real, idx)["big.available_kw"]
    assert (forecast >= 9.99).sum() > 10  # the model clips
    fit = fit_corrections(model, {"big": measured})["big"]
    truth = 0.60 / 0.86
    assert fit.factor == pytest.approx(truth, rel=0.01)
    naive_ratio = measured.sum() / forecast.sum()
    assert abs(fit.factor - truth) < abs(naive_ratio - truth)


def test_bad_measurements_get_clear_errors():
    model, _ = sites(true_losses=14.0)
    idx = day_index(model, START)
    series = pd.Series(1.0, index=idx)
    with pytest.raises(ValueError, match="'pump' is not a pv_array"):
        fit_corrections(model, {"pump": series})
    with pytest.raises(ValueError, match="tz-aware"):
        fit_corrections(model, {"roof": series.tz_localize(None)})
    with pytest.raises(ValueError, match="must be ≥ 0"):
        fit_corrections(model, {"roof": -series})
