"""The plan in plain words: each action and reason follows from the plan's own numbers."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from optimizer.explain import explain, runs, served_kw
from tests.optimizer import toy

CHEAP, DEAR = 0.3, 1.2


def evening_site(**battery: object):
    """Four cheap hours, then four dear hours with a 10 kW load, and a battery."""
    bat = {"name": "bat", "kind": "battery", "capacity_kwh": 100, "max_charge_kw": 50,
           "max_discharge_kw": 50, "soc_min_pu": 0.1, "initial_soc_pu": 0.1, **battery}
    tariff = [{"start_h": 0, "end_h": 4, "price_per_kwh": CHEAP},
              {"start_h": 4, "end_h": 24, "price_per_kwh": DEAR}]
    return toy.toy_site(toy.grid(import_tariff=tariff), bat, toy.load())


LOAD = [0, 0, 0, 0, 10, 10, 10, 10]


def by_what(explanation, what):
    return [a for a in explanation.actions if a.what == what]


def test_battery_charges_when_cheap_and_supplies_when_dear():
    site = evening_site()
    plan = toy.plan(site, 8, load__forecast_kw=LOAD)
    e = explain(site, plan)
    (charge,) = by_what(e, "charge")
    (discharge,) = by_what(e, "discharge")
    assert charge.why == "cheap" and charge.numbers["price_per_kwh"] == pytest.approx(CHEAP)
    assert charge.end <= discharge.start
    assert discharge.why == "dear"
    assert discharge.numbers["price_per_kwh"] == pytest.approx(DEAR)
    assert discharge.numbers["cheapest_per_kwh"] == pytest.approx(CHEAP)
    # the energy told is the plan's own: the discharge column summed over the run
    table = plan.table
    assert discharge.numbers["energy_kwh"] == pytest.approx(table["bat.discharge_kw"].sum())
    assert discharge.start == plan.start + timedelta(hours=4)
    assert [a.start for a in e.actions] == sorted(a.start for a in e.actions)


def test_a_changed_price_changes_the_reason():
    site = evening_site()
    dear = toy.plan(site, 8, load__forecast_kw=LOAD)
    prices = [CHEAP] * 4 + [2.0] * 4
    dearer = toy.plan(site, 8, load__forecast_kw=LOAD, grid__import_price_per_kwh=prices)
    (before,) = by_what(explain(site, dear), "discharge")
    (after,) = by_what(explain(site, dearer), "discharge")
    assert before.numbers["price_per_kwh"] == pytest.approx(DEAR)
    assert after.numbers["price_per_kwh"] == pytest.approx(2.0)
    flat = toy.plan(site, 8, load__forecast_kw=LOAD, grid__import_price_per_kwh=[DEAR] * 8)
    # one price all day: storing power pays nothing, so there is nothing to tell
    assert by_what(explain(site, flat), "discharge") == []
    assert by_what(explain(site, flat), "charge") == []


def test_outage_is_a_notice_and_the_battery_is_kept_full_before_it():
    site = evening_site()
    idx = toy.index(site, 8)
    available = np.ones(8)
    available[4:8] = 0.0
    plan = toy.plan(site, 8, load__forecast_kw=LOAD, grid__available_pu=available)
    e = explain(site, plan)
    (outage,) = by_what(e, "outage")
    assert outage.notice and outage.start == idx[4].tz_convert(site.tz)
    assert outage.end == (idx[7] + timedelta(hours=1)).tz_convert(site.tz)
    (discharge,) = by_what(e, "discharge")
    assert discharge.why == "outage"
    # 40 kWh are needed during the outage: the plan stores at least that before it
    soc_before = plan.table["bat.soc_kwh"].iloc[3]
    assert soc_before >= 40 + 10 - 1e-6
    assert outage.numbers["soc_pu"] == pytest.approx(soc_before / 100)


def test_shed_power_is_told_from_either_load_column():
    site = evening_site(max_discharge_kw=5)
    available = np.array([1, 1, 1, 1, 0, 0, 0, 0], dtype=float)
    plan = toy.plan(site, 8, load__forecast_kw=LOAD, grid__available_pu=available)
    table = plan.table
    served = served_kw(table, "load")
    shed = (table["load.shed_kw"] if "load.shed_kw" in table else table["unserved_kw"]).to_numpy()
    assert served is not None and shed.sum() > 0
    rest = table.drop(columns=[c for c in ("load.power_kw", "load.served_kw", "load.shed_kw",
                                           "unserved_kw") if c in table])
    # the same numbers named both ways: one site-wide unserved column, or per-load columns
    old = rest.assign(**{"load.power_kw": served, "unserved_kw": shed})
    new = rest.assign(**{"load.served_kw": served, "load.shed_kw": shed, "unserved_kw": 0 * shed})
    told = []
    for frame, device in ((old, ""), (new, "load")):
        (action,) = by_what(explain(site, replace(plan, table=frame)), "shed")
        assert action.notice and action.device == device and action.why == "outage"
        assert action.numbers["energy_kwh"] == pytest.approx(shed.sum())
        assert action.start == plan.start + timedelta(hours=4)
        told.append(action.numbers)
    assert told[0] == told[1]


def test_runs_merge_short_gaps_only():
    active = np.array([1, 1, 0, 1, 0, 0, 1], dtype=bool)
    assert runs(active) == [(0, 2), (3, 4), (6, 7)]
    assert runs(active, gap=1) == [(0, 4), (6, 7)]
    assert runs(active, gap=2) == [(0, 7)]
    assert runs(np.zeros(3, dtype=bool)) == []


def test_totals_are_the_plans_kpis_and_savings():
    site = evening_site()
    plan = toy.plan(site, 8, load__forecast_kw=LOAD)
    e = explain(site, plan)
    assert e.totals["cost"] == plan.kpis["cost"]
    assert e.totals["emissions_kgco2"] == plan.kpis["emissions_kgco2"]
    assert e.totals["cost_saving"] == plan.baseline["cost_saving"]


def test_a_full_gas_holder_and_the_gas_burnt_off():
    # 1 m³ of biogas an hour into a 3 m³ holder that starts at 1 m³: full after two hours,
    # then 1 m³ an hour is flared (tests/optimizer/devices/test_digester.py)
    site = toy.toy_site(toy.grid(), {
        "name": "dig", "kind": "digester", "holder_min_m3": 0, "holder_max_m3": 3,
        "holder_initial_m3": 1,
        "feedstocks": [{"name": "manure", "kg_per_day": 240, "biogas_yield_m3_per_kg": 0.1}]})
    plan = toy.plan(site, 4)
    e = explain(site, plan)
    (full,) = by_what(e, "holder_full")
    assert full.start == full.end == plan.start + timedelta(hours=2)
    assert full.why == "store_full" and full.numbers["gas_m3"] == pytest.approx(3)
    (flare,) = by_what(e, "flare")
    assert flare.notice and flare.numbers["gas_m3"] == pytest.approx(2)
    assert (flare.start, flare.end) == (plan.start + timedelta(hours=2), plan.end)


def test_a_shiftable_load_runs_in_the_sun_or_in_the_cheap_hours():
    pump = {"name": "pump", "kind": "load", "type": "shiftable", "energy_kwh": 20,
            "max_power_kw": 10, "window_start_h": 0, "window_end_h": 6}
    tariff = [{"start_h": 0, "end_h": 2, "price_per_kwh": 0.2},
              {"start_h": 2, "end_h": 24, "price_per_kwh": 1.0}]
    site = toy.toy_site(toy.grid(import_tariff=tariff), toy.pv(), pump)
    night = toy.plan(site, 6)
    (run,) = by_what(explain(site, night), "run")
    assert run.why == "cheap" and run.numbers["price_per_kwh"] == pytest.approx(0.2)
    assert run.numbers["energy_kwh"] == pytest.approx(20) and run.numbers["on_h"] == 2
    sunny = toy.plan(site, 6, pv__available_kw=[0, 0, 0, 0, 20, 20])
    (run,) = by_what(explain(site, sunny), "run")
    assert run.why == "sun" and run.numbers["solar_kwh"] == pytest.approx(20)
    assert run.start == sunny.start + timedelta(hours=4)


def test_an_empty_gas_holder_keeps_its_gas_for_cooking():
    # an empty 3 m³ holder filling at 1 m³/h; a genset that burns all it can while power is
    # dear (two hours); 2 m³ of cooking gas in the fourth hour must still come
    profile = [0.0] * 24
    profile[3] = 1.0
    tariff = [{"start_h": 0, "end_h": 2, "price_per_kwh": 2.0},
              {"start_h": 2, "end_h": 24, "price_per_kwh": 0.1}]
    site = toy.toy_site(
        toy.grid(import_tariff=tariff),
        toy.load(),
        {"name": "dig", "kind": "digester", "holder_min_m3": 0, "holder_max_m3": 3,
         "holder_initial_m3": 0, "cooking_gas_m3_per_day": 2, "cooking_profile_pu": profile,
         "feedstocks": [{"name": "manure", "kg_per_day": 240, "biogas_yield_m3_per_kg": 0.1}]},
        {"name": "gen", "kind": "genset", "rated_kw": 10,
         "fuel": {"type": "biogas", "digester": "dig", "m3_per_kwh": 0.5}})
    plan = toy.plan(site, 4, load__forecast_kw=[10, 10, 10, 10])
    e = explain(site, plan)
    gas = plan.table["dig.gas_m3"].to_numpy()
    first_low = int(np.flatnonzero(gas <= 0.09)[0])
    (low,) = by_what(e, "holder_low")
    assert low.why == "cook_first"
    assert low.start == plan.start + timedelta(hours=first_low + 1)
    assert low.numbers["cooking_m3"] == pytest.approx(
        plan.table["dig.cooking_m3"].iloc[first_low + 1:].sum())
    assert low.numbers["cooking_m3"] == pytest.approx(2)
    assert plan.table["gen.power_kw"].iloc[first_low + 1:].sum() == pytest.approx(0)


def test_a_dear_evening_is_dear_against_what_the_stored_energy_was_worth():
    # the demo on a sunny day charges from PV that would otherwise be sold: the stored energy
    # was worth the export price, and the evening discharge is "dear" only against that
    from datetime import date

    from optimizer.inputs import build_inputs
    from optimizer.planner import make_plan
    from sites.load import load_site
    from sites.timeindex import day_index

    site = load_site("sites/demo_village.yaml")
    index = day_index(site, date(2026, 7, 1))
    plan = make_plan(site, index, build_inputs(site, index))
    told = [a for a in explain(site, plan).actions if a.what == "discharge" and a.why == "dear"]
    assert told
    for action in told:
        assert action.numbers["cheapest_per_kwh"] < action.numbers["price_per_kwh"]
    charge = plan.table["village-battery.charge_kw"].to_numpy()
    marginal = plan.table["marginal_price_per_kwh"].to_numpy()
    worth = float((marginal * charge).sum() / charge.sum())
    assert told[0].numbers["cheapest_per_kwh"] == pytest.approx(worth)
