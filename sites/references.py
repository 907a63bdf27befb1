"""Checks between the devices of a site, on plain mappings.

They run as the Site model's last validation step, and on the raw data of a file whose
fields do not all validate, so that a file's every problem is reported in one run.
"""

from __future__ import annotations

from typing import Any

#: Device kinds that can supply the bus.
SUPPLY_KINDS = ("pv_array", "genset", "grid")

#: Fields that name CHP gensets whose recovered heat a device takes, on any kind of device.
HEAT_FIELDS = ("chp_units", "heated_by")


def reference_errors(devices: list[Any]) -> list[str]:
    """Every problem between devices: repeated names, a genset's digester or the CHP units a
    device takes heat from (``HEAT_FIELDS``) that do not exist, more than one grid, no supply.

    Works on plain mappings, so that a file whose fields do not all validate still gets
    these errors reported in the same run.
    """
    items = [d for d in devices if isinstance(d, dict)]
    names = [d.get("name") for d in items]
    errors = []
    twice = sorted({str(n) for n in names if n is not None and names.count(n) > 1})
    if twice:
        errors.append(f"device names must be unique; repeated: {', '.join(twice)}")
    by_name = {d.get("name"): d for d in items}
    for i, d in enumerate(devices):
        if not isinstance(d, dict):
            continue
        where = f"devices[{i}] ({d.get('name')})"
        fuel = d.get("fuel")
        if d.get("kind") == "genset" and isinstance(fuel, dict) and fuel.get("type") == "biogas":
            if (by_name.get(fuel.get("digester")) or {}).get("kind") != "digester":
                errors.append(f"{where}.fuel.digester: no digester named {fuel.get('digester')!r}")
        for field in HEAT_FIELDS:
            for unit in d.get(field) or ():
                g = by_name.get(unit) if isinstance(unit, str) else None
                recovery = (g or {}).get("heat_recovery_pu", 0) or 0
                if (g or {}).get("kind") != "genset" or not isinstance(recovery, int | float) \
                        or recovery <= 0:
                    errors.append(
                        f"{where}.{field}: {unit!r} is not a genset with heat_recovery_pu > 0"
                    )
        if d.get("kind") == "digester" and d.get("heated_by") and d.get("temperature") is None:
            errors.append(f"{where}.heated_by needs a temperature block")
    if sum(d.get("kind") == "grid" for d in items) > 1:
        errors.append("a site has at most one grid connection")
    if items and not any(d.get("kind") in SUPPLY_KINDS for d in items):
        errors.append("a site needs at least one supply: a pv_array, a genset or a grid")
    return errors
