"""The storage balance shared by every store: battery, gas holder (and any later tank).

The retention of a store that loses a share of its level per day is
``optimizer.physics.retention_pu``, the one formula the LP and the rules share."""

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

    The row form of ``optimizer.physics.stored_level``, which the rule-based dispatch steps.
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


def add_end_target(blk: Any, level: Any, target: Any, value: float, soft: bool) -> None:
    """The end-of-horizon target of a store: ``level[last] ≥ target``, soft or hard.

    ``target`` is a mutable Param (refreshed on every re-plan through the bounds of the fixed
    column ``end_target``). Hard: ``end_target_row`` holds as stated. Soft (the default):
    ``end_shortfall`` ≥ 0 makes up what is missing, and ``end_value(blk)`` charges it at
    ``value`` per unit (docs/formulation.md, *End-of-horizon targets*).

    Notes
    -----
    .. math:: S_{T-1} + s \\ge S^{end}, \\qquad s \\ge 0 \\ (\text{soft}), \\quad s = 0 \
       (\text{hard}), \\qquad \text{end value} = v\\, s
    """
    import pyomo.environ as pyo

    last = level.index_set().last()
    blk.end_target = pyo.Var(bounds=(target, target))
    blk.end_shortfall = pyo.Var(bounds=(0.0, None if soft else 0.0))
    blk.end_target_row = pyo.Constraint(
        expr=level[last] + blk.end_shortfall - blk.end_target >= 0
    )
    blk.end_value_per_unit = value
    blk.end_level_column = level.local_name  # e.g. soc_kwh: how a plan table shows the level


def end_value(blk: Any) -> Any:
    """Value of what a store's level ends below its target [currency] (``add_end_target``)."""
    return blk.end_value_per_unit * blk.end_shortfall


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
    if hasattr(blk, "end_target_row"):  # the cycle closes instead
        blk.end_target_row.deactivate()
        blk.end_shortfall.fix(0.0)
    blk.level_low = pyo.Constraint(times, rule=lambda _, t: level[t] >= low)
    blk.level_high = pyo.Constraint(times, rule=lambda _, t: level[t] <= high)
    blk.initial_low = pyo.Constraint(expr=initial >= low)
    blk.initial_high = pyo.Constraint(expr=initial <= high)
    blk.cycle_closed = pyo.Constraint(expr=level[times.last()] >= initial)
