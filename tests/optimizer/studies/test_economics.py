"""Engineering-economics formulas against hand calculations and explicit cash flows."""

from __future__ import annotations

import math

import pytest

from optimizer.studies.economics import (
    annualised_cost_per_unit,
    capital_recovery_factor,
    design_costs,
    levelised_cost_of_energy,
    net_present_cost,
    replacement_years,
    salvage_fraction,
    unit_cost,
)
from sites.schema import Economics


def test_crf_textbook_value() -> None:
    # 6 %, 20 years: 0.06 × 1.06^20 / (1.06^20 − 1) = 0.087185 (standard annuity tables)
    assert capital_recovery_factor(0.06, 20) == pytest.approx(0.0871846, rel=1e-6)
    assert capital_recovery_factor(0.0, 20) == pytest.approx(0.05)


def test_crf_repays_the_loan() -> None:
    rate, years = 0.08, 12
    payment = capital_recovery_factor(rate, years)
    balance = 1.0
    for _ in range(years):
        balance = balance * (1 + rate) - payment
    assert balance == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("lifetime", "life", "years", "salvage"),
    [
        (25, 20, [], 5 / 25),  # outlives the project
        (12, 20, [12], 4 / 12),  # one replacement, 4 years left of 12
        (10, 20, [10], 0.0),  # exactly two lives
        (7, 20, [7, 14], 1 / 7),
    ],
)
def test_replacements_and_salvage(lifetime, life, years, salvage) -> None:
    assert replacement_years(lifetime, life) == years
    assert salvage_fraction(lifetime, life) == pytest.approx(salvage)


def test_unit_cost_matches_explicit_cash_flows() -> None:
    econ = Economics(
        capital_cost_per_unit=1000,
        lifetime_years=12,
        fixed_om_per_unit_year=15,
        replacement_cost_pu=0.7,
    )
    rate, life = 0.06, 20
    flows = {0: 1000.0, 12: 700.0}
    for year in range(1, life + 1):
        flows[year] = flows.get(year, 0.0) + 15.0
    flows[life] -= 700.0 * 4 / 12  # salvage of the replacement installed in year 12
    npc = sum(v / (1 + rate) ** y for y, v in flows.items())
    assert unit_cost(econ, rate, life).npc == pytest.approx(npc, rel=1e-12)
    assert annualised_cost_per_unit(econ, rate, life) == pytest.approx(
        npc * capital_recovery_factor(rate, life), rel=1e-12
    )


def test_npc_and_lcoe() -> None:
    assert net_present_cost(100.0, 0.0, 20) == pytest.approx(2000.0)
    assert net_present_cost(100.0, 0.06, 20) == pytest.approx(1146.99, rel=1e-5)
    assert levelised_cost_of_energy(1000.0, 4000.0) == 0.25
    with pytest.raises(ValueError, match="served_kwh_per_year"):
        levelised_cost_of_energy(1.0, 0.0)


def test_existing_capital_is_sunk() -> None:
    econ = Economics(capital_cost_per_unit=500, lifetime_years=30)
    rows = design_costs({"pv": 10.0}, {"pv": 4.0}, {"pv": econ}, 0.0, 20)
    row = rows["pv"]
    assert row["capital"] == pytest.approx(6 * 500)
    assert row["salvage"] == pytest.approx(10 * 500 * 10 / 30)
    assert row["annualised"] == pytest.approx((3000 - 10 * 500 / 3) / 20)
    assert math.isclose(row["npc"], row["annualised"] * 20)


def test_bad_inputs_name_the_value() -> None:
    with pytest.raises(ValueError, match="rate_pu must be ≥ 0, got -0.1"):
        capital_recovery_factor(-0.1, 10)
    with pytest.raises(ValueError, match="years must be > 0"):
        capital_recovery_factor(0.05, 0)
