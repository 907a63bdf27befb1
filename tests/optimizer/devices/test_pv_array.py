"""PV array: output up to the available power; the rest is reported as curtailed."""

from __future__ import annotations

import pytest

from tests.optimizer.toy import load, plan, pv, toy_site


def test_surplus_is_curtailed_and_reported():
    site = toy_site(pv(), load())
    p = plan(site, 2, pv__available_kw=[5, 10], load__forecast_kw=[3, 3])
    assert p.table["pv.pv_kw"].tolist() == pytest.approx([3, 3])
    assert p.table["pv.curtailed_kw"].tolist() == pytest.approx([2, 7])


def test_short_supply_gives_a_plan_with_unserved_load():
    site = toy_site(pv(), load(), value_of_lost_load_per_kwh=12.0)
    p = plan(site, 2, pv__available_kw=[5, 1], load__forecast_kw=[3, 4])
    assert p.status == "optimal"
    assert p.table["unserved_kw"].tolist() == pytest.approx([0, 3])
    assert p.objective_terms["penalty"] == pytest.approx(3 * 12.0)
    assert p.objective_terms["cost"] == pytest.approx(0)
