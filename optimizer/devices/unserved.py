"""Unserved load: the site-wide total of the power shed from every load.

See docs/formulation.md, *Loads and shedding*. It is not a device of the site file: the
registry adds one to every site. Each load sheds and prices its own power
(``optimizer.devices.shedding``); this model only sums it into the plan's ``unserved_kw``.
"""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo

from optimizer.columns import Column
from optimizer.devices.base import SHEDDABLE, Array, Context, DeviceData, DeviceModel
from sites.schema import Site

#: The site-wide plan-table column: the total shed power, which closes the bus balance.
COLUMNS = (
    Column("unserved_kw", "kW", "decision", 1, "unserved", "unserved",
           "total power shed from the loads", source="unserved"),
)  # fmt: skip


class UnservedModel(DeviceModel):
    COLUMNS = COLUMNS

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
        sheds = ctx.links.drawn(*SHEDDABLE)
        blk.total_shed = pyo.Constraint(
            ctx.T, rule=lambda b, t: b.unserved_kw[t] - sum(s[t] for s in sheds) == 0
        )

    def decisions(self, values: Any, data: DeviceData) -> dict[str, Array]:
        return {"unserved_kw": values("unserved_kw")}
