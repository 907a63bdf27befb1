"""The model as matrices: compiled once, with fast updates of bounds and objective rows.

``Compiled`` runs Pyomo's ``LinearStandardFormCompiler`` once per model. Afterwards a re-plan
changes only column bounds (mutable Params in Var bounds) and objective coefficients (the
devices' ``cost``/``emissions`` formulas on the new inputs, see ``DeviceModel.coefficients``):
both are recomputed here without walking the model again. Constraint rows keep the
numbers of the first compile, so a mutable Param inside a constraint is refused when compiling.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from pyomo.common.gc_manager import PauseGC
from pyomo.common.numeric_types import native_numeric_types, native_types
from pyomo.core.base.param import ParamData
from pyomo.core.base.set import Reals
from pyomo.core.expr.numeric_expr import NPV_ProductExpression
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from optimizer.devices.base import DeviceData
from optimizer.model import VillageModel

#: Solution values smaller than this are reported as zero (solver round-off) [any unit].
ZERO = 1e-9

#: The objectives every model has (``optimizer.model.build_model``).
OBJECTIVES = (
    "objective",
    "emissions_objective",
    "penalty_objective",
    "horizon_objective",
    "unserved_objective",
    "shortfall_objective",
)


def _mutable_params(expr: Any) -> Any:
    """The mutable Params in an expression (each as often as it occurs)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if type(node) in native_types:
            continue
        if isinstance(node, ParamData):
            if node.parent_component().mutable:
                yield node
        elif node.is_expression_type():
            stack.extend(node.args)


def _device_of(vm: VillageModel, component: Any) -> str:
    """Name of the device whose block holds ``component``, or the model's name."""
    blk = component.parent_block()
    while blk is not None:
        if blk.parent_component() is vm.model.devices:
            return str(blk.index())
        blk = blk.parent_block()
    return vm.model.name


def check_constant_rows(vm: VillageModel, constraints: list[Any]) -> None:
    """Refuse constraints whose coefficients or right-hand side hold a mutable Param.

    A re-plan refreshes only column bounds and objective rows (``Compiled.refresh``): a
    forecast inside a constraint would keep its first value in every later solve.

    Raises
    ------
    TypeError
        Names the device, the constraint and the Param.
    """
    for con in constraints:
        for param in _mutable_params(con.expr):
            raise TypeError(
                f"device {_device_of(vm, con)!r}: constraint {con.name} depends on the mutable "
                f"Param {param.name}, but re-plans refresh only variable bounds and the "
                "objective; bound a variable by the Param instead (see "
                "optimizer/devices/storage.py)"
            )


def _param_term(expr: Any) -> tuple[ParamData, float] | None:
    """``(param, factor)`` when a bound is ``param`` or ``number × param``, else None."""
    if isinstance(expr, ParamData):
        return expr, 1.0
    args: tuple[Any, ...] = tuple(getattr(expr, "args", ()))
    if len(args) == 2 and type(args[0]) in native_numeric_types and isinstance(args[1], ParamData):
        return args[1], float(args[0])
    return None


class Compiled:
    """A built model in standard form: matrix, bounds, objective rows and column lookup."""

    def __init__(self, vm: VillageModel, datas: list[DeviceData] | None = None):
        self.vm = vm
        t0 = time.perf_counter()
        with PauseGC():
            info = LinearStandardFormCompiler().write(vm.model, mixed_form=True)
        self.columns = info.columns
        self.n_cols = len(self.columns)
        self.col_of = {id(v): j for j, v in enumerate(self.columns)}
        self._index_cache: dict[int, np.ndarray] = {}
        self.A = info.A.tocsc()
        rhs = np.asarray(info.rhs, dtype=float)
        kind = np.array([r.bound_type for r in info.rows])
        self.row_lower = np.where(kind == 1, -np.inf, rhs)
        self.row_upper = np.where(kind == -1, np.inf, rhs)
        row_of = {id(r.constraint): i for i, r in enumerate(info.rows) if r.bound_type == 0}
        self.bus_rows = np.array([row_of[id(vm.model.bus_balance[t])] for t in vm.model.T])
        self.n_rows = len(info.rows)
        self.row_constraints = [r.constraint for r in info.rows]
        check_constant_rows(vm, self.row_constraints)
        c = info.c.tocsr()
        names = [o.name for o in info.objectives]
        offsets = np.asarray(info.c_offset, dtype=float)
        self.rows = {n: c[[i], :].toarray().ravel() for i, n in enumerate(names) if n in OBJECTIVES}
        self.offsets = {n: float(offsets[i]) for i, n in enumerate(names)}
        self._emission_terms: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._day_rows: list[tuple[np.ndarray, np.ndarray]] | None = [
            (c[[i], :].indices, c[[i], :].data)
            for i, n in enumerate(names)
            if n.startswith("day_emissions[")
        ]
        self.integer = np.array([v.is_integer() for v in self.columns], dtype=bool)
        self._collect_bound_params()
        if datas is not None:
            self.refresh_objective(datas)
        self.compile_s = time.perf_counter() - t0

    # --- bounds -------------------------------------------------------------------------
    def _collect_bound_params(self) -> None:
        """Read every column's bounds once, and note those that depend on mutable Params
        (as ``factor × param`` or ``param × param`` where possible, else as a general
        expression)."""
        fast: list[tuple[int, int, ParamData, float]] = []
        pairs: list[tuple[int, int, ParamData, ParamData]] = []
        general: list[tuple[int, int, Any]] = []
        numbers = native_numeric_types

        def value(side: int, j: int, expr: Any) -> float:
            term = _param_term(expr)
            if term is not None:
                fast.append((side, j, *term))
                return term[1] * term[0].value
            args = tuple(getattr(expr, "args", ()))
            if (  # param × param (a grid's limit × its availability)
                type(expr) is NPV_ProductExpression
                and len(args) == 2
                and all(isinstance(a, ParamData) for a in args)
            ):
                pairs.append((side, j, *args))
                return args[0].value * args[1].value
            general.append((side, j, expr))
            return float(expr())

        # plain lists, filled in one pass: indexing a numpy array per element costs more
        low: list[Any] = [-np.inf] * self.n_cols
        high: list[Any] = [np.inf] * self.n_cols
        for j, v in enumerate(self.columns):
            if v.domain is Reals:  # no domain bound to combine: the bounds as stated
                lower, upper = v._lb, v._ub
            else:
                lower, upper = v.lower, v.upper
            if lower is not None:
                low[j] = lower if type(lower) in numbers else value(0, j, lower)
            if upper is not None:
                high[j] = upper if type(upper) in numbers else value(1, j, upper)
        bounds = np.array([low, high], dtype=float)
        self._fast = fast
        self._fast_side = np.array([f[0] for f in fast], dtype=np.int64)
        self._fast_col = np.array([f[1] for f in fast], dtype=np.int64)
        self._fast_factor = np.array([f[3] for f in fast], dtype=float)
        self._pairs = pairs
        self._pair_side = np.array([f[0] for f in pairs], dtype=np.int64)
        self._pair_col = np.array([f[1] for f in pairs], dtype=np.int64)
        self._general = general
        self.low, self.high = bounds[0], bounds[1]

    def column_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bound of every column, as the model's Params now say."""
        bounds = np.vstack([self.low, self.high])
        values = np.fromiter((f[2].value for f in self._fast), dtype=float, count=len(self._fast))
        bounds[self._fast_side, self._fast_col] = self._fast_factor * values
        if self._pairs:
            n = len(self._pairs)
            first = np.fromiter((f[2].value for f in self._pairs), dtype=float, count=n)
            second = np.fromiter((f[3].value for f in self._pairs), dtype=float, count=n)
            bounds[self._pair_side, self._pair_col] = first * second
        for side, j, expr in self._general:
            bounds[side, j] = expr()
        return bounds[0], bounds[1]

    # --- objective rows -----------------------------------------------------------------
    def index_of(self, component: Any) -> np.ndarray:
        """Column of each element of an indexed Var, in its index order (-1: not a column)."""
        key = id(component)
        idx = self._index_cache.get(key)
        if idx is None:
            idx = np.array([self.col_of.get(id(v), -1) for v in component.values()], dtype=np.int64)
            self._index_cache[key] = idx
        return idx

    def refresh(self, datas: list[DeviceData]) -> None:
        """Bounds and objective rows for the data just pushed into the model's Params."""
        self.low, self.high = self.column_bounds()
        self.refresh_objective(datas)

    def refresh_objective(self, datas: list[DeviceData]) -> None:
        """The objective, emissions and per-day emission rows from the devices' formulas.

        ``objective`` = penalty + horizon cost + value of stored energy short of the end
        targets (compiled) + Σ cost + carbon price × emissions
        (numbers from ``DeviceModel.coefficients``); see ``optimizer.model.build_model``.
        """
        vm = self.vm
        cols, times, cost, emissions = [], [], [], []
        for dev, data in zip(vm.devices, datas, strict=True):
            blk = vm.block(dev)
            for name, (c, e) in dev.coefficients(data).items():
                idx = self.index_of(getattr(blk, name))
                used = idx >= 0
                cols.append(idx[used])
                times.append(np.flatnonzero(used))
                cost.append(c[used])
                emissions.append(e[used])
        col = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
        t = np.concatenate(times) if times else np.zeros(0, dtype=np.int64)
        c = np.concatenate(cost) if cost else np.zeros(0)
        e = np.concatenate(emissions) if emissions else np.zeros(0)
        emission_row = np.zeros(self.n_cols)
        np.add.at(emission_row, col, e)
        price = vm.site.carbon_price_per_kgco2
        main = (
            self.rows["penalty_objective"]
            + self.rows["horizon_objective"]
            + self.rows["shortfall_objective"]
        )
        np.add.at(main, col, c + price * e)
        self.rows["objective"] = main
        self.rows["emissions_objective"] = emission_row
        self.offsets["objective"] = (
            self.offsets["penalty_objective"]
            + self.offsets["horizon_objective"]
            + self.offsets["shortfall_objective"]
        )
        self.offsets["emissions_objective"] = 0.0
        # the per-day rows are needed only under an emission budget: made on first use
        self._emission_terms = (col, t, e)
        self._day_rows = None

    @property
    def day_rows(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Nonzero columns and values of each local day's emissions row [kgCO2e]."""
        if self._day_rows is None:
            assert self._emission_terms is not None
            self._day_rows = self._sum_by_day(*self._emission_terms)
        return self._day_rows

    def _sum_by_day(
        self, col: np.ndarray, t: np.ndarray, e: np.ndarray
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per local day: the emission coefficients ``e`` summed by column, zeros left out
        (in the order of the terms, so each sum is the one a dense row would accumulate)."""
        day_of = np.full(self.vm.n, -1, dtype=np.int64)
        for d, group in enumerate(self.vm.days):
            day_of[group] = d
        day = day_of[t]
        order = np.argsort(day, kind="stable")
        bounds = np.searchsorted(day[order], np.arange(len(self.vm.days) + 1))
        out = []
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            terms = order[lo:hi]
            columns, inverse = np.unique(col[terms], return_inverse=True)
            sums = np.bincount(inverse, weights=e[terms], minlength=len(columns))
            keep = sums != 0
            out.append((columns[keep], sums[keep]))
        return out

    def row(self, name: str) -> tuple[np.ndarray, np.ndarray, float]:
        """Nonzero columns, values and constant of an objective row (or ``day_emissions[d]``)."""
        if name.startswith("day_emissions["):
            d = int(name[len("day_emissions[") : -1])
            cols, vals = self.day_rows[d]
            return cols, vals, 0.0
        dense = self.rows[name]
        nz = np.flatnonzero(dense)
        return nz, dense[nz], self.offsets[name]

    def value(self, name: str, x: np.ndarray) -> float:
        cols, vals, offset = self.row(name)
        return float(vals @ x[cols]) + offset

    # --- solutions ----------------------------------------------------------------------
    def values(self, x: np.ndarray, component: Any) -> np.ndarray:
        """Values of an indexed Var (shape ``(T,)`` or ``(k, T)``) from a solution vector.

        A variable that the compiler dropped (it appears nowhere) takes its lower bound.
        """
        idx = self.index_of(component)
        out = np.where(idx >= 0, x[np.maximum(idx, 0)], 0.0)
        out[np.abs(out) < ZERO] = 0.0
        if (idx < 0).any():
            lows = np.array([v.lb or 0.0 for v in component.values()])
            out = np.where(idx >= 0, out, lows)
        if component.dim() == 2:
            out = out.reshape(-1, self.vm.n)
        return out
