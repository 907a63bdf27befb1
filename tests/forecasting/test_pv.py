"""Physics of forecasting.pv: night, timing of the peak, façades, clear-day energy, heat."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pvlib
import pytest

from forecasting.pv import SUB_STEP_MINUTES, forecast_pv
from sites.load import load_site
from sites.timeindex import day_index
from tests.forecasting.conftest import array, make_site

SUMMER = dt.date(2026, 6, 21)
WINTER = dt.date(2026, 12, 21)


def peak_hour(series: pd.Series, site) -> float:
    """Local clock time of the middle of the interval with the highest output [h]."""
    t = series.idxmax().tz_convert(site.tz)
    return t.hour + t.minute / 60 + site.step_minutes / 120


def solar_noon_h(site, day: dt.date) -> float:
    """Local clock time of solar transit, by pvlib's SPA [h]."""
    times = pd.DatetimeIndex([pd.Timestamp(day, tz=site.tz)])
    loc = site.location
    transit = pvlib.solarposition.sun_rise_set_transit_spa(
        times, loc.latitude_deg, loc.longitude_deg
    )["transit"].iloc[0]
    return transit.hour + transit.minute / 60


def test_night_is_exactly_zero_and_day_positive(four_walls):
    idx = day_index(four_walls, SUMMER)
    df = forecast_pv(four_walls, idx)
    assert list(df.columns) == [
        f"{a}.available_kw" for a in ("south-roof", "west-facade", "south-facade", "north-facade")
    ]
    hours = idx.tz_convert(four_walls.tz).hour
    night = (hours < 4) | (hours >= 21)
    assert (df[night].to_numpy() == 0.0).all()
    assert (df.to_numpy() >= 0).all()
    assert (df.max() > 0.5).all()  # every orientation, the north façade included, produces


def test_south_roof_peaks_at_solar_noon_west_facade_in_afternoon(four_walls):
    idx = day_index(four_walls, WINTER)
    df = forecast_pv(four_walls, idx)
    noon = solar_noon_h(four_walls, WINTER)
    assert abs(peak_hour(df["south-roof.available_kw"], four_walls) - noon) <= 0.25
    assert peak_hour(df["west-facade.available_kw"], four_walls) >= noon + 2


def test_vertical_south_facade_beats_roof_in_winter_not_in_summer(four_walls):
    def energy(day: dt.date) -> pd.Series:
        return forecast_pv(four_walls, day_index(four_walls, day)).sum() * four_walls.step_h

    winter, summer = energy(WINTER), energy(SUMMER)
    # At 24° N the sun stands low in December: a south façade sees more than half of what a
    # 25° roof sees; in June it stands near the zenith and the façade gets mostly diffuse.
    assert winter["south-facade.available_kw"] > 0.6 * winter["south-roof.available_kw"]
    assert summer["south-facade.available_kw"] < 0.4 * summer["south-roof.available_kw"]
    assert winter["north-facade.available_kw"] < 0.5 * winter["south-facade.available_kw"]


def reference_clear_day_kwh(site, tilt: float, azimuth: float, day: dt.date) -> float:
    """pvlib's ModelChain on 1-minute Ineichen clear sky: Perez, Martin-Ruiz on beam only,
    SAPM open rack, PVWatts DC, 14 % losses, PVWatts inverter — an independent chain."""
    loc = site.location
    location = pvlib.location.Location(
        loc.latitude_deg, loc.longitude_deg, site.location.timezone, loc.altitude_m
    )
    idx = day_index(site, day)
    t = pd.date_range(idx[0], idx[-1] + site.step, freq="1min", inclusive="left")
    clear = location.get_clearsky(t, model="ineichen")
    system = pvlib.pvsystem.PVSystem(
        surface_tilt=tilt,
        surface_azimuth=azimuth,
        albedo=0.2,
        module_parameters={"pdc0": 10.0, "gamma_pdc": -0.0037, "a_r": 0.16},
        inverter_parameters={"pdc0": 10.0 / 0.96, "eta_inv_nom": 0.96},
        temperature_model_parameters=pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"][
            "open_rack_glass_glass"
        ],
    )
    chain = pvlib.modelchain.ModelChain(
        system,
        location,
        transposition_model="perez",
        aoi_model="martin_ruiz",
        spectral_model="no_loss",
        losses_model="no_loss",
    )
    chain.run_model(clear.assign(temp_air=20.0, wind_speed=1.0))
    dc = chain.results.dc.clip(lower=0) * 0.86
    return float(pvlib.inverter.pvwatts(dc, 10.0 / 0.96, 0.96).clip(lower=0).sum() / 60)


@pytest.mark.parametrize(("tilt", "azimuth"), [(25, 180), (10, 180), (90, 270), (90, 180)])
def test_clear_winter_day_energy_matches_independent_chain(tilt, azimuth):
    site = make_site([array("a", tilt, azimuth, temperature_model="sapm_open_rack_glass_glass")])
    ours = forecast_pv(site, day_index(site, WINTER))["a.available_kw"].sum() * site.step_h
    ref = reference_clear_day_kwh(site, tilt, azimuth, WINTER)
    # the chains differ only in the angular loss on diffuse light (ours applies it)
    assert ours == pytest.approx(ref, rel=0.03)
    assert ours < ref


def test_interval_mean_not_start_value():
    """An hour's value is the mean of its four quarter hours (same sub-step mid-points), and
    at sunrise it is neither the value at the hour's start (zero) nor at its end."""
    hourly = make_site([array("a", 25, 180)], step_minutes=60)
    quarter = make_site([array("a", 25, 180)], step_minutes=15)
    h = forecast_pv(hourly, day_index(hourly, SUMMER))["a.available_kw"]
    q = forecast_pv(quarter, day_index(quarter, SUMMER))["a.available_kw"]
    assert 60 // SUB_STEP_MINUTES == 4 * (15 // SUB_STEP_MINUTES)
    np.testing.assert_allclose(h.to_numpy(), q.resample("1h").mean().to_numpy(), atol=1e-12)
    first = h[h > 0].index[0]
    assert 0 < h[first] < q[first + pd.Timedelta("45min")]


def hot_day(site) -> pd.DataFrame:
    idx = day_index(site, SUMMER)
    t = pd.date_range(idx[0], idx[-1] + site.step, freq="1h")
    return pd.DataFrame({"temp_air_c": 38.0, "wind_speed_ms": 1.0}, index=t)


def test_bipv_runs_hotter_and_yields_less_than_open_rack():
    models = (
        "sapm_open_rack_glass_glass",
        "sapm_close_mount_glass_glass",
        "sapm_insulated_back_glass_polymer",
        "pvsyst_freestanding",
        "pvsyst_semi_integrated",
        "pvsyst_insulated",
    )
    site = make_site([array(m.replace("_", "-"), 25, 180, temperature_model=m) for m in models])
    kwh = forecast_pv(site, day_index(site, SUMMER), hot_day(site)).sum()
    sapm, pvsyst = kwh.iloc[:3].to_numpy(), kwh.iloc[3:].to_numpy()
    assert (np.diff(sapm) < 0).all() and (np.diff(pvsyst) < 0).all()
    # insulated BIPV at 38 °C loses several percent against an open rack
    assert sapm[2] < 0.95 * sapm[0]


def test_inverter_clips_at_ac_rating():
    site = make_site([array("big", 25, 180, dc_capacity_kwp=20.0, inverter_ac_kw=10.0)])
    df = forecast_pv(site, day_index(site, SUMMER))
    assert df["big.available_kw"].max() == pytest.approx(10.0, abs=1e-9)


def test_cloud_cover_lowers_output_and_is_recorded(four_walls):
    idx = day_index(four_walls, SUMMER)
    clear = forecast_pv(four_walls, idx)
    cloudy = forecast_pv(four_walls, idx, cloud_cover_pct=100)
    ratio = cloudy["south-roof.available_kw"].sum() / clear["south-roof.available_kw"].sum()
    assert 0.15 < ratio < 0.45  # Kasten & Czeplak: GHI ÷ 4 at overcast
    assert any("Kasten" in d for d in cloudy.attrs["derived"])


def test_dst_day_has_23_and_25_hours():
    site = make_site(
        [array("a", 35, 180)],
        latitude=52.5,
        longitude=13.4,
        timezone="Europe/Berlin",
        step_minutes=15,
    )
    for day, hours in ((dt.date(2026, 3, 29), 23), (dt.date(2026, 10, 25), 25)):
        df = forecast_pv(site, day_index(site, day))
        assert len(df) == hours * 4
        assert df.index.is_unique and df.index.tz is not None
        assert df.iloc[0].sum() == 0.0 and df.iloc[-1].sum() == 0.0


def test_example_sites_run_offline():
    for name in ("demo_village", "dairy_cooperative", "mountain_hamlet"):
        site = load_site(f"sites/{name}.yaml")
        df = forecast_pv(site, day_index(site, SUMMER))
        assert len(df) == 24 * 60 // site.step_minutes
        assert np.isfinite(df.to_numpy()).all() and (df.sum() > 0).all()


def test_bad_inputs_name_the_problem(four_walls):
    idx = day_index(four_walls, SUMMER)
    with pytest.raises(ValueError, match="tz-aware"):
        forecast_pv(four_walls, idx.tz_localize(None))
    with pytest.raises(ValueError, match="cloud_cover_pct"):
        forecast_pv(four_walls, idx, cloud_cover_pct=120)
    with pytest.raises(ValueError, match="'nope' is not a pv_array"):
        forecast_pv(four_walls, idx, corrections={"nope": 1.0})
    short = pd.DataFrame({"ghi_wm2": [500.0]}, index=[idx[0] - pd.Timedelta(days=3)])
    with pytest.raises(ValueError, match="weather covers"):
        forecast_pv(four_walls, idx, short)


def test_weather_components_are_used_or_derived(four_walls):
    """GHI with DHI keeps the given diffuse share; cloud cover with a stray DHI column (no
    GHI) ignores the DHI and decomposes with DISC."""
    idx = day_index(four_walls, SUMMER)
    t = pd.date_range(idx[0] - pd.Timedelta("30min"), idx[-1] + pd.Timedelta("1h"), freq="1h")
    overcast = pd.DataFrame({"ghi_wm2": 200.0, "dhi_wm2": 200.0}, index=t)
    df = forecast_pv(four_walls, idx, overcast)
    # all diffuse: no beam, so north and south façades see nearly the same sky
    assert df["south-roof.available_kw"].max() > 0
    assert not any("DISC" in d for d in df.attrs["derived"])
    ratio = df["north-facade.available_kw"].sum() / df["south-facade.available_kw"].sum()
    assert 0.8 < ratio < 1.25
    clouds = pd.DataFrame({"cloud_cover_pct": 50.0, "dhi_wm2": 10.0}, index=t)
    derived = forecast_pv(four_walls, idx, clouds).attrs["derived"]
    assert any("DISC" in d for d in derived) and any("Kasten" in d for d in derived)
