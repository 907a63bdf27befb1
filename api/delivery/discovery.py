"""Home Assistant MQTT discovery: one retained device-based config message per site.

The device is the site; its components are a sensor per setpoint of the dispatch document
(unit and device class from the quantity's unit suffix), the plan status, and a "plan stale"
binary sensor. The message goes to ``<prefix>/device/villagegrid_<site>/config``.
"""

from __future__ import annotations

from typing import Any

from api.delivery.messages import Message, dumps
from api.delivery.topics import Topics

#: Unit suffix of a quantity -> (unit of measurement, device class) in Home Assistant terms.
#: Stored levels (``soc_kwh``, ``gas_m3``) are storage classes; both are measurements.
UNITS: dict[str, tuple[str | None, str | None]] = {
    "_kw": ("kW", "power"),
    "_kwh": ("kWh", "energy_storage"),
    "_m3": ("m³", "volume_storage"),
    "_pu": (None, None),
}
ORIGIN = {"name": "villagegrid", "sw": "0.1.0"}


def _unit(quantity: str) -> tuple[str | None, str | None]:
    for suffix, found in UNITS.items():
        if quantity.endswith(suffix):
            return found
    return None, None


def _setpoint_component(topics: Topics, doc: dict[str, Any], device: str, quantity: str,
                        expire_after_s: int) -> dict[str, Any]:
    unit, device_class = _unit(quantity)
    site = doc["site"]
    component: dict[str, Any] = {
        "p": "sensor", "name": f"{device} {quantity}",
        "unique_id": f"villagegrid_{site}_{device}_{quantity}",
        "state_topic": topics.setpoints(site, device),
        "value_template": f"{{{{ value_json['{quantity}'] }}}}",
        "state_class": "measurement", "expire_after": expire_after_s,
    }
    if unit is not None:
        component["unit_of_measurement"] = unit
    if device_class is not None:
        component["device_class"] = device_class
    return component


def discovery_message(topics: Topics, doc: dict[str, Any], expire_after_s: int) -> Message:
    """The site's discovery config, its components read from the dispatch document."""
    site = doc["site"]
    components = {
        f"{device}_{quantity}": _setpoint_component(topics, doc, device, quantity,
                                                    expire_after_s)
        for device, quantities in sorted(doc["setpoints"].items()) for quantity in quantities
    }
    components["plan_status"] = {
        "p": "sensor", "name": "plan status", "unique_id": f"villagegrid_{site}_plan_status",
        "state_topic": topics.plan(site), "value_template": "{{ value_json.status }}",
    }
    components["plan_stale"] = {
        "p": "binary_sensor", "name": "plan stale", "device_class": "problem",
        "unique_id": f"villagegrid_{site}_plan_stale", "state_topic": topics.plan(site),
        "value_template": "{{ 'ON' if value_json.stale else 'OFF' }}",
    }
    body = {
        "dev": {"ids": [f"villagegrid_{site}"], "name": site, "mf": "villagegrid",
                "mdl": "village microgrid plan"},
        "o": ORIGIN,
        "cmps": components,
        "availability_topic": topics.status(),
        "qos": 1,
    }
    return Message(topics.discovery(site), dumps(body))
