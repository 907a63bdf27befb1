"""forecasting.history: energy-conserving resampling and the similar-day forecaster."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from forecasting.backtest import load_backtest, synthetic_load
from forecasting.history import forecast_from_history, read_history, resample_energy
from forecasting.load import forecast_loads
from sites.timeindex import day_index
from tests.forecasting.conftest import array, make_site

TZ = "Asia/Shanghai"


def site_with_homes(step: int = 15):
    return make_site(
        [
            array("pv", 25, 180),
            {"name": "homes", "kind": "load", "type": "fixed", "daily_energy_kwh": 100.0},
        ],
        step_minutes=step,
    )


@pytest.mark.parametrize(("freq", "step"), [("1min", 15), ("7min", 60), ("1h", 15), ("20min", 30)])
def test_resampling_conserves_energy(freq, step):
    rng = np.random.default_rng(3)
    # 84 h: a whole number of samples and of target intervals for every case
    idx = pd.date_range("2026-03-01", periods=84 * 60 // (pd.Timedelta(freq).seconds // 60),
                        freq=freq, tz=TZ)  # fmt: skip
    kw = pd.Series(rng.uniform(0, 40, len(idx)), index=idx)
    spacing_h = pd.Timedelta(freq) / pd.Timedelta(hours=1)
    out = resample_energy(kw, step)
    assert out.index.freq == pd.Timedelta(minutes=step) and str(out.index.tz) == "UTC"
    assert len(out) == 84 * 60 // step and out.notna().all()
    assert out.sum() * step / 60 == pytest.approx(kw.sum() * spacing_h, rel=1e-9)
    if step > 15:  # a coarser step is the mean of the finer one
        fine = resample_energy(kw, 15)
        np.testing.assert_allclose(fine.resample(f"{step}min").mean(), out.to_numpy())


def test_gaps_are_left_out_not_filled_with_zero():
    idx = pd.date_range("2026-03-01", periods=240, freq="1min", tz=TZ)
    kw = pd.Series(10.0, index=idx)
    kw.iloc[20:30] = np.nan  # 10 of the second quarter hour's minutes missing: unknown
    kw.iloc[60:65] = np.nan  # 5 of the fifth's missing: the mean of the rest, not 2/3 of it
    out = resample_energy(kw, 15)
    np.testing.assert_allclose(out.dropna(), 10.0)
    assert out.isna().sum() == 1


def test_similar_days_keep_the_weekly_rhythm():
    site = site_with_homes(60)
    idx = pd.date_range("2026-02-02", "2026-03-02", freq="1h", tz=TZ, inclusive="left")
    kw = pd.Series(np.where(idx.dayofweek == 6, 30.0, 10.0), index=idx)  # Sundays busy
    monday = day_index(site, dt.date(2026, 3, 2), days=7)
    fc = forecast_from_history(site, monday, kw, name="homes")
    sunday = monday.tz_convert(TZ).dayofweek == 6
    np.testing.assert_allclose(fc[sunday], 30.0)
    np.testing.assert_allclose(fc[~sunday], 10.0)


def test_forecaster_beats_24h_persistence_on_a_realistic_feeder():
    site = site_with_homes(60)
    history = synthetic_load("2025-01-01", 120, TZ, seed=5)
    result = load_backtest(site, history, first_day=35, days=60)
    assert result.scores.skill > 0.15
    assert abs(result.scores.bias_kw) < 0.05 * result.mean_kw


def test_forecast_loads_uses_history_and_short_history_falls_back_to_days():
    site = site_with_homes(15)
    idx = pd.date_range("2026-03-01", "2026-03-04", freq="10min", tz=TZ, inclusive="left")
    kw = pd.Series(5.0 + (idx.hour >= 18) * 10.0, index=idx)
    target = day_index(site, dt.date(2026, 3, 4))
    df = forecast_loads(site, target, history={"homes": kw})
    evening = target.tz_convert(TZ).hour >= 18
    np.testing.assert_allclose(df["homes.forecast_kw"][evening], 15.0)
    np.testing.assert_allclose(df["homes.forecast_kw"][~evening], 5.0)


def test_history_csv_and_errors(tmp_path):
    path = tmp_path / "meters.csv"
    rows = [f"2026-03-01T{h:02d}:00+08:00,{h},{2 * h}" for h in range(24)]
    path.write_text("time,homes_kw,school\n" + "\n".join(rows) + "\n", encoding="utf-8")
    history = read_history(path)
    assert set(history) == {"homes", "school"} and history["school"].iloc[3] == 6.0
    naive = tmp_path / "naive.csv"
    naive.write_text("time,homes\n2026-03-01T00:00,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no UTC offset"):
        read_history(naive)
    site = site_with_homes()
    target = day_index(site, dt.date(2026, 3, 5))
    with pytest.raises(ValueError, match="tz-aware"):
        forecast_from_history(site, target, history["homes"].tz_localize(None), name="homes")
    with pytest.raises(ValueError, match="must be ≥ 0 kW"):
        forecast_from_history(site, target, -history["homes"], name="homes")
    with pytest.raises(ValueError, match="no value at the same clock time"):
        forecast_from_history(site, target, history["homes"].iloc[:3], name="homes")
