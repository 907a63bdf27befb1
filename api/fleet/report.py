"""The fleet table for people: text lines for a terminal, and a picture of the sites."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

#: (column, heading, width, format) of the printed per-site table.
COLUMNS = {
    "plan": (
        ("site", "site", 22, "{}"), ("county", "county", 18, "{}"), ("status", "status", 11, "{}"),
        ("stored", "stored", 9, "{}"), ("cost", "cost", 11, "{:,.2f}"),
        ("emissions_kgco2", "kgCO2e", 10, "{:,.1f}"),
        ("unserved_kwh", "unserved kWh", 13, "{:,.1f}"), ("solve_time_s", "solve s", 8, "{:.2f}"),
    ),
    "simulate": (
        ("site", "site", 22, "{}"), ("county", "county", 18, "{}"), ("status", "status", 11, "{}"),
        ("cost", "cost", 12, "{:,.0f}"), ("baseline_cost", "rules cost", 12, "{:,.0f}"),
        ("emissions_kgco2", "kgCO2e", 12, "{:,.0f}"),
        ("unserved_kwh", "unserved kWh", 13, "{:,.0f}"),
        ("task_time_s", "time s", 8, "{:.1f}"),
    ),
    "size": (
        ("site", "site", 22, "{}"), ("county", "county", 18, "{}"), ("status", "status", 11, "{}"),
        ("total_annualised_cost", "annualised", 12, "{:,.0f}"),
        ("emissions_kgco2", "kgCO2e/yr", 12, "{:,.0f}"), ("task_time_s", "time s", 8, "{:.1f}"),
    ),
}
ROLLUP = (
    ("county", "county", 18, "{}"), ("sites", "sites", 6, "{}"), ("optimal", "optimal", 8, "{}"),
    ("fallback", "fallback", 9, "{}"), ("failed", "failed", 7, "{}"),
    ("cost", "cost", 12, "{:,.2f}"), ("cost_saving", "saving", 11, "{:,.2f}"),
    ("emissions_kgco2", "kgCO2e", 11, "{:,.1f}"), ("unserved_kwh", "unserved kWh", 13, "{:,.1f}"),
)


def _cell(value: Any, width: int, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        text = "-"
    else:
        try:
            text = fmt.format(value)
        except (TypeError, ValueError):
            text = str(value)
    if len(text) > width - 1:
        text = text[: width - 2] + "…"
    return f"{text:<{width}}" if fmt == "{}" else f"{text:>{width - 1}} "


def lines(table: pd.DataFrame, columns: tuple[tuple[str, str, int, str], ...]) -> list[str]:
    """The table as fixed-width lines, a heading first; missing values as '-'."""
    out = ["".join(_cell(h, w, "{}") if f == "{}" else f"{h:>{w - 1}} " for _, h, w, f in columns)]
    for _, row in table.iterrows():
        out.append("".join(_cell(row.get(c), w, f) for c, _, w, f in columns).rstrip())
    return out


def reasons(table: pd.DataFrame) -> list[str]:
    """One line per site that has a reason (why it failed, or why it fell back)."""
    if "reason" not in table:
        return []
    picked = table[table["reason"].fillna("").astype(str) != ""]
    return [f"  {row['site']}: {row['status']}: {row['reason']}" for _, row in picked.iterrows()]


def plot_fleet(table: pd.DataFrame, title: str) -> Any:
    """Cost and emissions of each site beside the rule-based dispatch (a matplotlib Figure)."""
    from matplotlib.figure import Figure

    shown = table.dropna(subset=["cost"]) if "cost" in table else table.iloc[0:0]
    n = max(len(shown), 1)
    fig = Figure(figsize=(11, 1.2 + 0.32 * n), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    labels = [f"{r['site']} ({r['status']})" for _, r in shown.iterrows()]
    y = range(len(shown))
    for ax, (mine, theirs, unit) in zip(axes, (
        ("cost", "baseline_cost", f"cost [{', '.join(sorted(set(shown.get('currency', []))))}]"),
        ("emissions_kgco2", "baseline_emissions_kgco2", "emissions [kgCO2e]"),
    ), strict=True):
        ax.barh([v + 0.2 for v in y], shown[mine], height=0.4, color="#3969ac", label="plan")
        if theirs in shown:
            ax.barh([v - 0.2 for v in y], shown[theirs].astype(float), height=0.4,
                    color="#bbbbbb", label="rule-based")
        ax.axvline(0, color="black", linewidth=0.6)
        ax.set_xlabel(unit)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(list(y), labels)
    axes[0].invert_yaxis()
    axes[1].legend(loc="lower right")
    fig.suptitle(title)
    return fig
