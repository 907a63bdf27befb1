"""The rule-based dispatch every plan is compared with, and the fallback when solving fails.

It decides interval by interval, in time order, with no look-ahead except two end-of-horizon
rules that keep it inside the LP's constraints (docs/formulation.md): a battery never falls
below the SoC from which its end target is still reachable at full charging power, and a gas
holder never falls below the level from which later production (less cooking) refills it to
its initial level. So a baseline plan is a feasible point of the LP, and the optimum can only
be cheaper.

The rules, in each interval:

1. fixed loads as forecast; shiftable loads as early as possible in their window at full
   power (keeping their minimum power for the rest of the window);
2. cooking gas comes out of the holder first;
3. demand (loads, and charging forced by the end-of-horizon rule) is met by gensets that ramp
   limits keep running, then PV, then battery discharge, then biogas gensets within the
   holder's spare gas, then the grid or diesel gensets — the cheaper per kWh first, counting
   price plus carbon price × emissions — and the rest is unserved;
4. heat loads take recovered heat from their CHP units, then their electric backup (supplied
   as in 3 but never unserved); heat still missing is unserved heat;
5. surplus charges the batteries, then is exported, then PV is curtailed;
6. gas above the holder's top is flared, or vented where there is no flare.

The loop below knows no device kind: each device's part is its ``DeviceRule``
(``optimizer/rules.py``), in its own module, and it orders the rules and their sources by the
ranks they declare (docs/baseline.md, *Device rules*).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from optimizer.accounting import column_accounts, kpis, objective_terms
from optimizer.devices import device_models
from optimizer.inputs import check_index, validate_inputs
from optimizer.plan import Plan
from optimizer.rules import (
    EPS,
    MUST_RUN,
    DeviceRule,
    RuleContext,
    Source,
    Table,
    draw,
    merit_order,
)
from optimizer.site_columns import column_order
from optimizer.state import State
from sites.schema import Site


def device_rules(site: Site, ctx: RuleContext) -> list[DeviceRule]:
    """The rule of every device that has one, in file order; registered in ``ctx.rules``."""
    rules = [r for m in device_models(site) if (r := m.rule(ctx)) is not None]
    ctx.rules.update((r.name, r) for r in rules)
    return rules


def spare_supply_kw(rules: list[DeviceRule], n: int) -> np.ndarray:
    """Supply left for charging in each interval once the fixed loads are served [kW].

    The sum of every rule's ``spare_kw``: PV available, grid import within its limit where
    the grid is up, gensets as far as their fuel allows, less the fixed loads' forecast —
    what the end-of-horizon rule may count on to refill a store.
    """
    spare = np.zeros(n)
    for rule in rules:
        spare += rule.spare_kw()
    return spare


def _ranked(rules: list[DeviceRule], key: Callable[[DeviceRule], Any]) -> list[DeviceRule]:
    """The rules whose ``key`` is not None, sorted by it (file order among equals)."""
    keyed = [(k, i, r) for i, r in enumerate(rules) if (k := key(r)) is not None]
    return [r for _, _, r in sorted(keyed, key=lambda x: x[:2])]


def _pooled(sources: list[Source]) -> Source:
    """One source of the must-run output of all units; unused output is given back in order."""

    def spill(excess_kw: float) -> float:
        left_kw = excess_kw
        for s in sources:
            if s.spill is not None:
                left_kw -= s.spill(left_kw)
        return excess_kw - left_kw

    return Source(sum(s.left_kw for s in sources), 0.0, rank=MUST_RUN, spill=spill)


def _acting(rules: list[DeviceRule], member: str) -> list[DeviceRule]:
    """The rules whose class overrides ``member`` of ``DeviceRule`` (in the given order): the
    others do nothing there, so the loop need not call them."""
    default = getattr(DeviceRule, member)
    return [r for r in rules if getattr(type(r), member) is not default]


def dispatch(
    site: Site,
    inputs: pd.DataFrame,
    state: State | None = None,
    *,
    plan: pd.DataFrame | None = None,
    checked: bool = False,
) -> pd.DataFrame:
    """Run the rule-based dispatch; return ``inputs`` with every decision column added.

    Parameters
    ----------
    site : Site
    inputs : pandas.DataFrame
        The input columns of ``optimizer.inputs.build_inputs`` on a UTC interval index.
    state : optimizer.state.State, optional
        Initial battery SoC [kWh], holder levels [m³], shiftable energy already served [kWh]
        and genset output [kW]; missing entries default from the site file.
    plan : pandas.DataFrame, optional
        A plan table on the same intervals: every rule is pinned to it (``DeviceRule.pin``)
        and follows its setpoints where it can (closed-loop operation,
        ``optimizer.operation``).
    checked : bool
        ``inputs`` is already what ``optimizer.inputs.validate_inputs`` returns for them (the
        planner's own checked inputs): they are not checked again.

    Returns
    -------
    pandas.DataFrame
        ``inputs`` plus the decision columns of the plan table, ``cost`` [currency],
        ``emissions_kgco2`` [kgCO2e] and ``marginal_price_per_kwh`` [currency/kWh] — here the
        cost of the last kWh the rule supplied or the price the last surplus kWh earned, not
        an LP dual.
    """
    if not checked:
        inputs = validate_inputs(site, inputs.index, inputs)
    state = (state or State()).resolved(site)
    n = len(inputs)
    given = np.array(inputs.to_numpy(dtype=float).T)  # one row per column
    given.setflags(write=False)
    col = dict(zip(inputs.columns, given, strict=True))
    out = Table(n)
    ctx = RuleContext(site, inputs.index, col, state, out)
    rules = device_rules(site, ctx)
    if plan is not None:
        numeric = plan.select_dtypes("number")
        pinned = {c: numeric[c].to_numpy(dtype=float).tolist() for c in numeric.columns}
        for rule in rules:
            rule.pin(pinned)
    spare = spare_supply_kw(rules, n)
    for rule in rules:
        rule.look_ahead(spare)
    # stores others draw fuel from get ready first and settle last
    ready = _acting(sorted(rules, key=lambda r: r.stage), "prepare")
    settle = _acting(sorted(rules, key=lambda r: -r.stage), "finish")
    # loads are shed in this order: the least value of lost load first
    loads = _ranked(rules, lambda r: r.shed_key)
    takers = _ranked(rules, lambda r: r.absorb_rank)
    # the rules that act at each step; the others would add nothing
    demanding = _acting(rules, "demand_kw")
    offering = _acting(rules, "sources")
    heating = _acting(rules, "heat_kw")
    heated = _acting(rules, "serve_heat")
    no_heat = dict.fromkeys((rule.name for rule in rules), 0.0)
    nothing_must_run = _pooled([])  # nothing draws from or gives back to it: kept as it is
    lost_load_value = site.value_of_lost_load_per_kwh
    unserved_kw, marginal_price = out["unserved_kw"], out["marginal_price_per_kwh"]

    for t in range(n):
        # 1. loads
        load_kw = sum(rule.demand_kw(t) for rule in demanding)
        # 2. self-discharge, production and cooking, ramp bounds
        for rule in ready:
            rule.prepare(t)
        forced_kw = sum(rule.forced_kw for rule in rules)

        # 3. the merit order; must-run output is one pooled source
        must_run: list[Source] = []
        others: list[Source] = []
        for rule in offering:
            for s in rule.sources(t):
                (must_run if s.rank == MUST_RUN else others).append(s)
        must = _pooled(must_run) if must_run else nothing_must_run
        ranked = merit_order(others)
        sources = [must, *ranked]
        spilling = [must, *(s for s in ranked if s.spill is not None)]
        served, marginal = draw(sources, load_kw + forced_kw)
        short = load_kw + forced_kw - served
        # (with no shortfall, exactly 0, the two trimming loops change nothing: skipped)
        if short != 0.0:
            for rule in rules:  # a shortfall trims the forced charging first, but not below
                cut = min(short, rule.forced_kw - rule.held_kw)  # what keeps a level in bounds
                rule.forced_kw -= cut
                short -= cut
        left = max(0.0, short)
        for rule in loads:
            left -= rule.shed(t, left)
        unserved_kw[t] = max(0.0, short) - max(0.0, left)
        if left > 0.0:
            for rule in rules:  # with no load left to shed, that charging gives way too
                cut = min(max(0.0, left), rule.forced_kw)
                rule.forced_kw -= cut
                left -= cut
        if short > EPS:
            marginal = lost_load_value

        # 4. heat
        if heated:
            heat_left = dict(no_heat)
            for rule in heating:
                heat_left[rule.name] = rule.heat_kw()
            for rule in heated:
                rule.serve_heat(t, heat_left, sources)

        # 5. surplus (unused free output) charges stores, then is exported
        surplus = must.left_kw + sum(s.left_kw for s in spilling[1:])
        absorbed = 0.0
        for rule in takers:
            x, price = rule.absorb(t, surplus - absorbed)
            absorbed += x
            if price is not None and x > EPS:
                marginal = price
        # what was absorbed came from must-run output first; the rest is given back
        for s in spilling:
            used = min(s.left_kw, absorbed)
            absorbed -= used
            if s.spill is not None:
                s.spill(s.left_kw - used)
        marginal_price[t] = 0.0 if marginal is None else marginal

        # 6. settle
        for rule in settle:
            rule.finish(t)

    decisions = out.arrays()
    marginal_column = decisions.pop("marginal_price_per_kwh")
    names = [*inputs.columns, *column_order(site, list(decisions))]
    columns = {**col, **decisions}
    cost, emissions = column_accounts(site, columns, inputs.index)
    values = np.array([*(columns[c] for c in names), cost, emissions, marginal_column])
    names += ["cost", "emissions_kgco2", "marginal_price_per_kwh"]
    return pd.DataFrame(values.T, index=inputs.index, columns=names)


def rule_based_plan(
    site: Site,
    inputs: pd.DataFrame,
    state: State | None = None,
    *,
    now: datetime | None = None,
    checked: bool = False,
) -> Plan:
    """The rule-based plan on the same inputs as an optimised one; status ``"fallback"``.

    Parameters
    ----------
    site : Site
    inputs : pandas.DataFrame
        Input columns on a UTC interval index (``optimizer.inputs.build_inputs``).
    state : optimizer.state.State, optional
        Initial state; missing entries default from the site file.
    now : datetime, optional
        Stamps ``created_at``; nothing else depends on it.
    checked : bool
        ``inputs`` were already checked (``dispatch``).
    """
    began = time.perf_counter()
    check_index(site, inputs.index)
    table = dispatch(site, inputs, state, checked=checked)
    table.index = table.index.rename("start")
    terms: dict[str, Any] = {**objective_terms(site, table), "mode": "cost"}
    return Plan.create(
        site,
        table,
        now=now,
        status="fallback",
        solver="rules",
        solve_time_s=time.perf_counter() - began,
        objective_terms=terms,
        kpis=kpis(site, table),
    )
