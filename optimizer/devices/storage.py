"""The storage balance shared by every store: battery, gas holder (and any later tank)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def add_storage_balance(
    blk: Any,
    name: str,
    level: Any,
    initial: Any,
    inflow: Callable[[int], list[tuple[float, Any]]],
    retention_pu: float = 1.0,
) -> None:
    """Add ``name[t]``: the level at the end of ``t`` from the level before it and the net inflow.

    Parameters
    ----------
    blk : pyomo Block
        Block that receives the constraint.
    name : str
        Component name, e.g. ``soc_balance``.
    level : indexed Var
        Stored level at the end of each interval [kWh or m³].
    initial : Var or Param
        Level before the first interval [kWh or m³].
    inflow : callable
        ``inflow(t)``: the net amount added during interval ``t`` [kWh or m³], as
        ``(coefficient, variable)`` pairs (a flat sum compiles several times faster than a
        nested expression).
    retention_pu : float
        Share of the stored level kept over one interval [pu] (self-discharge).

    Notes
    -----
    .. math:: S_t = \\rho\\, S_{t-1} + \\mathrm{inflow}_t, \\qquad S_{-1} = S^0
    """
    import pyomo.environ as pyo

    times = level.index_set()
    first = times.first()

    def rule(b: Any, t: int) -> Any:
        previous = initial if t == first else level[t - 1]
        body = level[t] - retention_pu * previous
        for coefficient, variable in inflow(t):
            body -= coefficient * variable
        return body == 0

    blk.add_component(name, pyo.Constraint(times, rule=rule))


def close_storage_cycle(blk: Any, level: Any, initial: Any, low: Any, high: Any) -> None:
    """Sizing mode: the level stays in ``[low, high]``, starts anywhere in it and ends at least
    where it started, so a period can repeat (``low``/``high`` may hold a capacity Var).

    Adds ``level_low[t]``, ``level_high[t]``, ``initial_low``, ``initial_high`` and
    ``cycle_closed``; the level's own bounds are lifted.

    Notes
    -----
    .. math:: L \\le S_t \\le H, \\qquad L \\le S^0 \\le H, \\qquad S_{T-1} \\ge S^0
    """
    import pyomo.environ as pyo

    times = level.index_set()
    for t in times:
        level[t].setlb(None)
        level[t].setub(None)
    initial.setlb(None)
    initial.setub(None)
    blk.level_low = pyo.Constraint(times, rule=lambda _, t: level[t] >= low)
    blk.level_high = pyo.Constraint(times, rule=lambda _, t: level[t] <= high)
    blk.initial_low = pyo.Constraint(expr=initial >= low)
    blk.initial_high = pyo.Constraint(expr=initial <= high)
    blk.cycle_closed = pyo.Constraint(expr=level[times.last()] >= initial)
