"""Device physics shared by the LP and the rule-based dispatch: pure functions, one formula each.

Every function takes plain floats or numpy arrays; those the LP uses also take Pyomo
variables and expressions (they only add and multiply), so the model's rows and the rules'
book-keeping come from the same formula (docs/formulation.md).
"""

from __future__ import annotations

from typing import Any


def retention_pu(loss_pu_per_day: float, step_h: float) -> float:
    """Share of a stored level kept over one interval, for a constant loss per day [pu].

    One function for every store that loses a share of its level: a battery's
    self-discharge, a water tank's evaporation and seepage.

    Parameters
    ----------
    loss_pu_per_day : float
        Share of the level lost over 24 h, σ [pu/day].
    step_h : float
        Interval length, Δ [h].

    Returns
    -------
    float
        ρ [pu].

    Notes
    -----
    .. math:: \\rho = (1 - \\sigma)^{\\Delta / 24}
    """
    return float((1.0 - loss_pu_per_day) ** (step_h / 24.0))


def battery_flow_kwh_per_kw(
    charge_efficiency_pu: float, discharge_efficiency_pu: float, step_h: float
) -> tuple[float, float]:
    """Energy a battery's store gains per kW charged and per kW discharged over one interval.

    Parameters
    ----------
    charge_efficiency_pu, discharge_efficiency_pu : float
        η_c and η_d [pu].
    step_h : float
        Interval length, Δ [h].

    Returns
    -------
    tuple of float
        ``(η_c Δ, −Δ / η_d)`` [kWh/kW]: the coefficients of charge and discharge power in the
        storage balance.

    Notes
    -----
    .. math:: \\mathrm{inflow}_t = \\eta_c \\Delta\\, P^c_t - \\frac{\\Delta}{\\eta_d} P^d_t
    """
    return charge_efficiency_pu * step_h, -step_h / discharge_efficiency_pu


def stored_level(previous: Any, retention: float, inflow: Any) -> Any:
    """Level of a store at the end of an interval [kWh or m³].

    Parameters
    ----------
    previous : float or array
        Level at the end of the interval before, S_{t−1} [kWh or m³].
    retention : float
        Share of the level kept over the interval, ρ [pu] (``retention_pu``; 1 for a gas
        holder).
    inflow : float or array
        Net amount added during the interval [kWh or m³].

    Notes
    -----
    .. math:: S_t = \\rho\\, S_{t-1} + \\mathrm{inflow}_t

    The LP states the same balance as a row (``optimizer.devices.storage.add_storage_balance``).
    """
    return previous * retention + inflow


def fuel_use(
    power_kw: Any, on_pu: Any, slope_per_kwh: float, no_load_per_h: float, step_h: float
) -> Any:
    """Fuel a genset burns in one interval: the linear fuel line [m³ or L].

    Parameters
    ----------
    power_kw : float, array or Pyomo expression
        Electrical output, P [kW].
    on_pu : float, array or Pyomo expression
        Share of the interval the unit is committed, u [pu] (0 or 1 with commitment).
    slope_per_kwh : float
        Fuel per kWh of output, a [m³/kWh or L/kWh].
    no_load_per_h : float
        Fuel per hour of running at no load, f₀ [m³/h or L/h].
    step_h : float
        Interval length, Δ [h].

    Notes
    -----
    .. math:: F_t = a \\Delta\\, P_t + f_0 \\Delta\\, u_t
    """
    return slope_per_kwh * step_h * power_kw + no_load_per_h * step_h * on_pu


def ramp_allowance_kw(max_ramp_kw_per_h: float, step_h: float, min_load_kw: float) -> float:
    """Largest change of a genset's output between two intervals [kW].

    Parameters
    ----------
    max_ramp_kw_per_h : float
        Ramp rate, R [kW/h].
    step_h : float
        Interval length, Δ [h].
    min_load_kw : float
        Minimum stable output p_min P̄ [kW]: a unit may always start to, or stop from, it.

    Notes
    -----
    .. math:: |P_t - P_{t-1}| \\le \\max(R \\Delta,\\ p_{min} \\bar P)
    """
    return max(max_ramp_kw_per_h * step_h, min_load_kw)


def flare_or_vent(excess_m3: float, has_flare: bool) -> tuple[float, float]:
    """Gas above a holder's top: flared where there is a flare, else vented [m³].

    Returns
    -------
    tuple of float
        ``(flared_m3, vented_m3)``.

    Notes
    -----
    The LP bounds ``flared_m3`` to 0 without a flare and ``vented_m3`` to 0 with one
    (docs/formulation.md, *digester and gas holder*).
    """
    return (excess_m3, 0.0) if has_flare else (0.0, excess_m3)
