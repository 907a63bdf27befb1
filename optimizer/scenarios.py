"""Scenario plans: one LP over P10/P50/P90 scenarios of PV and load that share interval 0.

Each scenario is a full planning model (``optimizer.model.build_model``) on its own inputs;
the models sit side by side in one Pyomo model, as in sizing (``optimizer.studies.sizing``),
solved by :class:`optimizer.solve.StudyProblem`. Every decision of the first interval is
tied across scenarios (non-anticipativity); later intervals are recourse, and stored energy
and shiftable progress follow each scenario's own path. The objective is the probability-
weighted sum of the scenario objectives (docs/formulation.md, *Scenario plans*).

The plan served to controllers is the shared first interval and the P50 path; its metadata
carry the scenarios, their weights and their objectives. Re-planning every interval from the
measured state keeps the rest of the path honest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from optimizer import baseline as rules
from optimizer.errors import InfeasibleError, PlanningError
from optimizer.inputs import build_inputs, check_index, validate_inputs
from optimizer.model import VillageModel, build_model
from optimizer.outcome import (
    GUARD_TOLERANCE_KGCO2,
    GUARD_TOLERANCE_PU,
    assess,
    gc_paused,
    plan_table,
    stored_values,
)
from optimizer.plan import MODES, Plan
from optimizer.scenario_inputs import Scenario, check_scenarios, scenario_inputs
from optimizer.solve import restriction_bounds
from optimizer.state import State
from optimizer.studies.problem import StudyProblem
from sites.schema import Site

#: Weighted unserved energy below this counts as none [kWh] (as ``solve.UNSERVED_TOLERANCE_KWH``).
UNSERVED_TOLERANCE_KWH = 1e-6
#: Slack on the least weighted unserved energy when later stages keep it [pu, kWh].
UNSERVED_SLACK_PU, UNSERVED_SLACK_KWH = 1e-9, 1e-9


@dataclass
class ScenarioResult:
    """The served plan and each scenario's own plan (tables without KPIs)."""

    plan: Plan
    plans: dict[str, Plan]
    objectives: dict[str, float]  #: every objective row of the LP at the solution


def first_interval_vars(vm: VillageModel) -> list[Any]:
    """Every variable of interval 0 of a model's devices, in build order."""
    import pyomo.environ as pyo

    T = vm.model.T
    out = []
    variables = (
        var
        for blk in vm.model.devices.values()
        for var in blk.component_objects(pyo.Var, descend_into=True)
    )
    for var in variables:
        if not var.is_indexed():
            continue
        subsets = list(var.index_set().subsets())
        pos = next((i for i, s in enumerate(subsets) if s is T), None)
        if pos is None:
            continue
        for key, v in var.items():
            if (key if isinstance(key, tuple) else (key,))[pos] == 0:
                out.append(v)
    return out


@dataclass
class ScenarioModel:
    """The scenario LP: one planning model per scenario, tied at interval 0."""

    site: Site
    model: Any
    scenarios: list[Scenario]
    vms: list[VillageModel]
    datas: list[list[Any]]


def build_scenarios(
    site: Site, index: pd.DatetimeIndex, scenarios: list[Scenario], state: State
) -> ScenarioModel:
    """One Pyomo model holding every scenario's planning model (``scenario_<i>``), the
    non-anticipativity rows, and the weighted objectives ``objective``,
    ``unserved_objective``, ``shortfall_objective``, ``emissions_objective``; the expected
    emissions are held below ``allowed_kgco2`` and each local day's below
    ``day_allowed_kgco2[d]`` (bounds set by the solve), the weighted unserved energy below
    ``allowed_unserved_kwh``."""
    import pyomo.environ as pyo
    from pyomo.common.gc_manager import PauseGC

    m = pyo.ConcreteModel(name=f"{site.name}-scenarios")
    vms, datas = [], []
    for i, sc in enumerate(scenarios):
        vm = build_model(site, index, sc.inputs, pyomo_objective=True)
        datas.append(vm.set_data(index, sc.inputs, state))
        with PauseGC():
            m.add_component(f"scenario_{i}", vm.model)
        vms.append(vm)
    if any(not v.is_continuous() for v in m.component_data_objects(pyo.Var)):
        raise PlanningError(
            "scenarios: a site with unit commitment (integer on/off) plans with scenarios=1 only"
        )
    weights = [sc.weight for sc in scenarios]

    def weighted(name: str) -> Any:
        return sum(w * getattr(vm.model, name).expr for vm, w in zip(vms, weights, strict=True))

    with PauseGC():
        m.nonanticipative = pyo.ConstraintList()
        first = first_interval_vars(vms[0])
        for vm in vms[1:]:
            for mine, shared in zip(first_interval_vars(vm), first, strict=True):
                m.nonanticipative.add(mine == shared)
        m.objective = pyo.Objective(expr=weighted("objective"))
        m.unserved_objective = pyo.Objective(expr=weighted("unserved_objective"))
        m.shortfall_objective = pyo.Objective(expr=weighted("shortfall_objective"))
        m.emissions_objective = pyo.Objective(expr=weighted("emissions_objective"))
        m.allowed_kgco2 = pyo.Var()
        m.allowed_unserved_kwh = pyo.Var()
        m.emission_cap = pyo.Constraint(expr=m.emissions_objective.expr <= m.allowed_kgco2)
        m.unserved_cap = pyo.Constraint(expr=m.unserved_objective.expr <= m.allowed_unserved_kwh)
        m.D = pyo.RangeSet(0, len(vms[0].days) - 1)
        m.day_allowed_kgco2 = pyo.Var(m.D)
        m.day_cap = pyo.Constraint(
            m.D,
            rule=lambda _, d: sum(
                w * vm.model.day_emissions[d].expr for vm, w in zip(vms, weights, strict=True)
            )
            <= m.day_allowed_kgco2[d],
        )
    return ScenarioModel(site, m, list(scenarios), vms, datas)


class _Solver:
    """The order of goals of ``HighsProblem.solve`` on the scenario LP, by column bounds."""

    def __init__(self, sm: ScenarioModel, problem: Any, deadline: float | None):
        self.sm, self.problem, self.deadline = sm, problem, deadline
        self.statuses: list[str] = []

    def run(self, objective: str, stages: tuple[str, ...] = ()) -> tuple[np.ndarray, dict]:
        left = None if self.deadline is None else max(self.deadline - time.perf_counter(), 1e-3)
        status, x, objectives = self.problem.solve(objective, stages=stages, time_limit_s=left)
        self.statuses.append(status)
        return x, objectives

    def limit(self, cap: float | None, day_caps: list[float | None]) -> None:
        m = self.sm.model
        self.problem.set_upper(m.allowed_kgco2, cap)
        for d, upper in enumerate(day_caps):
            self.problem.set_upper(m.day_allowed_kgco2[d], upper)

    def solve(
        self, mode: str, cap: float | None, day_caps: list[float | None]
    ) -> tuple[np.ndarray, dict, bool]:
        """Unserved energy first; then the emission limits as far as serving load allows;
        then (carbon mode) stored-energy shortfall and emissions; then the objective."""
        m, problem = self.sm.model, self.problem
        limited = cap is not None or any(u is not None for u in day_caps)
        problem.set_upper(m.allowed_unserved_kwh, None)
        self.limit(cap, day_caps)
        if mode == "cost":
            try:
                x, objectives = self.run("objective")
                if objectives["unserved_objective"] <= UNSERVED_TOLERANCE_KWH:
                    return x, objectives, True
            except InfeasibleError:
                if not limited:
                    raise
        self.limit(None, [None] * len(day_caps))
        _, objectives = self.run("unserved_objective")
        least = objectives["unserved_objective"]
        problem.set_upper(
            m.allowed_unserved_kwh, least + abs(least) * UNSERVED_SLACK_PU + UNSERVED_SLACK_KWH
        )
        met = True
        if limited:
            self.limit(cap, day_caps)
            try:
                self.run("emissions_objective")
            except InfeasibleError:
                self.limit(None, [None] * len(day_caps))
                met = False
        stages: tuple[str, ...] = ("emissions_objective",) if not met else ()
        if mode == "carbon":
            stages = ("shortfall_objective", "emissions_objective")
        x, objectives = self.run("objective", stages)
        return x, objectives, met


def _guard_cap(site: Site, scenarios: list[Scenario], bases: list[Plan]) -> float:
    """The carbon guard on expected emissions: the rules' expected emissions on the same
    scenarios (``bases``), less the site's required share, plus round-off (as
    ``Planner.plan``)."""
    rules = sum(
        sc.weight * float(base.kpis["emissions_kgco2"])
        for sc, base in zip(scenarios, bases, strict=True)
    )
    allowed = rules - (1.0 - site.carbon_guard_pu) * abs(rules)
    return allowed + abs(allowed) * GUARD_TOLERANCE_PU + GUARD_TOLERANCE_KGCO2


def _terms(site: Site, objectives: dict, prefix: str, cost: float) -> dict[str, float]:
    """One scenario's objective terms, named as ``Planner.plan`` names them."""
    emissions = objectives[f"{prefix}emissions_objective"]
    return {
        "cost": cost,
        "horizon_cost": objectives[f"{prefix}horizon_objective"],
        "penalty": objectives[f"{prefix}penalty_objective"],
        "emissions_kgco2": emissions,
        "carbon_cost": site.carbon_price_per_kgco2 * emissions,
        "stored_shortfall_value": objectives[f"{prefix}shortfall_objective"],
        "unserved_kwh": objectives[f"{prefix}unserved_objective"],
        "objective": objectives[f"{prefix}objective"],
    }


@gc_paused
def plan_over(
    site: Site,
    index: pd.DatetimeIndex,
    scenarios: list[Scenario],
    state: State | None = None,
    *,
    mode: str = "cost",
    emission_budget_kgco2: float | None = None,
    time_limit_s: float | None = None,
    now: datetime | None = None,
    carbon_guard: bool | None = None,
    served: str = "p50",
    assess_plan: bool = True,
) -> ScenarioResult:
    """Plan ``site`` over ``index`` against ``scenarios`` (weights summing to 1).

    Returns the plan of scenario ``served`` (its first interval is every scenario's) with the
    scenarios in ``objective_terms["scenarios"]``, and each scenario's own plan. Emission
    limits (the daily budget, the carbon guard in cost mode) hold on expected emissions.
    """

    t_start = time.perf_counter()
    if mode not in MODES:
        raise PlanningError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if abs(sum(sc.weight for sc in scenarios) - 1.0) > 1e-9 or any(
        sc.weight <= 0 for sc in scenarios
    ):
        raise PlanningError("scenario weights must be > 0 and sum to 1")
    names = [sc.name for sc in scenarios]
    if served not in names:
        raise PlanningError(f"served must name a scenario ({', '.join(names)}), got {served!r}")
    index = check_index(site, index)
    scenarios = [replace(sc, inputs=validate_inputs(site, index, sc.inputs)) for sc in scenarios]
    state = (state or State()).resolved(site)
    guard = mode == "cost" and (site.carbon_guard if carbon_guard is None else carbon_guard)

    bases = (
        [rules.rule_based_plan(site, sc.inputs, state, now=now) for sc in scenarios]
        if guard
        else []
    )
    cap = _guard_cap(site, scenarios, bases) if guard else None
    sm = build_scenarios(site, index, scenarios, state)
    problem = StudyProblem(sm.model)
    days = sm.vms[0].days
    day_caps: list[float | None] = [
        None if emission_budget_kgco2 is None
        else emission_budget_kgco2 * len(group) * site.step_h / 24.0
        for group in days
    ]
    deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s
    solver = _Solver(sm, problem, deadline)
    for _ in range(len(index) + 1):
        x, objectives, met = solver.solve(mode, cap, day_caps)
        bounds = restriction_bounds(sm.vms, problem, x)
        if not bounds:
            break
        problem.restrict(bounds)
    status = "optimal" if all(s == "optimal" for s in solver.statuses) else "time_limit"
    plans, summary = {}, []
    for i, (sc, vm, datas) in enumerate(zip(scenarios, sm.vms, sm.datas, strict=True)):
        own = SimpleNamespace(x=x, bus_dual=np.full(vm.n, np.nan))  # no duals here
        table = plan_table(vm, problem, own, sc.inputs, datas)
        terms = _terms(site, objectives, f"scenario_{i}.", float(table["cost"].sum()))
        plans[sc.name] = Plan.create(
            site, table, now=now, status=status, solver="HiGHS", solve_time_s=0.0,
            objective_terms=terms,
        )
        summary.append({"name": sc.name, "weight": sc.weight, **{
            key: terms[key] for key in ("objective", "cost", "emissions_kgco2", "unserved_kwh")
        }})
    k = names.index(served)
    served_terms: dict[str, Any] = {
        **plans[served].objective_terms,
        "expected_objective": objectives["objective"],
        "expected_emissions_kgco2": objectives["emissions_objective"],
        "mode": mode,
        "carbon_accounting": site.carbon_accounting,
        "carbon_guard": bool(guard),
        "emission_limits_met": met,
        "scenarios": summary,
        "served_scenario": served,
        "shared_intervals": 1,
    }
    if cap is not None:
        served_terms["carbon_guard_kgco2"] = cap
    if emission_budget_kgco2 is not None:
        served_terms["emission_budget_kgco2"] = emission_budget_kgco2
    vm = sm.vms[k]
    plan = replace(
        plans[served],
        solver=f"HiGHS {problem.highs.version()}",
        solve_time_s=time.perf_counter() - t_start,
        objective_terms=served_terms,
        inputs_notes={"sources": {d.name: d.sources() for d in vm.devices if d.sources()}},
    )
    if assess_plan:
        base = bases[k] if bases else None
        plan = assess(site, plan, scenarios[k].inputs, state, now, base, stored_values(vm))
    return ScenarioResult(plan, plans, objectives)


def scenario_plan(
    site: Site,
    index: pd.DatetimeIndex,
    inputs: pd.DataFrame | None = None,
    state: State | None = None,
    *,
    scenarios: int = 3,
    bands: pd.DataFrame | None = None,
    **options: Any,
) -> Plan:
    """The plan of ``site`` over ``index`` hedged over ``scenarios`` P10/P50/P90 scenarios of
    ``inputs`` (:func:`scenario_inputs`); ``scenarios=1`` is the scenario LP with the one
    P50 scenario (``inputs`` themselves), which equals the deterministic plan of
    ``optimizer.planner.make_plan``. ``options``: those of ``make_plan``."""
    count = check_scenarios(scenarios)
    index = check_index(site, index)
    inputs = build_inputs(site, index) if inputs is None else validate_inputs(site, index, inputs)
    options.pop("mip_rel_gap", None)  # the scenario LP has no integers
    chosen = (
        scenario_inputs(site, inputs, bands=bands)
        if count > 1
        else [Scenario("p50", 1.0, inputs)]
    )
    return plan_over(site, index, chosen, state, **options).plan
