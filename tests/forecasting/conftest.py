"""Small sites for forecasting tests."""

from __future__ import annotations

from typing import Any

import pytest

from sites.schema import Site


def array(name: str, tilt: float, azimuth: float, **kw: Any) -> dict[str, Any]:
    """A pv_array entry: 10 kWp on a 10 kW inverter unless overridden."""
    return {
        "name": name,
        "kind": "pv_array",
        "surface": "facade" if tilt >= 75 else "roof",
        "tilt_deg": tilt,
        "azimuth_deg": azimuth,
        "dc_capacity_kwp": 10.0,
        "inverter_ac_kw": 10.0,
        **kw,
    }


def make_site(
    devices: list[dict[str, Any]],
    *,
    latitude: float = 24.18,
    longitude: float = 113.05,
    timezone: str = "Asia/Shanghai",
    step_minutes: int = 15,
    altitude: float = 80.0,
) -> Site:
    return Site.model_validate(
        {
            "name": "test-site",
            "location": {
                "latitude_deg": latitude,
                "longitude_deg": longitude,
                "altitude_m": altitude,
                "timezone": timezone,
            },
            "step_minutes": step_minutes,
            "devices": devices,
        }
    )


@pytest.fixture
def four_walls() -> Site:
    """A south roof, a west and a south façade, and a north façade in southern China."""
    return make_site(
        [
            array("south-roof", 25, 180),
            array("west-facade", 90, 270),
            array("south-facade", 90, 180),
            array("north-facade", 90, 0),
        ]
    )
