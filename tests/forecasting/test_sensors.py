"""On-site sensors as weather: measured plane-of-array irradiance and module temperature
replace transposition and the thermal model; meters' interval conventions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pvlib
import pytest

from forecasting.learn import align_to_start, relabel
from forecasting.pv import forecast_pv
from forecasting.thermal import module_to_cell_delta_c
from forecasting.weather import WeatherError, read_weather
from tests.forecasting.conftest import array, make_site


def _site():  # type: ignore[no-untyped-def]
    return make_site([array("roof", 25, 180, losses_pct=14.0), array("wall", 90, 270)],
                     step_minutes=60)


def test_reference_cell_at_1000_wm2_and_25c_cell_gives_the_nameplate_by_hand():
    site = _site()
    roof = site.devices[0]
    index = pd.date_range("2026-06-21T04:00Z", periods=3, freq="h")
    delta = module_to_cell_delta_c(roof.temperature_model)
    times = pd.date_range("2026-06-21T03:00Z", periods=6, freq="h")
    weather = pd.DataFrame({"roof.poa_global_wm2": 1000.0, "roof.module_temp_c": 25.0 - delta},
                           index=times)
    out = forecast_pv(site, index, weather)
    dc_kw = roof.dc_capacity_kwp * (1 - roof.losses_pct / 100)  # cell at 25 °C: no γ term
    eta = roof.inverter_efficiency_pu
    ac_kw = float(pvlib.inverter.pvwatts(dc_kw, roof.inverter_ac_kw / eta, eta_inv_nom=eta))
    assert out["roof.available_kw"].to_numpy() == pytest.approx([ac_kw] * 3, rel=1e-9)
    clear = forecast_pv(site, index)
    assert out["wall.available_kw"].to_numpy() == pytest.approx(clear["wall.available_kw"])


def test_hotter_module_and_darker_cell_give_less():
    site = _site()
    index = pd.date_range("2026-06-21T04:00Z", periods=2, freq="h")
    times = pd.date_range("2026-06-21T03:00Z", periods=4, freq="h")
    base = {"roof.poa_global_wm2": 800.0, "roof.module_temp_c": 30.0}
    cool = forecast_pv(site, index, pd.DataFrame(base, index=times))["roof.available_kw"]
    hot = forecast_pv(site, index, pd.DataFrame({**base, "roof.module_temp_c": 60.0},
                                                index=times))["roof.available_kw"]
    dark = forecast_pv(site, index, pd.DataFrame({**base, "roof.poa_global_wm2": 400.0},
                                                 index=times))["roof.available_kw"]
    gamma = site.devices[0].gamma_pdc_per_c
    assert (hot / cool).to_numpy() == pytest.approx(1 + gamma * 30, rel=0.02)  # γ·ΔT, ~DC
    assert ((dark < 0.55 * cool) & (dark > 0.45 * cool)).all()


def test_sensor_columns_are_read_and_checked(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("time,roof.poa_global_wm2,roof.module_temp_c\n"
                    "2026-06-21T12:00+08:00,850,41.5\n2026-06-21T13:00+08:00,900,44\n")
    data, meta = read_weather(path)
    assert list(data["roof.poa_global_wm2"]) == [850.0, 900.0]
    assert "roof.module_temp_c" in meta["columns"]
    path.write_text("time,roof.poa_global_wm2\n2026-06-21T12:00+08:00,2500\n")
    with pytest.raises(WeatherError, match=r"roof.poa_global_wm2 must be a number in \[0, 1600\]"):
        read_weather(path)
    site = _site()
    weather = pd.DataFrame({"barn.poa_global_wm2": [500.0, 500.0]},
                           index=pd.date_range("2026-06-21T03:00Z", periods=2, freq="h"))
    with pytest.raises(WeatherError, match="'barn.poa_global_wm2'"):
        forecast_pv(site, weather.index[:1], weather)


def test_interval_conventions_move_labels_by_a_whole_or_half_interval():
    idx = pd.date_range("2026-06-21T01:00Z", periods=4, freq="15min")
    s = pd.Series(np.arange(4.0), index=idx)
    assert align_to_start(s, "end").index[0] == pd.Timestamp("2026-06-21T00:45Z")
    assert align_to_start(s, "centre").index[0] == pd.Timestamp("2026-06-21T00:52:30Z")
    assert align_to_start(s, "start").index.equals(idx)
    back = relabel(align_to_start(s, "end").to_frame(), pd.Timedelta("15min"), "end")
    assert back.index.equals(idx)
    with pytest.raises(ValueError, match="label must be one of start, centre, end"):
        align_to_start(s, "middle")  # type: ignore[arg-type]
