"""Grid connection: limits, time-of-use prices, export, carbon, outages, peak-import charge.

See docs/formulation.md, section *grid*.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from optimizer.columns import Column
from optimizer.devices.base import Array, Context, DeviceData, DeviceModel
from optimizer.planview import FULL_PU, SUN_SHARE_PU, Action, PlanView, runs
from optimizer.rules import BOUGHT, EXPORT, MUST_RUN, DeviceRule, RuleContext, Source
from sites.schema import Grid
from sites.timeindex import hourly_to_index, local_hours

#: Plan-table columns of a grid connection (docs/formulation.md, *The device contract:
#: columns*).
COLUMNS = (
    Column("import_price_per_kwh", "currency/kWh", "input", 0, "price", "import price",
           "price of a kWh bought"),
    Column("export_price_per_kwh", "currency/kWh", "input", 0, "price", "export price",
           "price of a kWh sold"),
    Column("carbon_kgco2_per_kwh", "kgCO2/kWh", "input", 0, "carbon", "grid carbon",
           "emission factor of a kWh imported"),
    Column("available_pu", "pu", "input", 0, "limit", "grid up", "1 where the grid is up"),
    Column("import_limit_kw", "kW", "input", 0, "limit", "import limit",
           "largest import (rating or an operator's cap)"),
    Column("export_limit_kw", "kW", "input", 0, "limit", "export limit",
           "largest export (rating or an operator's cap)"),
    Column("import_kw", "kW", "setpoint", 1, "import", "grid import", "power bought",
           source="grid"),
    Column("export_kw", "kW", "setpoint", -1, "export", "grid export", "power sold"),
)  # fmt: skip

#: Import and export both above this in one interval count as simultaneous [kW].
ONE_WAY_TOLERANCE_KW = 1e-6


def available_pu(spec: Grid, index: pd.DatetimeIndex, step: pd.Timedelta) -> Array:
    """1 where the grid is up, 0 in any interval that overlaps a scheduled outage [pu]."""
    out = np.ones(len(index))
    ends = index + step
    for outage in spec.outages:
        lo, hi = pd.Timestamp(outage.start), pd.Timestamp(outage.end)
        out[np.asarray((index < hi) & (ends > lo))] = 0.0
    return out


class GridModel(DeviceModel):
    spec: Grid
    COLUMNS = COLUMNS
    cost_vars = ("import_kw", "export_kw")
    inputs = (
        "import_price_per_kwh",
        "export_price_per_kwh",
        "carbon_kgco2_per_kwh",
        "available_pu",
        "import_limit_kw",
        "export_limit_kw",
    )
    #: limits an operator may lower for a period; a caller's inputs may leave them out and
    #: get the site's ratings
    optional_inputs = ("import_limit_kw", "export_limit_kw")

    def site_inputs(self, index: pd.DatetimeIndex) -> dict[str, Array]:
        g = self.spec
        hours = local_hours(self.site, index)
        if g.hourly_carbon_kgco2_per_kwh is not None:
            carbon = hourly_to_index(self.site, index, g.hourly_carbon_kgco2_per_kwh)
        else:
            carbon = np.full(len(index), g.carbon_factor.kgco2_per_kwh)
        return {
            "import_price_per_kwh": np.array([g.import_price_at(h) for h in hours]),
            "export_price_per_kwh": np.full(len(index), g.export_price_per_kwh),
            "carbon_kgco2_per_kwh": carbon,
            "available_pu": available_pu(g, index, pd.Timedelta(self.site.step)),
            "import_limit_kw": np.full(len(index), g.max_import_kw),
            "export_limit_kw": np.full(len(index), g.max_export_kw),
        }

    def sources(self) -> dict[str, Any]:
        factor = self.spec.carbon_factor
        flat = "hourly series of the site file" if self.spec.hourly_carbon_kgco2_per_kwh else None
        return {
            "carbon_kgco2_per_kwh": flat or factor.kgco2_per_kwh,
            "grid_region": None if self.spec.carbon_kgco2_per_kwh is not None
            else self.spec.grid_region,
            "year": factor.year,
            "source": factor.source,
            "carbon_accounting": self.site.carbon_accounting,
        }

    def build(self, blk: Any, ctx: Context) -> None:
        g = self.spec
        self.add_input_params(blk, ctx)
        blk.import_kw = pyo.Var(
            ctx.T, bounds=lambda b, t: (0.0, b.import_limit_kw[t] * b.available_pu[t])
        )
        blk.export_kw = pyo.Var(
            ctx.T, bounds=lambda b, t: (0.0, b.export_limit_kw[t] * b.available_pu[t])
        )
        if g.peak_import_charge_per_kw > 0:
            blk.peak_import_kw = pyo.Var(bounds=(0.0, None))
            blk.peak_import = pyo.Constraint(
                ctx.T, rule=lambda b, t: b.import_kw[t] <= b.peak_import_kw
            )

    def bus_kw(self, blk: Any, t: int) -> Any:
        return blk.import_kw[t] - blk.export_kw[t]

    def cost(self, x: Any, step_h: float) -> Any:
        return (
            x["import_price_per_kwh"] * x["import_kw"] - x["export_price_per_kwh"] * x["export_kw"]
        ) * step_h

    def emissions(self, x: Any, step_h: float, accounting: str | None = None) -> Any:
        """Import × hourly factor; under ``net`` accounting exports are credited at the same
        factor (docs/kpis.md, *Carbon accounting*); ``accounting`` None: the site's."""
        if (accounting or self.site.carbon_accounting) == "net":
            return x["carbon_kgco2_per_kwh"] * (x["import_kw"] - x["export_kw"]) * step_h
        return x["carbon_kgco2_per_kwh"] * x["import_kw"] * step_h

    def supply_price_per_kwh(self, inputs: dict[str, Array]) -> Array | None:
        """Import price plus the carbon price on its emissions, where the grid is up."""
        price = (
            inputs["import_price_per_kwh"]
            + self.site.carbon_price_per_kgco2 * inputs["carbon_kgco2_per_kwh"]
        )
        return np.where(inputs["available_pu"] > 0, price, np.nan)

    def horizon_cost(self, blk: Any, ctx: Context) -> Any:
        if self.spec.peak_import_charge_per_kw > 0:
            return self.spec.peak_import_charge_per_kw * blk.peak_import_kw
        return 0.0

    def restrict(self, blk: Any, values: Any) -> list[tuple[Any, float, float]]:
        """One-way flow: where a solution imports and exports at once, keep the larger flow.

        Only where exporting pays more than importing costs can buying and reselling in the
        same interval look profitable; the flow there is fixed to the direction of the net
        flow, and the plan re-solved (docs/formulation.md, *grid*).
        """
        imports, exports = values("import_kw"), values("export_kw")
        both = np.flatnonzero((imports > ONE_WAY_TOLERANCE_KW) & (exports > ONE_WAY_TOLERANCE_KW))
        return [
            (blk.export_kw[t], 0.0, 0.0)
            if imports[t] >= exports[t]
            else (blk.import_kw[t], 0.0, 0.0)
            for t in both.tolist()
        ]

    def decisions(self, values: Any, data: DeviceData) -> dict[str, Array]:
        return {"import_kw": values("import_kw"), "export_kw": values("export_kw")}

    # --- columns ----------------------------------------------------------------------
    def plan_horizon_cost(self, x: Any) -> float:
        """The peak-import charge on the plan's highest import [currency]."""
        charge = self.spec.peak_import_charge_per_kw
        return charge * float(np.max(x["import_kw"], initial=0.0)) if charge > 0 else 0.0

    # --- plain words (optimizer/explain.py) ---
    def explain(self, view: PlanView) -> Iterator[Action]:
        """Announced outages and export runs, each with its reason."""
        return explain_grid(self.spec, view)

    # --- rule-based dispatch ---
    def rule(self, ctx: RuleContext) -> DeviceRule:
        return GridRule(self, ctx)


class GridRule(DeviceRule):
    """The grid in the rule-based dispatch: import in the ``BOUGHT`` class at the tariff plus
    the carbon price × the grid's intensity; export takes surplus after the stores; both
    within limits that an outage sets to zero."""

    absorb_rank = EXPORT

    def __init__(self, model: GridModel, ctx: RuleContext):
        super().__init__(model.name, ctx)
        g, n = model.spec, model.name
        self.available = ctx.values(n, "available_pu")
        self.price = ctx.values(n, "import_price_per_kwh")
        self.export_price = ctx.values(n, "export_price_per_kwh")
        self.carbon = ctx.values(n, "carbon_kgco2_per_kwh")
        self.carbon_price = ctx.site.carbon_price_per_kgco2
        self.import_limit = ctx.values(n, "import_limit_kw", g.max_import_kw)
        self.export_limit = ctx.values(n, "export_limit_kw", g.max_export_kw)
        self.max_import_kw = g.max_import_kw
        self.import_kw = self.export_kw = 0.0
        #: pinned: the plan's import and export in this interval, within the limits [kW]
        self.pinned_kw = self.planned_export_kw = 0.0
        self.import_column, self.export_column = self.column("import_kw"), self.column("export_kw")

    def spare_kw(self) -> Array | float:
        """Import within its limit (an operator's cap included) where the grid is up."""
        limit = self.ctx.series(self.name, "import_limit_kw", self.max_import_kw)
        return limit * self.ctx.series(self.name, "available_pu")

    def demand_kw(self, t: int) -> float:
        """Pinned: the plan's net exchange within the limits; its export is a demand."""
        if self.plan is None:
            return 0.0
        net = self.planned("import_kw", t) - self.planned("export_kw", t)
        up = self.available[t]
        net = min(max(net, -up * self.export_limit[t]), up * self.import_limit[t])
        self.pinned_kw, self.planned_export_kw = max(0.0, net), max(0.0, -net)
        return self.planned_export_kw

    def prepare(self, t: int) -> None:
        self.import_kw = self.export_kw = 0.0

    def _take(self, x: float) -> None:
        self.import_kw += x

    def sources(self, t: int) -> list[Source]:
        take = self._take
        price = self.price[t] + self.carbon_price * self.carbon[t]
        limit_kw = self.available[t] * self.import_limit[t]
        if self.plan is None:
            return [Source(limit_kw, price, take, rank=BOUGHT)]
        # pinned: the planned import is bought anyway (surplus is taken back by exporting);
        # more import (first cancelling planned export) up to the limit
        more = limit_kw - self.pinned_kw + self.planned_export_kw
        return [
            Source(self.pinned_kw, 0.0, rank=MUST_RUN, spill=lambda _: 0.0),
            Source(more, price, take, rank=BOUGHT),
        ]

    def absorb(self, t: int, surplus_kw: float) -> tuple[float, float | None]:
        """Export what the limit allows of ``surplus_kw``, at the export price; pinned, the
        planned import is cancelled first."""
        limit_kw = self.available[t] * self.export_limit[t]
        limit_kw += self.pinned_kw - self.planned_export_kw
        self.export_kw = max(0.0, min(limit_kw, surplus_kw))
        return self.export_kw, self.export_price[t]

    def finish(self, t: int) -> None:
        if self.plan is not None:  # one net exchange: planned ± what took the error
            net = self.pinned_kw + self.import_kw - self.planned_export_kw - self.export_kw
            self.import_kw, self.export_kw = max(0.0, net), max(0.0, -net)
        self.import_column[t], self.export_column[t] = self.import_kw, self.export_kw


def explain_grid(spec: Grid, view: PlanView) -> Iterator[Action]:
    """Announced outages (with the electric stores kept full for them, if so) and export
    runs (spare sun or the export price)."""
    # the electric stores: their carried levels, sizes and tops of their usable ranges
    levels = [(m, var) for m in view.models if m.storage_kwh() > 0
              for var in m.state_table() if var.column and var.usable]
    capacity = sum(float(var.upper) for _, var in levels)
    soc = view.total([f"{m.prefix}{var.column}" for m, var in levels])
    for first, stop in runs(view.outage):
        numbers = {"available_pu": float(view.column(f"{spec.name}.available_pu")[first:stop]
                                          .min())}
        why = "announced"
        if capacity > 0:
            before = float(soc[first - 1]) if first > 0 else float(soc[first])
            numbers["soc_pu"] = before / capacity
            top = sum(var.usable[1] for _, var in levels)  # type: ignore[index]
            if before >= FULL_PU * top:
                why = "reserve"
        yield Action(*view.span(first, stop), "outage", spec.name, why, numbers, notice=True)
    export = view.column(f"{spec.name}.export_kw")
    for first, stop, numbers in view.told_runs(export):
        numbers["export_price_per_kwh"] = float(
            view.column(f"{spec.name}.export_price_per_kwh")[first:stop].mean())
        share = view.energy(np.minimum(view.spare_sun_kw, export), first, stop)
        why = "sun" if share >= SUN_SHARE_PU * numbers["energy_kwh"] else "price"
        numbers["solar_kwh"] = share
        yield Action(*view.span(first, stop), "export", spec.name, why, numbers)
