"""Sizing LP on tiny synthetic sites with hand-solvable optima, and its invariants."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from optimizer.studies import design
from optimizer.studies.sizing import build_sizing, candidates, solve_sizing
from sites.load import site_from_data
from sites.timeindex import day_index

DAYS = 4
LOAD_KW = 1.0
PRICE = 1.0  # per kWh, flat
SUN_HOURS = range(9, 15)  # 6 h of 1 kW per kWp: 6 kWh per kWp and day


def tiny(pv_capital: float, *, area_m2: float = 1000.0, budget: float | None = None) -> dict:
    """PV (rate 0, life = project life: annualised = capital / 20), a free lossless battery,
    a flat 1 kW load and a grid at 1 per kWh with no export."""
    return {
        "name": "tiny",
        "location": {"latitude_deg": 0.0, "longitude_deg": 0.0, "timezone": "UTC"},
        "step_minutes": 60,
        "carbon_price_per_kgco2": 0.0,
        "discount_rate_pu": 0.0,
        "project_life_years": 20,
        "capital_budget": budget,
        "devices": [
            {
                "name": "pv",
                "kind": "pv_array",
                "surface": "roof",
                "tilt_deg": 10,
                "azimuth_deg": 180,
                "dc_capacity_kwp": 1.0,
                "inverter_ac_kw": 1.0,
                "usable_area_m2": area_m2,
                "kwp_per_m2": 0.1,
                "economics": {"capital_cost_per_unit": pv_capital, "lifetime_years": 20},
            },
            {
                "name": "store",
                "kind": "battery",
                "capacity_kwh": 1.0,
                "max_charge_kw": 1.0,
                "max_discharge_kw": 1.0,
                "charge_efficiency_pu": 1.0,
                "discharge_efficiency_pu": 1.0,
                "soc_min_pu": 0.0,
                "soc_max_pu": 1.0,
                "economics": {"capital_cost_per_unit": 0.0, "lifetime_years": 20},
            },
            {"name": "home", "kind": "load", "type": "fixed", "profile_kw": [LOAD_KW] * 24},
            {
                "name": "grid",
                "kind": "grid",
                "max_import_kw": 10,
                "import_tariff": [{"start_h": 0, "end_h": 24, "price_per_kwh": PRICE}],
                "carbon_kgco2_per_kwh": 0.5,
            },
        ],
    }


def tiny_inputs(site) -> pd.DataFrame:
    from optimizer.inputs import build_inputs

    index = day_index(site, date(2026, 3, 1), DAYS)
    sun = np.isin(index.hour, list(SUN_HOURS)).astype(float)
    overrides = pd.DataFrame(
        {"pv.available_kw": sun, "home.forecast_kw": np.full(len(index), LOAD_KW)}, index=index
    )
    return build_inputs(site, index, overrides=overrides)


def size_tiny(data: dict, **kw):
    site = site_from_data(data)
    inputs = tiny_inputs(site)
    sm = build_sizing(site, inputs, [inputs.index], [365.0], budget=site.capital_budget, **kw)
    return site, solve_sizing(sm)


def test_free_battery_picks_the_analytically_cheapest_mix() -> None:
    # PV at 20000 per kWp over 20 years costs 1000 per kWp-year and saves 6 kWh × 365 × 1 =
    # 2190 per kWp-year of imports as long as all of it is used: the load takes 24 kWh a day,
    # so 4 kWp, with a free battery holding the 24 − 6 = 18 kWh not used in the sun hours.
    _, r = size_tiny(tiny(20000.0))
    assert r.status == "optimal"
    assert r.capacities["pv"] == pytest.approx(4.0, rel=1e-6)
    assert r.capacities["store"] >= 18.0 - 1e-6
    assert r.annual["operation_cost"] == pytest.approx(0.0, abs=1e-6)
    # the existing 1 kWp is sunk (no replacement within its 20-year life): 3 new kWp are paid
    assert r.annual["total_annualised_cost"] == pytest.approx(3 * 1000.0, rel=1e-6)
    assert r.annual["emissions_kgco2"] == pytest.approx(0.0, abs=1e-6)


def test_too_dear_pv_stays_at_the_existing_size() -> None:
    # 60000 per kWp: 3000 per kWp-year > 2190 saved: keep the existing 1 kWp (brownfield)
    _, r = size_tiny(tiny(60000.0))
    assert r.capacities["pv"] == pytest.approx(1.0, rel=1e-6)
    imports = (24 - 6) * 365 * PRICE
    assert r.annual["operation_cost"] == pytest.approx(imports, rel=1e-6)


def test_area_bounds_the_array() -> None:
    _, r = size_tiny(tiny(20000.0, area_m2=25.0))  # 25 m² × 0.1 kWp/m² = 2.5 kWp
    assert r.capacities["pv"] == pytest.approx(2.5, rel=1e-6)


def test_budget_bounds_the_new_capital() -> None:
    _, r = size_tiny(tiny(20000.0, budget=30000.0))  # 1.5 kWp of new PV
    assert r.capacities["pv"] == pytest.approx(2.5, rel=1e-6)
    assert r.annual["new_capital"] <= 30000.0 + 1e-6


def test_existing_above_the_bound_is_refused() -> None:
    from optimizer.devices import device_models

    data = tiny(20000.0)
    data["devices"][0]["economics"]["max_units"] = 0.5
    site = site_from_data(data)
    with pytest.raises(ValueError, match="existing capacity 1 kWp exceeds the sizing bound 0.5"):
        candidates(site, device_models(site))


def test_resized_site_scales_each_device() -> None:
    site = site_from_data(tiny(20000.0))
    sized = design.resized(site, {"pv": 4.0, "store": 18.0})
    assert sized.device("pv").dc_capacity_kwp == 4.0
    assert sized.device("pv").inverter_ac_kw == 4.0
    assert sized.device("store").capacity_kwh == 18.0
    assert sized.device("store").max_charge_kw == 18.0


@pytest.fixture(scope="module")
def demo_case():
    """The demo village (grid, PV, battery, biogas) on 14 clear-sky January days, hourly."""
    from optimizer.inputs import build_inputs
    from sites.load import load_site

    site = design.hourly(load_site(design_root() / "sites" / "demo_village.yaml"))
    index = day_index(site, date(2026, 1, 1), 14)
    return site, build_inputs(site, index)


@pytest.fixture(scope="module")
def hamlet_case():
    """The mountain hamlet (PV, battery, diesel, digester) on 14 clear-sky January days."""
    from optimizer.inputs import build_inputs
    from sites.load import load_site

    site = load_site(design_root() / "sites" / "mountain_hamlet.yaml")
    index = day_index(site, date(2026, 1, 1), 14)
    return site, build_inputs(site, index)


def design_root():
    from pathlib import Path

    return Path(__file__).resolve().parents[3]


def test_raising_the_carbon_price_never_raises_emissions(demo_case) -> None:
    site, inputs = demo_case
    emissions = []
    for price in (0.06, 0.24, 0.96, 3.84):
        priced = site.model_copy(update={"carbon_price_per_kgco2": price})
        r = design.size(priced, inputs, representative_days=3)
        emissions.append(r.annual["emissions_kgco2"])
    tol = 1e-6 * max(emissions) + 1e-6
    assert all(b <= a + tol for a, b in zip(emissions, emissions[1:], strict=False))
    assert emissions[-1] < emissions[0]  # the price does bite on this site


def test_pareto_points_are_monotone(demo_case) -> None:
    site, inputs = demo_case
    front, results = design.pareto(site, inputs, 4, representative_days=3)
    money = (front["total_annualised_cost"] + front["penalty_cost"]).to_numpy()
    carbon = front["emissions_kgco2"].to_numpy()
    assert len(front) == 4 and all(r.status == "optimal" for r in results)
    assert np.all(np.diff(carbon) <= 1e-6 * carbon[0] + 1e-6)
    assert np.all(np.diff(money) >= -1e-6 * abs(money).max() - 1e-6)
    assert carbon[-1] < carbon[0]


def test_representative_days_match_the_full_period(hamlet_case) -> None:
    """Stated tolerance: 8 representative days of 14 give the total cost within 5 %."""
    site, inputs = hamlet_case
    full = design.size(site, inputs, representative_days=None)
    rep = design.size(site, inputs, representative_days=8)
    assert full.status == rep.status == "optimal"
    assert rep.annual["objective"] == pytest.approx(full.annual["objective"], rel=0.05)


def test_a_warm_start_reaches_the_same_optimum(demo_case) -> None:
    site, inputs = demo_case
    indexes, weights, _ = design.periods(site, inputs, None)
    cold = solve_sizing(build_sizing(site, inputs, indexes, weights, greenfield=True))
    start = {name: 2 * value + 1 for name, value in cold.capacities.items()}
    warm = solve_sizing(build_sizing(site, inputs, indexes, weights, greenfield=True), start=start)
    assert warm.status == "optimal"
    assert warm.annual["objective"] == pytest.approx(cold.annual["objective"], rel=1e-6)
