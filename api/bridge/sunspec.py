"""SunSpec model 124 (basic storage controls) as the bridge uses it.

Point offsets come from pysunspec2's JSON model definition; the model is found on the
device by walking the SunSpec chain from the ``SunS`` marker (each model starts with its id
and length; id 0xFFFF ends the chain). Reference: SunSpec Alliance, *SunSpec Information
Model Specification* and model 124 *Storage*, as shipped in pysunspec2.

Setpoints map onto the model as follows (``WChaMax`` is the rated charge power; model 124
gives no separate discharge rating, so ``OutWRte`` is taken as a share of ``WChaMax`` too):

- charge P kW:    ``StorCtl_Mod`` = 1 (charge),    ``InWRte``  = 100 × P / WChaMax [%]
- discharge P kW: ``StorCtl_Mod`` = 2 (discharge), ``OutWRte`` = 100 × P / WChaMax [%]
- idle:           ``StorCtl_Mod`` = 3, both rates 0
- ``InOutWRte_RvrtTms``: seconds until the inverter itself drops the rates, so a dead bridge
  cannot leave a stale command running.

``ChaState`` (state of charge, % of capacity) is read back as the battery's SoC.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

SUNS = (0x5375, 0x6E53)  # "SunS"
END_ID = 0xFFFF
CHARGE_BIT, DISCHARGE_BIT = 1, 2


@lru_cache(maxsize=8)
def point_offsets(model_id: int) -> dict[str, tuple[int, str]]:
    """Point name -> (offset from the model's id register, type), from pysunspec2."""
    text = (resources.files("sunspec2") / "models" / "json" / f"model_{model_id}.json"
            ).read_text()
    offset, out = 0, {}
    for point in json.loads(text)["group"]["points"]:
        out[point["name"]] = (offset, point["type"])
        offset += int(point.get("size", 1))
    return out


def find_model(read: Any, base: int, model_id: int) -> int:
    """Address of ``model_id``'s id register, walking the chain from ``base``.

    ``read(address, count)`` returns that many holding registers.
    """
    if tuple(read(base, 2)) != SUNS:
        raise LookupError(f"no SunSpec marker 'SunS' at register {base}")
    address = base + 2
    for _ in range(256):
        found, length = read(address, 2)
        if found == END_ID:
            break
        if found == model_id:
            return address
        address += 2 + length
    raise LookupError(f"the device has no SunSpec model {model_id} after register {base}")


def signed(raw: int) -> int:
    return raw - 0x10000 if raw & 0x8000 else raw


def storage_writes(charge_kw: float, discharge_kw: float, w_cha_max: float, rate_sf: int,
                   revert_s: int) -> dict[str, int]:
    """Raw register values of model 124 points for a charge or discharge setpoint."""
    def pct(kw: float) -> int:
        share = 0.0 if w_cha_max <= 0 else min(100.0, 100.0 * kw * 1000.0 / w_cha_max)
        return int(round(share / 10.0**rate_sf)) & 0xFFFF

    if charge_kw > 0:
        mode, rate_in, rate_out = CHARGE_BIT, pct(charge_kw), 0
    elif discharge_kw > 0:
        mode, rate_in, rate_out = DISCHARGE_BIT, 0, pct(discharge_kw)
    else:
        mode, rate_in, rate_out = CHARGE_BIT | DISCHARGE_BIT, 0, 0
    return {"StorCtl_Mod": mode, "InWRte": rate_in, "OutWRte": rate_out,
            "InOutWRte_RvrtTms": max(0, min(revert_s, 0xFFFF))}
