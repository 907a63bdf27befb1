"""A linear Pyomo model of a study (e.g. sizing over several periods) in a kept HiGHS object.

The study's model is compiled by Pyomo's ``LinearStandardFormCompiler`` and handed to
:class:`optimizer.solve.KeptLp`, the wrapper that plans use too; its objectives are solved
by name, in lexicographic stages.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from optimizer.errors import InfeasibleError
from optimizer.solve import (
    INF,
    LEXICOGRAPHIC_TOLERANCE_ABS,
    LEXICOGRAPHIC_TOLERANCE_PU,
    KeptLp,
)


class StudyProblem(KeptLp):
    """Any linear Pyomo model in a kept ``Highs`` object, its active objectives solved by name.

    For studies whose model is made of planning models (e.g. sizing over several periods,
    ``optimizer.studies.sizing``); planning itself uses :class:`HighsProblem`.
    """

    def __init__(self, model: Any):
        from pyomo.common.gc_manager import PauseGC
        from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

        t0 = time.perf_counter()
        with PauseGC():
            info = LinearStandardFormCompiler().write(model, mixed_form=True)
        self.columns = info.columns
        self.col_of = {id(v): j for j, v in enumerate(self.columns)}
        c = info.c.tocsr()
        offsets = np.asarray(info.c_offset, dtype=float)
        self.rows = {o.name: c[[i], :].toarray().ravel() for i, o in enumerate(info.objectives)}
        self.offsets = {o.name: float(offsets[i]) for i, o in enumerate(info.objectives)}
        self.low = np.array([-INF if v.lb is None else v.lb for v in self.columns], dtype=float)
        self.high = np.array([INF if v.ub is None else v.ub for v in self.columns], dtype=float)
        rhs = np.asarray(info.rhs, dtype=float)
        kind = np.array([r.bound_type for r in info.rows])
        row_lower = np.where(kind == 1, -INF, rhs)
        row_upper = np.where(kind == -1, INF, rhs)
        super().__init__(self.low, self.high, row_lower, row_upper, info.A.tocsc())
        self.compile_s = time.perf_counter() - t0

    def model_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.low, self.high

    def value(self, name: str, x: np.ndarray) -> float:
        return float(self.rows[name] @ x) + self.offsets[name]

    def values(self, x: np.ndarray, component: Any) -> np.ndarray:
        """Values of an indexed Var in index order (a dropped variable: its lower bound)."""
        idx = np.array([self.col_of.get(id(v), -1) for v in component.values()], dtype=np.int64)
        lows = np.array([v.lb or 0.0 for v in component.values()])
        return np.where(idx >= 0, x[np.maximum(idx, 0)], lows)

    def set_upper(self, var: Any, upper: float | None) -> None:
        """A new upper bound for one variable (None: none)."""
        j = self.col_of[id(var)]
        self.high[j] = INF if upper is None else upper
        self.highs.changeColsBounds(1, np.array([j], np.int32), self.low[[j]], self.high[[j]])

    def solve(
        self, objective: str, *, stages: tuple[str, ...] = (), time_limit_s: float | None = None
    ) -> tuple[str, np.ndarray, dict[str, float]]:
        """Minimise each of ``stages`` in turn, keeping each optimum (within the lexicographic
        tolerance), then ``objective``; returns the status, the solution and every objective.
        ``time_limit_s`` applies to each stage."""
        self.reset_rows()
        statuses = []
        for name in (*stages, objective):
            self.set_cost(self.rows[name])
            deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s
            try:
                statuses.append(self.run(deadline))
            except InfeasibleError:
                raise InfeasibleError(f"the study model is infeasible (stage {name!r})") from None
            if name != objective:
                best = self.value(name, self.x())
                slack = abs(best) * LEXICOGRAPHIC_TOLERANCE_PU + LEXICOGRAPHIC_TOLERANCE_ABS
                row = self.rows[name]
                nz = np.flatnonzero(row)
                self.add_row(nz, row[nz], best + slack - self.offsets[name])
        x = self.x()
        status = "optimal" if all(s == "optimal" for s in statuses) else "time_limit"
        return status, x, {name: self.value(name, x) for name in self.rows}
