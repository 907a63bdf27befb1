"""The heated part of a temperature-aware digester: CHP heat in, temperature rise, more gas.

See docs/formulation.md, section *digester temperature*. The unheated temperature θ⁰ and its
production come in as inputs (``forecasting/digester.py``); the LP adds the rise ``r`` that
routed heat ``q`` gives, with the same first-order lag, and the gas it yields through the
slope of the chord of φ from θ⁰ to the top temperature θ_top = min(θ_max, 35 °C):

``r_t = a r_{t−1} + (1 − a) Σ_u q_{u,t} / G``,  ``0 ≤ r_t ≤ max(θ_top − θ⁰_t, 0)``

``G_t = G⁰_t + γ_t r_t``  with ``γ_t = G_ref Δ/24 · (φ(θ_top) − φ(θ⁰_t)) / (θ_top − θ⁰_t)``
(``heat_gain_m3_per_k``): exact unheated and heated to θ_top, above φ in between.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from forecasting.digester import (
    conductance_kw_per_k,
    future_gas_m3_per_k,
    heating_top_c,
    lag_factor,
)
from optimizer.devices.base import (
    Array,
    Context,
    DeviceData,
    Drawn,
    mutable_series,
    set_series,
)
from sites.schema import Digester


def leaked_share(spec: Digester) -> float:
    """Leaked gas per m³ of gas reaching the holder, ``λ / (1 − λ)`` [-].

    ``produced_m3`` is the gas that reaches the holder (what its meter reads); of all gas
    made, the share ``λ`` = ``leakage_pu`` escaped before it.
    """
    leak = spec.leakage_pu or 0.0
    return leak / (1.0 - leak)


class DigesterHeating:
    """Variables and constraints of the heated rise of one digester's block."""

    inputs = ("heat_gain_m3_per_k", "unheated_c")

    def __init__(self, spec: Digester):
        assert spec.temperature is not None
        self.spec = spec
        self.top_c = heating_top_c(spec)

    def build(self, blk: Any, ctx: Context) -> None:
        d = self.spec
        keep = lag_factor(d, ctx.step_h)
        per_kw = (1.0 - keep) / conductance_kw_per_k(d)
        blk.rise_cap_k = mutable_series(ctx)
        blk.initial_rise_k = pyo.Param(mutable=True, initialize=0.0)
        # inputs enter through column bounds only, which re-plans update (optimizer.compiled)
        blk.initial_rise = pyo.Var(bounds=(blk.initial_rise_k, blk.initial_rise_k))
        blk.unheated_m3 = pyo.Var(ctx.T, bounds=lambda b, t: (b.production_m3[t],
                                                              b.production_m3[t]))
        blk.rise_k = pyo.Var(ctx.T, bounds=lambda b, t: (0.0, b.rise_cap_k[t]))
        gain = self.gains(ctx.inputs)
        blk.H = pyo.Set(initialize=list(d.heated_by), ordered=True)
        blk.heat_kw = pyo.Var(blk.H, ctx.T, bounds=(0.0, None))

        def lag(b: Any, t: int) -> Any:
            before = b.initial_rise if t == 0 else b.rise_k[t - 1]
            heat = sum(b.heat_kw[u, t] for u in b.H)
            return b.rise_k[t] - keep * before - per_kw * heat == 0

        blk.rise_lag = pyo.Constraint(ctx.T, rule=lag)
        blk.production_rule = pyo.Constraint(
            ctx.T,
            rule=lambda b, t: b.produced_m3[t] - b.unheated_m3[t] - gain[t] * b.rise_k[t] == 0,
        )
        for unit in d.heated_by:
            ctx.links.draw(unit, "heat_kw", Drawn(blk.heat_kw, unit))

    def gains(self, inputs: Any) -> np.ndarray:
        """The chord gains of a solve [m³/K]: matrix coefficients, so part of the structure."""
        return np.asarray(inputs[f"{self.spec.name}.heat_gain_m3_per_k"], dtype=float).round(9)

    def penalty(self, blk: Any, ctx: Context) -> Any:
        """Minus the value of the warmth left at the end [currency]."""
        assert self.spec.temperature is not None
        value = self.spec.temperature.warmth_gas_value_per_m3
        if value <= 0:
            return 0.0
        return -value * future_gas_m3_per_k(self.spec, ctx.step_h) * blk.rise_k[ctx.n - 1]

    def set_data(self, blk: Any, data: DeviceData) -> None:
        theta = np.asarray(data.inputs["unheated_c"], dtype=float)
        set_series(blk.rise_cap_k, np.maximum(self.top_c - theta, 0.0))
        rise = data.state.value(self.spec.name, "rise_k")
        blk.initial_rise_k.set_value(float(rise))

    def decisions(self, values: Any, data: DeviceData) -> dict[str, Array]:
        rise = values("rise_k")
        out = {"rise_k": rise, "temperature_c": np.asarray(data.inputs["unheated_c"]) + rise}
        out["heat_in_kw"] = values("heat_kw").sum(axis=0) if self.spec.heated_by else 0 * rise
        return out
