"""The Planner: makes plans, and keeps built models and HiGHS objects for re-plans.

Steps of one plan: check the index, inputs and state; find or build the model of this
horizon shape (``optimizer.model``); push the data; compile or refresh (``optimizer.compiled``)
and solve (``optimizer.solve``); turn the solution into the plan table; fill in KPIs and the
baseline comparison (``optimizer.accounting``, ``optimizer.baseline``).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from datetime import datetime
from typing import Any

import pandas as pd

from optimizer import baseline as rules
from optimizer.devices import device_models
from optimizer.errors import InfeasibleError, PlanningError
from optimizer.inputs import build_inputs, check_index, validate_inputs
from optimizer.model import build_model, energy_value_per_kwh, structure_key
from optimizer.outcome import (
    GUARD_TOLERANCE_KGCO2,
    GUARD_TOLERANCE_PU,
    assess,
    gc_paused,
    plan_table,
    stored_values,
)
from optimizer.plan import MODES, Plan
from optimizer.scenario_inputs import check_scenarios
from optimizer.scenarios import scenario_plan
from optimizer.solve import HighsProblem, solve_restricted
from optimizer.state import State
from sites.schema import Site


class Planner:
    """Makes plans, keeping built models and their HiGHS objects for re-plans.

    A re-plan of a site whose horizon has the same shape (same site, length, windows and
    options) only pushes the new inputs and state into the kept model and re-solves.
    A Planner is not thread-safe: give each worker thread its own.

    Parameters
    ----------
    keep : int
        How many built models to keep (least recently used ones are dropped).
    threads : int, optional
        HiGHS threads.
    """

    def __init__(self, keep: int = 4, *, threads: int | None = None):
        self.keep = keep
        self.threads = threads
        self._kept: OrderedDict[tuple, Any] = OrderedDict()
        self._devices: dict[Site, list] = {}
        #: value of stored energy of the last horizons planned, by (site, first, last, length)
        self._energy_values: OrderedDict[tuple, float] = OrderedDict()
        #: timings of the last plan [s]: build, compile, pass, refresh, solver, readback, total
        self.last_timings: dict[str, float] = {}

    def _problem(
        self, site: Site, index: pd.DatetimeIndex, inputs: pd.DataFrame
    ) -> tuple[Any, Any, bool]:
        devices = self._devices.get(site)
        if devices is None:
            devices = self._devices[site] = device_models(site)
        span = (site, index[0], index[-1], len(index))
        value = self._energy_values.get(span)
        if value is None:
            value = self._energy_values[span] = energy_value_per_kwh(site, index, devices)
            while len(self._energy_values) > max(self.keep, 1):
                self._energy_values.popitem(last=False)
        key = structure_key(site, index, inputs, devices, value)
        if key in self._kept:
            self._kept.move_to_end(key)
            vm, problem = self._kept[key]
            return vm, problem, True
        t0 = time.perf_counter()
        vm = build_model(site, index, inputs, devices=devices, key=key)
        self.last_timings["build_s"] = time.perf_counter() - t0
        return vm, None, False

    @gc_paused
    def plan(
        self,
        site: Site,
        index: pd.DatetimeIndex,
        inputs: pd.DataFrame | None = None,
        state: State | None = None,
        *,
        mode: str = "cost",
        emission_budget_kgco2: float | None = None,
        time_limit_s: float | None = None,
        mip_rel_gap: float | None = None,
        now: datetime | None = None,
        assess_plan: bool = True,
        carbon_guard: bool | None = None,
    ) -> Plan:
        """Plan ``site`` over ``index``; see ``make_plan``."""
        t_start = time.perf_counter()
        if mode not in MODES:
            raise PlanningError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if emission_budget_kgco2 is not None and not (
            math.isfinite(emission_budget_kgco2) and emission_budget_kgco2 >= 0
        ):
            raise PlanningError(f"emission_budget_kgco2 must be ≥ 0, got {emission_budget_kgco2}")
        if now is not None and now.tzinfo is None:
            raise PlanningError(f"now must be timezone-aware, got naive {now.isoformat()}")
        index = check_index(site, index)
        checked = inputs is not None  # validate_inputs's own table, as the rules would make it
        inputs = (
            build_inputs(site, index) if inputs is None else validate_inputs(site, index, inputs)
        )
        state = (state or State()).resolved(site)
        self.last_timings = {}
        guard = mode == "cost" and (site.carbon_guard if carbon_guard is None else carbon_guard)
        base: Plan | None = None
        cap: float | None = None
        vm, problem, reused = self._problem(site, index, inputs)
        datas = vm.set_data(index, inputs, state)
        t0 = time.perf_counter()
        if reused:
            problem.refresh(datas)
            self.last_timings["refresh_s"] = time.perf_counter() - t0
        else:
            problem = HighsProblem(vm, datas, threads=self.threads)
            self.last_timings["compile_s"] = problem.compile_s
            self.last_timings["pass_s"] = problem.pass_s
            self._kept[vm.key] = (vm, problem)
            while len(self._kept) > self.keep:
                self._kept.popitem(last=False)
            kept_sites = {key[0] for key in self._kept}
            self._devices = {s: d for s, d in self._devices.items() if s in kept_sites}
        try:
            solution = self._solve(
                vm, problem, mode, emission_budget_kgco2, None, time_limit_s, mip_rel_gap
            )
            if guard:  # the carbon guard: re-solve at the rules' emissions if above them
                base = rules.rule_based_plan(site, inputs, state, now=now, checked=checked)
                rules_kgco2 = float(base.kpis["emissions_kgco2"])
                allowed = rules_kgco2 - (1.0 - site.carbon_guard_pu) * abs(rules_kgco2)
                cap = allowed + abs(allowed) * GUARD_TOLERANCE_PU + GUARD_TOLERANCE_KGCO2
                if solution.objectives["emissions_objective"] > cap:
                    problem.release()
                    solver_s = solution.solver_time_s
                    solution = self._solve(
                        vm, problem, mode, emission_budget_kgco2, cap, time_limit_s, mip_rel_gap
                    )
                    solution.solver_time_s += solver_s
        except InfeasibleError:
            conflicts = [
                c for dev, data in zip(vm.devices, datas, strict=True) for c in dev.conflicts(data)
            ]
            if not conflicts:
                core = problem.conflicting_constraints()
                conflicts = [
                    "no single device's parameters conflict; these constraints together "
                    "cannot hold: " + (", ".join(core) if core else "(HiGHS found no subset)")
                ]
            raise InfeasibleError(
                f"site {site.name!r} has no feasible plan: " + "; ".join(conflicts), conflicts
            ) from None
        self.last_timings["solver_s"] = solution.solver_time_s
        t1 = time.perf_counter()
        table = plan_table(vm, problem, solution, inputs, datas)
        self.last_timings["readback_s"] = time.perf_counter() - t1
        objectives = solution.objectives
        terms = {
            "cost": float(table["cost"].sum()),
            "horizon_cost": objectives["horizon_objective"],
            "penalty": objectives["penalty_objective"],
            "emissions_kgco2": objectives["emissions_objective"],
            "carbon_cost": site.carbon_price_per_kgco2 * objectives["emissions_objective"],
            "stored_shortfall_value": objectives["shortfall_objective"],
            "unserved_kwh": objectives["unserved_objective"],
            "objective": objectives["objective"],
            "mode": mode,
            "carbon_accounting": site.carbon_accounting,
            "carbon_guard": bool(guard),
            "emission_limits_met": solution.limits_met,
        }
        if cap is not None:
            terms["carbon_guard_kgco2"] = cap
        if emission_budget_kgco2 is not None:
            terms["emission_budget_kgco2"] = emission_budget_kgco2
        if solution.mip_gap is not None:
            terms["mip_gap"] = solution.mip_gap
        self.last_timings["total_s"] = time.perf_counter() - t_start
        plan = Plan.create(
            site,
            table,
            now=now,
            status=solution.status,
            solver=problem.solver_name,
            solve_time_s=self.last_timings["total_s"],
            objective_terms=terms,
            inputs_notes={"sources": {d.name: d.sources() for d in vm.devices if d.sources()}},
        )
        if not assess_plan:
            return plan
        return assess(site, plan, inputs, state, now, base, stored_values(vm))

    @staticmethod
    def _solve(
        vm: Any,
        problem: Any,
        mode: str,
        budget: float | None,
        cap: float | None,
        time_limit_s: float | None,
        mip_rel_gap: float | None,
    ) -> Any:
        """Solve, then re-solve while any device asks for bounds its rules need."""
        options = dict(
            mode=mode,
            emission_budget_kgco2=budget,
            emission_cap_kgco2=cap,
            mip_rel_gap=mip_rel_gap,
        )
        deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s
        solver_s = 0.0

        def solve() -> Any:
            nonlocal solver_s
            left = None if deadline is None else max(deadline - time.perf_counter(), 1e-3)
            solution = problem.solve(time_limit_s=left, **options)
            solver_s += solution.solver_time_s
            return solution

        solution = solve_restricted(problem, [vm], solve, lambda s: s.x, vm.n)
        solution.solver_time_s = solver_s
        return solution


def make_plan(
    site: Site,
    index: pd.DatetimeIndex,
    inputs: pd.DataFrame | None = None,
    state: State | None = None,
    *,
    mode: str = "cost",
    emission_budget_kgco2: float | None = None,
    time_limit_s: float | None = None,
    mip_rel_gap: float | None = None,
    now: datetime | None = None,
    carbon_guard: bool | None = None,
    scenarios: int = 1,
) -> Plan:
    """Plan every device of ``site`` over ``index``.

    Parameters
    ----------
    site : Site
    index : DatetimeIndex
        Interval starts, tz-aware, at the site's step.
    inputs : DataFrame, optional
        Input columns (DESIGN.md); None: ``build_inputs(site, index)``.
    state : State, optional
        Initial state; missing entries default from the site file.
    mode : {"cost", "carbon"}
        Minimise cost (with the site's carbon price), or emissions first and cost second.
    emission_budget_kgco2 : float, optional
        Emissions allowed per local day [kgCO2e] (ε-constraint; a partial day gets its share).
    time_limit_s : float, optional
        Wall-clock limit of the solver [s]; a plan cut short has status ``time_limit``.
    mip_rel_gap : float, optional
        Relative optimality gap for models with commitment (MILP).
    now : datetime, optional
        Stamps ``created_at``; nothing else depends on it.
    carbon_guard : bool, optional
        In ``cost`` mode, emit no more than the rule-based dispatch on the same inputs;
        None: the site's ``carbon_guard`` (on by default).
    scenarios : {1, 3}
        1: the deterministic plan; 3: hedged over P10/P50/P90 scenarios of PV and load
        (``optimizer.scenarios``, docs/formulation.md, *Scenario plans*).

    Serving load comes first in every mode: the plan sheds the least energy any schedule
    can, and emission limits give way to that (docs/formulation.md, *Order of goals*).

    Raises
    ------
    PlanningError
        Bad inputs, or no plan within the time limit.
    InfeasibleError
        The site's parameters contradict one another; the message names them.
    """
    if check_scenarios(scenarios) == 3:
        return scenario_plan(
            site, index, inputs, state, scenarios=scenarios, mode=mode,
            emission_budget_kgco2=emission_budget_kgco2, time_limit_s=time_limit_s, now=now,
            carbon_guard=carbon_guard,
        )
    return Planner(keep=1).plan(
        site,
        index,
        inputs,
        state,
        mode=mode,
        emission_budget_kgco2=emission_budget_kgco2,
        time_limit_s=time_limit_s,
        mip_rel_gap=mip_rel_gap,
        now=now,
        carbon_guard=carbon_guard,
    )
