"""Unserved load: load is shed only where no schedule can serve it, least critical first."""

from __future__ import annotations

import pytest

from tests.optimizer.toy import grid, load, plan, toy_site


def full_battery_target(**fields: object) -> dict:
    return {
        "name": "bat", "kind": "battery", "capacity_kwh": 10, "max_charge_kw": 10,
        "max_discharge_kw": 10, "charge_efficiency_pu": 1.0, "discharge_efficiency_pu": 1.0,
        "soc_min_pu": 0.0, "soc_max_pu": 1.0, "initial_soc_pu": 0.0, "end_soc_pu": 0.5,
        **fields,
    }  # fmt: skip


def test_lost_load_never_charges_a_battery():
    # No load at all and a hard end target of 5 kWh: the 5 kWh must be bought (25), since
    # shed power is only ever shed from a load's own demand.
    site = toy_site(
        grid(), load(), full_battery_target(end_target="hard"), value_of_lost_load_per_kwh=1.0
    )
    p = plan(site, 2, grid__import_price_per_kwh=[5.0, 5.0], load__forecast_kw=[0.0, 0.0])
    t = p.table
    assert t["unserved_kw"].tolist() == pytest.approx([0.0, 0.0], abs=1e-9)
    assert t["grid.import_kw"].sum() == pytest.approx(5.0)
    assert p.objective_terms["cost"] == pytest.approx(25.0)


def test_lost_load_covers_at_most_the_load():
    # 3 kW of load, an import limit of 1 kW: 2 kW unserved, the least any schedule reaches.
    site = toy_site(grid(max_import_kw=1.0), load(), value_of_lost_load_per_kwh=10.0)
    p = plan(site, 2, grid__import_price_per_kwh=[5.0, 5.0], load__forecast_kw=[3.0, 3.0])
    assert p.table["unserved_kw"].tolist() == pytest.approx([2.0, 2.0])
    assert p.table["load.shed_kw"].tolist() == pytest.approx([2.0, 2.0])
    assert p.table["load.served_kw"].tolist() == pytest.approx([1.0, 1.0])


def test_load_is_served_even_where_lost_load_is_cheaper_than_import():
    # Lost load (1/kWh) is cheaper than import (5/kWh), but serving load comes first.
    site = toy_site(grid(), load(), value_of_lost_load_per_kwh=1.0)
    p = plan(site, 2, grid__import_price_per_kwh=[5.0, 5.0], load__forecast_kw=[3.0, 3.0])
    assert p.table["unserved_kw"].tolist() == pytest.approx([0.0, 0.0], abs=1e-9)
    assert p.table["grid.import_kw"].tolist() == pytest.approx([3.0, 3.0])


def test_the_battery_is_drained_before_any_load_is_shed():
    # 5 kWh in the battery, a target to end with them, and the grid down: the 4 kWh of load
    # are served from the battery, which ends 4 kWh short of its (soft) target.
    bat = full_battery_target(initial_soc_pu=0.5, end_soc_pu=None)
    site = toy_site(grid(), load(), bat)
    p = plan(site, 2, grid__available_pu=[0.0, 0.0], load__forecast_kw=[2.0, 2.0])
    assert p.table["unserved_kw"].tolist() == pytest.approx([0.0, 0.0], abs=1e-9)
    assert p.table["bat.soc_kwh"].tolist() == pytest.approx([3.0, 1.0])
    assert p.objective_terms["stored_shortfall_value"] > 0


def test_a_hard_target_keeps_the_energy_and_sheds_instead():
    bat = full_battery_target(initial_soc_pu=0.5, end_soc_pu=None, end_target="hard")
    site = toy_site(grid(), load(), bat)
    p = plan(site, 2, grid__available_pu=[0.0, 0.0], load__forecast_kw=[2.0, 2.0])
    assert p.table["unserved_kw"].sum() == pytest.approx(4.0)
    assert p.table["bat.soc_kwh"].iloc[-1] == pytest.approx(5.0)


def test_shedding_falls_on_the_least_critical_load_first():
    # 1 kW of import for two 1 kW loads: the low-priority pump is shed, the critical one kept
    pump = {**load(), "name": "pump", "priority": "low"}
    cooler = {**load(), "name": "cooler", "priority": "critical"}
    site = toy_site(grid(max_import_kw=1.0), pump, cooler)
    p = plan(
        site, 2, grid__import_price_per_kwh=[1.0, 1.0],
        pump__forecast_kw=[1.0, 1.0], cooler__forecast_kw=[1.0, 1.0],
    )  # fmt: skip
    assert p.table["pump.shed_kw"].tolist() == pytest.approx([1.0, 1.0])
    assert p.table["cooler.shed_kw"].tolist() == pytest.approx([0.0, 0.0], abs=1e-9)
    assert p.kpis["pump.unserved_kwh"] == pytest.approx(2.0)
    assert p.kpis["unserved_kwh"] == pytest.approx(2.0)
