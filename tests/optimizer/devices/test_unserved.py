"""Unserved load: the bus slack stands in for the loads' demand only."""

from __future__ import annotations

import pytest

from tests.optimizer.toy import grid, load, plan, toy_site


def full_battery_target() -> dict:
    return {
        "name": "bat", "kind": "battery", "capacity_kwh": 10, "max_charge_kw": 10,
        "max_discharge_kw": 10, "charge_efficiency_pu": 1.0, "discharge_efficiency_pu": 1.0,
        "soc_min_pu": 0.0, "soc_max_pu": 1.0, "initial_soc_pu": 0.0, "end_soc_pu": 0.5,
    }  # fmt: skip


def test_lost_load_never_charges_a_battery():
    # Importing costs 5/kWh and lost load only 1/kWh. The end target needs 5 kWh in the battery
    # and there is no load at all: the 5 kWh must be bought (25), not "shed" from nothing (5).
    site = toy_site(grid(), load(), full_battery_target(), value_of_lost_load_per_kwh=1.0)
    p = plan(site, 2, grid__import_price_per_kwh=[5.0, 5.0], load__forecast_kw=[0.0, 0.0])
    t = p.table
    assert t["unserved_kw"].tolist() == pytest.approx([0.0, 0.0], abs=1e-9)
    assert t["grid.import_kw"].sum() == pytest.approx(5.0)
    assert p.objective_terms["cost"] == pytest.approx(25.0)


def test_lost_load_covers_at_most_the_load():
    # 3 kW of load, an import limit of 1 kW, lost load dearer than import: 2 kW unserved.
    site = toy_site(grid(max_import_kw=1.0), load(), value_of_lost_load_per_kwh=10.0)
    p = plan(site, 2, grid__import_price_per_kwh=[5.0, 5.0], load__forecast_kw=[3.0, 3.0])
    assert p.table["unserved_kw"].tolist() == pytest.approx([2.0, 2.0])


def test_cheap_lost_load_sheds_the_whole_load_and_nothing_more():
    # lost load (1/kWh) is cheaper than import (5/kWh): all 3 kW are shed, never more
    site = toy_site(grid(), load(), value_of_lost_load_per_kwh=1.0)
    p = plan(site, 2, grid__import_price_per_kwh=[5.0, 5.0], load__forecast_kw=[3.0, 3.0])
    assert p.table["unserved_kw"].tolist() == pytest.approx([3.0, 3.0])
    assert p.table["grid.import_kw"].tolist() == pytest.approx([0.0, 0.0], abs=1e-9)
