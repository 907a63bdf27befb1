"""Cost, emissions and key figures on a two-interval table worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from optimizer.accounting import (
    METHANE_DENSITY_KG_PER_M3,
    METHANE_GWP100_NON_FOSSIL,
    interval_accounts,
    kpis,
    objective_terms,
    vented_kgco2e_per_m3,
)
from tests.optimizer import tiny_sites as ts

KPI_KEYS = {
    "cost",
    "emissions_kgco2",
    "renewable_fraction_pu",
    "self_sufficiency_pu",
    "curtailed_kwh",
    "unserved_kwh",
    "peak_import_kw",
    "import_kwh",
    "export_kwh",
    "pv_kwh",
    "genset_kwh",
    "load_kwh",
    "battery_cycles",
    "biogas_produced_m3",
    "biogas_used_m3",
    "biogas_flared_m3",
    "biogas_vented_m3",
    "diesel_l",
    "genset_hours",
    "demand_kwh",
    "served_kwh",
    "served_fraction_pu",
    "emissions_location_kgco2",
    "emissions_net_kgco2",
    "homes.unserved_kwh",
}


@pytest.fixture
def site():
    return ts.tiny_site(
        ts.pv(),
        ts.battery(wear_cost_per_kwh=0.1),
        ts.grid(),
        ts.digester(methane_fraction_pu=0.6),
        ts.biogas_genset(variable_om_per_kwh=0.05, heat_recovery_pu=1.0),
        ts.diesel_genset(variable_om_per_kwh=0.02),
        ts.fixed_load(),
        ts.heat_load(electric_backup_cop_pu=3.0),
        step_minutes=30,
    )


@pytest.fixture
def table():
    """Two 30-min intervals; each balances: supply 52 = demand 52, supply 60 = demand 60."""
    columns = {
        "pv.available_kw": [13, 45],
        "pv.pv_kw": [13, 40],
        "pv.curtailed_kw": [0, 5],
        "bat.charge_kw": [10, 0],
        "bat.discharge_kw": [0, 20],
        "bat.soc_kwh": [54.75, 44.3],
        "grid.import_kw": [20, 0],
        "grid.export_kw": [0, 30],
        "grid.import_price_per_kwh": [1.2, 1.2],
        "grid.export_price_per_kwh": [0.4, 0.4],
        "grid.carbon_kgco2_per_kwh": [0.6, 0.6],
        "grid.available_pu": [1, 1],
        "dig.production_m3": [5, 5],
        "dig.cooking_m3": [0.5, 0],
        "dig.gas_m3": [20.6, 25.6],
        "dig.flared_m3": [1, 0],
        "dig.vented_m3": [0.5, 0],
        "gas-gen.power_kw": [8, 0],
        "gas-gen.fuel_m3": [2.4, 0],
        "gas-gen.heat_kw": [8, 0],
        "diesel.power_kw": [10, 0],
        "diesel.fuel_l": [1.5, 0],
        "diesel.heat_kw": [0, 0],
        "homes.forecast_kw": [40, 30],
        "homes.demand_kw": [40, 30],
        "homes.served_kw": [39, 30],
        "homes.shed_kw": [1, 0],
        "cold.forecast_kw": [6, 6],
        "cold.chp_heat_kw": [0, 0],
        "cold.backup_kw": [2, 0],
        "cold.unserved_kw": [0, 6],
        "unserved_kw": [1, 0],
    }
    return pd.DataFrame(columns, index=ts.hourly_index(1, step_minutes=30), dtype=float)


def test_vented_factor_is_methane_share_density_and_gwp():
    assert METHANE_DENSITY_KG_PER_M3 == 0.717
    assert METHANE_GWP100_NON_FOSSIL == 27.0
    assert vented_kgco2e_per_m3(0.6) == pytest.approx(11.6154)


def test_interval_cost_and_emissions_by_hand(site, table):
    acc = interval_accounts(site, table)
    assert list(acc.columns) == ["cost", "emissions_kgco2"]
    assert acc.index.equals(table.index)
    # import 20 kW·0.5 h·1.2 + wear 10·0.5·0.1 + diesel 1.5 L·8 + O&M 10·0.5·0.02 + 8·0.5·0.05
    assert acc["cost"].iloc[0] == pytest.approx(12 + 0.5 + 12 + 0.1 + 0.2)
    # export 30·0.5·0.4 earns 6; wear 20·0.5·0.1 costs 1
    assert acc["cost"].iloc[1] == pytest.approx(-6 + 1)
    # grid 10 kWh·0.6 + diesel 1.5 L·2.68 + vented 0.5 m³·0.6·0.717·27; flaring counts zero
    assert acc["emissions_kgco2"].iloc[0] == pytest.approx(6 + 4.02 + 0.5 * 0.6 * 0.717 * 27)
    assert acc["emissions_kgco2"].iloc[1] == pytest.approx(0)


def test_kpis_by_hand(site, table):
    k = kpis(site, table)
    assert set(k) == KPI_KEYS
    assert all(isinstance(v, float) for v in k.values())
    expected = {
        "cost": 24.8 - 5.0,
        "import_kwh": 10,
        "export_kwh": 15,
        "pv_kwh": 26.5,
        "curtailed_kwh": 2.5,
        "unserved_kwh": 0.5,
        "peak_import_kw": 20,
        "genset_kwh": 9,
        "load_kwh": 36,  # demand: homes 40·0.5 + 30·0.5 and backup chiller 2·0.5
        "demand_kwh": 36,
        "served_kwh": 35.5,  # 1 kW of the homes shed for 0.5 h
        "served_fraction_pu": 35.5 / 36,
        "homes.unserved_kwh": 0.5,
        # shares of the demand (plus export): import 10 + diesel 5 + unserved 0.5 are not
        # renewable; import 10 + unserved 0.5 are not self-supplied
        "renewable_fraction_pu": 1 - 15.5 / 51,
        "self_sufficiency_pu": 1 - 10.5 / 36,
        # location: grid import 10 kWh × 0.6; net: less export 15 kWh × 0.6
        "emissions_location_kgco2": 6 + 4.02 + 0.5 * 0.6 * 0.717 * 27,
        "emissions_net_kgco2": 6 - 9 + 4.02 + 0.5 * 0.6 * 0.717 * 27,
        "battery_cycles": 10 / 85,  # 10 kWh discharged over 100 kWh × (0.95 − 0.1)
        "biogas_produced_m3": 10,
        "biogas_used_m3": 2.9,
        "biogas_flared_m3": 1,
        "biogas_vented_m3": 0.5,
        "diesel_l": 1.5,
        "genset_hours": 1.0,  # two gensets running for one 30-min interval
    }
    for key, value in expected.items():
        assert k[key] == pytest.approx(value), key


def test_shares_stay_in_unit_interval_and_are_zero_without_load(site, table):
    idle = table * 0
    k = kpis(site, idle)
    assert k["renewable_fraction_pu"] == 0 and k["self_sufficiency_pu"] == 0
    charging_from_grid = table.copy()
    charging_from_grid["grid.import_kw"] = [200, 200]  # more import than load served
    k = kpis(site, charging_from_grid)
    assert k["self_sufficiency_pu"] == 0 and k["renewable_fraction_pu"] == 0


def test_missing_column_is_named(site, table):
    with pytest.raises(KeyError, match="bat.charge_kw"):
        interval_accounts(site, table.drop(columns="bat.charge_kw"))


def test_interval_spacing_must_match_the_site_step(site, table):
    hourly = table.set_axis(ts.hourly_index(2), axis=0)
    with pytest.raises(ValueError, match="30 min apart"):
        interval_accounts(site, hourly)


def test_objective_terms_by_hand(table):
    site = ts.tiny_site(
        ts.pv(),
        ts.battery(wear_cost_per_kwh=0.1),
        ts.grid(peak_import_charge_per_kw=2.0),
        ts.digester(methane_fraction_pu=0.6),
        ts.biogas_genset(variable_om_per_kwh=0.05, heat_recovery_pu=1.0),
        ts.diesel_genset(variable_om_per_kwh=0.02),
        ts.fixed_load(),
        ts.heat_load(electric_backup_cop_pu=3.0),
        step_minutes=30,
        carbon_price_per_kgco2=0.1,
        value_of_lost_load_per_kwh=10.0,
    )
    terms = objective_terms(site, table)
    emissions = 6 + 4.02 + 0.5 * 0.6 * 0.717 * 27
    expected = {
        "cost": 19.8,
        "horizon_cost": 2.0 * 20,  # on the peak import of 20 kW
        "penalty": 10.0 * (1 + 6) * 0.5,  # 1 kW electricity, then 6 kW heat, unserved
        "emissions_kgco2": emissions,
        "carbon_cost": 0.1 * emissions,
    }
    for key, value in expected.items():
        assert terms[key] == pytest.approx(value), key
    assert terms["objective"] == pytest.approx(19.8 + 40 + 35 + 0.1 * emissions)
