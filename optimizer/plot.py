"""A picture of a plan: supply stacked against demand, storage levels, and prices.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no display needed); the time
axis is in the site's local time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.site_columns import site_columns
from sites.schema import Site

#: Colours of the supply layers and demand lines (colour-blind safe, Okabe–Ito palette).
COLOURS = {
    "pv": "#E69F00",
    "battery": "#009E73",
    "biogas": "#56B4E9",
    "diesel": "#7F7F7F",
    "grid": "#CC79A7",
    "unserved": "#D55E00",
    "demand": "#000000",
    "load": "#0072B2",
}

#: The supply layers, bottom to top (``Column.source`` of the columns that supply the bus).
SOURCES = ("pv", "battery", "biogas", "diesel", "grid", "unserved")


def supply_and_demand(site: Site, table: pd.DataFrame) -> tuple[dict[str, np.ndarray], dict]:
    """The supply layers and the demand lines of a plan table [kW], from the devices' columns.

    Returns
    -------
    tuple
        ``supply``: one layer per energy source (``Column.source`` of the columns with bus
        sign +1: PV, battery discharge, biogas gensets, diesel gensets, grid import and
        unserved load, in the order of ``COLOURS``); ``demand``: ``load`` (the ``demand``
        category: loads and electric heat backups) and ``total`` (every column with bus sign
        −1: load plus battery charging and export), which the stacked supply equals in every
        interval.
    """
    n = len(table)
    supply = {source: np.zeros(n) for source in SOURCES}
    load, total = np.zeros(n), np.zeros(n)
    for c in site_columns(site):
        if c.name not in table.columns or c.column.sign == 0:
            continue
        values = table[c.name].to_numpy(dtype=float)
        if c.column.sign > 0:
            supply[c.column.source] = supply.get(c.column.source, np.zeros(n)) + values
        else:
            total = total + values
            if c.column.category == "demand":
                load = load + values
    return supply, {"load": load, "total": total}


def _steps(values: np.ndarray) -> np.ndarray:
    """Values repeated at the end so that step plots cover the last interval."""
    return np.append(values, values[-1:]) if len(values) else values


def plot_plan(
    site: Site, plan: Any, path: str | Path | None = None, *, title: str | None = None
) -> Any:
    """Draw a plan; save it as PNG (or any format matplotlib knows by suffix) to ``path``.

    Parameters
    ----------
    site : Site
    plan : Plan or pandas.DataFrame
        A plan, or its table (UTC index of interval starts).
    path : str or Path, optional
        Where to save the figure.
    title : str, optional
        Default: the site name, horizon and status.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    table = getattr(plan, "table", plan)
    if len(table) == 0:
        raise ValueError("the plan has no intervals to draw")
    edges = table.index.append(pd.DatetimeIndex([table.index[-1] + site.step]))
    x = edges.tz_convert(site.tz).to_pydatetime()

    fig = Figure(figsize=(11, 8.5), layout="constrained")
    FigureCanvasAgg(fig)
    power, store, price = fig.subplots(
        3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.4, 1.2]}
    )

    supply, demand = supply_and_demand(site, table)
    base = np.zeros(len(table))
    for name, values in supply.items():
        if not np.any(values > 1e-9):
            continue
        top = base + values
        power.fill_between(
            x, _steps(base), _steps(top), step="post", color=COLOURS[name], alpha=0.85,
            linewidth=0, label={"pv": "PV", "grid": "grid import"}.get(name, name),
        )  # fmt: skip
        base = top
    power.step(x, _steps(demand["total"]), where="post", color=COLOURS["demand"], lw=1.4,
               label="demand + charging + export")  # fmt: skip
    power.step(x, _steps(demand["load"]), where="post", color=COLOURS["load"], lw=1.2,
               ls="--", label="load")  # fmt: skip
    power.set_ylim(0, 1.25 * max(float(demand["total"].max()), float(base.max()), 1e-3))
    power.set_ylabel("power [kW]")  # headroom above for the legend
    power.legend(loc="upper left", ncols=4, fontsize=8, frameon=False)
    power.grid(alpha=0.3)

    levels = [c for c in site_columns(site) if c.column.role == "level" and c.name in table]
    holder = None
    for c in levels:
        values = table[c.name].to_numpy(dtype=float)
        size = c.device.level_max(c.column.quantity)
        if c.column.unit == "kWh" and size:
            store.step(x, _steps(values / size * 100), where="post", label=f"{c.device.name} SoC")
            continue
        holder = store.twinx() if holder is None else holder
        holder.step(x, _steps(values), where="post", ls=":", color="#8C564B",
                    label=f"{c.device.name} {c.column.label}")  # fmt: skip
    store.set_ylabel("battery SoC [%]")
    store.set_ylim(0, 100)
    if holder is not None:
        holder.set_ylabel("gas holder [m³]")
        holder.set_ylim(bottom=0)
        holder.legend(loc="upper right", fontsize=8, frameon=False)
    store.legend(loc="upper left", fontsize=8, frameon=False)
    store.grid(alpha=0.3)

    for c in site_columns(site):
        if c.column.category == "price" and c.name in table:
            values = table[c.name].to_numpy(dtype=float)
            price.step(x, _steps(values), where="post", label=c.column.label)
    if "marginal_price_per_kwh" in table:
        marginal = table["marginal_price_per_kwh"].to_numpy(dtype=float)
        price.step(x, _steps(marginal), where="post", color="k", lw=0.8, alpha=0.6,
                   label="marginal price")  # fmt: skip
    price.set_ylabel(f"price [{site.currency}/kWh]")
    price.legend(loc="upper left", ncols=3, fontsize=8, frameon=False)
    price.grid(alpha=0.3)

    hours = (edges[-1] - edges[0]) / pd.Timedelta(hours=1)
    locator = mdates.HourLocator(byhour=range(0, 24, 3 if hours <= 48 else 6), tz=site.tz)
    price.xaxis.set_major_locator(locator if hours <= 96 else mdates.AutoDateLocator(tz=site.tz))
    price.xaxis.set_major_formatter(
        mdates.DateFormatter("%H:%M\n%d %b" if hours <= 96 else "%d %b", tz=site.tz)
    )
    price.set_xlim(x[0], x[-1])
    price.set_xlabel(f"local time ({site.location.timezone})")
    if title is None:
        status = getattr(plan, "status", None)
        start = x[0].strftime("%Y-%m-%d %H:%M")
        title = f"{site.name}: plan from {start} for {hours:g} h" + (
            f" ({status})" if status else ""
        )
    fig.suptitle(title)
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
