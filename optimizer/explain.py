"""The plan in plain words: what a person does or should know, each with its reason.

``explain(site, plan)`` reads the plan's own table and KPIs and returns structured actions:
a code for what happens, a code for why, and the numbers behind both (prices, energies,
levels), so that a reason can never disagree with the plan. Turning actions into sentences of
a language is the caller's (``api/web/words.py``).

Each device kind has its explainer in ``EXPLAINERS``, keyed by its spec class (as the device
models are in ``optimizer.devices.REGISTRY``); kinds without one add no actions. Load shed
is read from the columns of category ``shed`` (docs/formulation.md, *The device contract:
columns*), whichever device declares them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from optimizer.columns import in_category
from optimizer.planview import EPS_KW, PlanView, runs, served_kw
from sites.schema import (
    Battery,
    Digester,
    Genset,
    Grid,
    ShiftableLoad,
    Site,
)

#: A store at or above this share of its usable range counts as full [pu].
FULL_PU = 0.97
#: Share of a run's energy that spare solar must give for "the sun gives most of it" [pu],
#: and for "the sun covers it".
SUN_SHARE_PU = 0.5
SUN_ALL_PU = 0.95
#: How far before an outage charging counts as keeping a reserve for it [h].
RESERVE_LOOKAHEAD_H = 12.0


@dataclass(frozen=True)
class Action:
    """One line of the plan in plain words.

    ``what`` says what happens (``run``, ``charge``, ``discharge``, ``genset``, ``export``,
    ``outage``, ``holder_full``, ``holder_low``, ``flare``, ``shed``), ``why`` the reason
    (``sun``, ``sun_part``, ``cheap``, ``price``, ``dear``, ``battery``, ``genset``,
    ``reserve``, ``outage``, ``no_sun``, ``gas_full``, ``cook``, ``cook_first``,
    ``cook_sparingly``, ``short``, ``announced``, ``covers``); ``numbers`` hold the figures
    behind both, with units in their names; ``when`` a moment the reason refers to (the start
    of an outage). ``notice`` marks what a person must know even if
    they do nothing (load shed, an outage).
    """

    start: datetime
    end: datetime
    what: str
    device: str
    why: str
    numbers: Mapping[str, float] = field(default_factory=dict)
    when: datetime | None = None
    notice: bool = False


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


def _by_source(view: PlanView, first: int, stop: int, power: np.ndarray,
               numbers: dict[str, float], exclude: str = "") -> str:
    """The reason a run is served when it is: its main supply, priced when that is the grid."""
    energy = max(numbers["energy_kwh"], 1e-9)
    given = {k: v for k, v in view.supplies(first, stop, power).items() if k != exclude}
    if given.get("sun", 0.0) >= SUN_SHARE_PU * energy:
        numbers["solar_kwh"] = given["sun"]
        return "sun" if given["sun"] >= SUN_ALL_PU * energy else "sun_part"
    source = max(given, key=lambda k: given[k])
    if source == "grid" and view.price is not None:
        price = view.mean_price(first, stop, power)
        numbers["price_per_kwh"] = price
        numbers["dearest_per_kwh"] = float(view.price.max())
        return "cheap" if view.band(price) in ("low", "flat") else "price"
    numbers[f"{source}_kwh"] = given[source]
    return source


def _shiftable(spec: ShiftableLoad, view: PlanView) -> Iterator[Action]:
    power = served_kw(view.table, spec.name)
    if power is None:
        return
    for first, stop, numbers in view.told_runs(power):
        why = _by_source(view, first, stop, power, numbers)
        yield Action(*view.span(first, stop), "run", spec.name, why, numbers)


def _next_outage(view: PlanView, after: int) -> int | None:
    """Index of the first outage interval at or after ``after`` within the look-ahead."""
    limit = after + int(RESERVE_LOOKAHEAD_H / view.step_h)
    hits = np.flatnonzero(view.outage[after:limit])
    return after + int(hits[0]) if len(hits) else None


def _battery(spec: Battery, view: PlanView) -> Iterator[Action]:
    charge = view.column(f"{spec.name}.charge_kw")
    discharge = view.column(f"{spec.name}.discharge_kw")
    soc = view.column(f"{spec.name}.soc_kwh")
    full_kwh = spec.soc_min_pu * spec.capacity_kwh + FULL_PU * (
        spec.soc_max_pu - spec.soc_min_pu) * spec.capacity_kwh
    for first, stop, numbers in view.told_runs(charge):
        outage = _next_outage(view, stop)
        if outage is not None and soc[outage - 1] >= full_kwh:
            numbers["soc_pu"] = float(soc[outage - 1] / spec.capacity_kwh)
            when = view.starts[outage].to_pydatetime()
            yield Action(*view.span(first, stop), "charge", spec.name, "reserve", numbers, when)
            continue
        why = _by_source(view, first, stop, charge, numbers, exclude="battery")
        yield Action(*view.span(first, stop), "charge", spec.name, why, numbers)
    charged_at = view.charged_price(charge)
    if charged_at is None and view.price is not None and charge.sum() > 0:
        charged_at = view.mean_price(0, len(charge), charge)
    for first, stop, numbers in view.told_runs(discharge):
        if view.outage[first:stop].any():
            why = "outage"
        elif view.price is not None:
            price = view.mean_price(first, stop, discharge)
            numbers["price_per_kwh"] = price
            numbers["cheapest_per_kwh"] = (float(view.price.min()) if charged_at is None
                                           else charged_at)
            if charged_at is not None:  # dear only against what the stored energy was worth
                dear = price > charged_at + 1e-9
            else:
                dear = view.band(price) == "high"
            why = "dear" if dear else "covers"
        else:
            numbers["solar_kw"] = float(view.pv_kw[first:stop].mean())
            numbers["load_kw"] = float(view.base_kw[first:stop].mean())
            why = "no_sun" if numbers["solar_kw"] < numbers["load_kw"] else "covers"
        yield Action(*view.span(first, stop), "discharge", spec.name, why, numbers)


def _genset(spec: Genset, view: PlanView) -> Iterator[Action]:
    power = view.column(f"{spec.name}.power_kw")
    digester = getattr(spec.fuel, "digester", None)
    holder: Digester | None = None
    if digester is not None:
        holder = next(d for d in view.site.of_type(Digester) if d.name == digester)
    for first, stop, numbers in view.told_runs(power):
        if view.outage[first:stop].any():
            why = "outage"
        elif holder is not None and _full(holder, view)[first:stop].any():
            numbers["gas_m3"] = float(view.column(f"{holder.name}.gas_m3")[first:stop].max())
            numbers["holder_max_m3"] = holder.holder_max_m3
            why = "gas_full"
        elif view.price is not None and view.band(view.mean_price(first, stop, power)) == "high":
            numbers["price_per_kwh"] = view.mean_price(first, stop, power)
            why = "dear"
        elif view.pv_kw[first:stop].mean() < view.base_kw[first:stop].mean():
            numbers["solar_kw"] = float(view.pv_kw[first:stop].mean())
            numbers["load_kw"] = float(view.base_kw[first:stop].mean())
            why = "no_sun"
        else:
            why = "covers"
        yield Action(*view.span(first, stop), "genset", spec.name, why, numbers)


def _full(spec: Digester, view: PlanView) -> np.ndarray:
    gas = view.column(f"{spec.name}.gas_m3")
    top = spec.holder_min_m3 + FULL_PU * (spec.holder_max_m3 - spec.holder_min_m3)
    return gas >= top


def _digester(spec: Digester, view: PlanView) -> Iterator[Action]:
    full = _full(spec, view)
    cooking = view.column(f"{spec.name}.cooking_m3")
    gas = view.column(f"{spec.name}.gas_m3")
    if full.any():
        i = int(np.flatnonzero(full)[0])
        moment = view.starts[i].to_pydatetime() + pd.Timedelta(hours=view.step_h)
        later = float(cooking[i + 1:].sum())
        numbers = {"gas_m3": float(gas[i]), "holder_max_m3": spec.holder_max_m3,
                   "cooking_m3": later}
        why = "cook" if later > 0 else "store_full"
        yield Action(moment, moment, "holder_full", spec.name, why, numbers)
    low = gas <= spec.holder_min_m3 + (1 - FULL_PU) * (spec.holder_max_m3 - spec.holder_min_m3)
    if low.any():
        i = int(np.flatnonzero(low)[0])
        later = float(cooking[i + 1:].sum())
        burners = [g for g in view.site.of_type(Genset)
                   if getattr(g.fuel, "digester", None) == spec.name]
        if later > 0:
            moment = view.starts[i].to_pydatetime() + pd.Timedelta(hours=view.step_h)
            numbers = {"gas_m3": float(gas[i]), "cooking_m3": later}
            why = "cook_first" if burners else "cook_sparingly"
            yield Action(moment, moment, "holder_low", spec.name, why, numbers)
    lost = view.column(f"{spec.name}.flared_m3") + view.column(f"{spec.name}.vented_m3")
    for first, stop in runs(lost > 1e-3):
        numbers = {"gas_m3": float(lost[first:stop].sum())}
        yield Action(*view.span(first, stop), "flare", spec.name, "gas_full", numbers,
                     notice=True)


def _grid(spec: Grid, view: PlanView) -> Iterator[Action]:
    batteries = view.site.of_type(Battery)
    capacity = sum(b.capacity_kwh for b in batteries)
    soc = view.total([f"{b.name}.soc_kwh" for b in batteries])
    for first, stop in runs(view.outage):
        numbers = {"available_pu": float(view.column(f"{spec.name}.available_pu")[first:stop]
                                          .min())}
        why = "announced"
        if capacity > 0:
            before = float(soc[first - 1]) if first > 0 else float(soc[first])
            numbers["soc_pu"] = before / capacity
            top = sum(b.soc_max_pu * b.capacity_kwh for b in batteries)
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


def _shed_runs(view: PlanView, device: str, shed: np.ndarray) -> Iterator[Action]:
    for first, stop in runs(shed > EPS_KW):
        numbers = {"power_kw": float(shed[first:stop].max()),
                   "energy_kwh": view.energy(shed, first, stop)}
        why = "outage" if view.outage[first:stop].any() else "short"
        yield Action(*view.span(first, stop), "shed", device, why, numbers, notice=True)


Explainer = Callable[[Any, PlanView], Iterator[Action]]

#: site spec class -> the explainers of that kind
EXPLAINERS: dict[type, tuple[Explainer, ...]] = {
    ShiftableLoad: (_shiftable,),
    Battery: (_battery,),
    Genset: (_genset,),
    Digester: (_digester,),
    Grid: (_grid,),
}

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
    view = PlanView(site, plan.table, plan.step_minutes / 60)
    actions: list[Action] = []
    if len(plan.table):
        for spec in site.devices:
            for explainer in EXPLAINERS.get(type(spec), ()):
                actions.extend(explainer(spec, view))
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
