"""Reading a long operation table: monthly and annual KPIs, energy flows and plots.

The operation table is a plan table over many days (columns ``<device>.<quantity>_<unit>``,
UTC index labelled by interval start). KPIs per month are computed by the optimizer's own
accounting on that month's rows, so that a month, a year and a single plan are measured the
same way. Plots use the site's local time and are drawn on :class:`matplotlib.figure.Figure`
objects (no global pyplot state).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from optimizer.accounting import kpis as accounting_kpis
from optimizer.site_columns import in_category, site_columns
from sites.schema import Site

#: Meteorological seasons by month for the northern hemisphere; flipped in the south.
SEASONS_NORTH: dict[str, tuple[int, ...]] = {
    "Dec-Feb": (12, 1, 2),
    "Mar-May": (3, 4, 5),
    "Jun-Aug": (6, 7, 8),
    "Sep-Nov": (9, 10, 11),
}

COLOURS = {
    "PV": "#f2b701",
    "genset": "#7f3c8d",
    "battery discharge": "#3969ac",
    "grid import": "#80ba5a",
    "unserved": "#e73f74",
    "loads": "#555555",
    "battery charge": "#11a579",
    "grid export": "#a5aa99",
    "heat/cold backup": "#e68310",
}


def energy_flows(site: Site, table: pd.DataFrame) -> pd.DataFrame:
    """Bus flows by label [kW], + supply and − demand; rows sum to zero when balanced.

    Every column the site's devices declare with a bus sign, summed by its ``label`` (PV,
    genset, battery discharge, grid import, loads, unserved ...) times that sign.
    """
    flows: dict[str, pd.Series] = {}
    for c in site_columns(site):
        if c.column.sign != 0 and c.name in table:
            flows[c.column.label] = flows.get(c.column.label, 0.0) + c.column.sign * table[c.name]
    return pd.DataFrame(flows, index=table.index)


def local_month(site: Site, index: pd.DatetimeIndex) -> pd.Index:
    """``YYYY-MM`` of each interval's local start."""
    return pd.Index(index.tz_convert(site.tz).strftime("%Y-%m"), name="month")


def period_kpis(
    site: Site,
    table: pd.DataFrame,
    kpis: Callable[[Site, pd.DataFrame], dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """KPIs of every local month and of the whole table (row ``year``).

    ``kpis`` defaults to :func:`optimizer.accounting.kpis`; ratios (renewable fraction,
    self-sufficiency) are computed on each period's energy, not averaged over months.
    """
    if kpis is None:
        kpis = accounting_kpis
    measure = kpis
    months = local_month(site, table.index)
    rows = {m: measure(site, part) for m, part in table.groupby(months, sort=True)}
    rows["year"] = measure(site, table)
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "period"
    return frame


def monthly_energy(site: Site, table: pd.DataFrame) -> pd.DataFrame:
    """Energy of each balance category by local month [kWh]."""
    flows = energy_flows(site, table) * site.step_h
    return flows.groupby(local_month(site, table.index), sort=True).sum()


def _figure(width: float = 10.0, height: float = 5.0) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def plot_monthly_balance(site: Site, table: pd.DataFrame, title: str = "") -> Any:
    """Stacked monthly bars: supplies up, demands down [MWh]."""
    energy = monthly_energy(site, table) / 1000.0
    fig = _figure()
    ax = fig.add_subplot()
    x = np.arange(len(energy))
    up = np.zeros(len(energy))
    down = np.zeros(len(energy))
    for label in energy.columns:
        values = energy[label].to_numpy()
        pos, neg = values.clip(min=0), values.clip(max=0)
        if pos.any():
            ax.bar(x, pos, bottom=up, label=label, color=COLOURS.get(label))
            up += pos
        if neg.any():
            ax.bar(x, neg, bottom=down, label=label, color=COLOURS.get(label))
            down += neg
    ax.axhline(0, color="black", linewidth=0.8)
    labels = [pd.Timestamp(f"{m}-01").strftime("%b %Y") for m in energy.index]
    ax.set_xticks(x, labels, rotation=45)
    ax.set_ylabel("energy [MWh]  (supply + / demand −)")
    ax.set_title(title or f"{site.name}: monthly energy balance")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return fig


def heatmap_column(site: Site, table: pd.DataFrame) -> tuple[str, str]:
    """The series a year heat-map shows: grid import if the site has a grid, else unserved."""
    imports = in_category(site, "import", table)
    if imports:
        return imports[0].name, "grid import [kW]"
    unserved = in_category(site, "unserved")
    return unserved[0].name, "unserved load [kW]"


def plot_year_heatmap(site: Site, table: pd.DataFrame, title: str = "") -> Any:
    """Day of year × local hour heat-map of grid import (or unserved load) [kW]."""
    column, label = heatmap_column(site, table)
    series = table[column] if column in table else pd.Series(0.0, index=table.index)
    local = series.index.tz_convert(site.tz)
    grid = series.groupby([pd.Index(local.date), pd.Index(local.hour)]).mean().unstack()
    fig = _figure(10, 4.5)
    ax = fig.add_subplot()
    days = grid.index
    values = grid.to_numpy().T
    peak = float(np.nanmax(values)) if values.size else 0.0
    image = ax.imshow(
        values,
        vmin=0.0,  # kW ≥ 0: an all-zero year shows an empty scale from 0, not ±0.1
        vmax=peak if peak > 0 else 1.0,
        aspect="auto",
        origin="lower",
        cmap="magma_r",
        extent=(0, len(days), 0, 24),
        interpolation="nearest",
    )
    ticks = [i for i, d in enumerate(days) if d.day == 1]
    ax.set_xticks(ticks, [pd.Timestamp(days[i]).strftime("%b") for i in ticks])
    ax.set_yticks([0, 6, 12, 18, 24])
    ax.set_ylabel(f"local hour ({site.location.timezone})")
    ax.set_title(title or f"{site.name}: {label.split(' [')[0]} over the period")
    fig.colorbar(image, ax=ax, label=label)
    return fig


def seasons(site: Site) -> dict[str, tuple[int, ...]]:
    """Season names and months for the site's hemisphere."""
    if site.location.latitude_deg >= 0:
        return SEASONS_NORTH
    names = list(SEASONS_NORTH)
    flipped = names[2:] + names[:2]
    return {name: SEASONS_NORTH[other] for name, other in zip(names, flipped, strict=True)}


def typical_days(site: Site, table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Mean flow by local hour for each season present in the table [kW]."""
    flows = energy_flows(site, table)
    local = flows.index.tz_convert(site.tz)
    out = {}
    for name, months in seasons(site).items():
        mask = np.isin(local.month, months)
        if mask.any():
            out[name] = flows[mask].groupby(local.hour[mask]).mean()
    return out


def plot_typical_days(site: Site, table: pd.DataFrame, title: str = "") -> Any:
    """One panel per season: mean supplies stacked above zero, demands below [kW]."""
    days = typical_days(site, table)
    fig = _figure(11, 6)
    axes = fig.subplots(2, 2, sharex=True, sharey=True).ravel()
    handles: dict[str, Any] = {}
    for ax, (name, mean) in zip(axes, days.items(), strict=False):
        hours = np.append(mean.index.to_numpy(), mean.index[-1] + 1)  # close the last step
        for sign in (1.0, -1.0):
            parts = {c: (sign * mean[c]).clip(lower=0) * sign for c in mean.columns}
            parts = {c: v for c, v in parts.items() if v.abs().sum() > 1e-9}
            if parts:
                stacks = ax.stackplot(
                    hours,
                    *[np.append(v.to_numpy(), v.iloc[-1]) for v in parts.values()],
                    labels=list(parts),
                    colors=[COLOURS.get(c, "#999999") for c in parts],
                    step="post",
                )
                handles.update(zip(parts, stacks, strict=True))
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_title(name)
        ax.set_xlim(0, 24)
        ax.set_xticks([0, 6, 12, 18, 24])
    for ax in axes[len(days) :]:
        ax.set_visible(False)
    for ax in axes[: len(days)]:
        ax.tick_params(labelbottom=True)  # a panel above a hidden one keeps its hour labels
    fig.supxlabel(f"local hour ({site.location.timezone})")
    fig.supylabel("mean power [kW]  (supply + / demand −)")
    fig.suptitle(title or f"{site.name}: typical day of each season")
    fig.legend(list(handles.values()), list(handles), loc="outside right upper", frameon=False)
    return fig
