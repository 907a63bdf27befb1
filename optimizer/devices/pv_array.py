"""PV array: output up to the forecast AC power; the rest is curtailed (formulation.md)."""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo

from optimizer.devices.base import (
    Array,
    Context,
    DeviceData,
    DeviceModel,
)


class PvArrayModel(DeviceModel):
    inputs = ("available_kw",)
    forecast = "pv"

    def build(self, blk: Any, ctx: Context) -> None:
        self.add_input_params(blk, ctx)
        blk.pv_kw = pyo.Var(ctx.T, bounds=lambda b, t: (0.0, b.available_kw[t]))

    def bus_kw(self, blk: Any, t: int) -> Any:
        return blk.pv_kw[t]

    def decisions(self, values: Any, data: DeviceData) -> dict[str, Array]:
        pv = values("pv_kw")
        return {"pv_kw": pv, "curtailed_kw": (data.inputs["available_kw"] - pv).clip(min=0.0)}
