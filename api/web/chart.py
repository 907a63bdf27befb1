"""The plan chart as inline SVG, drawn on the server: supply stacked against demand, the
storage levels, and the import price. No script, no external asset; the SVG scales to the
page's width (a phone's 360 px as well as A4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from api.web.i18n import N_, Local
from optimizer.plot import COLOURS, supply_and_demand
from optimizer.site_columns import site_columns
from sites.schema import Site

WIDTH = 560  #: drawing units across; the page scales them (a phone to about 0.6)
PAD_LEFT, PAD_RIGHT = 8, 8
FONT = 17  #: label size in drawing units: about 10 px on a 360 px phone
SHOWN_KW = 1e-3  #: a supply never above this is left out (solver noise) [kW]
#: Colours of the store levels by unit (electric and thermal stores in kWh, gas holders in m³)
STORE_COLOURS = {"kWh": COLOURS["battery"], "m3": COLOURS["biogas"]}
OTHER_STORE = "#8C564B"


@dataclass(frozen=True)
class Series:
    key: str  #: message id of its label
    colour: str
    line: bool = False  #: drawn as a line (a level or a price), not as an area
    dashed: bool = False


def _steps(values: np.ndarray, x0: float, dx: float, y: Any) -> str:
    """SVG points of a step line: each value held over its interval."""
    edges = x0 + dx * np.arange(len(values) + 1)
    xs = np.repeat(edges, 2)[1:-1].tolist()
    ys = np.repeat(y(np.asarray(values, dtype=float)), 2).tolist()
    return " ".join(map("{:.1f},{:.1f}".format, xs, ys))


def _band(bottom: np.ndarray, top: np.ndarray, x0: float, dx: float, y: Any) -> str:
    return _steps(top, x0, dx, y) + " " + " ".join(
        reversed(_steps(bottom, x0, dx, y).split(" ")))


def _axes(parts: list[str], top: float, height: float, hours: list[tuple[float, str]],
          label: str) -> None:
    bottom = top + height
    parts.append(f'<rect x="{PAD_LEFT}" y="{top}" width="{WIDTH - PAD_LEFT - PAD_RIGHT}" '
                 f'height="{height}" fill="none" stroke="#999"/>')
    for x, text in hours:
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" '
                     f'stroke="#ddd"/><text x="{x:.1f}" y="{bottom + FONT}" '
                     f'text-anchor="middle">{text}</text>')
    parts.append(f'<text x="{PAD_LEFT + 4}" y="{top + FONT}" paint-order="stroke" '
                 f'stroke="#fff" stroke-width="4">{label}</text>')


def plan_svg(site: Site, plan: Any, local: Local) -> tuple[str, list[Series]]:
    """The chart of ``plan`` as an SVG element, and the legend's series."""
    table = plan.table
    n = len(table)
    if n == 0:
        return "", []
    dx = (WIDTH - PAD_LEFT - PAD_RIGHT) / n
    starts = table.index.tz_convert(site.tz)
    hours = [(PAD_LEFT + i * dx, local.time(t.to_pydatetime()))
             for i, t in enumerate(starts) if i and t.minute == 0 and t.hour % 6 == 0]
    parts: list[str] = []
    legend: list[Series] = []

    supply, demand = supply_and_demand(site, table)
    stacked = np.sum(list(supply.values()), axis=0)
    top_kw = max(float(demand["total"].max()), float(stacked.max()), 1e-3)
    top_kw = float(np.ceil(top_kw / 10) * 10)
    h1 = 200.0
    y1 = lambda v: 8 + h1 * (1 - v / top_kw)  # noqa: E731
    base = np.zeros(n)
    labels = {"pv": N_("solar"), "battery": N_("battery"), "biogas": N_("biogas"),
              "diesel": N_("diesel"), "grid": N_("grid"), "unserved": N_("not served")}
    for name, values in supply.items():
        if not np.any(values > SHOWN_KW):
            continue
        colour = COLOURS.get(name, OTHER_STORE)  # a source no palette entry names yet
        parts.append(f'<polygon points="{_band(base, base + values, PAD_LEFT, dx, y1)}" '
                     f'fill="{colour}" opacity="0.85"/>')
        legend.append(Series(labels.get(name, name), colour))
        base = base + values
    parts.append(f'<polyline points="{_steps(demand["total"], PAD_LEFT, dx, y1)}" '
                 f'fill="none" stroke="#000" stroke-width="1.6"/>')
    legend.append(Series(N_("use, charging and sales"), "#000000", line=True))
    _axes(parts, 8, h1, [], f"{local.number(top_kw, 0)} kW")

    h2, top2 = 80.0, 8 + h1 + FONT + 10
    y2 = lambda v: top2 + h2 * (1 - v)  # noqa: E731
    # stored levels as a share of their stores' sizes, one line per label (every battery's
    # SoC together, every gas holder's ...), from the columns the kinds declare
    stores: dict[str, tuple[str, np.ndarray, float]] = {}
    columns = site_columns(site)
    for c in columns:
        size = c.device.level_max(c.column.quantity)
        if c.column.role != "level" or not size or c.name not in table.columns:
            continue
        unit, level, total = stores.get(c.column.label, (c.column.unit, np.zeros(n), 0.0))
        stores[c.column.label] = (unit, level + table[c.name].to_numpy(float), total + size)
    for label, (unit, level, total) in stores.items():
        colour = STORE_COLOURS.get(unit, OTHER_STORE)
        dash = "" if unit == "kWh" else ' stroke-dasharray="6 3"'
        parts.append(f'<polyline points="{_steps(level / total, PAD_LEFT, dx, y2)}" '
                     f'fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
        legend.append(Series(label, colour, line=True, dashed=unit != "kWh"))
    importer = next((c.device.prefix for c in columns if c.column.category == "import"), None)
    column = f"{importer}import_price_per_kwh" if importer else ""
    priced = column in table.columns
    _axes(parts, top2, h2, [] if priced else hours, "100%")
    height = top2 + h2 + FONT + 6
    if priced:
        price = table[column].to_numpy(float)
        h3, top3 = 60.0, top2 + h2 + FONT + 10
        high = max(float(price.max()), 1e-6)
        y3 = lambda v: top3 + h3 * (1 - v / high)  # noqa: E731
        parts.append(f'<polyline points="{_steps(price, PAD_LEFT, dx, y3)}" fill="none" '
                     f'stroke="{COLOURS["grid"]}" stroke-width="2"/>')
        legend.append(Series(N_("grid price"), COLOURS["grid"], line=True))
        _axes(parts, top3, h3, hours, local.money(high))
        height = top3 + h3 + FONT + 6
    svg = (f'<svg viewBox="0 0 {WIDTH} {height:.0f}" role="img" font-size="{FONT}" '
           f'xmlns="http://www.w3.org/2000/svg">' + "".join(parts) + "</svg>")
    return svg, legend
