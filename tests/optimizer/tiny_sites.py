"""Small sites and tables for optimizer tests, built in code so each test shows its numbers."""

from __future__ import annotations

from typing import Any

import pandas as pd

from sites.load import site_from_data
from sites.schema import Site

LOCATION = {"latitude_deg": 24.0, "longitude_deg": 113.0, "timezone": "Asia/Shanghai"}
FLAT_TARIFF = [{"start_h": 0, "end_h": 24, "price_per_kwh": 1.0}]


def tiny_site(*devices: dict[str, Any], step_minutes: int = 60, **fields: Any) -> Site:
    """A validated site at a fixed location with the given device mappings."""
    data = {
        "name": "tiny",
        "location": LOCATION,
        "step_minutes": step_minutes,
        "devices": list(devices),
        **fields,
    }
    return site_from_data(data, "tiny")


def grid(**fields: Any) -> dict[str, Any]:
    return {
        "name": "grid",
        "kind": "grid",
        "max_import_kw": 100,
        "max_export_kw": 50,
        "import_tariff": FLAT_TARIFF,
        "carbon_kgco2_per_kwh": 0.5,
        **fields,
    }


def battery(**fields: Any) -> dict[str, Any]:
    return {
        "name": "bat",
        "kind": "battery",
        "capacity_kwh": 100,
        "max_charge_kw": 50,
        "max_discharge_kw": 50,
        **fields,
    }


def pv(**fields: Any) -> dict[str, Any]:
    return {
        "name": "pv",
        "kind": "pv_array",
        "surface": "roof",
        "tilt_deg": 20,
        "azimuth_deg": 180,
        "dc_capacity_kwp": 50,
        "inverter_ac_kw": 40,
        **fields,
    }


def fixed_load(**fields: Any) -> dict[str, Any]:
    return {"name": "homes", "kind": "load", "type": "fixed", "profile_kw": [10.0] * 24, **fields}


def shiftable(**fields: Any) -> dict[str, Any]:
    return {
        "name": "pump",
        "kind": "load",
        "type": "shiftable",
        "energy_kwh": 20,
        "max_power_kw": 10,
        "window_start_h": 8,
        "window_end_h": 20,
        **fields,
    }


def digester(**fields: Any) -> dict[str, Any]:
    return {
        "name": "dig",
        "kind": "digester",
        "feedstocks": [{"name": "manure", "kg_per_day": 2400, "biogas_yield_m3_per_kg": 0.05}],
        "holder_max_m3": 50,
        "holder_initial_m3": 20,
        **fields,
    }


def biogas_genset(**fields: Any) -> dict[str, Any]:
    return {
        "name": "gas-gen",
        "kind": "genset",
        "rated_kw": 20,
        "fuel": {"type": "biogas", "digester": "dig", "m3_per_kwh": 0.6},
        **fields,
    }


def diesel_genset(**fields: Any) -> dict[str, Any]:
    return {
        "name": "diesel",
        "kind": "genset",
        "rated_kw": 30,
        "fuel": {"type": "diesel", "l_per_kwh": 0.3, "price_per_l": 8.0},
        **fields,
    }


def heat_load(**fields: Any) -> dict[str, Any]:
    return {
        "name": "cold",
        "kind": "heat_load",
        "profile_kw": [6.0] * 24,
        "chp_units": ["gas-gen"],
        **fields,
    }


def hourly_index(
    hours: int, start: str = "2026-06-01 00:00", step_minutes: int = 60
) -> pd.DatetimeIndex:
    """``hours`` worth of intervals from a local (Asia/Shanghai) start, in UTC."""
    first = pd.Timestamp(start, tz="Asia/Shanghai").tz_convert("UTC")
    return pd.date_range(
        first, periods=hours * 60 // step_minutes, freq=f"{step_minutes}min", name="start"
    )


def frame(index: pd.DatetimeIndex, **columns: Any) -> pd.DataFrame:
    """A table on ``index``; keyword ``a__b`` names column ``a.b`` (``-`` as ``_``-free names).

    Scalars are broadcast; sequences must match the index.
    """
    data = {name.replace("__", "."): value for name, value in columns.items()}
    return pd.DataFrame(data, index=index, dtype=float)
