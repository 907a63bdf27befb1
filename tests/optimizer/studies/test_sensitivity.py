"""Sensitivity cases: dotted paths into a site copy, validation, a real process pool."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimizer.studies.sensitivity import cases, parse_vary, run_cases, with_overrides
from sites.load import SiteError, load_site

SITES = Path(__file__).resolve().parents[3] / "sites"


@pytest.fixture(scope="module")
def hamlet():
    return load_site(SITES / "mountain_hamlet.yaml")


def test_parse_vary() -> None:
    assert parse_vary("devices.diesel-backup.fuel.price_per_l=6, 8.2,10") == (
        "devices.diesel-backup.fuel.price_per_l",
        [6, 8.2, 10],
    )
    with pytest.raises(ValueError, match="PARAM=v1,v2"):
        parse_vary("carbon_price_per_kgco2")


def test_override_by_device_name(hamlet) -> None:
    site = with_overrides(
        hamlet,
        {
            "devices.diesel-backup.fuel.price_per_l": 11.5,
            "carbon_price_per_kgco2": 0.2,
            "devices.household-digester.feedstocks.crop-residue.kg_per_day": 40,
        },
    )
    assert site.device("diesel-backup").fuel.price_per_l == 11.5
    assert site.carbon_price_per_kgco2 == 0.2
    assert site.device("household-digester").feedstocks[1].kg_per_day == 40
    assert hamlet.device("diesel-backup").fuel.price_per_l == 8.2  # the original is unchanged


def test_unknown_paths_and_bad_values_are_named(hamlet) -> None:
    with pytest.raises(ValueError, match="no item named 'diesel'; names: hamlet-roofs"):
        with_overrides(hamlet, {"devices.diesel.fuel.price_per_l": 1})
    with pytest.raises(ValueError, match="no field 'price'"):
        with_overrides(hamlet, {"devices.diesel-backup.fuel.price": 1})
    with pytest.raises(SiteError, match="carbon_price_per_kgco2: must be ≥ 0, got -1"):
        with_overrides(hamlet, {"carbon_price_per_kgco2": -1})


def test_grid_of_cases() -> None:
    grid = cases([("a", [1, 2]), ("b", ["x", "y", "z"])])
    assert len(grid) == 6 and grid[0] == {"a": 1, "b": "x"} and grid[-1] == {"a": 2, "b": "z"}
    assert cases([]) == [{}]


def diesel_cost_of_a_day(site, hours: float) -> dict:
    """A study small enough to run in a worker: fuel cost of running the genset flat out."""
    g = site.device("diesel-backup")
    litres = (g.fuel.l_per_kwh * g.rated_kw + g.fuel.no_load_l_per_h) * hours
    return {"fuel_cost": litres * g.fuel.price_per_l}


def test_cases_run_in_this_process_without_an_executor(hamlet) -> None:
    seen = []
    table = run_cases(
        diesel_cost_of_a_day,
        hamlet,
        [("devices.diesel-backup.fuel.price_per_l", [5.0, 10.0])],
        progress=lambda done, total: seen.append((done, total)),
        hours=2.0,
    )
    per_l = (0.246 * 15 + 1.22) * 2
    assert table["fuel_cost"].tolist() == pytest.approx([5 * per_l, 10 * per_l])
    assert table["devices.diesel-backup.fuel.price_per_l"].tolist() == [5.0, 10.0]
    assert seen[-1] == (2, 2)
