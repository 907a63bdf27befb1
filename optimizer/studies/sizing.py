"""Sizing: capacities as LP variables over representative days or a full year.

The sizing LP is made of the planning model itself: one :class:`VillageModel` per period
(each representative day, or the whole year), all in one Pyomo model that adds a capacity
variable per sized device. Each device model's sizing hook (``for_sizing``) lets its limits
follow that variable — PV output ≤ available power per kWp × kWp, SoC ≤ soc_max × kWh ... —
and closes each period on itself (storage ends at least where it started; shiftable loads
receive their average energy per day), so the physics is the planning physics, written once.

Objective (annual, site currency):

.. math::
    \\min \\sum_d a_d\\, K_d + \\sum_p w_p \\Big( \\sum_t c_{p,t} + H_p + \\Pi_p
          + \\pi^{CO_2} \\sum_t e_{p,t} \\Big)

with :math:`a_d` the annualised cost per unit of device :math:`d` (capital, replacements, fixed
O&M, salvage; :mod:`optimizer.studies.economics`), :math:`K_d` its capacity, :math:`w_p` the
number of days (per year) that period :math:`p` stands for, :math:`c` the operating cost,
:math:`H` horizon charges, :math:`\\Pi` the penalties (lost load) and :math:`e` emissions.
Bounds: existing capacity ≤ :math:`K_d` ≤ usable area × kWp/m² (PV) or the device's
``economics.max_units``; the new capital within the site's ``capital_budget``; optionally
annual emissions ≤ ε (the ε-constraint of a cost–carbon front).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from optimizer.devices import device_models
from optimizer.devices.base import Context
from optimizer.model import build_model
from optimizer.outcome import plan_table
from optimizer.solve import solve_restricted
from optimizer.state import State
from optimizer.studies.economics import design_costs, unit_cost
from optimizer.studies.problem import StudyProblem
from sites.schema import Economics, Site

#: Days in the year to which operation is scaled [day].
DAYS_PER_YEAR = 365.0
#: Re-solves allowed for device restrictions (one-way grid flow) before giving up.
MAX_RESOLVES = 50


@dataclass(frozen=True)
class Candidate:
    """A device whose capacity is a decision: its unit, existing size and bounds."""

    name: str
    unit: str
    existing: float
    upper: float | None
    annualised_per_unit: float  #: new units: capital, replacements, O&M, salvage
    annualised_existing_per_unit: float  #: existing units: their capital is sunk
    capital_per_unit: float
    economics: Economics


@dataclass
class SizingResult:
    """Capacities chosen and what the design costs and emits per year."""

    status: str
    capacities: dict[str, float]
    units: dict[str, str]
    existing: dict[str, float]
    annual: dict[str, float]
    economics: pd.DataFrame
    operation: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    problem: Any = field(repr=False, default=None)  #: the compiled LP, for re-solves


def candidates(site: Site, devices: Sequence[Any], *, greenfield: bool = False) -> list[Candidate]:
    """The sizable devices of a site: those with ``economics`` whose model has a capacity."""
    out = []
    for dev in devices:
        unit = getattr(dev, "capacity_unit", None)
        econ = getattr(dev.spec, "economics", None)
        if unit is None or econ is None:
            continue
        existing = 0.0 if greenfield else float(dev.capacity_units())
        limits = [v for v in (dev.capacity_limit(), econ.max_units) if v is not None]
        upper = min(limits) if limits else None
        if upper is not None and upper < existing - 1e-9:
            raise ValueError(
                f"{dev.name}: the existing capacity {existing:g} {unit} exceeds the sizing "
                f"bound {upper:g} {unit} (usable area or economics.max_units)"
            )
        cost = unit_cost(econ, site.discount_rate_pu, site.project_life_years)
        out.append(
            Candidate(
                name=dev.name,
                unit=unit,
                existing=existing,
                upper=upper,
                annualised_per_unit=cost.annualised,
                annualised_existing_per_unit=(cost.npc - cost.capital) * cost.crf_per_year,
                capital_per_unit=econ.capital_cost_per_unit,
                economics=econ,
            )
        )
    return out


@dataclass
class SizingModel:
    """The sizing LP: the period models, the capacity variables and the annual terms.

    Compiled and solved by :class:`optimizer.studies.problem.StudyProblem`.
    """

    site: Site
    model: Any
    periods: list[Any]  #: VillageModel of each period
    datas: list[list[Any]]  #: each period's DeviceData, for reading its dispatch back
    inputs: list[pd.DataFrame]
    weights: list[float]  #: days per year each period stands for, divided by its length
    candidates: list[Candidate]


def build_sizing(
    site: Site,
    inputs: pd.DataFrame,
    indexes: Sequence[pd.DatetimeIndex],
    days_represented: Sequence[float],
    *,
    greenfield: bool = False,
    budget: float | None = None,
) -> SizingModel:
    """Build the sizing LP over periods (``indexes``) standing for ``days_represented`` days.

    Operation is scaled to a year: period :math:`p` of :math:`n_p` days standing for
    :math:`D_p` days gets the weight :math:`w_p = D_p / n_p \\cdot 365 / \\sum_q D_q`.
    """
    import pyomo.environ as pyo
    from pyomo.common.gc_manager import PauseGC

    if len(indexes) != len(days_represented) or not indexes:
        raise ValueError("give one number of represented days per period, and ≥ 1 period")
    total = float(sum(days_represented))
    state = State.from_site(site)
    cands = candidates(site, device_models(site), greenfield=greenfield)
    names = [c.name for c in cands]
    bounds = {c.name: (c.existing, c.upper) for c in cands}
    m = pyo.ConcreteModel(name=f"{site.name}-sizing")
    m.capacity = pyo.Var(names, bounds=lambda _, n: bounds[n])
    m.allowed_kgco2 = pyo.Var()  # the ε of a cost–carbon front: its upper bound
    periods, datas, parts, weights = [], [], [], []
    for p, (index, represented) in enumerate(zip(indexes, days_represented, strict=True)):
        part = inputs.loc[index]
        vm = build_model(site, index, part, pyomo_objective=True)
        datas.append(vm.set_data(index, part, state))
        with PauseGC():
            for objective in vm.model.component_objects(pyo.Objective):
                objective.deactivate()
            m.add_component(f"period_{p}", vm.model)
            ctx = Context(
                site=site, index=index, inputs=part, T=vm.model.T, n=vm.n, step_h=vm.step_h
            )
            for dev in vm.devices:
                capacity = m.capacity[dev.name] if dev.name in names else None
                dev.for_sizing(vm.block(dev), ctx, capacity)
        periods.append(vm)
        parts.append(part)
        weights.append(represented / (vm.n * vm.step_h / 24.0) * DAYS_PER_YEAR / total)

    def weighted(term: Any) -> Any:
        return sum(w * term(vm.model) for vm, w in zip(periods, weights, strict=True))

    with PauseGC():
        m.operation = pyo.Expression(
            expr=weighted(lambda v: sum(v.cost[t] for t in v.T) + v.horizon_cost)
        )
        m.penalties = pyo.Expression(expr=weighted(lambda v: v.penalty))
        m.emissions = pyo.Expression(
            expr=weighted(lambda v: sum(v.emissions_kgco2[t] for t in v.T))
        )
        m.annualised_capital = pyo.Expression(
            expr=sum(
                c.annualised_per_unit * (m.capacity[c.name] - c.existing)
                + c.annualised_existing_per_unit * c.existing
                for c in cands
            )
        )
        m.emission_cap = pyo.Constraint(expr=m.emissions <= m.allowed_kgco2)
        m.objective = pyo.Objective(
            expr=m.annualised_capital
            + m.operation
            + m.penalties
            + site.carbon_price_per_kgco2 * m.emissions
        )
        m.emissions_objective = pyo.Objective(expr=m.emissions)
        m.penalty_objective = pyo.Objective(expr=m.penalties)
        m.operation_objective = pyo.Objective(expr=m.operation)
        m.capital_objective = pyo.Objective(expr=m.annualised_capital)
        if budget is not None:
            m.budget = pyo.Constraint(
                expr=sum(c.capital_per_unit * (m.capacity[c.name] - c.existing) for c in cands)
                <= budget
            )
    return SizingModel(
        site,
        m,
        periods,
        datas,
        parts,
        weights,
        cands,
    )


def solve_sizing(
    sm: SizingModel,
    *,
    emission_cap_kgco2: float | None = None,
    least_carbon: bool = False,
    time_limit_s: float | None = None,
    problem: Any = None,
    start: dict[str, float] | None = None,
) -> SizingResult:
    """Solve the sizing LP: least annual cost (under an optional cap on annual emissions),
    or least emissions and then least cost (``least_carbon``).

    ``problem``: the compiled LP of ``sm`` from an earlier call (``result.problem``), re-solved
    without compiling again. ``start``: capacities to solve at first (e.g. those of a
    representative-day sizing); the LP with them fixed solves like a plan, and its basis then
    warm-starts the LP with free capacities, which is many times faster than a cold start on a
    full year.
    """

    if problem is None:
        problem = StudyProblem(sm.model)
    problem.set_upper(sm.model.allowed_kgco2, emission_cap_kgco2)
    problem.release()
    if start:
        fixed = [(sm.model.capacity[c.name], start[c.name], start[c.name]) for c in sm.candidates]
        problem.restrict(_within(sm, fixed))
        problem.solve("objective", time_limit_s=time_limit_s)
        problem.release()
    stages = ("penalty_objective", "emissions_objective") if least_carbon else ()
    status, x, objectives = solve_restricted(
        problem,
        sm.periods,
        lambda: problem.solve("objective", stages=stages, time_limit_s=time_limit_s),
        lambda result: result[1],
        MAX_RESOLVES,
    )
    return _result(sm, problem, SimpleNamespace(status=status, x=x, objectives=objectives))


def _within(sm: SizingModel, fixed: list[tuple[Any, float, float]]) -> list[Any]:
    """``(var, value, value)`` bounds clipped into each capacity's own bounds."""
    bounds = {c.name: (c.existing, c.upper) for c in sm.candidates}
    out = []
    for (var, value, _), c in zip(fixed, sm.candidates, strict=True):
        low, high = bounds[c.name]
        value = max(low, value if high is None else min(high, value))
        out.append((var, value, value))
    return out


def _operation(sm: SizingModel, problem: Any, solution: Any) -> pd.DataFrame:
    """Each period's dispatch as a plan table, with the period's weight [days/year per day]."""

    tables = []
    for vm, datas, part, weight in zip(sm.periods, sm.datas, sm.inputs, sm.weights, strict=True):
        own = SimpleNamespace(x=solution.x, bus_dual=np.full(vm.n, np.nan))  # no duals here
        table = plan_table(vm, problem, own, part, datas)
        tables.append(table.assign(weight=weight))
    return pd.concat(tables)


def _result(sm: SizingModel, problem: Any, solution: Any) -> SizingResult:
    site = sm.site
    values = problem.values(solution.x, sm.model.capacity)
    capacities = {c.name: float(v) for c, v in zip(sm.candidates, values, strict=True)}
    existing = {c.name: c.existing for c in sm.candidates}
    econ = {c.name: c.economics for c in sm.candidates}
    rows = design_costs(capacities, existing, econ, site.discount_rate_pu, site.project_life_years)
    table = pd.DataFrame.from_dict(rows, orient="index")
    if len(table):
        table.insert(0, "unit", [c.unit for c in sm.candidates])
    objectives = solution.objectives
    emissions = objectives["emissions_objective"]
    capital = objectives["capital_objective"]
    operation = objectives["operation_objective"]
    annual = {
        "annualised_capital": capital,
        "operation_cost": operation,
        "penalty_cost": objectives["penalty_objective"],
        "carbon_cost": site.carbon_price_per_kgco2 * emissions,
        "emissions_kgco2": emissions,
        "new_capital": float(table["capital"].sum()) if len(table) else 0.0,
        "total_annualised_cost": capital + operation,
        "objective": objectives["objective"],
    }
    return SizingResult(
        status=solution.status,
        capacities=capacities,
        units={c.name: c.unit for c in sm.candidates},
        existing=existing,
        annual=annual,
        economics=table,
        operation=_operation(sm, problem, solution),
        problem=problem,
    )
