"""The devices' column tables: they name every plan column, close the bus balance by their
signs, and give controllers the setpoints and levels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.baseline import rule_based_plan
from optimizer.inputs import build_inputs
from optimizer.planner import make_plan
from optimizer.site_columns import (
    Column,
    column_names,
    column_order,
    controller_columns,
    in_category,
    site_columns,
)
from sites.load import load_site
from tests.optimizer import tiny_sites as ts

SITES = Path(__file__).resolve().parents[2] / "sites"


@pytest.fixture(scope="module", params=["demo_village", "dairy_cooperative"])
def plans(request):
    """A site and its LP and rule-based plans over one day."""
    site = load_site(SITES / f"{request.param}.yaml")
    index = pd.date_range("2026-06-10", periods=24 * 60 // site.step_minutes, tz=site.tz,
                          freq=site.step).tz_convert("UTC")  # fmt: skip
    inputs = build_inputs(site, index)
    return site, make_plan(site, index, inputs), rule_based_plan(site, inputs)


def test_the_lp_plan_has_every_declared_column(plans) -> None:
    site, lp, _ = plans
    missing = [name for name in column_names(site) if name not in lp.table.columns]
    assert missing == []


@pytest.mark.parametrize("which", [1, 2])
def test_signs_close_the_bus_balance(plans, which) -> None:
    """Σ sign × value = 0 in every interval, for the LP and the rules alike."""
    site, table = plans[0], plans[which].table
    on_bus = [c for c in site_columns(site) if c.column.sign != 0]
    assert {c.column.sign for c in on_bus} == {-1, 1}
    net = sum(c.column.sign * table[c.name].to_numpy(float) for c in on_bus)
    scale = sum(table[c.name].abs().to_numpy(float) for c in on_bus)
    assert np.abs(net).max() <= 1e-6 * max(scale.max(), 1.0)


def test_controllers_get_setpoints_and_levels_not_inputs_or_demand() -> None:
    site = ts.tiny_site(ts.pv(), ts.battery(), ts.grid(), ts.digester(),
                        ts.biogas_genset(heat_recovery_pu=0.5),
                        ts.fixed_load(), ts.heat_load())  # fmt: skip
    wanted = set(controller_columns(site))
    assert {"pv.pv_kw", "pv.curtailed_kw", "bat.charge_kw", "bat.discharge_kw", "bat.soc_kwh",
            "dig.gas_m3", "dig.flared_m3", "dig.vented_m3", "gas-gen.power_kw", "gas-gen.on_pu",
            "gas-gen.heat_kw",
            "grid.import_kw", "grid.export_kw", "homes.served_kw", "homes.shed_kw",
            "cold.chp_heat_kw", "cold.backup_kw"} <= wanted  # fmt: skip
    for never in ("pv.available_kw", "homes.demand_kw", "homes.forecast_kw", "gas-gen.fuel_m3",
                  "grid.import_price_per_kwh", "cold.unserved_kw", "unserved_kw"):
        assert never not in wanted, never


def test_genset_columns_follow_its_fuel() -> None:
    site = ts.tiny_site(ts.digester(), ts.biogas_genset(), ts.diesel_genset(), ts.fixed_load())
    by_name = {c.name: c.column for c in site_columns(site)}
    assert by_name["gas-gen.power_kw"].category == "supply"
    assert by_name["diesel.power_kw"].category == "fossil"
    assert "gas-gen.fuel_m3" in by_name and "gas-gen.fuel_l" not in by_name
    assert by_name["diesel.fuel_l"].kpis == ("diesel_l",)
    assert [c.name for c in in_category(site, "fossil")] == ["diesel.power_kw"]


def test_order_is_devices_in_file_order_then_table_order_site_wide_last() -> None:
    site = ts.tiny_site(ts.grid(), ts.battery(), ts.fixed_load())
    shuffled = ["unserved_kw", "homes.shed_kw", "bat.soc_kwh", "grid.export_kw", "bat.charge_kw",
                "homes.demand_kw", "grid.import_kw", "extra"]  # fmt: skip
    assert column_order(site, shuffled) == [
        "grid.import_kw", "grid.export_kw", "bat.charge_kw", "bat.soc_kwh", "homes.demand_kw",
        "homes.shed_kw", "unserved_kw", "extra",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value"), [("role", "output"), ("category", "misc"), ("sign", 2)]
)
def test_a_row_outside_the_vocabulary_is_refused(field, value) -> None:
    row = dict(quantity="x_kw", unit="kW", role="decision", sign=0, category="other",
               label="x", description="x")  # fmt: skip
    with pytest.raises(ValueError, match=field):
        Column(**{**row, field: value})
