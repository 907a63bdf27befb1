"""What a device does in the rule-based dispatch, and the parts the dispatch loop shares.

Each device model may return a ``DeviceRule`` (``DeviceModel.rule``); ``optimizer.baseline``
runs the interval loop over these rules without knowing their kinds (docs/baseline.md). A rule
states, for one interval: the electric demand it adds, the sources it offers (each with a
merit-order ``rank`` and a marginal cost), how it absorbs surplus, and its book-keeping before
(``prepare``) and after (``finish``) the interval. Its physics come from ``optimizer.physics``,
as the LP's do, so what the rules decide is a feasible point of the LP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimizer.statevars import StateView
from sites.schema import Site

if TYPE_CHECKING:  # importing optimizer.devices here would import this module again
    from optimizer.statevars import StateView

Array = np.ndarray

#: Amounts below this are treated as zero [kW or m³], so float noise starts no unit.
EPS = 1e-9

# Merit-order classes of a source, drawn in this order (lowest first).
#: output a unit must give anyway (ramp limits); free, and given back last of all surplus
MUST_RUN = 0
#: free output that may be curtailed (PV)
FREE = 1
#: energy stored earlier (battery discharge)
STORED = 2
#: output from the site's own stored fuel (biogas gensets)
OWN_FUEL = 3
#: energy paid for per kWh (grid import, diesel): within this class, the cheapest first
BOUGHT = 4

# Classes of surplus takers, served in this order.
#: a store charges from surplus
CHARGE = 0
#: surplus is sold
EXPORT = 1


class Table:
    """Decision columns being filled, one float per interval, created on first use.

    The columns are Python lists, not numpy arrays: the loop writes one value at a time, and
    a list takes that several times faster; ``arrays`` hands them over as float arrays.
    """

    def __init__(self, n: int):
        self.n = n
        self.columns: dict[str, list[float]] = {}

    def __getitem__(self, name: str) -> list[float]:
        column = self.columns.get(name)
        if column is None:
            column = self.columns[name] = [0.0] * self.n
        return column

    def arrays(self) -> dict[str, Array]:
        """Every column as a float array, in the order the columns were first written."""
        return {name: np.array(values, dtype=float) for name, values in self.columns.items()}


def _keep(_: float) -> None:
    """``take`` of output that is produced anyway: drawing it changes nothing."""


@dataclass(slots=True)
class Source:
    """Supply left in the current interval [kW], drawn in merit order.

    ``take(kw)`` books what was drawn; ``spill(kw)`` gives back up to ``kw`` of output that
    nobody used and returns how much it gave back [kW] (None: the source is not produced
    unless drawn, so nothing is left over to give back).
    """

    left_kw: float
    marginal_per_kwh: float
    take: Callable[[float], None] = field(default=_keep, repr=False)
    min_take_kw: float = 0.0
    rank: int = BOUGHT
    spill: Callable[[float], float] | None = field(default=None, repr=False)


def merit_order(sources: list[Source]) -> list[Source]:
    """Sources by class; within ``BOUGHT``, the cheapest per kWh first (stable otherwise)."""
    return sorted(sources, key=lambda s: (s.rank, s.marginal_per_kwh if s.rank == BOUGHT else 0.0))


def draw(sources: list[Source], amount_kw: float) -> tuple[float, float | None]:
    """Draw ``amount_kw`` from ``sources`` in order.

    Returns
    -------
    tuple
        Power served [kW] and the marginal cost of the last source drawn [currency/kWh]
        (None when nothing was drawn).
    """
    served, marginal = 0.0, None
    for s in sources:
        want = amount_kw - served
        if want <= EPS:
            break
        got = min(want, s.left_kw)
        if got <= EPS or got < s.min_take_kw - EPS:
            continue
        s.take(got)
        s.left_kw -= got
        served += got
        marginal = s.marginal_per_kwh
    return served, marginal


def reach_floor(target: float, low: float, rise: Any, keep: float, n: int) -> Array:
    """Lowest level at the end of each interval from which ``target`` is still reachable.

    Notes
    -----
    ``f[T−1] = max(target, low)`` and ``f[t−1] = max(low / keep^(T−t), (f[t] − rise_t) / keep)``,
    where ``rise_t`` [kWh or m³] is the most the level can gain in interval ``t`` and ``keep``
    [-] the share of the level kept over an interval (self-discharge). The first term keeps a
    level that, left alone, still ends at or above ``low``. ``rise`` is a scalar or an array.
    """
    rises = np.broadcast_to(np.asarray(rise, dtype=float), (n,)).tolist()
    floor = [0.0] * n
    level = max(target, low)
    for t in range(n - 1, -1, -1):
        floor[t] = level
        level = max(low / keep ** (n - t), (level - rises[t]) / keep)
    return np.array(floor, dtype=float)


@dataclass
class RuleContext:
    """What a rule reads: the site, the horizon, the inputs, the initial state, the table."""

    site: Site
    index: pd.DatetimeIndex
    columns: dict[str, Array]  #: input columns (``<device>.<quantity>``) as float arrays
    state: StateView  #: resolved initial state (``optimizer.state.State``)
    out: Table  #: decision columns being filled
    #: every rule by device name, so a rule can reach the one it draws from (a genset its
    #: digester); filled before the first interval
    rules: dict[str, DeviceRule] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.index)

    @property
    def step_h(self) -> float:
        return self.site.step_h

    def series(self, device: str, quantity: str, default: float | None = None) -> Array:
        """Input ``<device>.<quantity>`` over the horizon; ``default`` where it is absent."""
        name = f"{device}.{quantity}"
        if name not in self.columns and default is not None:
            return np.full(self.n, default)
        return self.columns[name]

    def values(self, device: str, quantity: str, default: float | None = None) -> list[float]:
        """``series`` as a list of floats, for reading one interval at a time (a list gives
        a Python float several times faster than an array gives a numpy scalar)."""
        return self.series(device, quantity, default).tolist()


class DeviceRule:
    """One device in the rule-based dispatch; the defaults are those of a device that does
    nothing. The dispatch calls, for each interval ``t``: ``demand_kw``, ``prepare``,
    ``sources``, then (loads) ``shed``, ``heat_kw`` and ``serve_heat``, ``absorb``, and
    ``finish`` — each only on the rules whose class overrides it.

    In closed-loop operation (``optimizer.operation``) ``pin`` hands every rule the plan it
    is to follow; a rule that knows how to follow a setpoint does so and offers what it can
    move around it at its usual rank (a store, then the grid), so the forecast error goes to
    those, then to curtailment and shedding. A rule that does not override ``pin`` keeps its
    own behaviour.
    """

    #: 0 for a store others draw fuel from: prepared before and settled after the others
    stage: int = 1
    #: class in which this rule takes surplus (``CHARGE`` or ``EXPORT``); None: it takes none
    absorb_rank: int | None = None
    #: sort key for shedding (the load's value of lost load first); None: not a sheddable load
    shed_key: tuple[float, int] | None = None

    def __init__(self, name: str, ctx: RuleContext):
        self.name, self.ctx, self.out = name, ctx, ctx.out
        #: charging the end-of-horizon rule forces in this interval [kW]; a shortfall trims it
        self.forced_kw = 0.0
        #: the part of ``forced_kw`` that keeps the level inside its hard bounds [kW]; a
        #: shortfall sheds load before it trims this part (as the LP would)
        self.held_kw = 0.0
        #: the plan being followed (``pin``): plan-table columns as float lists over the
        #: horizon
        self.plan: dict[str, list[float]] | None = None
        #: this device's decision columns already written, by quantity (``put``)
        self._written: dict[str, list[float]] = {}

    def pin(self, plan: dict[str, list[float]]) -> None:
        """Follow ``plan`` (plan-table columns on this horizon's intervals) from now on."""
        self.plan = plan

    def planned(self, quantity: str, t: int, default: float = 0.0) -> float:
        """The plan's ``<device>.<quantity>`` at ``t``; ``default`` when it has no such column."""
        assert self.plan is not None
        column = self.plan.get(f"{self.name}.{quantity}")
        return default if column is None else float(column[t])

    def put(self, quantity: str, t: int, value: float) -> None:
        """Write ``value`` to this device's decision column ``quantity`` at ``t``."""
        column = self._written.get(quantity)
        if column is None:
            column = self._written[quantity] = self.out[f"{self.name}.{quantity}"]
        column[t] = value

    def column(self, quantity: str) -> list[float]:
        """This device's decision column ``quantity`` (made on first use, zeros), to be
        written as ``column[t] = value``: a rule that writes a column in every interval takes
        it once (it is in the table whether or not it is written)."""
        column = self._written.get(quantity)
        if column is None:
            column = self._written[quantity] = self.out[f"{self.name}.{quantity}"]
        return column

    def spare_kw(self) -> Array | float:
        """What this device adds to the supply a store may count on to refill later [kW]
        (supply positive, fixed demand negative)."""
        return 0.0

    def look_ahead(self, spare_kw: Array) -> None:
        """Set end-of-horizon floors from the supply left for charging ``spare_kw`` [kW]."""

    def demand_kw(self, t: int) -> float:
        """Electric demand in interval ``t`` [kW]; called once per interval."""
        return 0.0

    def prepare(self, t: int) -> None:
        """Get ready for interval ``t``: self-discharge, production, ramp bounds."""

    def sources(self, t: int) -> list[Source]:
        """Supply this device offers in interval ``t``."""
        return []

    def shed(self, t: int, short_kw: float) -> float:
        """A load: shed up to ``short_kw`` of its demand and book it; return what it shed."""
        return 0.0

    def heat_kw(self) -> float:
        """Recovered heat available at the current output [kW]."""
        return 0.0

    def serve_heat(self, t: int, heat_left_kw: dict[str, float], sources: list[Source]) -> None:
        """A heat load: take heat from ``heat_left_kw`` (by unit), backup from ``sources``."""

    def absorb(self, t: int, surplus_kw: float) -> tuple[float, float | None]:
        """Take up to ``surplus_kw``; return what was taken [kW] and the price it earns
        [currency/kWh] (None: it earns nothing, e.g. a store)."""
        return 0.0, None

    def finish(self, t: int) -> None:
        """Settle interval ``t``: update levels and write the decision columns."""
