"""A site's plan-table columns, put together from its devices' declared rows.

Each device module declares its columns as data (``optimizer.columns.Column``; the
vocabulary is in docs/formulation.md, *The device contract: columns*). The functions below
put them together for a whole site, so that key figures, plots, reports and controller
setpoints find the columns they need by role or category, never by device kind.
"""

from __future__ import annotations

import pandas as pd

from optimizer.columns import (
    CATEGORIES,
    CONTROLLER_ROLES,
    ROLES,
    Column,
    PlanColumns,
    SiteColumn,
    columns_of,
)
from optimizer.devices import device_models
from optimizer.devices.base import DeviceModel
from sites.schema import Site

__all__ = [
    "CATEGORIES", "CONTROLLER_ROLES", "ROLES", "Column", "PlanColumns", "SiteColumn",
    "column_names", "column_order", "controller_columns", "in_category",
    "site_columns",
]  # fmt: skip


def site_columns(site: Site, devices: list[DeviceModel] | None = None) -> list[SiteColumn]:
    """Every declared column of the site: devices in file order, each device's columns in its
    table's order, the site-wide ones last."""
    return columns_of(device_models(site) if devices is None else devices)


def column_names(site: Site) -> list[str]:
    """The full names of the site's declared columns, in plan-table order."""
    return [c.name for c in site_columns(site)]


def controller_columns(site: Site) -> list[str]:
    """Columns controllers receive: the ``setpoint`` and ``level`` roles."""
    return [c.name for c in site_columns(site) if c.column.role in CONTROLLER_ROLES]


def in_category(
    site: Site, category: str, table: pd.DataFrame | None = None
) -> list[SiteColumn]:
    """The site's columns of a balance category (those of ``table`` only, when given)."""
    return [
        c for c in site_columns(site)
        if c.column.category == category and (table is None or c.name in table.columns)
    ]  # fmt: skip


def column_order(site: Site, names: list[str] | pd.Index) -> list[str]:
    """``names`` in plan-table order: declared columns as ``site_columns`` orders them, then
    any others in their given order."""
    position = {name: i for i, name in enumerate(column_names(site))}
    return sorted(names, key=lambda name: position.get(str(name), len(position)))
