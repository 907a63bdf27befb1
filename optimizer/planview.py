"""A plan's table seen as a day: local times, the bus's totals, price bands, and the runs
of a decision worth telling a person (used by ``optimizer.explain``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import numpy as np
import pandas as pd

from sites.schema import Battery, FixedLoad, Genset, Grid, HeatLoad, PvArray, Site

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
    def grid(self) -> Grid | None:
        grids = self.site.of_type(Grid)
        return grids[0] if grids else None

    @cached_property
    def price(self) -> np.ndarray | None:
        """Import price of each interval [currency/kWh]; None off-grid."""
        return None if self.grid is None else self.column(f"{self.grid.name}.import_price_per_kwh")

    @cached_property
    def pv_kw(self) -> np.ndarray:
        return self.total([f"{a.name}.pv_kw" for a in self.site.of_type(PvArray)])

    @cached_property
    def base_kw(self) -> np.ndarray:
        """Fixed loads served and electric heat backups: what runs whatever the plan [kW]."""
        fixed = [served_kw(self.table, ld.name) for ld in self.site.of_type(FixedLoad)]
        backups = [f"{h.name}.backup_kw" for h in self.site.of_type(HeatLoad)]
        return sum((f for f in fixed if f is not None), self.total(backups))

    @cached_property
    def spare_sun_kw(self) -> np.ndarray:
        """Solar power beyond the fixed loads [kW]."""
        return np.clip(self.pv_kw - self.base_kw, 0.0, None)

    @cached_property
    def outage(self) -> np.ndarray:
        """True where the grid's availability is cut (an announced outage)."""
        if self.grid is None:
            return np.zeros(len(self.table), dtype=bool)
        return self.column(f"{self.grid.name}.available_pu") < 1.0 - 1e-6

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
        """Energy of each supply within ``wanted`` over a run [kWh]: sun, battery, genset,
        grid (each capped by what was wanted in each interval)."""
        sl = slice(first, stop)
        left = wanted[sl].copy()
        out = {}
        sources = {
            "sun": self.spare_sun_kw,
            "battery": self.total([f"{b.name}.discharge_kw" for b in self.site.of_type(Battery)]),
            "genset": self.total([f"{g.name}.power_kw" for g in self.site.of_type(Genset)]),
            "grid": self.column(f"{self.grid.name}.import_kw" if self.grid else ""),
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
