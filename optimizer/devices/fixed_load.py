"""Fixed load: served as forecast (docs/formulation.md, *fixed load*)."""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo

from optimizer.devices.base import SHEDDABLE, Array, Context, DeviceData, DeviceModel


class FixedLoadModel(DeviceModel):
    inputs = ("forecast_kw",)
    forecast = "load"

    def build(self, blk: Any, ctx: Context) -> None:
        self.add_input_params(blk, ctx)
        # fixed by its bounds, so a new forecast changes bounds, never the matrix
        blk.power_kw = pyo.Var(ctx.T, bounds=lambda b, t: (b.forecast_kw[t], b.forecast_kw[t]))
        ctx.links.draw(*SHEDDABLE, blk.power_kw)

    def bus_kw(self, blk: Any, t: int) -> Any:
        return -blk.power_kw[t]

    def decisions(self, values: Any, data: DeviceData) -> dict[str, Array]:
        return {"power_kw": values("power_kw")}
