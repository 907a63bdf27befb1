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
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import numpy as np
import pandas as pd

from optimizer.errors import InfeasibleError, PlanningError
from optimizer.inputs import build_inputs, check_index, validate_inputs
from optimizer.plan import MODES, Plan
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


def _optional(module: str) -> Any:
    """A module of this package that may not be present yet, or None."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return None


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
    accounting = _optional("optimizer.accounting")
    kpis = accounting.kpis(site, plan.table) if accounting is not None else {}
    baseline: dict[str, Any] = {}
    rules = _optional("optimizer.baseline")
    if rules is not None:
        if base is None:
            base = rules.rule_based_plan(site, inputs, state, now=now)
        baseline = dict(base.kpis)
        if accounting is not None:
            baseline.update(
                accounting.comparison(site, plan.table, base.table, stored_value or {})
            )
    return replace(plan, kpis=kpis, baseline=baseline)


def stored_values(vm: Any) -> dict[str, float]:
    """Plan-table level column → value per unit of what a store holds at the end, for every
    device whose block has an end-of-horizon target (``optimizer.devices.storage``)."""
    out = {}
    for dev in vm.devices:
        blk = vm.block(dev)
        if hasattr(blk, "end_value_per_unit"):
            out[f"{dev.prefix}{blk.end_level_column}"] = float(blk.end_value_per_unit)
    return out


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
        #: timings of the last plan [s]: build, compile, pass, refresh, solver, readback, total
        self.last_timings: dict[str, float] = {}

    def _problem(
        self, site: Site, index: pd.DatetimeIndex, inputs: pd.DataFrame
    ) -> tuple[Any, Any, bool]:
        from optimizer.devices import device_models
        from optimizer.model import build_model, structure_key

        devices = self._devices.get(site)
        if devices is None:
            devices = self._devices[site] = device_models(site)
        key = structure_key(site, index, inputs, devices)
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
        inputs = (
            build_inputs(site, index) if inputs is None else validate_inputs(site, index, inputs)
        )
        state = (state or State()).resolved(site)
        from optimizer.solve import HighsProblem

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
                from optimizer.baseline import rule_based_plan

                base = rule_based_plan(site, inputs, state, now=now)
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
        table = self._table(vm, problem, solution, inputs, datas)
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

        from optimizer.solve import solve_restricted

        solution = solve_restricted(problem, [vm], solve, lambda s: s.x, vm.n)
        solution.solver_time_s = solver_s
        return solution

    @staticmethod
    def _table(
        vm: Any, problem: Any, solution: Any, inputs: pd.DataFrame, datas: list
    ) -> pd.DataFrame:
        columns: dict[str, np.ndarray] = {c: inputs[c].to_numpy() for c in inputs.columns}
        for dev, data in zip(vm.devices, datas, strict=True):
            blk = vm.block(dev)

            def values(name: str, blk: Any = blk) -> np.ndarray:
                return problem.values(solution.x, getattr(blk, name))

            for quantity, series in dev.decisions(values, data).items():
                columns[f"{dev.prefix}{quantity}"] = np.asarray(series, dtype=float)
        from optimizer.model import interval_accounts

        cost, emissions = interval_accounts(vm, columns)
        columns["cost"] = cost
        columns["emissions_kgco2"] = emissions
        columns["marginal_price_per_kwh"] = solution.bus_dual / vm.step_h
        return pd.DataFrame(columns, index=inputs.index.rename("start"))
