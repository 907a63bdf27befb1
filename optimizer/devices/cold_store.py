"""Cold store: a temperature band held by an electric chiller and absorption cooling on CHP heat.

See docs/formulation.md, section *cold store*. The store's temperature follows the exact step
solution of its first-order heat balance, :func:`step_temperature_c`: one pure function for
the LP (Pyomo expressions) and for the rule-based dispatch (``ColdStoreRule``, floats). The
absorption chiller draws CHP heat through the link ``heat_kw``, as a heat load does; the air
temperature comes from the weather (``weather_inputs``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from forecasting.records import DEFAULT_TEMP_AIR_C
from optimizer.columns import Column
from optimizer.devices.base import Array, Context, DeviceData, DeviceModel, Drawn
from optimizer.devices.storage import add_end_target, end_value
from optimizer.rules import CHARGE, DeviceRule, RuleContext, Source, draw
from optimizer.statevars import StateVar
from sites.schema import ColdStore, Genset, Site
from sites.timeindex import hourly_to_index

#: State of a cold store (docs/formulation.md, *The device contract: state*): its temperature,
#: inside the band (a measured temperature outside it cannot start a plan that holds it).
STATE = (
    StateVar(
        "temperature_c", "degC", "store temperature at the start of the horizon",
        upper="max_c", default="initial_c", lower="min_c", column="temperature_c",
        usable=("min_c", "max_c"),
    ),
)

#: Plan-table columns of a cold store (docs/formulation.md, *The device contract: columns*).
COLUMNS = (
    Column("ambient_c", "degC", "input", 0, "other", "air temperature",
           "air temperature around the store (the weather's, at the interval's middle)"),
    Column("produce_kw", "kW", "input", 0, "heat", "produce heat",
           "heat brought in with the produce loaded"),
    Column("chiller_kw", "kW", "setpoint", -1, "demand", "chiller",
           "electric power of the compression chiller", kpis=("served_kwh",)),
    Column("chp_heat_kw", "kW", "setpoint", 0, "heat", "absorption heat",
           "CHP heat drawn by the absorption chiller"),
    Column("cooling_kw", "kW", "decision", 0, "other", "cold delivered",
           "cold delivered by both chillers"),
    Column("temperature_c", "degC", "level", 0, "other", "store temperature",
           "store temperature at the end of the interval"),
    Column("stored_cold_kwh", "kWh", "decision", 0, "stored", "stored cold",
           "heat the store can take in before it reaches max_c"),
)  # fmt: skip

#: Tie-break cost of the cold delivered [currency/kWh of cold]; see docs/formulation.md,
#: *Tie-break costs*. With free CHP heat the LP is otherwise indifferent to where in the band
#: the store sits; with it, it delivers no more cold than holding the band (or saving money)
#: needs, so the store rests at the warm edge.
COLD_TIEBREAK_PER_KWH = 1e-5

#: Tolerance of the feasibility checks in ``conflicts`` [K].
BAND_TOLERANCE_K = 1e-6


def keep_pu(ua_kw_per_k: float, thermal_mass_kwh_per_k: float, step_h: float) -> float:
    """Share of the distance to equilibrium the store keeps over one step [-].

    Notes
    -----
    .. math:: a = e^{-UA\\, \\Delta / C}
    """
    return math.exp(-ua_kw_per_k * step_h / thermal_mass_kwh_per_k)


def step_temperature_c(
    previous_c: Any, ambient_c: Any, produce_kw: Any, cooling_kw: Any, keep: float,
    ua_kw_per_k: float,
) -> Any:  # fmt: skip
    """Store temperature at the end of an interval [°C].

    Parameters
    ----------
    previous_c : float, array or Pyomo expression
        Temperature at the end of the interval before [°C].
    ambient_c : float, array or Pyomo expression
        Air temperature around the store over the interval [°C].
    produce_kw : float, array or Pyomo expression
        Heat brought in with the produce loaded over the interval [kW].
    cooling_kw : float, array or Pyomo expression
        Cold delivered by the chillers over the interval [kW].
    keep : float
        :func:`keep_pu` of the store and the step [-].
    ua_kw_per_k : float
        Envelope conductance [kW/K].

    Notes
    -----
    The exact solution over a step of :math:`\\Delta` hours of

    .. math:: C \\frac{dT}{dt} = UA\\,(T^{amb} - T) + Q^p - Q^c

    with :math:`T^{amb}, Q^p, Q^c` constant within the step:

    .. math:: T_t = a\\, T_{t-1} + (1 - a)\\Big(T^{amb}_t + \\frac{Q^p_t - Q^c_t}{UA}\\Big),
       \\qquad a = e^{-UA\\,\\Delta/C}

    Linear in :math:`T_{t-1}` and :math:`Q^c`, so the LP states it as an equality row.
    """
    return keep * previous_c + (1.0 - keep) * (
        ambient_c + (produce_kw - cooling_kw) / ua_kw_per_k
    )


def temperatures_c(
    initial_c: float, ambient_c: Array, produce_kw: Array, cooling_kw: Array, keep: float,
    ua_kw_per_k: float,
) -> Array:  # fmt: skip
    """Store temperature at the end of each interval under a cooling schedule [°C]
    (:func:`step_temperature_c` applied interval by interval from ``initial_c``)."""
    out = np.empty(len(ambient_c))
    level = float(initial_c)
    for t in range(len(out)):
        level = step_temperature_c(
            level, ambient_c[t], produce_kw[t], cooling_kw[t], keep, ua_kw_per_k
        )
        out[t] = level
    return out


def produce_kw(spec: ColdStore, site: Site, index: pd.DatetimeIndex) -> Array:
    """Heat loaded with the produce in each interval: the daily heat by hourly weights [kW].

    Notes
    -----
    .. math:: Q^p_t = E^p \\, w_{h(t)} / \\sum_h w_h

    with :math:`E^p` = ``produce_heat_kwh_per_day`` and the weights ``produce_profile_pu``
    (even by default) of the interval's local hour :math:`h(t)`.
    """
    weights = np.asarray(spec.produce_profile_pu or (1.0,) * 24, dtype=float)
    per_hour = spec.produce_heat_kwh_per_day * weights / weights.sum()
    return hourly_to_index(site, index, tuple(per_hour))


class ColdStoreModel(DeviceModel):
    spec: ColdStore
    COLUMNS = COLUMNS
    state_vars = STATE
    inputs = ("ambient_c", "produce_kw")
    weather_inputs = {"ambient_c": "temp_air_c"}

    @property
    def keep_pu(self) -> float:
        s = self.spec
        return keep_pu(s.ua_kw_per_k, s.thermal_mass_kwh_per_k, self.site.step_h)

    def absorption_heat_kw(self) -> float:
        """Most CHP heat the absorption chiller can get: its units at full output [kW]."""
        units = [self.site.device(u) for u in self.spec.chp_units]
        return sum(g.heat_recovery_pu * g.rated_kw for g in units if isinstance(g, Genset))

    def most_cooling_kw(self) -> float:
        """Cold both chillers deliver at their limits [kW]."""
        s = self.spec
        return s.cop_pu * s.chiller_kw + s.absorption_cop_pu * self.absorption_heat_kw()

    def initial_c(self, data: DeviceData) -> float:
        """Store temperature before the first interval [°C]: the state's ``temperature_c``
        (the site file's ``initial_c`` by default)."""
        return data.state.value(self.name, "temperature_c")

    def cold_kwh(self, temperature_c: Any) -> Any:
        """Cold held below the band's top [kWh]: :math:`C\\,(T^{max} - T)`."""
        s = self.spec
        return s.thermal_mass_kwh_per_k * (s.max_c - temperature_c)

    def site_inputs(self, index: pd.DatetimeIndex) -> dict[str, Array]:
        return {"produce_kw": produce_kw(self.spec, self.site, index)}

    def sources(self) -> dict[str, Any]:
        return {
            "ambient_c": "weather temp_air_c at each interval's middle",
            "ambient_default_c": DEFAULT_TEMP_AIR_C,
            "ambient_default_source": "forecasting.records.DEFAULT_TEMP_AIR_C, without weather",
        }

    def build(self, blk: Any, ctx: Context) -> None:
        s = self.spec
        self.add_input_params(blk, ctx)
        # inputs enter as fixed columns, so a new forecast changes bounds, never the matrix
        blk.ambient_temp_c = pyo.Var(ctx.T, bounds=lambda b, t: (b.ambient_c[t], b.ambient_c[t]))
        blk.produce_heat_kw = pyo.Var(
            ctx.T, bounds=lambda b, t: (b.produce_kw[t], b.produce_kw[t])
        )
        blk.initial_temp_c = pyo.Param(mutable=True, initialize=s.initial_c)
        blk.end_cold_kwh = pyo.Param(mutable=True, initialize=0.0)
        blk.initial_temperature_c = pyo.Var(bounds=(blk.initial_temp_c, blk.initial_temp_c))
        blk.chiller_kw = pyo.Var(ctx.T, bounds=(0.0, s.chiller_kw))
        blk.U = pyo.Set(initialize=list(s.chp_units), ordered=True)
        blk.drawn_kw = pyo.Var(blk.U, ctx.T, bounds=(0.0, None))
        blk.temperature_c = pyo.Var(ctx.T, bounds=(s.min_c, s.max_c))
        blk.cooling_kw = pyo.Expression(
            ctx.T,
            rule=lambda b, t: s.cop_pu * b.chiller_kw[t]
            + sum(s.absorption_cop_pu * b.drawn_kw[u, t] for u in b.U),
        )
        keep, ua = self.keep_pu, s.ua_kw_per_k

        def step(b: Any, t: int) -> Any:
            previous = b.initial_temperature_c if t == 0 else b.temperature_c[t - 1]
            return b.temperature_c[t] == step_temperature_c(
                previous, b.ambient_temp_c[t], b.produce_heat_kw[t], b.cooling_kw[t], keep, ua
            )

        blk.temperature_step = pyo.Constraint(ctx.T, rule=step)
        blk.stored_cold_kwh = pyo.Expression(
            ctx.T, rule=lambda b, t: self.cold_kwh(b.temperature_c[t])
        )
        add_end_target(
            blk,
            blk.stored_cold_kwh,
            blk.end_cold_kwh,
            ctx.energy_value_per_kwh / s.cop_pu,
            s.end_target == "soft",
        )
        for unit in s.chp_units:
            ctx.links.draw(unit, "heat_kw", Drawn(blk.drawn_kw, unit))

    def set_data(self, blk: Any, data: DeviceData) -> None:
        super().set_data(blk, data)
        s = self.spec
        initial = self.initial_c(data)
        blk.initial_temp_c.set_value(initial)
        blk.end_cold_kwh.set_value(self.cold_kwh(initial if s.end_c is None else s.end_c))

    def end_value(self, blk: Any, ctx: Context) -> Any:
        return end_value(blk)

    def penalty(self, blk: Any, ctx: Context) -> Any:
        return sum(COLD_TIEBREAK_PER_KWH * blk.cooling_kw[t] * ctx.step_h for t in ctx.T)

    def bus_kw(self, blk: Any, t: int) -> Any:
        return -blk.chiller_kw[t]

    def decisions(self, values: Any, data: DeviceData) -> dict[str, Array]:
        s = self.spec
        power = values("chiller_kw")
        heat = values("drawn_kw").sum(axis=0) if s.chp_units else np.zeros(len(power))
        temperature = values("temperature_c")
        return {
            "chiller_kw": power,
            "chp_heat_kw": heat,
            "cooling_kw": s.cop_pu * power + s.absorption_cop_pu * heat,
            "temperature_c": temperature,
            "stored_cold_kwh": self.cold_kwh(temperature),
        }

    def conflicts(self, data: DeviceData) -> list[str]:
        """The band cannot hold: too warm with both chillers flat out, too cold with both off
        (the store has no heater), or a hard end target out of reach.

        Exact for the electric chiller: the temperatures reachable by the end of each interval
        form a range, from the coldest (all cooling) to the warmest (none) of the range
        before, cut to the band; the plan is infeasible where the range is empty. The CHP
        units are taken at full heat, so a conflict found here is certain.
        """
        s, keep, ua = self.spec, self.keep_pu, self.spec.ua_kw_per_k
        ambient, produce = data.inputs["ambient_c"], data.inputs["produce_kw"]
        most = self.most_cooling_kw()
        low = high = self.initial_c(data)
        for t in range(len(ambient)):
            coldest = step_temperature_c(low, ambient[t], produce[t], most, keep, ua)
            warmest = step_temperature_c(high, ambient[t], produce[t], 0.0, keep, ua)
            where = (
                f"by interval {t} ({data.index[t].tz_convert(self.site.tz).isoformat()}; "
                f"ambient_c {ambient[t]:g} °C, produce_kw {produce[t]:g})"
            )
            if coldest > s.max_c + BAND_TOLERANCE_K:
                return [
                    f"{self.name}: the store warms to {coldest:.4g} °C, above max_c {s.max_c:g}, "
                    f"{where} even with all cooling on: chiller_kw {s.chiller_kw:g} × cop_pu "
                    f"{s.cop_pu:g} plus absorption_cop_pu {s.absorption_cop_pu:g} × "
                    f"{self.absorption_heat_kw():g} kW of CHP heat = {most:g} kW of cold "
                    f"against ua_kw_per_k {ua:g}"
                ]
            if warmest < s.min_c - BAND_TOLERANCE_K:
                return [
                    f"{self.name}: the store cools to {warmest:.4g} °C, below min_c {s.min_c:g}, "
                    f"{where} with all cooling off: it has no heater (ua_kw_per_k {ua:g}, "
                    f"produce_heat_kwh_per_day {s.produce_heat_kwh_per_day:g})"
                ]
            low, high = max(coldest, s.min_c), min(warmest, s.max_c)
        end = self.initial_c(data) if s.end_c is None else s.end_c
        if s.end_target == "hard" and low > end + BAND_TOLERANCE_K:
            return [
                f"{self.name}: end-of-horizon temperature {end:g} °C (end_c or initial_c) "
                f"cannot be reached with end_target hard: at best {low:.4g} °C with "
                f"{most:g} kW of cold"
            ]
        return []

    # --- rule-based dispatch ---
    def rule(self, ctx: RuleContext) -> DeviceRule:
        return ColdStoreRule(self, ctx)


class ColdStoreRule(DeviceRule):
    """A cold store in the rule-based dispatch: a thermostat at the warm edge of the band.

    In each interval the absorption chiller takes the CHP heat left by the heat users before
    it in the file, as much as holding ``max_c`` needs; the electric chiller covers the rest,
    drawn from what the merit order has left (as a heat load's electric backup). Surplus
    (PV, must-run output) then pre-cools the store, down to ``min_c`` at most. The temperature
    follows :func:`step_temperature_c`, as in the LP, so the store never leaves its band
    while the chiller and the supply suffice. There is no look-ahead: the end target is not
    pursued (it is soft by default).

    Pinned to a plan (closed-loop operation), the store runs the planned chiller power (a
    demand in the merit order) and takes the planned CHP heat, both corrected at the actual
    temperature only as far as the band needs: less cold where the plan's would cool the store
    below ``min_c``, more (CHP heat first, then the chiller from the merit order) where it
    would leave it above ``max_c``. It takes no surplus, so a forecast error goes to the other
    stores and the grid.
    """

    absorb_rank = CHARGE

    def __init__(self, model: ColdStoreModel, ctx: RuleContext):
        super().__init__(model.name, ctx)
        s = self.spec = model.spec
        self.keep, self.cold_kwh = model.keep_pu, model.cold_kwh
        self.ambient = ctx.values(s.name, "ambient_c")
        self.produce = ctx.values(s.name, "produce_kw")
        self.temperature_c = ctx.state.value(s.name, "temperature_c")
        self.t = 0
        self.electric_kw = self.absorbed_heat_kw = 0.0
        #: pinned: the chiller power drawn as a demand in this interval [kW]
        self.pinned_kw = 0.0

    def spare_kw(self) -> Array | float:
        """The electric chiller's power to hold ``max_c`` without absorption cold, as a fixed
        demand a store cannot count on for refilling [kW] (negative)."""
        s, ctx = self.spec, self.ctx
        gain_kw = s.ua_kw_per_k * (ctx.series(s.name, "ambient_c") - s.max_c)
        gain_kw = gain_kw + ctx.series(s.name, "produce_kw")
        return -np.clip(gain_kw / s.cop_pu, 0.0, s.chiller_kw)

    def after(self, cooling_kw: float) -> float:
        """Temperature at the end of the current interval with ``cooling_kw`` of cold [°C]."""
        return float(step_temperature_c(
            self.temperature_c, self.ambient[self.t], self.produce[self.t], cooling_kw, self.keep,
            self.spec.ua_kw_per_k,
        ))  # fmt: skip

    def cooling_kw(self) -> float:
        s = self.spec
        return s.cop_pu * self.electric_kw + s.absorption_cop_pu * self.absorbed_heat_kw

    def cold_to_kw(self, limit_c: float) -> float:
        """More cold needed this interval to end at ``limit_c`` or below [kW] (the step is
        linear in the cold: each kW lowers the end temperature by the same amount)."""
        now = self.after(self.cooling_kw())
        per_kw = now - self.after(self.cooling_kw() + 1.0)
        return max(0.0, (now - limit_c) / per_kw)

    def demand_kw(self, t: int) -> float:
        """Pinned: the planned chiller power within its rating, less what would cool the store
        below ``min_c`` with the planned CHP heat, more what holding ``max_c`` needs [kW]."""
        if self.plan is None:
            return 0.0
        s = self.spec
        self.t = t
        self.electric_kw = 0.0
        self.absorbed_heat_kw = max(0.0, self.planned("chp_heat_kw", t))
        want = min(max(0.0, self.planned("chiller_kw", t)), s.chiller_kw)
        # with the planned heat: at most the cold that reaches min_c, at least what holds max_c
        room_kw = self.cold_to_kw(s.min_c) / s.cop_pu
        need_kw = self.cold_to_kw(s.max_c) / s.cop_pu
        want = max(min(want, room_kw), min(need_kw, s.chiller_kw))
        self.pinned_kw = want
        self.absorbed_heat_kw = 0.0
        return want

    def prepare(self, t: int) -> None:
        self.t = t
        self.electric_kw = self.absorbed_heat_kw = 0.0
        if self.plan is not None:
            self.electric_kw = self.pinned_kw

    def serve_heat(self, t: int, heat_left_kw: dict[str, float], sources: list[Source]) -> None:
        """CHP heat first, then the electric chiller, just enough to hold ``max_c``; pinned,
        the planned CHP heat (no more than keeps the store at ``min_c`` or above) first."""
        s = self.spec
        if self.plan is not None:
            want = min(
                max(0.0, self.planned("chp_heat_kw", t)),
                self.cold_to_kw(s.min_c) / s.absorption_cop_pu,
            )
            for unit in s.chp_units:
                take = min(heat_left_kw[unit], want)
                if take > 0.0:
                    heat_left_kw[unit] -= take
                    self.absorbed_heat_kw += take
                    want -= take
            if self.after(self.cooling_kw()) <= s.max_c + BAND_TOLERANCE_K:
                return
        for unit in s.chp_units:
            take = min(heat_left_kw[unit], self.cold_to_kw(s.max_c) / s.absorption_cop_pu)
            if take > 0.0:
                heat_left_kw[unit] -= take
                self.absorbed_heat_kw += take
        want = min(s.chiller_kw - self.electric_kw, self.cold_to_kw(s.max_c) / s.cop_pu)
        if want > 0.0:
            self.electric_kw += draw(sources, want)[0]

    def absorb(self, t: int, surplus_kw: float) -> tuple[float, float | None]:
        """Pre-cool with surplus, down to ``min_c``; pinned, take none."""
        s = self.spec
        if self.plan is not None:
            return 0.0, None
        room_kw = min(s.chiller_kw - self.electric_kw, self.cold_to_kw(s.min_c) / s.cop_pu)
        take = max(0.0, min(surplus_kw, room_kw))
        self.electric_kw += take
        return take, None

    def finish(self, t: int) -> None:
        self.temperature_c = self.after(self.cooling_kw())
        self.put("chiller_kw", t, self.electric_kw)
        self.put("chp_heat_kw", t, self.absorbed_heat_kw)
        self.put("cooling_kw", t, self.cooling_kw())
        self.put("temperature_c", t, self.temperature_c)
        self.put("stored_cold_kwh", t, self.cold_kwh(self.temperature_c))
