"""Battery: arbitrage earns exactly what the efficiencies allow; SoC dynamics; end rule."""

from __future__ import annotations

import numpy as np
import pytest

from optimizer.state import State
from tests.optimizer.toy import grid, load, plan, toy_site


def battery(**fields):
    spec = {
        "name": "bat", "kind": "battery", "capacity_kwh": 20, "max_charge_kw": 10,
        "max_discharge_kw": 10, "charge_efficiency_pu": 0.9, "discharge_efficiency_pu": 0.9,
        "soc_min_pu": 0.0, "soc_max_pu": 1.0, "initial_soc_pu": 0.0,
    }  # fmt: skip
    spec.update(fields)
    return spec


def test_arbitrage_earns_exactly_what_efficiency_allows():
    site = toy_site(grid(), load(), battery())
    p = plan(site, 2, grid__import_price_per_kwh=[0.1, 0.5], load__forecast_kw=[0, 5])
    t = p.table
    # 5 kWh out at t1 needs 5 / (0.9 · 0.9) kWh in at t0
    charged = 5 / 0.81
    assert t["bat.charge_kw"].iloc[0] == pytest.approx(charged)
    assert t["bat.discharge_kw"].iloc[1] == pytest.approx(5)
    assert t["bat.soc_kwh"].tolist() == pytest.approx([0.9 * charged, 0.0], abs=1e-9)
    assert p.objective_terms["cost"] == pytest.approx(0.1 * charged)


def test_no_arbitrage_when_the_spread_is_below_the_losses():
    site = toy_site(grid(), load(), battery())
    # 0.45 / 0.81 = 0.556 > 0.5: storing costs more than buying later
    p = plan(site, 2, grid__import_price_per_kwh=[0.45, 0.5], load__forecast_kw=[0, 5])
    assert p.table["bat.charge_kw"].sum() == pytest.approx(0, abs=1e-9)
    assert p.objective_terms["cost"] == pytest.approx(2.5)


def test_wear_cost_is_charged_on_both_directions():
    site = toy_site(grid(), load(), battery(wear_cost_per_kwh=0.01))
    p = plan(site, 2, grid__import_price_per_kwh=[0.1, 0.5], load__forecast_kw=[0, 5])
    charged = 5 / 0.81
    assert p.objective_terms["cost"] == pytest.approx(0.1 * charged + 0.01 * (charged + 5))


def test_self_discharge_and_end_target_follow_the_storage_balance():
    site = toy_site(
        grid(), load(), battery(self_discharge_pu_per_day=0.24, initial_soc_pu=0.5, end_soc_pu=0.75)
    )
    p = plan(site, 3, grid__import_price_per_kwh=[1.0, 0.2, 1.0])
    t = p.table
    keep = 0.76 ** (1 / 24)
    level = 10.0
    for ch, dis, soc in zip(
        t["bat.charge_kw"], t["bat.discharge_kw"], t["bat.soc_kwh"], strict=True
    ):
        level = keep * level + 0.9 * ch - dis / 0.9
        assert soc == pytest.approx(level)
    assert t["bat.soc_kwh"].iloc[-1] == pytest.approx(15.0)
    # the cheap hour does the charging
    assert t["bat.charge_kw"].iloc[1] > 0 and t["bat.charge_kw"].iloc[[0, 2]].sum() == 0


def test_initial_soc_comes_from_the_state():
    site = toy_site(grid(), load(), battery())
    p = plan(site, 2, state=State(battery_soc_kwh={"bat": 9.0}), load__forecast_kw=[0, 5])
    # default end rule: at least the initial SoC, so the battery cannot serve the load for free
    assert p.table["bat.soc_kwh"].iloc[-1] >= 9.0 - 1e-9
    assert p.objective_terms["cost"] == pytest.approx(5.0)


def test_unreachable_end_target_names_the_parameters():
    from optimizer.errors import InfeasibleError

    site = toy_site(grid(), load(), battery(max_charge_kw=1, end_soc_pu=1.0, end_target="hard"))
    with pytest.raises(InfeasibleError, match="end_soc_pu.*max_charge_kw 1"):
        plan(site, 2)


def test_a_soft_end_target_out_of_reach_is_valued_not_infeasible():
    # 1 kW for 2 h charges 0.95 × 2 = 1.9 kWh of the 10 kWh target: the rest is short
    site = toy_site(grid(), load(), battery(max_charge_kw=1, end_soc_pu=1.0))
    p = plan(site, 2)
    # a stored kWh short of the target is worth 1.25 × the dearest import price 1.0; charging
    # costs 1.0 / 0.9 per stored kWh, less: the battery charges flat out, 0.9 kWh an hour
    assert p.table["bat.soc_kwh"].tolist() == pytest.approx([0.9, 1.8])
    # and ends 20 − 1.8 = 18.2 kWh short of its 20 kWh target
    assert p.objective_terms["stored_shortfall_value"] == pytest.approx(1.25 * 18.2)


def test_charge_and_discharge_never_exceed_their_limits():
    site = toy_site(grid(), load(), battery(max_charge_kw=3, max_discharge_kw=4))
    p = plan(site, 4, grid__import_price_per_kwh=[0.1, 0.1, 2, 2], load__forecast_kw=[0, 0, 9, 9])
    assert np.all(p.table["bat.charge_kw"] <= 3 + 1e-9)
    assert np.all(p.table["bat.discharge_kw"] <= 4 + 1e-9)
