"""Digester physics: φ(T) through Yang et al. (2016), the lag, the envelope, the feed mix."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from forecasting.digester import (
    ambient_c,
    conductance_kw_per_k,
    forecast_digesters,
    heat_capacity_kwh_per_k,
    lag_factor,
    lagged_temperature_c,
    phi_pu,
    phi_secant_pu_per_k,
    rise_k,
    secant_overestimate_pu,
    surface_area_m2,
)
from sites.factors import SUBSTRATES
from sites.load import SiteError
from tests.optimizer.toy import grid, toy_site

YANG_2016 = {15: 0.07, 20: 0.41, 25: 0.66, 30: 0.78, 35: 1.0}


def digester(**fields):
    spec = {
        "name": "dig", "kind": "digester", "holder_max_m3": 100, "holder_initial_m3": 50,
        "retention_days": 10,
        "feedstocks": [{"name": "slurry", "kg_per_day": 2400, "biogas_yield_m3_per_kg": 0.1}],
        "temperature": {"insulation": "insulated", "annual_mean_air_c": 10},
    }  # fmt: skip
    spec.update(fields)
    return spec


def test_phi_passes_through_the_published_points():
    for temp, value in YANG_2016.items():
        assert phi_pu(temp) == pytest.approx(value)
    assert phi_pu(5.0) == 0 and phi_pu(10.0) == 0
    assert phi_pu(38.0) == 1.0
    assert phi_pu(22.5) == pytest.approx((0.41 + 0.66) / 2)


def test_the_chord_is_exact_at_both_ends_and_above_phi_between():
    for start in (0.0, 12.0, 20.0, 31.0):
        slope = float(phi_secant_pu_per_k(start, 35.0))
        assert phi_pu(start) + slope * (35.0 - start) == pytest.approx(1.0)
    # from 10 °C the chord reaches 0.28 at 17 °C where φ is only 0.07 + 2 × 0.068 = 0.206
    assert secant_overestimate_pu(10.0, 35.0) > 0.07
    assert phi_secant_pu_per_k(36.0, 35.0) == 0


def test_envelope_and_heat_capacity_by_hand():
    # V = 2π r³ with r = 1 m: A = 6π m²
    assert surface_area_m2(2 * math.pi) == pytest.approx(6 * math.pi)
    site = toy_site(grid(), digester())
    spec = site.device("dig")
    volume = 2400 / 1000 * 10  # 24 m³
    assert spec.volume_m3 == pytest.approx(volume)
    radius = (volume / (2 * math.pi)) ** (1 / 3)
    envelope = 0.7 * 6 * math.pi * radius**2 / 1000  # kW/K, insulated wall
    feed = 2400 / 24 * 4.186 / 3600  # kW/K to warm 100 kg/h of feed
    assert conductance_kw_per_k(spec) == pytest.approx(envelope + feed)
    assert heat_capacity_kwh_per_k(spec) == pytest.approx(volume * 1.163)
    assert lag_factor(spec, 1.0) == pytest.approx(math.exp(-(envelope + feed) / (volume * 1.163)))


def test_the_lag_follows_a_step_of_ambient_temperature():
    keep = 0.9
    theta = lagged_temperature_c(np.full(5, -10.0), 35.0, keep)
    expected = [-10 + 45 * keep ** (t + 1) for t in range(5)]
    assert theta == pytest.approx(expected)
    assert np.all(np.diff(theta) < 0)


def test_heat_raises_the_temperature_to_the_steady_rise():
    site = toy_site(grid(), digester())
    spec = site.device("dig")
    g = conductance_kw_per_k(spec)
    rise = rise_k(np.full(20_000, 3.0), spec, 1.0)
    assert rise[-1] == pytest.approx(3.0 / g, rel=1e-3)  # steady state: q = G r
    a = lag_factor(spec, 1.0)
    assert rise[0] == pytest.approx((1 - a) * 3.0 / g)


def test_soil_is_the_running_mean_of_air():
    site = toy_site(grid(), digester(temperature={
        "insulation": "buried", "ambient": "soil", "annual_mean_air_c": 10}))
    index = pd.date_range("2026-01-01", periods=96, freq="h", tz="UTC")
    air = pd.DataFrame({"temp_air_c": np.where(np.arange(96) % 24 < 12, 0.0, 20.0)},
                       index=index)
    soil = ambient_c(site.device("dig"), index, air)
    assert soil.std() < air["temp_air_c"].std() / 3
    assert soil.iloc[-1] == pytest.approx(10.0, abs=0.5)


def test_forecast_columns_scale_production_by_phi():
    site = toy_site(grid(), digester(temperature={
        "insulation": "insulated", "annual_mean_air_c": 10, "initial_c": 20}))
    index = pd.date_range("2026-07-01", periods=4, freq="h", tz="UTC")
    weather = pd.DataFrame({"temp_air_c": 20.0}, index=index)
    cols = forecast_digesters(site, index, weather)
    assert cols["dig.unheated_c"].tolist() == pytest.approx([20.0] * 4)
    assert cols["dig.production_m3"].tolist() == pytest.approx([10 * 0.41] * 4)  # 240 m³/day
    assert cols["dig.heat_gain_m3_per_k"].tolist() == pytest.approx([10 * 0.59 / 15] * 4)


def test_a_substrate_feed_yields_its_methane_potential():
    pig = SUBSTRATES["pig_manure"]
    site = toy_site(grid(), digester(
        feedstocks=[{"name": "pigs", "kg_per_day": 1000, "substrate": "pig_manure"},
                    {"name": "straw", "kg_per_day": 100, "ts_pu": 0.9, "vs_pu": 0.8,
                     "b0_m3_per_kg_vs": 0.2, "source": "lab test 2026-03"}],
        efficiency_pu=0.5, methane_fraction_pu=0.6))
    methane = 1000 * pig.ts_pu.value * pig.vs_pu.value * pig.b0_m3_per_kg_vs.value
    methane += 100 * 0.9 * 0.8 * 0.2
    assert site.device("dig").biogas_m3_per_day == pytest.approx(methane * 0.5 / 0.6)


@pytest.mark.parametrize("feed, message", [
    ({"biogas_yield_m3_per_kg": 0.1, "substrate": "pig_manure"}, "not both"),
    ({"substrate": "pig_slurry"}, "must be one of"),
    ({"ts_pu": 0.2, "vs_pu": 0.8, "b0_m3_per_kg_vs": 0.3}, "need a source"),
    ({"ts_pu": 0.2}, "give biogas_yield_m3_per_kg, a substrate"),
])
def test_a_feed_in_neither_or_both_forms_is_refused(feed, message):
    with pytest.raises(SiteError, match=message):
        toy_site(grid(), digester(feedstocks=[{"name": "f", "kg_per_day": 10, **feed}]))


def test_heating_needs_a_chp_unit_and_a_temperature_block():
    with pytest.raises(SiteError, match="heated_by: 'gen' is not a genset"):
        toy_site(grid(), digester(heated_by=["gen"]))
