"""Fixed load: served as forecast, or shown as unserved."""

from __future__ import annotations

import pytest

from tests.optimizer.toy import grid, load, plan, toy_site


def test_served_as_forecast():
    site = toy_site(grid(), load(), load("school"))
    p = plan(site, 3, load__forecast_kw=[1, 2, 3], school__forecast_kw=[4, 0, 1])
    assert p.table["load.demand_kw"].tolist() == pytest.approx([1, 2, 3])
    assert p.table["grid.import_kw"].tolist() == pytest.approx([5, 2, 4])


def test_beyond_the_grid_limit_is_unserved():
    site = toy_site(grid(max_import_kw=3), load())
    p = plan(site, 2, load__forecast_kw=[2, 5])
    assert p.table["unserved_kw"].tolist() == pytest.approx([0, 2])
