"""Digester physics: methane potential of a feed mix, φ(T), the temperature lag, cooking gas.

Pure functions with units; ``forecast_digesters`` turns them into the input columns of the
plan for digesters that declare a ``temperature`` block. The LP side (the rise that routed
CHP heat adds, and what it yields) is in ``optimizer/devices/digester.py``; the equations
are in docs/formulation.md, section *digester temperature*.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sites.factors import (
    INSULATION_U_W_PER_M2K,
    PHI_POINTS_C_PU,
    WATER_HEAT_KWH_PER_KGK,
    WATER_HEAT_KWH_PER_M3K,
)
from sites.schema import Digester, Site
from sites.timeindex import hourly_to_index

#: Default cooking weights by local hour: three meals, 06–08, 11–13 and 17–19 h.
THREE_MEALS_PU = tuple(1.0 if h in (6, 7, 11, 12, 17, 18) else 0.0 for h in range(24))

#: Digester temperature at which φ reaches 1 [°C] (Yang et al. 2016, 35 °C).
PHI_FULL_C = min(t for t, v in PHI_POINTS_C_PU if v >= 1.0)
#: Highest digester temperature at which φ is 0 [°C].
PHI_ZERO_C = max(t for t, v in PHI_POINTS_C_PU if v <= 0.0)
#: Window of the running mean that stands for soil temperature [days].
SOIL_MEAN_DAYS = 30
#: Lowest digester temperature [°C]: the slurry freezes; φ is 0 there anyway.
FREEZING_C = 0.0

_PHI_T = np.array([t for t, _ in PHI_POINTS_C_PU])
_PHI_V = np.array([v for _, v in PHI_POINTS_C_PU])


def phi_pu(temperature_c: np.ndarray | float) -> np.ndarray:
    """Relative methane production rate at a digester temperature [-].

    Notes
    -----
    Piecewise linear through ``sites.factors.PHI_POINTS_C_PU`` (swine slurry, Yang et al.
    2016, Water Research 102:464-474: 0.07, 0.41, 0.66, 0.78 and 1.0 at 15, 20, 25, 30 and
    35 °C), 0 at and below 10 °C, 1 from 35 °C.
    """
    return np.interp(np.asarray(temperature_c, dtype=float), _PHI_T, _PHI_V)


def heating_top_c(spec: Digester) -> float:
    """Temperature up to which routed heat is planned: ``min(max_c, 35 °C)`` [°C]."""
    assert spec.temperature is not None
    return min(spec.temperature.max_c, PHI_FULL_C)


def phi_secant_pu_per_k(temperature_c: np.ndarray | float, top_c: float) -> np.ndarray:
    """Slope of the chord of φ from a temperature to ``top_c`` [1/K] (0 at or above it).

    Notes
    -----
    ``s = (φ(θ_top) − φ(θ)) / (θ_top − θ)``. φ is convex below about 20 °C and concave
    above, so no single concave envelope fits it well; the chord is exact at both ends (no
    heat, and heated to ``θ_top``) and lies above φ in between by at most
    :func:`secant_overestimate_pu` (see docs/formulation.md, *digester temperature*).
    """
    t = np.asarray(temperature_c, dtype=float)
    span = top_c - t
    safe = np.where(span > 1e-9, span, 1.0)
    return np.where(span > 1e-9, (phi_pu(top_c) - phi_pu(t)) / safe, 0.0)


def secant_overestimate_pu(temperature_c: float, top_c: float) -> float:
    """Largest amount by which the chord from ``temperature_c`` to ``top_c`` exceeds φ [-]."""
    grid = np.linspace(temperature_c, top_c, 501)
    chord = phi_pu(temperature_c) + phi_secant_pu_per_k(temperature_c, top_c) * (
        grid - temperature_c)
    return float(np.max(chord - phi_pu(grid), initial=0.0))


def surface_area_m2(volume_m3: float) -> float:
    """Envelope of a cylinder as tall as it is wide holding ``volume_m3`` [m²].

    Notes
    -----
    ``V = 2π r³`` and ``A = 2π r² + 2π r · 2r = 6π r²``.
    """
    radius = (volume_m3 / (2 * np.pi)) ** (1 / 3)
    return float(6 * np.pi * radius**2)


def conductance_kw_per_k(spec: Digester) -> float:
    """Heat lost per kelvin above ambient: envelope plus warming the fresh feed [kW/K].

    Notes
    -----
    ``G = U·A / 1000 + ṁ·c / 24``, with ``U`` [W/(m²K)] of the insulation class, ``A`` from
    :func:`surface_area_m2`, the feed ``ṁ`` [kg/day] (entering at ambient temperature) and
    the specific heat of water ``c`` [kWh/(kg K)].
    """
    assert spec.temperature is not None
    u = INSULATION_U_W_PER_M2K[spec.temperature.insulation].value
    feed_kg_per_h = sum(f.kg_per_day for f in spec.feedstocks) / 24.0
    envelope_kw_per_k = u * surface_area_m2(spec.volume_m3) / 1000.0
    return envelope_kw_per_k + feed_kg_per_h * WATER_HEAT_KWH_PER_KGK.value


def heat_capacity_kwh_per_k(spec: Digester) -> float:
    """Heat stored per kelvin of the digester's contents [kWh/K]."""
    return spec.volume_m3 * WATER_HEAT_KWH_PER_M3K.value


def lag_factor(spec: Digester, step_h: float) -> float:
    """Share of the temperature kept over one step, ``a = exp(−Δ G / C)`` [-]."""
    return float(np.exp(-step_h * conductance_kw_per_k(spec) / heat_capacity_kwh_per_k(spec)))


def lagged_temperature_c(ambient_c: np.ndarray, initial_c: float, keep_pu: float) -> np.ndarray:
    """First-order lag of the digester behind its surroundings [°C].

    Notes
    -----
    ``θ_t = a θ_{t−1} + (1 − a) T_t`` with ``θ_{−1}`` = ``initial_c`` and ``a`` from
    :func:`lag_factor`: the exact solution of ``C dθ/dt = G (T − θ)`` for ``T`` constant
    within each step.
    """
    out = np.empty(len(ambient_c))
    theta = initial_c
    for t, value in enumerate(np.asarray(ambient_c, dtype=float)):
        theta = keep_pu * theta + (1.0 - keep_pu) * value
        out[t] = theta
    return out


def rise_k(heat_kw: np.ndarray, spec: Digester, step_h: float, initial_k: float = 0.0
           ) -> np.ndarray:
    """Temperature rise above the unheated digester that routed heat gives [K].

    Notes
    -----
    ``r_t = a r_{t−1} + (1 − a) q_t / G``: the same lag, driven by the heat ``q`` [kW]; by
    linearity ``θ = θ_unheated + r`` exactly.
    """
    g = conductance_kw_per_k(spec)
    return lagged_temperature_c(np.asarray(heat_kw, dtype=float) / g, initial_k,
                                lag_factor(spec, step_h))


def future_gas_m3_per_k(spec: Digester, step_h: float) -> float:
    """Gas a kelvin of rise left at the end of a horizon yields after it [m³/K].

    Notes
    -----
    ``γ̄ a / (1 − a)``: the rise decays by ``a`` per step and each step yields ``γ̄``, the
    chord gain from φ's zero (10 °C) to θ_top. A constant of the site, so the objective term
    it prices does not depend on the inputs.
    """
    keep = lag_factor(spec, step_h)
    top = heating_top_c(spec)
    gain = spec.biogas_m3_per_day * step_h / 24.0 * float(phi_pu(top)) / max(top - PHI_ZERO_C, 1.0)
    return gain * keep / (1.0 - keep)


def warmth_value(spec: Digester, step_h: float, end_rise_k: float) -> float:
    """Value of the warmth a horizon leaves in the digester [currency] (≥ 0)."""
    if spec.temperature is None:
        return 0.0
    price = spec.temperature.warmth_gas_value_per_m3
    return price * future_gas_m3_per_k(spec, step_h) * end_rise_k if price > 0 else 0.0


def climatology_air_c(index: pd.DatetimeIndex, annual_mean_c: float, swing_c: float
                      ) -> np.ndarray:
    """A seasonal air temperature, coldest on 15 January [°C]: ``T̄ − S cos(2π (d − 15)/365.25)``."""
    day = np.asarray(index.dayofyear, dtype=float) + np.asarray(index.hour, dtype=float) / 24
    return annual_mean_c - swing_c * np.cos(2 * np.pi * (day - 15.0) / 365.25)


def ambient_c(spec: Digester, index: pd.DatetimeIndex, weather: pd.DataFrame | None
              ) -> pd.Series:
    """What the digester exchanges heat with, at the interval starts [°C].

    ``temp_air_c`` of the weather (interpolated in time; its earlier rows are kept so the
    lag can start before ``index``), or the site's climatology when there is none; for
    ``ambient: soil``, its running mean over :data:`SOIL_MEAN_DAYS` days.
    """
    temp = spec.temperature
    assert temp is not None
    if weather is not None and "temp_air_c" in weather.columns and len(weather):
        air = weather["temp_air_c"].astype(float).tz_convert("UTC")
        start = min(air.index[0].floor(index.freq or "h"), index[0])
        grid = pd.date_range(start, index[-1], freq=index[1] - index[0] if len(index) > 1
                             else "h")
        grid = grid.union(index)
        series = air.reindex(air.index.union(grid)).interpolate("time").ffill().bfill()
        series = series.reindex(grid)
    else:
        series = pd.Series(climatology_air_c(index, temp.annual_mean_air_c,
                                             temp.annual_air_swing_c), index=index)
    if temp.ambient == "soil":
        series = series.rolling(f"{SOIL_MEAN_DAYS}D", min_periods=1).mean()
    return series


def unheated_c(spec: Digester, index: pd.DatetimeIndex, weather: pd.DataFrame | None,
               step_h: float) -> np.ndarray:
    """Temperature of the digester without routed heat, at the end of each interval [°C]."""
    temp = spec.temperature
    assert temp is not None
    surround = ambient_c(spec, index, weather)
    first = float(surround.iloc[0]) if temp.initial_c is None else temp.initial_c
    theta = lagged_temperature_c(surround.to_numpy(), first, lag_factor(spec, step_h))
    return np.maximum(pd.Series(theta, index=surround.index).reindex(index).to_numpy(),
                      FREEZING_C)


def cooking_m3(spec: Digester, site: Site, index: pd.DatetimeIndex) -> np.ndarray:
    """Cooking gas demanded in each interval: the daily amount by hourly weights [m³]."""
    weights = np.asarray(spec.cooking_profile_pu or THREE_MEALS_PU, dtype=float)
    per_hour = spec.cooking_gas_m3_per_day * weights / weights.sum()
    return hourly_to_index(site, index, tuple(per_hour)) * site.step_h


def forecast_digesters(site: Site, index: pd.DatetimeIndex, weather: pd.DataFrame | None = None
                       ) -> pd.DataFrame:
    """Input columns of the temperature-aware digesters of a site.

    Returns
    -------
    pandas.DataFrame
        Per digester with a ``temperature`` block: ``<d>.production_m3`` (biogas made without
        routed heat, ``G_ref Δ/24 · φ(θ⁰)``) [m³], ``<d>.heat_gain_m3_per_k`` (what one kelvin
        of rise adds, ``G_ref Δ/24 · s(θ⁰)`` with the chord slope ``s`` of
        :func:`phi_secant_pu_per_k`) [m³/K], ``<d>.unheated_c`` [°C] and ``<d>.cooking_m3``
        [m³].
    """
    out: dict[str, np.ndarray] = {}
    step_h = site.step_h
    for spec in site.of_type(Digester):
        if spec.temperature is None:
            continue
        theta = unheated_c(spec, index, weather, step_h)
        potential = spec.biogas_m3_per_day * step_h / 24.0
        n = spec.name
        out[f"{n}.production_m3"] = potential * phi_pu(theta)
        out[f"{n}.heat_gain_m3_per_k"] = potential * phi_secant_pu_per_k(
            theta, heating_top_c(spec))
        out[f"{n}.unheated_c"] = theta
        out[f"{n}.cooking_m3"] = cooking_m3(spec, site, index)
    return pd.DataFrame(out, index=index)
