"""A plan's table seen as a day: local times, the bus's totals, price bands, and the runs
of a decision worth telling a person (used by ``optimizer.explain`` and the device models'
``explain``).

Totals are read from the columns the device kinds declare (``optimizer.columns``): solar is
the supply of source ``pv``, stored supply the ``storage_out`` columns, generation the other
supply and fossil columns, the grid the device with an ``import`` column.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from optimizer.columns import SiteColumn, columns_of
from sites.schema import Site

#: Power below which a decision counts as zero (solver noise) [kW].
EPS_KW = 0.1
#: Runs carrying less energy than this are not worth telling a person [kWh].
MIN_RUN_KWH = 0.5
#: Runs split by idle spells of at most this long are told as one: an LP has many equally
#: cheap schedules and may switch a load on and off between them; a person is told the
#: stretch and the hours it runs within it (controllers get the exact setpoints) [h].
MERGE_GAP_H = 1.0
#: Price bands: a price in the lowest (highest) third of the horizon's range is low (high).
BAND_PU = 1 / 3
#: A store at or above this share of its usable range counts as full [pu].
FULL_PU = 0.97
#: Share of a run's energy that spare solar must give for "the sun gives most of it" [pu],
#: and for "the sun covers it".
SUN_SHARE_PU = 0.5
SUN_ALL_PU = 0.95
#: How far before an outage charging counts as keeping a reserve for it [h].
RESERVE_LOOKAHEAD_H = 12.0


def served_kw(table: pd.DataFrame, load: str) -> np.ndarray | None:
    """Power served to ``load`` [kW]: ``<load>.served_kw``, else ``<load>.power_kw``."""
    for quantity in ("served_kw", "power_kw"):
        name = f"{load}.{quantity}"
        if name in table.columns:
            return table[name].to_numpy(dtype=float)
    return None


def runs(active: np.ndarray, gap: int = 0) -> list[tuple[int, int]]:
    """``(first, last + 1)`` of each stretch where ``active`` holds, merging short gaps."""
    out: list[tuple[int, int]] = []
    for i in np.flatnonzero(active):
        if out and i - out[-1][1] <= gap:  # ``gap`` idle intervals at most
            out[-1] = (out[-1][0], int(i) + 1)
        else:
            out.append((int(i), int(i) + 1))
    return out


@dataclass
class PlanView:
    """The plan's table seen as a day: local times, the bus's totals and the price bands."""

    site: Site
    table: pd.DataFrame
    step_h: float
    models: tuple[Any, ...]  #: the site's device models (``optimizer.devices.device_models``)

    @cached_property
    def starts(self) -> pd.DatetimeIndex:
        return self.table.index.tz_convert(self.site.tz)

    def column(self, name: str) -> np.ndarray:
        """A column, or zeros when the plan has none."""
        if name in self.table.columns:
            return self.table[name].to_numpy(dtype=float)
        return np.zeros(len(self.table))

    def total(self, names: list[str]) -> np.ndarray:
        return sum((self.column(n) for n in names), np.zeros(len(self.table)))

    @cached_property
    def columns(self) -> list[SiteColumn]:
        """The site's declared columns."""
        return columns_of(self.models)

    def names(self, *categories: str, source: str | None = None,
              forecast: str | None = None) -> list[str]:
        """Full names of the declared columns of ``categories``; of that energy ``source``
        only, and of devices whose inputs come from that ``forecast`` only, when given."""
        return [c.name for c in self.columns if c.column.category in categories
                and (source is None or c.column.source == source)
                and (forecast is None or c.device.forecast == forecast)]

    @cached_property
    def grid(self) -> str | None:
        """Column prefix of the device the site imports through (``<name>.``); None: none."""
        return next((c.device.prefix for c in self.columns if c.column.category == "import"),
                    None)

    @cached_property
    def price(self) -> np.ndarray | None:
        """Import price of each interval [currency/kWh]; None off-grid."""
        return None if self.grid is None else self.column(f"{self.grid}import_price_per_kwh")

    @cached_property
    def pv_kw(self) -> np.ndarray:
        return self.total(self.names("supply", source="pv"))

    @cached_property
    def base_kw(self) -> np.ndarray:
        """Electric demand of the forecast loads (fixed loads, heat backups), less what they
        shed: what runs whatever the plan [kW]."""
        return (self.total(self.names("demand", forecast="load"))
                - self.total(self.names("shed", forecast="load")))

    @cached_property
    def spare_sun_kw(self) -> np.ndarray:
        """Solar power beyond the fixed loads [kW]."""
        return np.clip(self.pv_kw - self.base_kw, 0.0, None)

    @cached_property
    def outage(self) -> np.ndarray:
        """True where the grid's availability is cut (an announced outage)."""
        if self.grid is None:
            return np.zeros(len(self.table), dtype=bool)
        return self.column(f"{self.grid}available_pu") < 1.0 - 1e-6

    def span(self, first: int, stop: int) -> tuple[datetime, datetime]:
        step = pd.Timedelta(hours=self.step_h)
        return (self.starts[first].to_pydatetime(),
                (self.starts[stop - 1] + step).to_pydatetime())

    def band(self, price: float) -> str:
        """``low``, ``mid`` or ``high`` within the horizon's import prices; ``flat`` if one."""
        assert self.price is not None
        low, high = float(self.price.min()), float(self.price.max())
        if high - low < 1e-9:
            return "flat"
        if price <= low + BAND_PU * (high - low):
            return "low"
        return "high" if price >= high - BAND_PU * (high - low) else "mid"

    def charged_price(self, charge: np.ndarray) -> float | None:
        """What the energy put into storage was worth when it went in [currency/kWh]: the
        plan's marginal price of electricity (the LP dual; for the rules, the cost of the last
        kWh supplied or the price the last surplus kWh earned) weighted by the charging, so
        PV surplus that would have been exported counts at the export price, not the import
        price. None when the plan has no marginal prices or nothing was charged."""
        name = "marginal_price_per_kwh"
        if name not in self.table.columns or charge.sum() <= 0:
            return None
        marginal = self.table[name].to_numpy(dtype=float)
        if not np.isfinite(marginal[charge > 0]).all():
            return None
        return float((np.clip(marginal, 0.0, None) * charge).sum() / charge.sum())

    def mean_price(self, first: int, stop: int, weights: np.ndarray) -> float:
        assert self.price is not None
        w = weights[first:stop]
        p = self.price[first:stop]
        return float((p * w).sum() / w.sum()) if w.sum() > 0 else float(p.mean())

    def supplies(self, first: int, stop: int, wanted: np.ndarray) -> dict[str, float]:
        """Energy of each supply within ``wanted`` over a run [kWh]: sun (spare solar),
        battery (stored supply), genset (other generation), grid (import), each capped by
        what was wanted in each interval."""
        sl = slice(first, stop)
        left = wanted[sl].copy()
        out = {}
        sources = {
            "sun": self.spare_sun_kw,
            "battery": self.total(self.names("storage_out")),
            "genset": self.total([n for n in self.names("supply", "fossil")
                                  if n not in self.names("supply", source="pv")]),
            "grid": self.total(self.names("import")),
        }
        for source, kw in sources.items():
            used = np.minimum(kw[sl], left)
            left = left - used
            out[source] = float(used.sum() * self.step_h)
        return out

    def energy(self, power: np.ndarray, first: int, stop: int) -> float:
        return float(power[first:stop].sum() * self.step_h)

    def told_runs(self, power: np.ndarray) -> Iterator[tuple[int, int, dict[str, float]]]:
        """Runs of ``power`` worth telling, with their peak power and energy."""
        on = power > EPS_KW
        for first, stop in runs(on, gap=int(MERGE_GAP_H / self.step_h)):
            energy = self.energy(power, first, stop)
            if energy >= MIN_RUN_KWH:
                yield first, stop, {"power_kw": float(power[first:stop].max()),
                                    "energy_kwh": energy,
                                    "on_h": float(on[first:stop].sum() * self.step_h)}


@dataclass(frozen=True)
class Action:
    """One line of the plan in plain words.

    ``what`` says what happens (``run``, ``charge``, ``discharge``, ``genset``, ``export``,
    ``outage``, ``holder_full``, ``holder_low``, ``flare``, ``shed``), ``why`` the reason
    (``sun``, ``sun_part``, ``cheap``, ``price``, ``dear``, ``battery``, ``genset``,
    ``reserve``, ``outage``, ``no_sun``, ``gas_full``, ``cook``, ``cook_first``,
    ``cook_sparingly``, ``short``, ``announced``, ``covers``); ``numbers`` hold the figures
    behind both, with units in their names; ``when`` a moment the reason refers to (the start
    of an outage). ``notice`` marks what a person must know even if they do nothing (load
    shed, an outage). A device kind may add codes of its own, with their words
    (``DeviceModel.what_phrases``, ``why_phrases``).
    """

    start: datetime
    end: datetime
    what: str
    device: str
    why: str
    numbers: Mapping[str, float] = field(default_factory=dict)
    when: datetime | None = None
    notice: bool = False


def by_source(view: PlanView, first: int, stop: int, power: np.ndarray,
              numbers: dict[str, float], exclude: str = "") -> str:
    """The reason a run is served when it is: its main supply, priced when that is the grid."""
    energy = max(numbers["energy_kwh"], 1e-9)
    given = {k: v for k, v in view.supplies(first, stop, power).items() if k != exclude}
    if given.get("sun", 0.0) >= SUN_SHARE_PU * energy:
        numbers["solar_kwh"] = given["sun"]
        return "sun" if given["sun"] >= SUN_ALL_PU * energy else "sun_part"
    source = max(given, key=lambda k: given[k])
    if source == "grid" and view.price is not None:
        price = view.mean_price(first, stop, power)
        numbers["price_per_kwh"] = price
        numbers["dearest_per_kwh"] = float(view.price.max())
        return "cheap" if view.band(price) in ("low", "flat") else "price"
    numbers[f"{source}_kwh"] = given[source]
    return source


def next_outage(view: PlanView, after: int) -> int | None:
    """Index of the first outage interval at or after ``after`` within the look-ahead."""
    limit = after + int(RESERVE_LOOKAHEAD_H / view.step_h)
    hits = np.flatnonzero(view.outage[after:limit])
    return after + int(hits[0]) if len(hits) else None
