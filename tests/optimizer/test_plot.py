"""The plan picture: its stacked supply meets the demand line, and it is written as a PNG."""

from __future__ import annotations

import numpy as np

from optimizer.baseline import dispatch
from optimizer.plot import plot_plan, supply_and_demand
from tests.optimizer import tiny_sites as ts


def _plan():
    site = ts.tiny_site(
        ts.pv(), ts.battery(), ts.grid(), ts.digester(), ts.biogas_genset(), ts.fixed_load(),
        ts.shiftable(),
    )  # fmt: skip
    sun = np.clip(np.sin(np.linspace(-np.pi / 2, 3 * np.pi / 2, 24)), 0, None) * 40
    inputs = ts.frame(
        ts.hourly_index(24), pv__available_kw=sun, homes__forecast_kw=10,
        grid__import_price_per_kwh=1.0, grid__export_price_per_kwh=0.3,
        grid__carbon_kgco2_per_kwh=0.5, grid__available_pu=1.0, dig__production_m3=5,
        dig__cooking_m3=0,
    )  # fmt: skip
    return site, dispatch(site, inputs)


def test_stacked_supply_equals_demand_with_charging_and_export():
    site, table = _plan()
    supply, demand = supply_and_demand(site, table)
    np.testing.assert_allclose(sum(supply.values()), demand["total"], atol=1e-9)
    assert demand["load"].min() >= 10


def test_plot_is_written_as_png_on_a_local_time_axis(tmp_path):
    site, table = _plan()
    path = tmp_path / "plan.png"
    fig = plot_plan(site, table, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    axis = fig.axes[2]  # power, storage, prices, then the holder twin axis
    labels = [t.get_text() for t in axis.get_xticklabels()]
    assert labels[0].startswith("00:00")  # local midnight (16:00 UTC the day before)
    assert "Asia/Shanghai" in axis.get_xlabel()
