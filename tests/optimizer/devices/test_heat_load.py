"""Heat load: CHP heat first, then the electric backup, then unserved heat at VoLL."""

from __future__ import annotations

import pytest

from tests.optimizer.devices.test_digester import biogas_genset, digester
from tests.optimizer.toy import grid, load, plan, toy_site


def cold_store(**fields):
    spec = {
        "name": "cold", "kind": "heat_load", "profile_kw": [0.0] * 24, "chp_units": ["gen"],
        "heat_to_demand_cop_pu": 0.5, "electric_backup_cop_pu": 2.0,
    }  # fmt: skip
    spec.update(fields)
    return spec


def chp_site(**cold):
    # 1 m³/h of gas = 2 kWh/h of power = 2 kW of CHP heat (heat_recovery 1) = 1 kW of cold
    return toy_site(
        grid(), load(), digester(holder_max_m3=10, holder_initial_m3=0),
        biogas_genset(heat_recovery_pu=1.0), cold_store(**cold),
    )  # fmt: skip


def test_chp_heat_serves_the_demand_and_the_backup_the_rest():
    p = plan(chp_site(), 2, cold__forecast_kw=3.0, load__forecast_kw=5.0)
    t = p.table
    # the genset burns all the gas it may (power is worth 1.0/kWh): 2 kW, 2 kW of heat
    assert t["gen.power_kw"].tolist() == pytest.approx([2, 2])
    assert t["cold.chp_heat_kw"].tolist() == pytest.approx([2, 2])
    # 3 kW of cold − 0.5 × 2 kW from CHP = 2 kW from the backup at COP 2 = 1 kW electric
    assert t["cold.backup_kw"].tolist() == pytest.approx([1, 1])
    assert t["gen.heat_kw"].tolist() == pytest.approx([2, 2])
    assert p.objective_terms["cost"] == pytest.approx(2 * (5 + 1 - 2))


def test_without_backup_the_shortfall_is_unserved_heat_at_voll():
    p = plan(chp_site(electric_backup_cop_pu=None), 2, cold__forecast_kw=3.0, load__forecast_kw=5.0)
    t = p.table
    assert t["cold.backup_kw"].sum() == 0
    assert t["cold.unserved_kw"].tolist() == pytest.approx([2, 2])
    assert p.objective_terms["penalty"] == pytest.approx(4 * 10.0, rel=1e-6)
