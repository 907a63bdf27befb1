"""Hand the compiled model to HiGHS, keep it for re-plans, and read the solution back.

The only module that names HiGHS. The matrices of ``optimizer.compiled.Compiled`` go straight
into a ``highspy.Highs`` object; the solution vector and the bus-balance duals are read back as
arrays. A re-plan pushes the refreshed column bounds and objective row into the kept object,
which re-solves from its last basis. ``KeptLp`` is the one wrapper of HiGHS, shared by
plans (``HighsProblem``) and studies (``optimizer.studies.problem.StudyProblem``), and
``solve_restricted`` the one loop that re-solves while devices ask for bounds.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np

from optimizer.compiled import Compiled
from optimizer.devices.base import DeviceData
from optimizer.errors import InfeasibleError, PlanningError
from optimizer.model import VillageModel

#: Relative and absolute slack on an earlier stage's optimum in lexicographic (carbon) mode.
LEXICOGRAPHIC_TOLERANCE_PU = 1e-6
LEXICOGRAPHIC_TOLERANCE_ABS = 1e-6

#: Absolute slack of particular stages: unserved energy is kept to its least within 1e-9 kWh,
#: so later stages cannot trade a sliver of lost load for money [kWh].
STAGE_TOLERANCE_ABS = {"unserved_objective": 1e-9}

#: MIP gaps (relative and absolute) of those stages with commitment [pu, kWh].
STAGE_MIP_GAP = 1e-6

#: Unserved energy below this counts as none [kWh]: above it, a cost-mode plan checks that
#: no schedule sheds less (solver round-off stays far below it).
UNSERVED_TOLERANCE_KWH = 1e-6

#: Relative optimality gap of MILPs (commitment) unless the caller gives one [pu]. Proving
#: the last fraction of a percent can take minutes (a day of the demo village with a
#: committed genset: 0.8 % in 2 s, 0.3 % after 20 s).
DEFAULT_MIP_REL_GAP = 0.01

#: Absolute optimality gap of MILPs per day of horizon [currency/day], used with the relative
#: one (HiGHS stops at whichever is met first): a plan whose cost nets out near zero (export
#: revenue against import) would otherwise chase 1 % of almost nothing.
DEFAULT_MIP_ABS_GAP_PER_DAY = 2.0

#: HiGHS's ``iis_strategy`` for naming conflicting constraints: 2 works from the rows.
IIS_STRATEGY = 2

INF = highspy.kHighsInf
_FEASIBLE = 2  # HiGHS solution status "feasible"
_STATUS = highspy.HighsModelStatus
#: From this many columns a plan's run after a new objective, new or removed rows or released
#: bounds starts cold, with presolve (``HighsProblem.cold_start_columns``); below it the last
#: basis is kept (docs/optimizer_speed.md, *Warm and cold starts*).
COLD_START_COLUMNS = 30_000

#: statuses after which the run is repeated once from a cold start (``KeptLp.run``)
_WARM_START_FAILURES = (_STATUS.kUnknown, _STATUS.kSolveError)


@dataclass
class Solution:
    """What one solve returns, as arrays over the compiled columns and rows."""

    status: str  #: "optimal" or "time_limit"
    x: np.ndarray  #: column values
    bus_dual: np.ndarray  #: dual of bus_balance[t] [currency/kW of the interval]
    objectives: dict[str, float]  #: value of each objective row, constants included
    solver_time_s: float  #: HiGHS's own run time, summed over stages
    mip_gap: float | None
    limits_met: bool = True  #: False when emission limits gave way to serving load


def _new_highs() -> Any:
    """A ``Highs`` object; its one-time copyright banner is kept off the process's stdout.

    HiGHS prints the banner from C++ when the first object of a process is made, before any
    option can silence it; the CLI's output and the service's logs should not carry it.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _inf(values: np.ndarray) -> np.ndarray:
    return np.clip(values, -INF, INF)


class KeptLp:
    """A linear (or mixed-integer) programme in a kept ``highspy.Highs`` object.

    The one wrapper of HiGHS that plans and studies share: the matrix is handed over as arrays
    (``Highs.passModel``), objectives are swapped by their cost rows, extra rows (an earlier
    stage's optimum, emission limits) are added and removed, and column bounds are restricted
    and released between solves.

    Parameters
    ----------
    low, high : numpy.ndarray
        Column bounds (±inf where none); kept as the model's own bounds for ``release``.
    row_lower, row_upper : numpy.ndarray
        Row bounds (±inf where none).
    A : scipy.sparse.csc_matrix
        The constraint matrix, column-wise.
    integer : numpy.ndarray of bool, optional
        Columns that must take integer values.
    threads : int, optional
        HiGHS threads; changing it resets HiGHS's process-wide scheduler first.
    """

    def __init__(
        self,
        low: np.ndarray,
        high: np.ndarray,
        row_lower: np.ndarray,
        row_upper: np.ndarray,
        A: Any,
        *,
        integer: np.ndarray | None = None,
        threads: int | None = None,
    ):
        t0 = time.perf_counter()
        if threads is not None:
            highspy.Highs.resetGlobalScheduler(True)
        h = _new_highs()
        h.setOptionValue("output_flag", False)
        if threads is not None:
            h.setOptionValue("threads", int(threads))
        n_cols, n_rows = len(low), len(row_lower)
        # HighsVarType: 0 continuous, 1 integer
        kinds = np.zeros(n_cols, np.int32) if integer is None else integer.astype(np.int32)
        status = h.passModel(
            n_cols,
            n_rows,
            int(A.nnz),
            int(highspy.MatrixFormat.kColwise),
            int(highspy.ObjSense.kMinimize),
            0.0,
            np.zeros(n_cols),
            _inf(low),
            _inf(high),
            _inf(np.asarray(row_lower, dtype=float)),
            _inf(np.asarray(row_upper, dtype=float)),
            A.indptr.astype(np.int32),
            A.indices.astype(np.int32),
            A.data.astype(float),
            kinds,
        )
        if status != highspy.HighsStatus.kOk:
            raise PlanningError(f"HiGHS did not accept the model (status {status})")
        self.highs = h
        self.n_cols, self.n_rows = n_cols, n_rows
        self.integer = np.zeros(n_cols, dtype=bool) if integer is None else integer
        self.solver_name = f"HiGHS {h.version()}"
        self._all = np.arange(n_cols, dtype=np.int32)
        self._extra_rows = 0
        self._restricted = False
        #: ``restrict`` calls since the last ``release`` (each one narrows the columns' bounds)
        self._restrictions = 0
        self._cost: np.ndarray | None = None
        #: the objective, the rows or released bounds changed since the last run
        self._reshaped = False
        self._solver_s = 0.0
        #: HiGHS runs so far (every solve, stage, re-solve and dual pass)
        self.runs = 0
        self.pass_s = time.perf_counter() - t0

    #: column of each Pyomo variable, by ``id``
    col_of: dict[int, int]

    def model_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The model's own column bounds (lower, upper)."""
        raise NotImplementedError

    def cold_start_columns(self) -> int | None:
        """From how many columns a run after a new objective, changed rows or released
        bounds starts cold; None: always from the last basis (a sizing LP released from
        fixed capacities is meant to start from their basis)."""
        return None

    def set_cost(self, cost: np.ndarray) -> None:
        """The objective row to minimise in the next runs (pushed only when it changed)."""
        if self._cost is not cost:
            self.highs.changeColsCost(self.n_cols, self._all, cost)
            self._reshaped = self._reshaped or self._cost is not None
            self._cost = cost

    def restrict(self, bounds: list[tuple[Any, float, float]]) -> None:
        """Impose ``(var, lower, upper)`` bounds until the next ``release``."""
        col_of = self.col_of
        idx = np.array([col_of[id(v)] for v, _, _ in bounds], dtype=np.int32)
        low = np.array([lo for _, lo, _ in bounds], dtype=float)
        high = np.array([hi for _, _, hi in bounds], dtype=float)
        self.highs.changeColsBounds(len(idx), idx, low, high)
        self._restricted = True
        self._restrictions += 1

    def release(self) -> None:
        """Undo every restriction: the column bounds of the model again."""
        if self._restricted:
            low, high = self.model_bounds()
            self.highs.changeColsBounds(self.n_cols, self._all, _inf(low), _inf(high))
            self._restricted = False
            self._reshaped = True
        self._restrictions = 0

    def add_row(self, cols: np.ndarray, vals: np.ndarray, upper: float) -> None:
        """Add the row ``vals · x[cols] <= upper`` until the next ``reset_rows``."""
        self.highs.addRow(-INF, upper, len(cols), cols.astype(np.int32), vals)
        self._extra_rows += 1
        self._reshaped = True

    def reset_rows(self) -> None:
        """Remove every row added since the model was passed."""
        if self._extra_rows:
            rows = np.arange(self.n_rows, self.n_rows + self._extra_rows, dtype=np.int32)
            self.highs.deleteRows(len(rows), rows)
            self._extra_rows = 0
            self._reshaped = True

    def run(self, deadline: float | None) -> str:
        """Run HiGHS until ``deadline`` (``time.perf_counter()``; None: no limit).

        Returns "optimal" or "time_limit" (a feasible point, maybe not optimal); raises
        ``InfeasibleError`` or ``PlanningError``.
        """
        h = self.highs
        cold_from = self.cold_start_columns()
        if self._reshaped and cold_from is not None and self.n_cols >= cold_from:
            h.clearSolver()
        self._reshaped = False
        status = self._run_once(deadline)
        if status in _WARM_START_FAILURES:
            # A warm start from the last basis can leave the simplex stuck (status Unknown,
            # e.g. after a run that proved added rows infeasible; HiGHS issues #1528, #2108);
            # the same LP from a cold start solves. The retry counts as a run.
            h.clearSolver()
            status = self._run_once(deadline)
        if status == _STATUS.kOptimal:
            return "optimal"
        if status in (_STATUS.kInfeasible, _STATUS.kUnboundedOrInfeasible):
            raise InfeasibleError("the model is infeasible")
        if status in (_STATUS.kTimeLimit, _STATUS.kIterationLimit, _STATUS.kInterrupt):
            if int(h.getInfo().primal_solution_status) == _FEASIBLE:
                return "time_limit"
            raise PlanningError("the time limit was reached before HiGHS found a feasible plan")
        raise PlanningError(f"HiGHS ended with status {h.modelStatusToString(status)}")

    def _run_once(self, deadline: float | None) -> Any:
        h = self.highs
        left = INF if deadline is None else max(deadline - time.perf_counter(), 1e-3)
        h.setOptionValue("time_limit", left)
        t0 = time.perf_counter()
        h.run()
        self.runs += 1
        self._solver_s += time.perf_counter() - t0
        return h.getModelStatus()

    def x(self) -> np.ndarray:
        """The column values of the last run."""
        return np.asarray(self.highs.getSolution().col_value)

    def suggest_integers(self, x: np.ndarray) -> None:
        """Offer the integer values of ``x`` as a start for the next MILP solve (HiGHS
        completes the continuous part itself; an unusable start is ignored)."""
        idx = np.flatnonzero(self.integer).astype(np.int32)
        if len(idx):
            self.highs.setSolution(len(idx), idx, np.round(x[idx]))


def restriction_bounds(models: list[VillageModel], problem: Any, x: np.ndarray) -> list[Any]:
    """``(var, lower, upper)`` bounds the devices of ``models`` ask for where the solution
    ``x`` broke a rule the LP cannot state (``DeviceModel.restrict``, e.g. a grid that imports
    and exports in one interval)."""
    bounds = []
    for vm in models:
        for dev in vm.devices:
            blk = vm.block(dev)

            def values(name: str, blk: Any = blk) -> np.ndarray:
                return problem.values(x, getattr(blk, name))

            bounds.extend(dev.restrict(blk, values))
    return bounds


def solve_restricted(
    problem: Any, models: list[VillageModel], solve: Any, x_of: Any, max_resolves: int
) -> Any:
    """The one re-solve loop: ``solve()``, then, while the devices of ``models`` ask for
    bounds (``restriction_bounds``), impose them, offer the last integer values as a start
    and solve again, at most ``max_resolves`` more times. Returns the last ``solve()``'s
    result; ``x_of(result)`` is its column values."""
    for _ in range(max_resolves + 1):
        result = solve()
        x = x_of(result)
        bounds = restriction_bounds(models, problem, x)
        if not bounds:
            break
        problem.restrict(bounds)
        problem.suggest_integers(x)
    return result


class HighsProblem(KeptLp):
    """A compiled ``VillageModel`` in a kept ``highspy.Highs`` object.

    Parameters
    ----------
    vm : VillageModel
        The built model, with data already pushed by ``VillageModel.set_data``.
    datas : list of DeviceData
        What ``set_data`` returned.
    threads : int, optional
        HiGHS threads; changing it resets HiGHS's process-wide scheduler first.
    """

    def __init__(self, vm: VillageModel, datas: list[DeviceData], *, threads: int | None = None):
        self.vm = vm
        self.compiled = cm = Compiled(vm, datas)
        self.compile_s = cm.compile_s
        self.col_of = cm.col_of
        super().__init__(
            cm.low, cm.high, cm.row_lower, cm.row_upper, cm.A, integer=cm.integer, threads=threads
        )
        #: the most ``restrict`` calls under which a run on the current data found a schedule
        #: that serves every kWh (None: none yet); the least unserved energy is then 0 on
        #: those bounds and on every looser set, so the unserved stage needs no run
        self._serves_all_at: int | None = None

    def model_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.compiled.low, self.compiled.high

    def cold_start_columns(self) -> int | None:
        return COLD_START_COLUMNS

    # --- data ---------------------------------------------------------------------------
    def refresh(self, datas: list[DeviceData]) -> None:
        """Push the bounds and objective of the data now in the model's Params into HiGHS."""
        self.compiled.refresh(datas)
        self._restricted = True  # the new bounds are pushed by release
        self.release()
        self._cost = None
        self._serves_all_at = None

    def release(self) -> None:
        super().release()
        if self._serves_all_at is not None:  # what held on narrower bounds holds on these
            self._serves_all_at = 0

    def values(self, x: np.ndarray, component: Any) -> np.ndarray:
        return self.compiled.values(x, component)

    def conflicting_constraints(self, limit: int = 8) -> list[str]:
        """Names of the constraints and variable bounds in an irreducible infeasible subset.

        Call after a solve raised ``InfeasibleError``; HiGHS computes the subset (IIS).
        """
        # strategy 0 (the default) reports an empty subset when presolve finds the conflict
        self.highs.setOptionValue("iis_strategy", IIS_STRATEGY)
        status, iis = self.highs.getIis()
        if status != highspy.HighsStatus.kOk or not iis.valid_:
            return []
        cm = self.compiled
        names = []
        for i in list(iis.row_index_):
            if i < cm.n_rows:
                names.append(cm.row_constraints[i].name)
            else:
                names.append("the emission budget or a lexicographic bound")
        names += [f"bounds of {cm.columns[j].name}" for j in list(iis.col_index_)]
        unique = list(dict.fromkeys(names))
        more = len(unique) - limit
        return unique[:limit] + ([f"{more} more"] if more > 0 else [])

    # --- solving ------------------------------------------------------------------------
    def _add_row(self, objective: str, upper: float) -> None:
        cols, vals, offset = self.compiled.row(objective)
        self.add_row(cols, vals, upper - offset)

    def _run(self, objective: str, deadline: float | None) -> str:
        self.set_cost(self.compiled.rows[objective])
        status = self.run(deadline)
        if self.compiled.value("unserved_objective", self.x()) <= 0.0:
            seen = -1 if self._serves_all_at is None else self._serves_all_at
            self._serves_all_at = max(seen, self._restrictions)
        return status

    def _fixed_integer_duals(self, x: np.ndarray) -> np.ndarray:
        """Bus duals of the LP with every integer fixed at its value in ``x``.

        A MILP has no duals; the marginal price of a committed schedule is the dual of the LP
        that keeps those on/off decisions.
        """
        h, cm = self.highs, self.compiled
        idx = np.flatnonzero(cm.integer).astype(np.int32)
        fixed = np.round(x[idx])
        kinds = highspy.HighsVarType
        h.changeColsIntegrality(len(idx), idx, np.array([kinds.kContinuous] * len(idx)))
        h.changeColsBounds(len(idx), idx, fixed, fixed)
        try:
            t0 = time.perf_counter()
            h.run()
            self.runs += 1
            self._solver_s += time.perf_counter() - t0
            ok = h.getModelStatus() == _STATUS.kOptimal
            dual = np.asarray(h.getSolution().row_dual)[cm.bus_rows] if ok else None
        finally:
            h.changeColsBounds(len(idx), idx, _inf(cm.low[idx]), _inf(cm.high[idx]))
            h.changeColsIntegrality(len(idx), idx, np.array([kinds.kInteger] * len(idx)))
        return dual if dual is not None else np.full(self.vm.n, np.nan)

    def solve(
        self,
        *,
        mode: str = "cost",
        emission_budget_kgco2: float | None = None,
        emission_cap_kgco2: float | None = None,
        time_limit_s: float | None = None,
        mip_rel_gap: float | None = None,
    ) -> Solution:
        """Solve in ``mode`` ("cost" or "carbon"), optionally under emission limits.

        Serving load comes first in every mode (docs/formulation.md, *Order of goals*): the
        plan's unserved energy is the least any schedule reaches on these inputs. Emission
        limits — the daily ``emission_budget_kgco2`` and the horizon's ``emission_cap_kgco2``
        (the carbon guard) — hold only as far as that allows; where they cannot, the plan
        emits as little as it can instead and ``Solution.limits_met`` is False.

        Stages, each fixing its optimum (within ``LEXICOGRAPHIC_TOLERANCE_*``) for the next:
        ``cost``: unserved energy → (limits) → objective; ``carbon``: unserved energy →
        value of stored energy short of targets → emissions → objective. In ``cost`` mode
        without limits the unserved stage runs only when the plan sheds load.
        """
        h, cm = self.highs, self.compiled
        self.reset_rows()
        self._solver_s = 0.0
        deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s
        if cm.integer.any():
            gap_pu = DEFAULT_MIP_REL_GAP if mip_rel_gap is None else float(mip_rel_gap)
            h.setOptionValue("mip_rel_gap", gap_pu)
            days = self.vm.n * self.vm.step_h / 24.0
            abs_gap = DEFAULT_MIP_ABS_GAP_PER_DAY * days if mip_rel_gap is None else 0.0
            h.setOptionValue("mip_abs_gap", abs_gap)
        limits: list[tuple[str, float]] = []
        if emission_budget_kgco2 is not None:
            for d, group in enumerate(self.vm.days):
                share = len(group) * self.vm.step_h / 24.0
                limits.append((f"day_emissions[{d}]", emission_budget_kgco2 * share))
        if emission_cap_kgco2 is not None:
            limits.append(("emissions_objective", emission_cap_kgco2))
        statuses: list[str] = []
        limits_met = True
        if mode == "carbon":
            self._fix_stage("unserved_objective", deadline, statuses)
            limits_met = self._add_limits(limits, deadline, statuses)
            for stage in ("shortfall_objective", "emissions_objective"):
                self._fix_stage(stage, deadline, statuses)
            statuses.append(self._run("objective", deadline))
        else:
            for name, upper in limits:
                self._add_row(name, upper)
            try:
                statuses.append(self._run("objective", deadline))
                x = np.asarray(h.getSolution().col_value)
                sheds = cm.value("unserved_objective", x) > UNSERVED_TOLERANCE_KWH
            except InfeasibleError:
                if not limits:
                    raise
                sheds = True
            if sheds:  # make sure no schedule sheds less, then keep what limits allow
                self.reset_rows()
                statuses = []
                self._fix_stage("unserved_objective", deadline, statuses)
                limits_met = self._add_limits(limits, deadline, statuses)
                statuses.append(self._run("objective", deadline))
        solution = h.getSolution()
        x = np.asarray(solution.col_value)
        gap: float | None = None
        if cm.integer.any():
            gap = float(h.getInfo().mip_gap)
            bus_dual = self._fixed_integer_duals(x)
        else:
            bus_dual = np.asarray(solution.row_dual)[cm.bus_rows]
        status = "optimal" if all(s == "optimal" for s in statuses) else "time_limit"
        objectives = {name: cm.value(name, x) for name in cm.rows}
        return Solution(status, x, bus_dual, objectives, self._solver_s, gap, limits_met)

    def _fix_stage(self, stage: str, deadline: float | None, statuses: list[str]) -> float:
        """Minimise ``stage``, then keep it at its optimum (plus the tolerance) by a row.

        With commitment (a MILP) the unserved stage is solved to ``STAGE_MIP_GAP`` rather than
        the plan's money gaps, which would let it shed kWh worth their currency."""
        h = self.highs
        if stage == "unserved_objective" and self._serves_all_at is not None:
            if self._restrictions <= self._serves_all_at:
                self._fix_at(stage, 0.0)
                return 0.0
        tight = stage in STAGE_TOLERANCE_ABS and bool(self.compiled.integer.any())
        if tight:
            gaps = (h.getOptionValue("mip_rel_gap")[1], h.getOptionValue("mip_abs_gap")[1])
            h.setOptionValue("mip_rel_gap", STAGE_MIP_GAP)
            h.setOptionValue("mip_abs_gap", STAGE_MIP_GAP)
        try:
            statuses.append(self._run(stage, deadline))
        finally:
            if tight:
                h.setOptionValue("mip_rel_gap", gaps[0])
                h.setOptionValue("mip_abs_gap", gaps[1])
        best = self.compiled.value(stage, np.asarray(self.highs.getSolution().col_value))
        self._fix_at(stage, best)
        return best

    def _fix_at(self, stage: str, best: float) -> None:
        """Keep ``stage`` at its optimum ``best`` plus the tolerance, by a row."""
        absolute = STAGE_TOLERANCE_ABS.get(stage, LEXICOGRAPHIC_TOLERANCE_ABS)
        slack = abs(best) * LEXICOGRAPHIC_TOLERANCE_PU + absolute
        self._add_row(stage, best + slack)

    def _add_limits(
        self, limits: list[tuple[str, float]], deadline: float | None, statuses: list[str]
    ) -> bool:
        """Add the emission-limit rows if the model stays feasible with them; otherwise
        minimise emissions instead (serving load came first). True when the limits hold."""
        if not limits:
            return True
        if len(limits) == 1 and limits[0][0] == "emissions_objective" and not self.integer.any():
            # one cap on the horizon's emissions of an LP: the least emissions tell at once
            # whether it holds, so one run decides (a MILP's run may stop within its gap above
            # a cap that holds); the rows left for the next stage are those of the two runs
            cap = limits[0][1]
            statuses.append(self._run("emissions_objective", deadline))
            least = self.compiled.value("emissions_objective", self.x())
            if least <= cap:
                self._add_row("emissions_objective", cap)
                return True
            self._fix_at("emissions_objective", least)
            return False
        first = self.compiled.n_rows + self._extra_rows
        for name, upper in limits:
            self._add_row(name, upper)
        try:
            self._run("emissions_objective", deadline)
            return True
        except InfeasibleError:
            rows = np.arange(first, first + len(limits), dtype=np.int32)
            self.highs.deleteRows(len(rows), rows)
            self._extra_rows -= len(limits)
            self._fix_stage("emissions_objective", deadline, statuses)
            return False
