"""The devices of the rule-based dispatch: what each may do in an interval, and its book-keeping.

Each rule follows its device's constraints in docs/formulation.md (bounds, efficiencies, the
storage balance, the fuel line, ramp limits), so what the baseline decides is a feasible point
of the LP.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from optimizer.state import State
from sites.schema import Battery, BiogasFuel, Digester, Genset, Grid

#: Amounts below this are treated as zero [kW or m³], so float noise starts no unit.
EPS = 1e-9


class Rule(Protocol):
    """A device of the dispatch: gets ready for interval ``t``, then settles it."""

    def prepare(self, t: int) -> None: ...

    def finish(self, t: int) -> None: ...


class Table:
    """Decision columns being filled, one float per interval, created on first use."""

    def __init__(self, n: int):
        self.n = n
        self.columns: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.columns:
            self.columns[name] = np.zeros(self.n)
        return self.columns[name]


@dataclass
class Source:
    """Supply left in the current interval [kW], drawn in merit order."""

    left_kw: float
    marginal_per_kwh: float
    take: Callable[[float], None] = field(repr=False)
    min_take_kw: float = 0.0


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


def reach_floor(target: float, low: float, rise: Any, keep: float, n: int) -> np.ndarray:
    """Lowest level at the end of each interval from which ``target`` is still reachable.

    Notes
    -----
    ``f[T−1] = max(target, low)`` and ``f[t−1] = max(low / keep^(T−t), (f[t] − rise_t) / keep)``,
    where ``rise_t`` [kWh or m³] is the most the level can gain in interval ``t`` and ``keep``
    [-] the share of the level kept over an interval (self-discharge). The first term keeps a
    level that, left alone, still ends at or above ``low``. ``rise`` is a scalar or an array.
    """
    rises = np.broadcast_to(np.asarray(rise, dtype=float), (n,))
    floor = np.empty(n)
    level = max(target, low)
    for t in range(n - 1, -1, -1):
        floor[t] = level
        level = max(low / keep ** (n - t), (level - rises[t]) / keep)
    return floor


class BatteryRule:
    """A battery: SoC window, power limits, efficiencies, self-discharge, end-of-horizon SoC.

    ``S_t = ρ S_{t−1} + (η_c P_c − P_d / η_d) Δ`` with ``ρ = (1 − σ)^(Δ/24)``.
    """

    def __init__(
        self,
        spec: Battery,
        state: State,
        n: int,
        step_h: float,
        out: Table,
        spare_kw: np.ndarray | None = None,
    ):
        self.spec, self.dt, self.out = spec, step_h, out
        c = spec.capacity_kwh
        self.soc = state.value(spec.name, "soc_kwh")
        self.keep = (1 - spec.self_discharge_pu_per_day) ** (step_h / 24)
        target = spec.end_soc_pu * c if spec.end_soc_pu is not None else self.soc
        # charging later is limited by the supply left over then, not only by the charger
        charger = np.full(n, spec.max_charge_kw)
        if spare_kw is not None:
            charger = np.clip(spare_kw, 0.0, spec.max_charge_kw)
        rise = spec.charge_efficiency_pu * charger * step_h
        self.floor = reach_floor(target, spec.soc_min_pu * c, rise, self.keep, n)
        self.kept = self.forced_kw = self.extra_kw = self.discharge_kw = 0.0
        self.room_charge_kw = self.room_discharge_kw = 0.0

    def prepare(self, t: int) -> None:
        b, dt = self.spec, self.dt
        self.kept = self.soc * self.keep
        floor = self.floor[t]
        self.room_discharge_kw = max(
            0.0, min(b.max_discharge_kw, (self.kept - floor) * b.discharge_efficiency_pu / dt)
        )
        top = b.soc_max_pu * b.capacity_kwh
        self.room_charge_kw = max(
            0.0, min(b.max_charge_kw, (top - self.kept) / (b.charge_efficiency_pu * dt))
        )
        lack = max(0.0, (floor - self.kept) / (b.charge_efficiency_pu * dt))
        self.forced_kw = min(self.room_charge_kw, lack)
        self.extra_kw = self.discharge_kw = 0.0

    def source(self) -> Source:
        def take(x: float) -> None:
            self.discharge_kw += x

        return Source(self.room_discharge_kw, self.spec.wear_cost_per_kwh, take)

    def absorb(self, surplus_kw: float) -> float:
        """Charge from surplus beyond the forced charging; return what was taken [kW]."""
        self.extra_kw = max(0.0, min(self.room_charge_kw - self.forced_kw, surplus_kw))
        return self.extra_kw

    def finish(self, t: int) -> None:
        b, n = self.spec, self.spec.name
        charge = self.forced_kw + self.extra_kw
        self.soc = (
            self.kept
            + (b.charge_efficiency_pu * charge - self.discharge_kw / b.discharge_efficiency_pu)
            * self.dt
        )
        self.out[f"{n}.charge_kw"][t] = charge
        self.out[f"{n}.discharge_kw"][t] = self.discharge_kw
        self.out[f"{n}.soc_kwh"][t] = self.soc


class DigesterRule:
    """A digester's gas holder: production in, cooking out first, fuel out, flaring at the top.

    ``V_t = V_{t−1} + G_t − K_t − Σ F_g − flared_t − vented_t`` within ``[V_min, V_max]``;
    the level never falls below the one from which later production less cooking refills it
    to its initial level by the end of the horizon.
    """

    def __init__(
        self,
        spec: Digester,
        state: State,
        columns: dict[str, np.ndarray],
        out: Table,
    ):
        self.spec, self.out = spec, out
        self.production = columns[f"{spec.name}.production_m3"]
        self.cooking = columns[f"{spec.name}.cooking_m3"]
        self.level = state.value(spec.name, "gas_m3")
        net = self.production - self.cooking  # what interval t adds to the holder at most
        self.floor = reach_floor(self.level, spec.holder_min_m3, net, 1.0, len(net))
        self.spare_m3 = self.fuel_m3 = 0.0

    def prepare(self, t: int) -> None:
        self.level += self.production[t] - self.cooking[t]
        self.spare_m3 = max(0.0, self.level - self.floor[t])
        self.fuel_m3 = 0.0

    def finish(self, t: int) -> None:
        d, n = self.spec, self.spec.name
        self.level -= self.fuel_m3
        excess = max(0.0, self.level - d.holder_max_m3)
        self.level -= excess
        self.out[f"{n}.flared_m3"][t] = excess if d.has_flare else 0.0
        self.out[f"{n}.vented_m3"][t] = 0.0 if d.has_flare else excess
        self.out[f"{n}.gas_m3"][t] = self.level


class GensetRule:
    """A biogas or diesel genset: rating, ramp limits, fuel line, optional on/off commitment.

    Fuel ``F = (a P + f0 u) Δ`` with ``u = P / P̄`` (the LP) or ``u ∈ {0, 1}`` (commitment);
    ``|P_t − P_{t−1}| ≤ max(R Δ, p_min P̄)``. A biogas unit never plans more output than the
    holder's spare gas could carry through a ramp down to zero.
    """

    def __init__(
        self,
        spec: Genset,
        state: State,
        step_h: float,
        out: Table,
        digester: DigesterRule | None,
    ):
        self.spec, self.dt, self.out, self.digester = spec, step_h, out, digester
        self.last_kw = state.value(spec.name, "power_kw")
        fuel = spec.fuel
        self.slope = fuel.m3_per_kwh if isinstance(fuel, BiogasFuel) else fuel.l_per_kwh
        self.no_load = (
            fuel.no_load_m3_per_h if isinstance(fuel, BiogasFuel) else fuel.no_load_l_per_h
        )
        self.min_on_kw = spec.min_load_pu * spec.rated_kw if spec.commitment else 0.0
        ramp = spec.max_ramp_kw_per_h
        self.allowance_kw = (
            spec.rated_kw if ramp is None else max(ramp * step_h, spec.min_load_pu * spec.rated_kw)
        )
        self.power_kw = self.high_kw = 0.0

    def on_pu(self, power_kw: float) -> float:
        """Share of the interval the unit runs: ``P/P̄``, or 0 or 1 with commitment [-]."""
        return float(power_kw > EPS) if self.spec.commitment else power_kw / self.spec.rated_kw

    def fuel(self, power_kw: float) -> float:
        """Fuel of one interval [m³ or L]."""
        return (self.slope * power_kw + self.no_load * self.on_pu(power_kw)) * self.dt

    def _reserve(self, power_kw: float) -> float:
        """Fuel to run at ``power_kw`` now and ramp down to zero later (an upper bound)."""
        steps = 1 if power_kw <= EPS else math.ceil(power_kw / self.allowance_kw - 1e-12)
        return self.fuel(power_kw) * steps

    def _gas_limit(self, high: float, spare: float) -> float:
        if self._reserve(high) <= spare:
            return high
        lo, hi = 0.0, high
        for _ in range(50):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if self._reserve(mid) <= spare else (lo, mid)
        return lo

    def prepare(self, t: int) -> None:
        g = self.spec
        low = max(0.0, self.last_kw - self.allowance_kw)
        if low > EPS:
            low = max(low, self.min_on_kw)
        high = min(g.rated_kw, self.last_kw + self.allowance_kw)
        if self.digester is not None:
            high = self._gas_limit(high, self.digester.spare_m3)
            self.digester.spare_m3 = max(0.0, self.digester.spare_m3 - self._reserve(high))
        self.power_kw = min(low, high) if self.digester is not None else low
        self.high_kw = max(high, self.power_kw)

    def marginal_per_kwh(self, carbon_price: float) -> float:
        """Money (and carbon price) per kWh of more output [currency/kWh]."""
        g = self.spec
        per_kwh = self.slope + self.no_load / g.rated_kw
        price = g.variable_om_per_kwh
        if not isinstance(g.fuel, BiogasFuel):
            price += per_kwh * (g.fuel.price_per_l + carbon_price * g.fuel.emission_kgco2_per_l)
        return price

    def source(self, carbon_price: float) -> Source:
        def take(x: float) -> None:
            self.power_kw += x

        start = self.min_on_kw if self.power_kw <= EPS else 0.0
        return Source(
            self.high_kw - self.power_kw, self.marginal_per_kwh(carbon_price), take, start
        )

    def finish(self, t: int) -> None:
        g, n = self.spec, self.spec.name
        fuel = self.fuel(self.power_kw)
        unit = "m3" if isinstance(g.fuel, BiogasFuel) else "l"
        self.out[f"{n}.power_kw"][t] = self.power_kw
        self.out[f"{n}.fuel_{unit}"][t] = fuel
        self.out[f"{n}.on_pu"][t] = self.on_pu(self.power_kw)
        if g.heat_recovery_pu > 0:
            self.out[f"{n}.heat_kw"][t] = g.heat_recovery_pu * self.power_kw
        if self.digester is not None:
            self.digester.fuel_m3 += fuel
        self.last_kw = self.power_kw


class GridRule:
    """The grid connection: import and export within limits that an outage sets to zero."""

    def __init__(self, spec: Grid, columns: dict[str, np.ndarray], out: Table):
        self.spec, self.out = spec, out
        n = spec.name
        self.available = columns[f"{n}.available_pu"]
        self.price = columns[f"{n}.import_price_per_kwh"]
        self.export_price = columns[f"{n}.export_price_per_kwh"]
        self.carbon = columns[f"{n}.carbon_kgco2_per_kwh"]
        steps = len(self.available)
        self.import_limit = columns.get(f"{n}.import_limit_kw", np.full(steps, spec.max_import_kw))
        self.export_limit = columns.get(f"{n}.export_limit_kw", np.full(steps, spec.max_export_kw))
        self.import_kw = self.export_kw = 0.0
        self.t = 0

    def prepare(self, t: int) -> None:
        self.t, self.import_kw, self.export_kw = t, 0.0, 0.0

    def source(self, carbon_price: float) -> Source:
        """Import, priced at the tariff plus the carbon price × the grid's intensity."""
        t = self.t

        def take(x: float) -> None:
            self.import_kw += x

        price = self.price[t] + carbon_price * self.carbon[t]
        return Source(self.available[t] * self.import_limit[t], price, take)

    def export(self, surplus_kw: float) -> float:
        """Export what the limit allows of ``surplus_kw``; return it [kW]."""
        limit_kw = self.available[self.t] * self.export_limit[self.t]
        self.export_kw = max(0.0, min(limit_kw, surplus_kw))
        return self.export_kw

    def finish(self, t: int) -> None:
        self.out[f"{self.spec.name}.import_kw"][t] = self.import_kw
        self.out[f"{self.spec.name}.export_kw"][t] = self.export_kw
