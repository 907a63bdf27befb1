"""Plan-table columns as data: the row type every device module declares its columns with.

Each device module holds a module-level table ``COLUMNS`` of these rows (as PyPSA keeps its
component attributes in ``component_attrs/*.csv``); ``DeviceModel.columns()`` returns the rows
that apply to one device of the site file, and ``optimizer.site_columns`` puts a site's
together. The vocabulary is documented in docs/formulation.md, *The device contract: columns*.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: What a column is: read from the inputs (``input``), decided by the plan but not sent to
#: controllers (``decision``), a stored level at the end of the interval (``level``), or a
#: decision a controller acts on (``setpoint``). Controllers get ``setpoint`` and ``level``.
ROLES = ("input", "decision", "level", "setpoint")

#: Balance categories. Columns with a bus sign: ``supply`` (renewable generation), ``fossil``
#: (generation from fossil fuel), ``import``/``export`` (from/to outside the site),
#: ``storage_out``/``storage_in`` (electric store discharge/charge), ``demand`` (electric
#: demand, served or not), ``unserved`` (the site-wide total of shed load, which makes the
#: balance close). Columns without: ``shed`` (one load's unserved power), ``served``,
#: ``curtailed``, ``available`` (what a source could give), ``stored`` (a store's level),
#: ``fuel``, ``gas`` (biogas flows), ``heat``, ``price``, ``carbon``, ``limit`` and ``other``.
CATEGORIES = (
    "supply", "fossil", "import", "export", "storage_out", "storage_in", "demand", "unserved",
    "shed", "served", "curtailed", "available", "stored", "fuel", "gas", "heat", "price",
    "carbon", "limit", "other",
)  # fmt: skip

#: Roles controllers receive.
CONTROLLER_ROLES = ("setpoint", "level")


@dataclass(frozen=True)
class Column:
    """One plan-table column of a device: ``<device>.<quantity>``.

    ``sign`` is the column's sign in the bus balance (+1 supply, −1 demand, 0 not on the
    bus): in every interval ``Σ sign × value = 0`` over all columns of a plan. ``kpis`` names
    the key figures the column adds to (docs/kpis.md): a kW column adds its energy to a
    ``_kwh`` figure and its running time (value above 1e-6 kW) to a ``_hours`` figure; a
    volume column adds its sum to a figure of the same unit. ``fallback`` is the quantity
    read instead when a table lacks this column (e.g. a rule-based plan's digester makes
    ``production_m3``, no ``produced_m3``).
    """

    quantity: str  #: e.g. ``charge_kw``; the unit is part of the name
    unit: str  #: e.g. ``kW``, ``kWh``, ``m3``, ``L``, ``currency/kWh``, ``kgCO2/kWh``, ``pu``
    role: str  #: one of ``ROLES``
    sign: int  #: +1 supply to the bus, −1 demand from it, 0 none
    category: str  #: one of ``CATEGORIES``
    label: str  #: short name in reports and legends, e.g. ``battery discharge``
    description: str
    source: str = ""  #: the energy source of a supply column (``pv``, ``diesel`` ...) in plots
    kpis: tuple[str, ...] = ()
    fallback: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"column {self.quantity}: role {self.role!r} is not one of {ROLES}")
        if self.category not in CATEGORIES:
            raise ValueError(
                f"column {self.quantity}: category {self.category!r} is not one of {CATEGORIES}"
            )
        if self.sign not in (-1, 0, 1):
            raise ValueError(f"column {self.quantity}: sign {self.sign!r} is not -1, 0 or 1")


class PlanColumns(Mapping[str, np.ndarray]):
    """A device's columns of a plan table by quantity, read on demand as float arrays.

    A missing column is a ``KeyError`` naming it, unless its row names a ``fallback``
    quantity that the table has.
    """

    def __init__(self, table: pd.DataFrame, prefix: str, fallbacks: Mapping[str, str]):
        self._table, self._prefix, self._fallbacks = table, prefix, fallbacks

    def __getitem__(self, quantity: str) -> np.ndarray:
        name = f"{self._prefix}{quantity}"
        if name not in self._table.columns and quantity in self._fallbacks:
            name = f"{self._prefix}{self._fallbacks[quantity]}"
        if name not in self._table.columns:
            raise KeyError(f"the plan table has no column {self._prefix + quantity!r}")
        return self._table[name].to_numpy(dtype=float)

    def __iter__(self) -> Iterator[str]:
        n = len(self._prefix)
        return iter(
            str(c)[n:] for c in self._table.columns
            if str(c).startswith(self._prefix) and "." not in str(c)[n:]
        )  # fmt: skip

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass(frozen=True)
class SiteColumn:
    """One column of a site's plan table: its full name, its device model and its row."""

    name: str  #: ``<device>.<quantity>`` (site-wide columns: ``<quantity>``)
    device: Any  #: its ``optimizer.devices.base.DeviceModel``
    column: Column


def columns_of(devices: Iterable[Any]) -> list[SiteColumn]:
    """Every declared column of ``devices`` (device models, in plan-table order): each
    device's columns in its table's order."""
    return [
        SiteColumn(f"{dev.prefix}{col.quantity}", dev, col)
        for dev in devices
        for col in dev.columns()
    ]
