"""What every device model provides, and the context the core hands it.

A device model wraps one device of the site file. The core (``optimizer/model.py``) gives
each one a Pyomo Block and calls, in order, ``build`` on every device and then ``link`` on
every device; it then reads the block's bus injection, cost, emissions, horizon cost and
penalty through the methods below. It never asks what kind of device it holds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from optimizer.columns import Column, PlanColumns
from optimizer.rules import DeviceRule, RuleContext
from optimizer.statevars import StateVar, StateView
from sites.schema import Site

Array = np.ndarray


class Links:
    """Series that one device draws from another, by provider name and quantity.

    A consumer calls ``draw(provider, quantity, series)`` while it builds; the provider sums
    ``drawn(provider, quantity)`` in its ``link`` phase (e.g. a genset's fuel drawn from its
    digester's holder, a heat load's heat drawn from a CHP unit).
    """

    def __init__(self) -> None:
        self._draws: dict[tuple[str, str], list[Any]] = defaultdict(list)

    def draw(self, provider: str, quantity: str, series: Any) -> None:
        self._draws[(provider, quantity)].append(series)

    def drawn(self, provider: str, quantity: str) -> list[Any]:
        return list(self._draws.get((provider, quantity), ()))


#: The link through which loads declare the power they shed: the site-wide unserved-load total
#: sums these (provider, quantity for ``Links``).
SHEDDABLE = ("_unserved", "shed_kw")


@dataclass
class Context:
    """What a device needs to build its block: the site, the time set and the links."""

    site: Site
    index: pd.DatetimeIndex  #: interval starts (UTC)
    inputs: pd.DataFrame  #: the input table of the solve the model is first built for
    T: Any  #: the Pyomo time set, 0 .. T-1
    n: int  #: number of intervals
    step_h: float  #: interval length [h]
    #: value of a kWh of electricity kept in store at the end of the horizon [currency/kWh]
    #: (``optimizer.model.energy_value_per_kwh``; docs/formulation.md, *End-of-horizon targets*)
    energy_value_per_kwh: float = 0.0
    links: Links = field(default_factory=Links)


@dataclass(frozen=True)
class DeviceData:
    """The numbers of one solve for one device: its input series and the initial state."""

    index: pd.DatetimeIndex
    inputs: Mapping[str, Array]  #: quantity (e.g. ``available_kw``) -> values over the horizon
    state: StateView  #: ``optimizer.state.State``, resolved against the site
    step_h: float


class At:
    """``x[name]`` is ``getattr(block, name)[t]``: lets one formula serve Pyomo and numpy."""

    __slots__ = ("_blk", "_t")

    def __init__(self, blk: Any, t: int):
        self._blk, self._t = blk, t

    def __getitem__(self, name: str) -> Any:
        return getattr(self._blk, name)[self._t]


def set_series(param: Any, values: Array) -> None:
    """Store a horizon series in an indexed mutable Param."""
    param.store_values(dict(enumerate(np.asarray(values, dtype=float).tolist())), check=False)


def mutable_series(ctx: Context) -> Any:
    """A mutable Param over the time set, set later by ``set_series``."""
    import pyomo.environ as pyo

    return pyo.Param(ctx.T, mutable=True, initialize=0.0, within=pyo.Reals)


class DeviceModel:
    """Base of the device models: defaults for a device that neither costs nor emits.

    Subclasses set ``inputs`` (the input quantities they read), and override ``build`` and
    whichever of the other methods apply. ``cost`` and ``emissions`` take a mapping ``x`` of
    quantity -> value that is either a Pyomo view of one interval or numpy arrays of a
    solved plan, so the plan's reported numbers come from the same formula as the objective.
    """

    #: input quantities read from the inputs table, as ``<device>.<quantity>`` columns
    inputs: tuple[str, ...] = ()
    #: inputs a caller's table may leave out: they are filled from ``site_inputs``
    optional_inputs: tuple[str, ...] = ()
    #: inputs made by ``forecasting``: ``"pv"`` or ``"load"``; other inputs come from the site
    forecast: str | None = None
    #: the block's time-indexed variables that ``cost`` and ``emissions`` read
    cost_vars: tuple[str, ...] = ()

    def __init__(self, spec: Any, site: Site):
        self.spec = spec
        self.site = site
        self.name: str = spec.name

    @property
    def prefix(self) -> str:
        """Column prefix of this device in the plan table."""
        return f"{self.name}."

    # --- inputs -----------------------------------------------------------------------
    def site_inputs(self, index: pd.DatetimeIndex) -> dict[str, Array]:
        """Input series this device derives from the site file (tariffs, production ...)."""
        return {}

    def sources(self) -> dict[str, Any]:
        """Factors this device's inputs rest on, each with its value, unit and source (kept
        in the plan's ``inputs_notes``)."""
        return {}

    def input_limits(self) -> dict[str, tuple[float, str]]:
        """Largest value each input quantity can take, with the field that sets it (e.g. a PV
        array's ``available_kw`` cannot exceed its ``inverter_ac_kw``)."""
        return {}

    def structure_key(self, index: pd.DatetimeIndex, inputs: pd.DataFrame) -> Any:
        """What, besides the site and the length, fixes the shape of this block."""
        return None

    # --- model ------------------------------------------------------------------------
    def build(self, blk: Any, ctx: Context) -> None:
        raise NotImplementedError

    def add_input_params(self, blk: Any, ctx: Context) -> None:
        """One mutable Param over the time set per input quantity, named after it."""
        for quantity in self.inputs:
            blk.add_component(quantity, mutable_series(ctx))

    def link(self, blk: Any, ctx: Context) -> None:
        """Second phase: constraints over what other devices drew from this one."""

    def set_data(self, blk: Any, data: DeviceData) -> None:
        """Push this solve's inputs and initial state into the block's mutable Params."""
        for quantity in self.inputs:
            set_series(getattr(blk, quantity), data.inputs[quantity])

    def bus_kw(self, blk: Any, t: int) -> Any:
        """Net injection into the bus in interval ``t`` [kW]; supply positive."""
        return 0.0

    def cost(self, x: Any, step_h: float) -> Any:
        """Money this device costs in an interval [currency]."""
        return 0.0

    def emissions(self, x: Any, step_h: float, accounting: str | None = None) -> Any:
        """Emissions of this device in an interval [kgCO2e], under the carbon-accounting
        convention ``accounting`` (``location`` or ``net``; None: the site's)."""
        return 0.0

    def coefficients(self, data: DeviceData) -> dict[str, tuple[Array, Array]]:
        """Cost [currency] and emissions [kgCO2e] per unit of each of ``cost_vars``, per interval.

        Obtained by evaluating ``cost`` and ``emissions`` on the inputs with one variable at 1
        and the others at 0: the formulas are linear in the variables, so this is exact, and it
        lets a re-plan update the objective without walking the model.
        """
        n = len(data.index)
        zero = {name: np.zeros(n) for name in self.cost_vars}
        base = {**data.inputs, **zero}
        cost0 = self.cost(base, data.step_h)
        emissions0 = self.emissions(base, data.step_h)
        out = {}
        for name in self.cost_vars:
            probe = {**base, name: np.ones(n)}
            cost = np.broadcast_to(self.cost(probe, data.step_h) - cost0, (n,))
            emissions = np.broadcast_to(self.emissions(probe, data.step_h) - emissions0, (n,))
            out[name] = (np.asarray(cost, dtype=float), np.asarray(emissions, dtype=float))
        return out

    def supply_price_per_kwh(self, inputs: Mapping[str, Array]) -> Array | None:
        """Marginal cost of a kWh this device supplies to the bus, per interval [currency/kWh]
        (NaN where it cannot supply); None for a device that is no priced supply. The highest
        of these sets the value of stored energy (``optimizer.model.energy_value_per_kwh``)."""
        return None

    def unserved_kwh(self, blk: Any, ctx: Context) -> Any:
        """Demand this device leaves unserved over the horizon [kWh] (electric or heat): what
        planning minimises first in every mode."""
        return 0.0

    def end_value(self, blk: Any, ctx: Context) -> Any:
        """Value of stored energy left below this device's end-of-horizon target [currency];
        not money paid, but part of the objective (docs/formulation.md)."""
        return 0.0

    def horizon_cost(self, blk: Any, ctx: Context) -> Any:
        """Money charged once per horizon [currency] (e.g. a peak-import charge)."""
        return 0.0

    def penalty(self, blk: Any, ctx: Context) -> Any:
        """Objective terms that are not money paid: lost load, tie-breaks [currency]."""
        return 0.0

    def restrict(self, blk: Any, values: Any) -> list[tuple[Any, float, float]]:
        """Bounds ``(var, lower, upper)`` to impose if a solution breaks a rule an LP cannot
        state (e.g. a grid flow that goes both ways); the plan is then re-solved."""
        return []

    # --- results ----------------------------------------------------------------------
    def decisions(self, values: Any, data: DeviceData) -> dict[str, Array]:
        """Decision columns (quantity -> series) from ``values(component)``."""
        return {}

    def conflicts(self, data: DeviceData) -> list[str]:
        """Contradictions among this device's parameters and inputs, each naming them."""
        return []

    # --- sizing (optimizer/studies/sizing.py; docs/studies.md) ------------------------
    #: unit of the capacity this kind is sized by (``kWp``, ``kWh``, ``kW``, ``m3``); None:
    #: the kind has no capacity to size
    capacity_unit: str | None = None

    def capacity_units(self) -> float:
        """Installed capacity in ``capacity_unit``."""
        raise NotImplementedError(f"{self.name} has no capacity to size")

    def capacity_limit(self) -> float | None:
        """Largest capacity the site allows (e.g. by roof area) [capacity_unit]; None: none."""
        return None

    def for_sizing(self, blk: Any, ctx: Context, capacity: Any) -> None:
        """Sizing mode, called after ``set_data``: the block's limits follow ``capacity`` (a
        Pyomo Var in ``capacity_unit``; None when the size is fixed) and the horizon closes on
        itself, as it stands for many days like it (stores end where they started)."""

    def resized(self, units: float) -> Any:
        """This device's spec at a capacity of ``units`` [capacity_unit]."""
        raise NotImplementedError(f"{self.name} has no capacity to size")

    # --- state (optimizer/statevars.py; docs/formulation.md, *The device contract:
    # state*) ---------------------------------------------------------------------------
    #: the kind's state quantities, declared as ``STATE`` in its module
    state_vars: tuple[StateVar, ...] = ()

    def state_table(self) -> tuple[StateVar, ...]:
        """This device's state rows, bounds and defaults as numbers from its spec."""
        return tuple(var.resolved(self.spec) for var in self.state_vars)

    def carried(self, var: StateVar, table: pd.DataFrame, at: pd.Timestamp) -> float | None:
        """The value of ``var`` at ``at`` after the operation ``table`` (rows before ``at``):
        the column ``<device>.<var.column>`` in its last row [var.unit]. None: not carried
        (no column declared, or the table lacks it); the default applies."""
        column = f"{self.name}.{var.column}"
        if var.column is None or column not in table.columns:
            return None
        before = table.loc[table.index < at, column]
        return None if before.empty else float(before.iloc[-1])

    # --- columns ----------------------------------------------------------------------
    #: the kind's plan-table columns, the device module's table (``optimizer.columns``)
    COLUMNS: tuple[Column, ...] = ()

    def columns(self) -> tuple[Column, ...]:
        """The plan-table columns of this device, in table order (some depend on the spec)."""
        return self.COLUMNS

    def plan_columns(self, table: pd.DataFrame) -> PlanColumns:
        """This device's columns of a plan table by quantity: the ``x`` that ``cost``,
        ``emissions`` and the ``plan_*`` methods read from a plan."""
        fallbacks = {c.quantity: c.fallback for c in self.columns() if c.fallback}
        return PlanColumns(table, self.prefix, fallbacks)

    def storage_kwh(self) -> float:
        """Usable electric storage [kWh] that equivalent full cycles are counted against;
        0 for a device that stores no electricity."""
        return 0.0

    def level_max(self, quantity: str) -> float | None:
        """Size of the store whose level column is ``quantity`` [its unit]; None: none."""
        return None

    def lost_load_value(self, x: Any, step_h: float) -> Any:
        """Value of the demand this device leaves unserved in an interval [currency]."""
        return 0.0

    def plan_horizon_cost(self, x: Any) -> float:
        """``horizon_cost`` of a plan's columns [currency] (e.g. a peak-import charge)."""
        return 0.0

    def plan_end_credit(self, x: Any, step_h: float) -> float:
        """Value the objective credits for what a plan leaves at its end beyond stored
        levels (e.g. a heated digester's warmth) [currency]."""
        return 0.0

    # --- plain words (optimizer/explain.py) ---
    #: English message ids (``{placeholders}`` from the actions' numbers) of the action
    #: codes this kind's ``explain`` adds beyond those of ``api/web/words.py``: ``what``
    #: codes by code, ``why`` codes by code or by ``(what, why)``
    what_phrases: Mapping[str, str] = {}
    why_phrases: Mapping[Any, str] = {}

    def explain(self, view: Any) -> Iterator[Any]:
        """What this device does in a plan worth telling a person, each with its reason:
        ``optimizer.planview.Action`` items read from ``view`` (a ``PlanView``)."""
        return iter(())

    # --- rule-based dispatch ---
    def rule(self, ctx: RuleContext) -> DeviceRule | None:
        """This device's behaviour in the rule-based dispatch (``optimizer/rules.py``,
        docs/baseline.md); None: it takes no part."""
        return None
