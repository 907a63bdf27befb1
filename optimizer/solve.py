"""Hand the compiled model to HiGHS, keep it for re-plans, and read the solution back.

The only module that names HiGHS. The Pyomo model is compiled once with Pyomo's
``LinearStandardFormCompiler`` into matrices that go straight into a ``highspy.Highs``
object; the solution vector and the bus-balance duals are read back as arrays. Because
forecasts and state enter the model only as column bounds and objective coefficients
(docs/formulation.md, *Solving*), ``refresh`` re-reads those two from the model's mutable
Params and pushes them into the kept HiGHS object, which re-solves from its last basis.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
from pyomo.common.gc_manager import PauseGC
from pyomo.repn.linear import LinearRepnVisitor
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from optimizer.errors import InfeasibleError, PlanningError
from optimizer.model import VillageModel

#: Relative and absolute slack on an earlier stage's optimum in lexicographic (carbon) mode.
LEXICOGRAPHIC_TOLERANCE_PU = 1e-6
LEXICOGRAPHIC_TOLERANCE_ABS = 1e-6

#: Solution values smaller than this are reported as zero (solver round-off) [any unit].
ZERO = 1e-9

INF = highspy.kHighsInf
_FEASIBLE = 2  # HiGHS solution status "feasible"


@dataclass
class Solution:
    """What one solve returns, as arrays over the compiled columns and rows."""

    status: str  #: "optimal" or "time_limit"
    x: np.ndarray  #: column values
    bus_dual: np.ndarray  #: dual of bus_balance[t] [currency/kW of the interval]
    objectives: dict[str, float]  #: value of each compiled objective row, offsets included
    solver_time_s: float  #: HiGHS's own run time, summed over stages
    mip_gap: float | None


def _bounds(values: list[Any], missing: float) -> np.ndarray:
    return np.array([missing if v is None else v for v in values], dtype=float)


class HighsProblem:
    """A compiled ``VillageModel`` in a kept ``highspy.Highs`` object.

    Parameters
    ----------
    vm : VillageModel
        The built model, with data already pushed by ``VillageModel.set_data``.
    threads : int, optional
        HiGHS threads; changing it resets HiGHS's process-wide scheduler first.
    """

    def __init__(self, vm: VillageModel, *, threads: int | None = None):
        self.vm = vm
        t0 = time.perf_counter()
        with PauseGC():
            info = LinearStandardFormCompiler().write(vm.model, mixed_form=True)
        self.columns = info.columns
        self.n_cols = len(self.columns)
        self.col_of = {id(v): j for j, v in enumerate(self.columns)}
        self._index_cache: dict[int, np.ndarray] = {}
        A = info.A.tocsc()
        rhs = np.asarray(info.rhs, dtype=float)
        kind = np.array([r.bound_type for r in info.rows])
        row_lower = np.where(kind == 1, -INF, rhs)
        row_upper = np.where(kind == -1, INF, rhs)
        row_of = {id(r.constraint): i for i, r in enumerate(info.rows) if r.bound_type == 0}
        self.bus_rows = np.array([row_of[id(vm.model.bus_balance[t])] for t in vm.model.T])
        self.n_rows = len(info.rows)
        self.objective_names = [o.name for o in info.objectives]
        self._objectives = list(info.objectives)
        c = info.c.tocsr()
        self.c = {name: c[[i], :] for i, name in enumerate(self.objective_names)}
        self.c_offset = dict(
            zip(self.objective_names, np.asarray(info.c_offset, float), strict=True)
        )
        self.integer = np.array([v.is_integer() for v in self.columns], dtype=bool)
        self.compile_s = time.perf_counter() - t0

        t1 = time.perf_counter()
        if threads is not None:
            highspy.Highs.resetGlobalScheduler(True)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        if threads is not None:
            h.setOptionValue("threads", int(threads))
        lp = highspy.HighsLp()
        lp.num_col_ = self.n_cols
        lp.num_row_ = self.n_rows
        lp.col_cost_ = self.dense("objective")
        self._low, self._high = self.column_bounds()
        lp.col_lower_, lp.col_upper_ = self._low, self._high
        lp.row_lower_ = row_lower
        lp.row_upper_ = row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = A.indptr
        lp.a_matrix_.index_ = A.indices
        lp.a_matrix_.value_ = A.data
        if self.integer.any():
            lp.integrality_ = [
                highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                for i in self.integer
            ]
        h.passModel(lp)
        self.highs = h
        self.solver_name = f"HiGHS {h.version()}"
        self._extra_rows = 0
        self.pass_s = time.perf_counter() - t1

    # --- data ---------------------------------------------------------------------------
    def dense(self, objective: str) -> np.ndarray:
        return np.asarray(self.c[objective].toarray()).ravel()

    def column_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        low = _bounds([v.lb for v in self.columns], -INF)
        return low, _bounds([v.ub for v in self.columns], INF)

    def refresh(self) -> None:
        """Re-read column bounds and objective rows from the model's Params into HiGHS."""
        self._low, self._high = low, high = self.column_bounds()
        idx = np.arange(self.n_cols, dtype=np.int32)
        self.highs.changeColsBounds(self.n_cols, idx, low, high)
        visitor = LinearRepnVisitor({})
        import scipy.sparse as sp

        for name, obj in zip(self.objective_names, self._objectives, strict=True):
            repn = visitor.walk_expression(obj.expr)
            cols = np.fromiter(
                (self.col_of[k] for k in repn.linear), dtype=np.int64, count=len(repn.linear)
            )
            vals = np.fromiter(repn.linear.values(), dtype=float, count=len(repn.linear))
            self.c[name] = sp.csr_array((vals, (np.zeros_like(cols), cols)), shape=(1, self.n_cols))
            self.c_offset[name] = float(repn.constant)

    def values(self, x: np.ndarray, component: Any) -> np.ndarray:
        """Values of an indexed Var (shape ``(T,)`` or ``(k, T)``) from a solution vector.

        A variable that the compiler dropped (it appears nowhere) takes its lower bound.
        """
        key = id(component)
        idx = self._index_cache.get(key)
        if idx is None:
            idx = np.array([self.col_of.get(id(v), -1) for v in component.values()], dtype=np.int64)
            self._index_cache[key] = idx
        out = np.where(idx >= 0, x[np.maximum(idx, 0)], 0.0)
        out[np.abs(out) < ZERO] = 0.0
        if (idx < 0).any():
            lows = np.array([v.lb or 0.0 for v in component.values()])
            out = np.where(idx >= 0, out, lows)
        if component.dim() == 2:
            out = out.reshape(-1, self.vm.n)
        return out

    def restrict(self, bounds: list[tuple[Any, float, float]]) -> None:
        """Impose ``(var, lower, upper)`` bounds until the next ``release``."""
        idx = np.array([self.col_of[id(v)] for v, _, _ in bounds], dtype=np.int32)
        low = np.array([lo for _, lo, _ in bounds], dtype=float)
        high = np.array([hi for _, _, hi in bounds], dtype=float)
        self.highs.changeColsBounds(len(idx), idx, low, high)
        self._restricted = True

    def release(self) -> None:
        """Undo every ``restrict``: the column bounds of the model again."""
        if getattr(self, "_restricted", False):
            idx = np.arange(self.n_cols, dtype=np.int32)
            self.highs.changeColsBounds(self.n_cols, idx, self._low, self._high)
            self._restricted = False

    # --- solving ------------------------------------------------------------------------
    def _reset_rows(self) -> None:
        if self._extra_rows:
            rows = np.arange(self.n_rows, self.n_rows + self._extra_rows, dtype=np.int32)
            self.highs.deleteRows(len(rows), rows)
            self._extra_rows = 0

    def _add_row(self, objective: str, upper: float) -> None:
        row = self.c[objective]
        self.highs.addRow(
            -INF, upper - self.c_offset[objective], row.nnz, row.indices.astype(np.int32), row.data
        )
        self._extra_rows += 1

    def _run(self, objective: str, deadline: float | None) -> str:
        h = self.highs
        h.changeColsCost(self.n_cols, np.arange(self.n_cols, dtype=np.int32), self.dense(objective))
        if deadline is not None:
            h.setOptionValue("time_limit", max(deadline - time.perf_counter(), 1e-3))
        t0 = time.perf_counter()
        h.run()
        self._solver_s += time.perf_counter() - t0
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            return "optimal"
        if status in (
            highspy.HighsModelStatus.kInfeasible,
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            raise InfeasibleError("the model is infeasible")
        limited = (
            highspy.HighsModelStatus.kTimeLimit,
            highspy.HighsModelStatus.kIterationLimit,
            highspy.HighsModelStatus.kInterrupt,
        )
        if status in limited:
            if int(h.getInfo().primal_solution_status) == _FEASIBLE:
                return "time_limit"
            raise PlanningError("the time limit was reached before HiGHS found a feasible plan")
        raise PlanningError(f"HiGHS ended with status {h.modelStatusToString(status)}")

    def _fixed_integer_duals(self, x: np.ndarray) -> np.ndarray:
        """Bus duals of the LP with every integer fixed at its value in ``x``.

        A MILP has no duals; the marginal price of a committed schedule is the dual of the LP
        that keeps those on/off decisions.
        """
        h = self.highs
        idx = np.flatnonzero(self.integer).astype(np.int32)
        fixed = np.round(x[idx])
        kinds = highspy.HighsVarType
        h.changeColsIntegrality(len(idx), idx, np.array([kinds.kContinuous] * len(idx)))
        h.changeColsBounds(len(idx), idx, fixed, fixed)
        try:
            t0 = time.perf_counter()
            h.run()
            self._solver_s += time.perf_counter() - t0
            ok = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
            dual = np.asarray(h.getSolution().row_dual)[self.bus_rows] if ok else None
        finally:
            h.changeColsBounds(len(idx), idx, self._low[idx], self._high[idx])
            h.changeColsIntegrality(len(idx), idx, np.array([kinds.kInteger] * len(idx)))
        return dual if dual is not None else np.full(self.vm.n, np.nan)

    def _value(self, objective: str, x: np.ndarray) -> float:
        return float((self.c[objective] @ x)[0]) + self.c_offset[objective]

    def solve(
        self,
        *,
        mode: str = "cost",
        emission_budget_kgco2: float | None = None,
        time_limit_s: float | None = None,
        mip_rel_gap: float | None = None,
    ) -> Solution:
        """Solve in ``mode`` ("cost" or "carbon"), optionally under a daily emission budget."""
        h = self.highs
        self._reset_rows()
        self._solver_s = 0.0
        deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s
        if deadline is None:
            h.setOptionValue("time_limit", INF)
        if mip_rel_gap is not None:
            h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
        if emission_budget_kgco2 is not None:
            for d, group in enumerate(self.vm.days):
                share = len(group) * self.vm.step_h / 24.0
                self._add_row(f"day_emissions[{d}]", emission_budget_kgco2 * share)
        stages = ["penalty_objective", "emissions_objective"] if mode == "carbon" else []
        statuses = []
        for stage in stages:
            statuses.append(self._run(stage, deadline))
            best = self._value(stage, np.asarray(h.getSolution().col_value))
            slack = abs(best) * LEXICOGRAPHIC_TOLERANCE_PU + LEXICOGRAPHIC_TOLERANCE_ABS
            self._add_row(stage, best + slack)
        statuses.append(self._run("objective", deadline))
        solution = h.getSolution()
        x = np.asarray(solution.col_value)
        if self.integer.any():
            gap: float | None = float(h.getInfo().mip_gap)
            bus_dual = self._fixed_integer_duals(x)
        else:
            bus_dual = np.asarray(solution.row_dual)[self.bus_rows]
            gap = None
        status = "optimal" if all(s == "optimal" for s in statuses) else "time_limit"
        objectives = {name: self._value(name, x) for name in self.objective_names}
        return Solution(status, x, bus_dual, objectives, self._solver_s, gap)
