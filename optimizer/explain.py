"""The plan in plain words: what a person does or should know, each with its reason.

``explain(site, plan)`` reads the plan's own table and KPIs and returns structured actions:
a code for what happens, a code for why, and the numbers behind both (prices, energies,
levels), so that a reason can never disagree with the plan. Turning actions into sentences of
a language is the caller's (``api/web/words.py``).

Each device kind tells its own actions: its model's ``explain(view)`` (the device module,
beside its rule and columns; ``DeviceModel.explain`` adds none), reading the plan through a
``optimizer.planview.PlanView``; the words of action codes a kind adds are its model's
``phrases``. Load shed is read from the columns of category ``shed`` (docs/formulation.md,
*The device contract: columns*), whichever device declares them. This module names no
device kind.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from optimizer.devices import device_models
from optimizer.planview import EPS_KW, Action, PlanView, runs, served_kw
from optimizer.site_columns import in_category
from sites.schema import Site

__all__ = ["Action", "Explanation", "explain", "runs", "served_kw"]


@dataclass(frozen=True)
class Explanation:
    """The actions of a plan in time order, and its totals (KPIs and savings)."""

    site: str
    plan_id: str
    start: datetime
    end: datetime
    status: str
    currency: str
    actions: tuple[Action, ...]
    totals: Mapping[str, float]


def _shed_runs(view: PlanView, device: str, shed: np.ndarray) -> Iterator[Action]:
    for first, stop in runs(shed > EPS_KW):
        numbers = {"power_kw": float(shed[first:stop].max()),
                   "energy_kwh": view.energy(shed, first, stop)}
        why = "outage" if view.outage[first:stop].any() else "short"
        yield Action(*view.span(first, stop), "shed", device, why, numbers, notice=True)


#: KPI keys the totals carry, and the baseline's savings
TOTALS = ("cost", "emissions_kgco2", "renewable_fraction_pu", "self_sufficiency_pu",
          "unserved_kwh", "curtailed_kwh")
SAVINGS = ("cost_saving", "emissions_saving_kgco2")


def explain(site: Site, plan: Any) -> Explanation:
    """The actions of ``plan`` (a :class:`optimizer.plan.Plan` of ``site``) in plain terms.

    Returns
    -------
    Explanation
        Actions sorted by start time (notices first at equal times), each with the numbers
        from the plan's table that give its reason; totals from the plan's KPIs and the
        savings against the rule-based dispatch.
    """
    models = tuple(device_models(site))
    view = PlanView(site, plan.table, plan.step_minutes / 60, models)
    actions: list[Action] = []
    if len(plan.table):
        for model in models:
            actions.extend(model.explain(view))
        # shed power: each load's (category ``shed``), else the site-wide total
        shed = in_category(site, "shed", plan.table) or in_category(site, "unserved", plan.table)
        for c in shed:
            actions.extend(_shed_runs(view, c.device.name if c.device.prefix else "",
                                      view.column(c.name)))
    actions.sort(key=lambda a: (a.start, not a.notice, a.end, a.device))
    totals = {k: float(plan.kpis[k]) for k in TOTALS if plan.kpis.get(k) is not None}
    totals.update({k: float(plan.baseline[k]) for k in SAVINGS
                   if plan.baseline.get(k) is not None})
    return Explanation(site.name, plan.plan_id, plan.start, plan.end, plan.status,
                       site.currency, tuple(actions), totals)
