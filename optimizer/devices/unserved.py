"""Unserved load: the bus's slack, priced at the site's value of lost load.

See docs/formulation.md, *unserved load*. It is not a device of the site file: the registry
adds one to every site, so every plan exists and shows its shortfall.
"""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo

from optimizer.devices.base import SHEDDABLE, Array, Context, DeviceData, DeviceModel
from sites.schema import Site


class UnservedModel(DeviceModel):
    def __init__(self, spec: Any, site: Site):
        self.spec = spec
        self.site = site
        self.name = SHEDDABLE[0]  # not a valid device name, so it cannot clash

    @property
    def prefix(self) -> str:
        return ""

    def build(self, blk: Any, ctx: Context) -> None:
        blk.unserved_kw = pyo.Var(ctx.T, bounds=(0.0, None))

    def link(self, blk: Any, ctx: Context) -> None:
        # Lost load is load not served: it can stand in for the loads' own demand only, never
        # for a battery's charging or an export (docs/formulation.md, *unserved load*).
        demands = ctx.links.drawn(*SHEDDABLE)
        blk.within_demand = pyo.Constraint(
            ctx.T, rule=lambda b, t: b.unserved_kw[t] - sum(d[t] for d in demands) <= 0
        )

    def bus_kw(self, blk: Any, t: int) -> Any:
        return blk.unserved_kw[t]

    def penalty(self, blk: Any, ctx: Context) -> Any:
        voll = self.site.value_of_lost_load_per_kwh
        return sum(voll * blk.unserved_kw[t] * ctx.step_h for t in ctx.T)

    def decisions(self, values: Any, data: DeviceData) -> dict[str, Array]:
        return {"unserved_kw": values("unserved_kw")}
