"""A temperature-aware digester in the LP: routed CHP heat, its lag, the gas it yields."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.inputs import build_inputs
from optimizer.planner import make_plan
from optimizer.state import State
from optimizer.studies.simulation import period_inputs, simulate
from sites.load import load_site
from sites.timeindex import day_index
from tests.optimizer.invariants import assert_plan_invariants
from tests.optimizer.toy import DAY, toy_site

SITES = Path(__file__).parents[3] / "sites"


def heated_site(**temperature):
    digester = {
        "name": "dig", "kind": "digester", "holder_max_m3": 100, "holder_initial_m3": 50,
        "retention_days": 10, "heated_by": ["chp"],
        "feedstocks": [{"name": "slurry", "kg_per_day": 2400, "biogas_yield_m3_per_kg": 0.1}],
        "temperature": {"insulation": "insulated", "annual_mean_air_c": 10, "initial_c": 20,
                        "warmth_gas_value_per_m3": 1.0,
                        **temperature},
    }
    chp = {"name": "chp", "kind": "genset", "rated_kw": 5, "heat_recovery_pu": 1.0,
           "fuel": {"type": "biogas", "digester": "dig", "m3_per_kwh": 0.5}}
    load = {"name": "barn", "kind": "load", "type": "fixed", "profile_kw": [5.0] * 24}
    return toy_site(digester, chp, load)  # fmt: skip


def test_routed_heat_follows_the_lag_and_yields_the_chord_gain():
    site = heated_site()
    index = day_index(site, DAY)[:4]
    weather = pd.DataFrame({"temp_air_c": 20.0}, index=index)
    inputs = build_inputs(site, index, weather=weather)
    p = make_plan(site, index, inputs, State.from_site(site))
    assert_plan_invariants(site, p)
    t = p.table
    # by hand: V = 24 m³, C = 24 × 1.163 kWh/K, G = U A + feed heat, a = exp(−Δ G / C)
    r = (24 / (2 * math.pi)) ** (1 / 3)
    g = 0.7 * 6 * math.pi * r**2 / 1000 + 100 * 4.186 / 3600
    a = math.exp(-g / (24 * 1.163))
    heat = t["dig.heat_in_kw"].to_numpy()
    assert heat == pytest.approx([5.0] * 4)  # all of the CHP's heat: it has no other use
    rise, expected = 0.0, []
    for q in heat:
        rise = a * rise + (1 - a) * q / g
        expected.append(rise)
    assert t["dig.rise_k"].tolist() == pytest.approx(expected, rel=1e-6)
    assert t["dig.temperature_c"].tolist() == pytest.approx([20 + x for x in expected])
    # 240 m³/day at φ(20 °C) = 0.41, plus the chord from 20 to 35 °C: (1 − 0.41)/15 per K
    made = 10 * 0.41 + 10 * 0.59 / 15 * np.array(expected)
    assert t["dig.produced_m3"].tolist() == pytest.approx(made.tolist(), rel=1e-6)


def test_warmth_carried_in_the_state_starts_the_rise():
    site = heated_site()
    index = day_index(site, DAY)[:2]
    weather = pd.DataFrame({"temp_air_c": 20.0}, index=index)
    inputs = build_inputs(site, index, weather=weather)
    p = make_plan(site, index, inputs, State(digester_rise_k={"dig": 10.0}).resolved(site))
    first = p.table["dig.rise_k"].iloc[0]
    g = (0.7 * 6 * math.pi * (24 / (2 * math.pi)) ** (2 / 3) / 1000 + 100 * 4.186 / 3600)
    a = math.exp(-g / (24 * 1.163))
    assert first == pytest.approx(a * 10 + (1 - a) * 5 / g)


def test_no_heat_is_planned_above_the_top_temperature():
    site = heated_site(initial_c=36, max_c=35)
    index = day_index(site, DAY)[:3]
    weather = pd.DataFrame({"temp_air_c": 36.0}, index=index)
    p = make_plan(site, index, build_inputs(site, index, weather=weather),
                  State.from_site(site))
    assert p.table["dig.rise_k"].max() == pytest.approx(0.0, abs=1e-9)
    assert p.table["dig.produced_m3"].tolist() == pytest.approx([10.0] * 3)  # φ = 1


def test_a_northern_winter_digester_makes_far_less_gas_unheated():
    """Dairy cooperative (Hohhot), 1-7 January, site climatology: heated vs unheated."""
    site = load_site(SITES / "dairy_cooperative.yaml")
    unheated = site.model_copy(update={"devices": tuple(
        d.model_copy(update={"heated_by": ()}) if d.name == "manure-digester" else d
        for d in site.devices)})
    made = {}
    for label, s in (("heated", site), ("unheated", unheated)):
        inputs = period_inputs(s, date(2026, 1, 1), 7, None)
        sim = simulate(s, inputs, date(2026, 1, 1), 7)
        made[label] = sim.table["manure-digester.produced_m3"].sum()
        last = sim.table["manure-digester.temperature_c"].iloc[-1]
        made[f"{label}_c"] = last
    assert made["unheated_c"] < 20 < 30 < made["heated_c"]
    assert made["heated"] > 1.4 * made["unheated"]
