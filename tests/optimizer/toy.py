"""Tiny sites for hand-solvable optimizer tests, and checks every test plan must pass."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from optimizer.inputs import build_inputs
from optimizer.plan import Plan
from optimizer.planner import make_plan
from sites.load import site_from_data
from sites.schema import (
    Battery,
    Digester,
    FixedLoad,
    Genset,
    Grid,
    HeatLoad,
    PvArray,
    ShiftableLoad,
    Site,
)
from sites.timeindex import day_index
from tests.optimizer.invariants import assert_plan_invariants

DAY = date(2026, 7, 1)
TOL = 1e-6


def toy_site(*devices: dict[str, Any], **fields: Any) -> Site:
    """A site in Asia/Shanghai (no DST) with the given device dicts; carbon price 0."""
    data = {
        "name": "toy",
        "location": {"latitude_deg": 30.0, "longitude_deg": 110.0, "timezone": "Asia/Shanghai"},
        "step_minutes": 60,
        "carbon_price_per_kgco2": 0.0,
        "value_of_lost_load_per_kwh": 10.0,
        "devices": list(devices),
    }
    data.update(fields)
    return site_from_data(data)


def grid(max_import_kw: float = 100.0, **fields: Any) -> dict[str, Any]:
    spec = {
        "name": "grid",
        "kind": "grid",
        "max_import_kw": max_import_kw,
        "import_tariff": [{"start_h": 0, "end_h": 24, "price_per_kwh": 1.0}],
        "carbon_kgco2_per_kwh": 0.0,
    }
    spec.update(fields)
    return spec


def load(name: str = "load") -> dict[str, Any]:
    return {"name": name, "kind": "load", "type": "fixed", "profile_kw": [0.0] * 24}


def pv(name: str = "pv") -> dict[str, Any]:
    return {
        "name": name, "kind": "pv_array", "surface": "roof", "tilt_deg": 20,
        "azimuth_deg": 180, "dc_capacity_kwp": 100, "inverter_ac_kw": 100,
    }  # fmt: skip


def index(site: Site, n: int, day: date = DAY) -> pd.DatetimeIndex:
    """The first ``n`` intervals of a local day."""
    return day_index(site, day)[:n]


def inputs(site: Site, idx: pd.DatetimeIndex, **columns: Any) -> pd.DataFrame:
    """Inputs with the given columns (``grid__import_price_per_kwh=[...]`` for
    ``grid.import_price_per_kwh``); PV and load forecasts default to zero."""
    given = {
        k.replace("__", "."): np.broadcast_to(np.asarray(v, float), len(idx))
        for k, v in columns.items()
    }
    for d in site.devices:
        if isinstance(d, PvArray):
            given.setdefault(f"{d.name}.available_kw", np.zeros(len(idx)))
        if isinstance(d, FixedLoad | HeatLoad):
            given.setdefault(f"{d.name}.forecast_kw", np.zeros(len(idx)))
    return build_inputs(site, idx, overrides=pd.DataFrame(given, index=idx))


def plan(site: Site, n: int, *, day: date = DAY, state: Any = None, **kw: Any) -> Plan:
    """Plan the first ``n`` hours of the day with the given input columns, and check it."""
    options = {k: kw.pop(k) for k in ("mode", "emission_budget_kgco2", "mip_rel_gap") if k in kw}
    idx = index(site, n, day)
    result = make_plan(site, idx, inputs(site, idx, **kw), state, **options)
    check(site, result, state)
    return result


def bus_injection(site: Site, table: pd.DataFrame) -> np.ndarray:
    """Σ supply − Σ demand in each interval [kW], from the plan's own columns."""
    net = table["unserved_kw"].to_numpy().copy()
    for d in site.devices:
        col = lambda q, d=d: table[f"{d.name}.{q}"].to_numpy()  # noqa: E731
        if isinstance(d, PvArray):
            net += col("pv_kw")
        elif isinstance(d, Battery):
            net += col("discharge_kw") - col("charge_kw")
        elif isinstance(d, Genset):
            net += col("power_kw")
        elif isinstance(d, FixedLoad | ShiftableLoad):
            net -= col("demand_kw")
        elif isinstance(d, HeatLoad):
            net -= col("backup_kw")
        elif isinstance(d, Grid):
            net += col("import_kw") - col("export_kw")
    return net


def check(site: Site, p: Plan, state: Any = None) -> None:
    """Invariants of every plan: power balance, storage dynamics, bounds, objective terms,
    and the shared checker of ``tests/optimizer/invariants.py`` (fuel lines, ramps, heat,
    windows, and cost, emissions and KPIs recomputed by ``optimizer.accounting``)."""
    assert_plan_invariants(site, p, state)
    t = p.table
    step_h = site.step_h
    assert np.abs(bus_injection(site, t)).max() < TOL, "power balance"
    for d in site.devices:
        if isinstance(d, Battery):
            soc = t[f"{d.name}.soc_kwh"].to_numpy()
            assert soc.min() >= d.soc_min_pu * d.capacity_kwh - TOL
            assert soc.max() <= d.soc_max_pu * d.capacity_kwh + TOL
        if isinstance(d, Digester):
            gas = t[f"{d.name}.gas_m3"].to_numpy()
            assert gas.min() >= d.holder_min_m3 - TOL and gas.max() <= d.holder_max_m3 + TOL
        if isinstance(d, Grid):
            imp = t[f"{d.name}.import_kw"].to_numpy()
            exp = t[f"{d.name}.export_kw"].to_numpy()
            avail = t[f"{d.name}.available_pu"].to_numpy()
            assert (imp <= d.max_import_kw * avail + TOL).all()
            assert (exp <= d.max_export_kw * avail + TOL).all()
            assert (np.minimum(imp, exp) < TOL).all(), "one-way grid flow"
    terms = p.objective_terms
    total = (
        terms["cost"]
        + terms["horizon_cost"]
        + terms["penalty"]
        + terms["stored_shortfall_value"]
        + site.carbon_price_per_kgco2 * terms["emissions_kgco2"]
    )
    assert abs(total - terms["objective"]) < 1e-6 * max(1.0, abs(total))
    assert abs(t["emissions_kgco2"].sum() - terms["emissions_kgco2"]) < 1e-6
    assert step_h > 0
