"""What the planners share once a solution is in hand: its plan table, its assessment
against the rule-based dispatch, the values of stored energy, and the collector pause they
build under (``optimizer.planner``, ``optimizer.scenarios``, ``optimizer.studies.sizing``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import numpy as np
import pandas as pd

from optimizer import accounting
from optimizer import baseline as rules
from optimizer.plan import Plan
from optimizer.state import State
from sites.schema import Site

#: Slack of the carbon guard on the rule-based dispatch's emissions, relative [pu] and
#: absolute [kgCO2e]: round-off of the two computations, not a licence to emit more.
GUARD_TOLERANCE_PU = 1e-9
GUARD_TOLERANCE_KGCO2 = 1e-6

_P = ParamSpec("_P")
_R = TypeVar("_R")


def gc_paused(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """``method`` run with Python's cyclic garbage collector paused.

    A plan allocates many objects (the model, its expressions, the compiled form); with the
    collector running, each collection walks every live model again, and a year's plan spends
    about a third of its modelling time there. Garbage is collected after the plan.
    """

    @wraps(method)
    def paused(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        from pyomo.common.gc_manager import PauseGC

        with PauseGC():
            return method(*args, **kwargs)

    return paused


def assess(
    site: Site,
    plan: Plan,
    inputs: pd.DataFrame,
    state: State,
    now: datetime | None,
    base: Plan | None = None,
    stored_value: dict[str, float] | None = None,
) -> Plan:
    """The plan with its KPIs and its baseline comparison filled in (when available).

    ``base`` is the rule-based plan on the same inputs when the caller has made it already;
    ``stored_value`` maps each store's level column to its value of stored energy
    (``stored_values``), to compare plans that end with different stored energy.
    """
    if base is None:
        base = rules.rule_based_plan(site, inputs, state, now=now)
    comparison = dict(base.kpis)
    comparison.update(accounting.comparison(site, plan.table, base.table, stored_value or {}))
    return replace(plan, kpis=accounting.kpis(site, plan.table), baseline=comparison)


def stored_values(vm: Any) -> dict[str, float]:
    """Plan-table level column → value per unit of what a store holds at the end, for every
    device whose block has an end-of-horizon target (``optimizer.devices.storage``)."""
    out = {}
    for dev in vm.devices:
        blk = vm.block(dev)
        if hasattr(blk, "end_value_per_unit"):
            out[f"{dev.prefix}{blk.end_level_column}"] = float(blk.end_value_per_unit)
    return out


def plan_table(
    vm: Any, problem: Any, solution: Any, inputs: pd.DataFrame, datas: list
) -> pd.DataFrame:
    """The plan table of a solution: the inputs, every device's decisions, each interval's
    cost and emissions (``accounting.interval_accounts``) and the bus's marginal price."""
    columns: dict[str, np.ndarray] = {c: inputs[c].to_numpy() for c in inputs.columns}
    for dev, data in zip(vm.devices, datas, strict=True):
        blk = vm.block(dev)

        def values(name: str, blk: Any = blk) -> np.ndarray:
            return problem.values(solution.x, getattr(blk, name))

        for quantity, series in dev.decisions(values, data).items():
            columns[f"{dev.prefix}{quantity}"] = np.asarray(series, dtype=float)
    table = pd.DataFrame(columns, index=inputs.index.rename("start"))
    accounts = accounting.interval_accounts(vm.site, table, devices=vm.devices)
    table["cost"] = accounts["cost"]
    table["emissions_kgco2"] = accounts["emissions_kgco2"]
    table["marginal_price_per_kwh"] = solution.bus_dual / vm.step_h
    return table
