"""Genset: runs exactly when cheaper than import; no-load fuel; commitment; ramps; diesel CO2."""

from __future__ import annotations

import numpy as np
import pytest

from optimizer.state import State
from tests.optimizer.toy import grid, load, plan, toy_site


def diesel(**fields):
    spec = {
        "name": "gen", "kind": "genset", "rated_kw": 20,
        "fuel": {"type": "diesel", "l_per_kwh": 0.25, "price_per_l": 8.0},
    }  # fmt: skip
    spec.update(fields)
    return spec


def test_runs_exactly_when_cheaper_than_import():
    # fuel cost 0.25 L/kWh × 8 = 2.0 per kWh
    site = toy_site(grid(), load(), diesel())
    p = plan(site, 3, grid__import_price_per_kwh=[1.5, 2.5, 1.9], load__forecast_kw=10)
    assert p.table["gen.power_kw"].tolist() == pytest.approx([0, 10, 0])
    assert p.table["gen.fuel_l"].tolist() == pytest.approx([0, 2.5, 0])
    assert p.objective_terms["cost"] == pytest.approx(15 + 20 + 19)
    # diesel CO2 at the site's factor (2.68 kg/L by default)
    assert p.table["emissions_kgco2"].tolist() == pytest.approx([0, 2.5 * 2.68, 0])


def test_lp_spreads_no_load_fuel_over_the_output():
    # LP relaxation: fuel per kWh = 0.25 + 1 L/h / 20 kW = 0.3 L/kWh -> 2.4 per kWh
    site = toy_site(
        grid(),
        load(),
        diesel(
            fuel={"type": "diesel", "l_per_kwh": 0.25, "no_load_l_per_h": 1.0, "price_per_l": 8.0}
        ),
    )
    p = plan(site, 2, grid__import_price_per_kwh=[2.3, 2.5], load__forecast_kw=10)
    assert p.table["gen.power_kw"].tolist() == pytest.approx([0, 10])
    assert p.table["gen.fuel_l"].iloc[1] == pytest.approx(3.0)


def test_commitment_respects_min_load():
    # import capped at 10 kW; at t1 the genset must help but cannot run below 10 kW,
    # so it runs at 10 kW and import drops to 4 kW
    gen = diesel(
        commitment=True,
        min_load_pu=0.5,
        fuel={"type": "diesel", "l_per_kwh": 0.25, "no_load_l_per_h": 1.0, "price_per_l": 8.0},
    )
    site = toy_site(grid(max_import_kw=10), load(), gen)
    p = plan(site, 2, load__forecast_kw=[4, 14])
    t = p.table
    assert t["gen.power_kw"].tolist() == pytest.approx([0, 10])
    assert t["gen.on_pu"].tolist() == pytest.approx([0, 1])
    assert t["grid.import_kw"].tolist() == pytest.approx([4, 4])
    fuel = 0.25 * 10 + 1.0
    assert p.objective_terms["cost"] == pytest.approx(4 + 4 + 8 * fuel)
    assert p.objective_terms["mip_gap"] <= 1e-4
    # the committed schedule still has marginal prices (the LP with on/off fixed)
    assert np.isfinite(t["marginal_price_per_kwh"]).all()


def test_ramp_limit_from_the_initial_output():
    site = toy_site(grid(), load(), diesel(max_ramp_kw_per_h=4))
    p = plan(
        site,
        3,
        state=State(genset_kw={"gen": 2.0}),
        grid__import_price_per_kwh=5.0,
        load__forecast_kw=10,
    )
    assert p.table["gen.power_kw"].tolist() == pytest.approx([6, 10, 10])


def test_a_conflict_no_device_sees_alone_is_named_by_its_constraints():
    from optimizer.errors import InfeasibleError

    # off grid, running at 20 kW, may drop only 5 kW an hour, but the load is 2 kW
    site = toy_site(load(), diesel(max_ramp_kw_per_h=5))
    with pytest.raises(InfeasibleError, match="these constraints together cannot hold") as info:
        plan(site, 2, state=State(genset_kw={"gen": 20.0}), load__forecast_kw=2)
    message = str(info.value)
    assert "devices[gen].ramp_down[0]" in message and "bus_balance[0]" in message
