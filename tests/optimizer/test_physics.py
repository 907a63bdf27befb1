"""The shared device physics against values worked out by hand, on floats, arrays and Pyomo."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest
from pyomo.repn import generate_standard_repn

from optimizer.physics import (
    battery_flow_kwh_per_kw,
    flare_or_vent,
    fuel_use,
    ramp_allowance_kw,
    retention_pu,
    stored_level,
)


def test_retention_over_a_day_is_one_less_the_daily_rate():
    assert retention_pu(0.5, 24.0) == pytest.approx(0.5)
    assert retention_pu(0.19, 12.0) == pytest.approx(0.9)  # √0.81
    assert retention_pu(0.0, 1.0) == 1.0
    # 24 hourly steps compound to the daily rate
    assert retention_pu(0.24, 1.0) ** 24 == pytest.approx(0.76)


def test_battery_flow_coefficients():
    per_charge, per_discharge = battery_flow_kwh_per_kw(0.95, 0.9, 0.5)
    assert per_charge == pytest.approx(0.475)  # 0.95 × 0.5 h
    assert per_discharge == pytest.approx(-0.5 / 0.9)


def test_stored_level_on_floats_and_arrays():
    # 100 kWh keeping 90 %, plus 10 kW charged at η 1 for 1 h, less 4.5 kW out at η 0.9
    per_charge, per_discharge = battery_flow_kwh_per_kw(1.0, 0.9, 1.0)
    assert stored_level(100.0, 0.9, per_charge * 10 + per_discharge * 4.5) == pytest.approx(95.0)
    np.testing.assert_allclose(
        stored_level(np.array([10.0, 20.0]), 1.0, np.array([-2.0, 3.0])), [8.0, 23.0]
    )


def test_fuel_line_on_floats_and_arrays():
    # 0.3 L/kWh × 10 kW × 0.5 h + 2 L/h × 0.5 h running = 1.5 + 1.0 L
    assert fuel_use(10.0, 1.0, 0.3, 2.0, 0.5) == pytest.approx(2.5)
    assert fuel_use(0.0, 0.0, 0.3, 2.0, 0.5) == 0.0
    np.testing.assert_allclose(
        fuel_use(np.array([0.0, 20.0]), np.array([0.0, 0.5]), 0.3, 2.0, 1.0), [0.0, 7.0]
    )


def test_fuel_line_is_a_linear_pyomo_expression_with_the_same_value():
    m = pyo.ConcreteModel()
    m.p = pyo.Var(initialize=10.0)
    m.u = pyo.Var(initialize=1.0)
    expr = fuel_use(m.p, m.u, 0.3, 2.0, 0.5)
    assert pyo.value(expr) == pytest.approx(2.5)
    repn = generate_standard_repn(expr)
    assert repn.is_linear()
    coefficients = dict(zip([v.name for v in repn.linear_vars], repn.linear_coefs, strict=True))
    assert coefficients == pytest.approx({"p": 0.15, "u": 1.0})


def test_ramp_allowance_is_the_ramp_or_the_minimum_load():
    assert ramp_allowance_kw(10.0, 0.25, 6.0) == 6.0  # 2.5 kW of ramp < 6 kW minimum load
    assert ramp_allowance_kw(40.0, 0.25, 6.0) == 10.0
    assert ramp_allowance_kw(40.0, 1.0, 0.0) == 40.0


def test_gas_above_the_top_is_flared_or_vented():
    assert flare_or_vent(3.0, True) == (3.0, 0.0)
    assert flare_or_vent(3.0, False) == (0.0, 3.0)
    assert flare_or_vent(0.0, False) == (0.0, 0.0)
