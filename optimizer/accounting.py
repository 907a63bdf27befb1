"""Money, emissions and key figures of a plan, recomputed from the plan's own columns.

Everything here is a pure function of a site and a plan table (one row per interval, columns
``<device>.<quantity>_<unit>``), so a plan from the LP, from the rule-based baseline or from a
file can be re-checked the same way. The definitions of the key figures are in
``docs/kpis.md``.

Energy in an interval is power times the step: ``E [kWh] = P [kW] × step_h [h]``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from forecasting.digester import warmth_value
from sites.schema import (
    Battery,
    DieselFuel,
    Digester,
    FixedLoad,
    Genset,
    Grid,
    HeatLoad,
    PvArray,
    ShiftableLoad,
    Site,
    lost_load_value_per_kwh,
)

#: Density of methane at 0 °C and 101.325 kPa [kg/m³] (normal cubic metre). Source: the ideal
#: molar volume 22.414 L/mol and the molar mass 16.04 g/mol give 0.7157; the measured value
#: listed in engineering tables (e.g. Engineering ToolBox, "Gases - Densities") is 0.717.
#: Biogas volumes in site files are read as normal cubic metres.
METHANE_DENSITY_KG_PER_M3 = 0.717

#: 100-year global warming potential of methane of non-fossil origin [kgCO2e/kg CH4].
#: Source: IPCC AR6 WG1 (2021), Chapter 7, Table 7.15: CH4-non fossil GWP-100 = 27.0 ± 11.
#: Methane from a digester is biogenic, so the non-fossil value applies; the CO2 from
#: burning or flaring biogas is biogenic too and counts as zero.
METHANE_GWP100_NON_FOSSIL = 27.0

#: Differences below this count as none when plans are compared [kWh or m³].
EQUAL_TERMS_KWH = 1e-3

#: A device counts as running in an interval when its output exceeds this [kW].
RUNNING_THRESHOLD_KW = 1e-6


def vented_kgco2e_per_m3(methane_fraction_pu: float) -> float:
    """CO2-equivalent of one normal cubic metre of vented biogas [kgCO2e/m³].

    Notes
    -----
    ``e = x_CH4 × ρ_CH4 × GWP100``, with the methane share ``x_CH4`` [-], the density
    ``ρ_CH4`` = 0.717 kg/m³ and ``GWP100`` = 27.0 of non-fossil methane (IPCC AR6 WG1
    Table 7.15). For 60 % methane: 0.6 × 0.717 × 27.0 = 11.6 kgCO2e/m³.
    """
    return methane_fraction_pu * METHANE_DENSITY_KG_PER_M3 * METHANE_GWP100_NON_FOSSIL


def column(table: pd.DataFrame, name: str) -> np.ndarray:
    """A column of the plan table as floats; a missing column is an error naming it."""
    if name not in table.columns:
        raise KeyError(f"the plan table has no column {name!r}")
    return table[name].to_numpy(dtype=float)


def step_hours(site: Site, table: pd.DataFrame) -> float:
    """Length of one interval [h]: the site's step (checked against the index when it can)."""
    index = table.index
    if isinstance(index, pd.DatetimeIndex) and len(index) > 1:
        spacing = np.asarray((index[1:] - index[:-1]) / pd.Timedelta(hours=1), dtype=float)
        if not np.allclose(spacing, site.step_h):
            raise ValueError(
                f"the plan's intervals must be {site.step_minutes} min apart (site step), got "
                f"spacings between {spacing.min() * 60:g} and {spacing.max() * 60:g} min"
            )
    return site.step_h


# --- per-device money and emissions ------------------------------------------------------
# Each function returns (cost [currency], emissions [kgCO2e]) per interval for one device.
Accounts = tuple[np.ndarray, np.ndarray]


def grid_emissions(
    device: Grid, table: pd.DataFrame, step_h: float, accounting: str
) -> np.ndarray:
    """Grid emissions per interval [kgCO2e] under a carbon-accounting convention.

    ``location``: gross import × the interval's factor (GHG Protocol Scope 2 Guidance, 2015,
    location-based method). ``net``: exports credited at the same factor (as NREL REopt's
    ``include_exported_elec_emissions_in_total``). See docs/kpis.md, *Carbon accounting*.
    """
    n = device.name
    flow = column(table, f"{n}.import_kw")
    if accounting == "net":
        flow = flow - column(table, f"{n}.export_kw")
    return flow * step_h * column(table, f"{n}.carbon_kgco2_per_kwh")


def _grid(device: Grid, table: pd.DataFrame, step_h: float, site: Site) -> Accounts:
    n = device.name
    imp = column(table, f"{n}.import_kw") * step_h
    exp = column(table, f"{n}.export_kw") * step_h
    cost = imp * column(table, f"{n}.import_price_per_kwh") - exp * column(
        table, f"{n}.export_price_per_kwh"
    )
    return cost, grid_emissions(device, table, step_h, site.carbon_accounting)


def _battery(device: Battery, table: pd.DataFrame, step_h: float, site: Site) -> Accounts:
    n = device.name
    throughput = (column(table, f"{n}.charge_kw") + column(table, f"{n}.discharge_kw")) * step_h
    return throughput * device.wear_cost_per_kwh, np.zeros(len(table))


def _genset(device: Genset, table: pd.DataFrame, step_h: float, site: Site) -> Accounts:
    n = device.name
    cost = column(table, f"{n}.power_kw") * step_h * device.variable_om_per_kwh
    emissions = np.zeros(len(table))
    if isinstance(device.fuel, DieselFuel):
        litres = column(table, f"{n}.fuel_l")
        cost = cost + litres * device.fuel.price_per_l
        emissions = litres * device.fuel.emission_kgco2_per_l
    return cost, emissions


def produced_column(device: Digester, table: pd.DataFrame) -> np.ndarray:
    """Gas that reached the holder [m³]: the plan's ``produced_m3``, else ``production_m3``."""
    n = device.name
    name = f"{n}.produced_m3" if f"{n}.produced_m3" in table.columns else f"{n}.production_m3"
    return column(table, name)


def _digester(device: Digester, table: pd.DataFrame, step_h: float, site: Site) -> Accounts:
    escaped = column(table, f"{device.name}.vented_m3")
    leak = device.leakage_pu or 0.0
    if leak > 0:  # leaked before the holder: λ/(1 − λ) per m³ that reached it
        escaped = escaped + leak / (1.0 - leak) * produced_column(device, table)
    return np.zeros(len(table)), escaped * vented_kgco2e_per_m3(device.methane_fraction_pu)


_ACCOUNTS: dict[type, Callable[..., Accounts]] = {
    Grid: _grid,
    Battery: _battery,
    Genset: _genset,
    Digester: _digester,
}


def interval_accounts(site: Site, table: pd.DataFrame) -> pd.DataFrame:
    """Cost and emissions of each interval of a plan.

    Parameters
    ----------
    site : Site
    table : pandas.DataFrame
        Plan table with the decision and input columns of every device.

    Returns
    -------
    pandas.DataFrame
        Same index; ``cost`` [site currency] and ``emissions_kgco2`` [kgCO2e].

    Notes
    -----
    Per interval of length ``Δt`` [h]:

    ``cost = Σ_grid (P_imp·c_imp − P_exp·c_exp)·Δt + Σ_diesel F_l·c_l
    + Σ_battery (P_ch + P_dis)·Δt·c_wear + Σ_genset P_gen·Δt·c_om``

    ``emissions = Σ_grid P_imp·Δt·e_grid (− P_exp·Δt·e_grid under net accounting) + Σ_diesel F_l·e_l
    + Σ_digester V_vent·x_CH4·ρ_CH4·GWP100``

    Penalties that are not money paid (unserved load, the carbon price) and the horizon-wide
    peak-import charge are not interval costs; see ``docs/kpis.md``.
    """
    step_h = step_hours(site, table)
    cost = np.zeros(len(table))
    emissions = np.zeros(len(table))
    for device in site.devices:
        account = _ACCOUNTS.get(type(device))
        if account is not None:
            c, e = account(device, table, step_h, site)
            cost += c
            emissions += e
    return pd.DataFrame({"cost": cost, "emissions_kgco2": emissions}, index=table.index)


# --- key figures -------------------------------------------------------------------------


def _sum(table: pd.DataFrame, devices: list, quantity: str, scale: float = 1.0) -> float:
    return float(sum(column(table, f"{d.name}.{quantity}").sum() for d in devices) * scale)


def _complement_share(part: float, whole: float) -> float:
    """``1 − part / whole`` clipped to [0, 1]; 0 when nothing is served (``whole`` ≈ 0)."""
    if whole <= RUNNING_THRESHOLD_KW:
        return 0.0
    return float(min(1.0, max(0.0, 1.0 - part / whole)))


def kpis(site: Site, table: pd.DataFrame) -> dict[str, float]:
    """Key figures of a plan over its horizon; definitions and sources in ``docs/kpis.md``.

    Returns
    -------
    dict
        ``cost`` [currency], ``emissions_kgco2`` [kgCO2e], ``renewable_fraction_pu``,
        ``self_sufficiency_pu`` [-], energies ``curtailed_kwh``, ``unserved_kwh``,
        ``import_kwh``, ``export_kwh``, ``pv_kwh``, ``genset_kwh``, ``load_kwh`` [kWh],
        ``peak_import_kw`` [kW], ``battery_cycles`` [-], biogas volumes ``biogas_produced_m3``,
        ``biogas_used_m3``, ``biogas_flared_m3``, ``biogas_vented_m3`` [m³], ``diesel_l`` [L]
        and ``genset_hours`` [h].
    """
    dt = step_hours(site, table)
    accounts = interval_accounts(site, table)
    grids = site.of_type(Grid)
    arrays = site.of_type(PvArray)
    batteries = site.of_type(Battery)
    gensets = site.of_type(Genset)
    diesel = [g for g in gensets if isinstance(g.fuel, DieselFuel)]
    biogas_gensets = [g for g in gensets if not isinstance(g.fuel, DieselFuel)]
    digesters = site.of_type(Digester)
    loads = site.of_type(FixedLoad) + site.of_type(ShiftableLoad)
    heat_loads = site.of_type(HeatLoad)

    import_kwh = _sum(table, grids, "import_kw", dt)
    export_kwh = _sum(table, grids, "export_kw", dt)
    diesel_kwh = _sum(table, diesel, "power_kw", dt)
    unserved_kwh = float(column(table, "unserved_kw").sum() * dt)
    backup_kwh = _sum(table, heat_loads, "backup_kw", dt)
    demand_kwh = _sum(table, loads, "demand_kw", dt) + backup_kwh
    served_kwh = _sum(table, loads, "served_kw", dt) + backup_kwh
    location = sum(
        (grid_emissions(g, table, dt, "location").sum() for g in grids), 0.0
    )
    net = sum((grid_emissions(g, table, dt, "net").sum() for g in grids), 0.0)
    total = float(accounts["emissions_kgco2"].sum())
    own = location if site.carbon_accounting == "location" else net
    usable_kwh = sum(b.capacity_kwh * (b.soc_max_pu - b.soc_min_pu) for b in batteries)
    import_kw = sum((column(table, f"{g.name}.import_kw") for g in grids), np.zeros(len(table)))
    running = sum(
        (column(table, f"{g.name}.power_kw") > RUNNING_THRESHOLD_KW for g in gensets),
        np.zeros(len(table)),
    )
    out = {
        "cost": float(accounts["cost"].sum()),
        "emissions_kgco2": total,
        "emissions_location_kgco2": float(total - own + location),
        "emissions_net_kgco2": float(total - own + net),
        "renewable_fraction_pu": _complement_share(
            import_kwh + diesel_kwh + unserved_kwh, demand_kwh + export_kwh
        ),
        "self_sufficiency_pu": _complement_share(import_kwh + unserved_kwh, demand_kwh),
        "served_fraction_pu": _complement_share(unserved_kwh, demand_kwh)
        if demand_kwh > RUNNING_THRESHOLD_KW
        else 1.0,
        "curtailed_kwh": _sum(table, arrays, "curtailed_kw", dt),
        "unserved_kwh": unserved_kwh,
        "demand_kwh": demand_kwh,
        "served_kwh": served_kwh,
        "peak_import_kw": float(import_kw.max(initial=0.0)),
        "import_kwh": import_kwh,
        "export_kwh": export_kwh,
        "pv_kwh": _sum(table, arrays, "pv_kw", dt),
        "genset_kwh": _sum(table, gensets, "power_kw", dt),
        "load_kwh": demand_kwh,
        "battery_cycles": _sum(table, batteries, "discharge_kw", dt) / usable_kwh
        if usable_kwh > 0
        else 0.0,
        "biogas_produced_m3": float(sum(produced_column(d, table).sum() for d in digesters)),
        "biogas_used_m3": _sum(table, biogas_gensets, "fuel_m3")
        + _sum(table, digesters, "cooking_m3"),
        "biogas_flared_m3": _sum(table, digesters, "flared_m3"),
        "biogas_vented_m3": _sum(table, digesters, "vented_m3"),
        "diesel_l": _sum(table, diesel, "fuel_l"),
        "genset_hours": float(running.sum() * dt),
    }
    for ld in loads:
        out[f"{ld.name}.unserved_kwh"] = float(column(table, f"{ld.name}.shed_kw").sum() * dt)
    return out


def lost_load_value(site: Site, table: pd.DataFrame) -> float:
    """Value of the load a plan leaves unserved [currency]: each load's shed energy at its own
    value of lost load, and unserved heat at the site's."""
    dt = step_hours(site, table)
    voll = site.value_of_lost_load_per_kwh
    loads = site.of_type(FixedLoad) + site.of_type(ShiftableLoad)
    value = sum(
        lost_load_value_per_kwh(ld, voll) * column(table, f"{ld.name}.shed_kw").sum() * dt
        for ld in loads
    )
    value += sum(
        voll * column(table, f"{h.name}.unserved_kw").sum() * dt for h in site.of_type(HeatLoad)
    )
    return float(value)


def comparison(
    site: Site,
    plan: pd.DataFrame,
    rules: pd.DataFrame,
    stored_value: dict[str, float],
) -> dict[str, float | bool]:
    """What a plan saves against the rule-based dispatch, on equal terms.

    Money and emissions saved are stated as they are, and beside them the two differences
    that make plans unequal (docs/baseline.md, *Comparing on equal terms*): energy served
    (shed energy at each load's value of lost load) and energy left in store at the end
    (each store's end level at its value of stored energy, ``stored_value``: plan-table
    level column → value per unit). ``equal_terms`` says whether both differences vanish;
    ``valued_saving`` adds their value to the money saved.
    """
    dt = step_hours(site, plan)
    mine, theirs = kpis(site, plan), kpis(site, rules)
    served = lost_load_value(site, rules) - lost_load_value(site, plan)
    stored = sum(
        value * (column(plan, name)[-1] - column(rules, name)[-1])
        for name, value in stored_value.items()
    )
    stored_units = {
        name: float(column(plan, name)[-1] - column(rules, name)[-1]) for name in stored_value
    }
    unserved_gap = theirs["unserved_kwh"] - mine["unserved_kwh"]
    equal = abs(unserved_gap) <= EQUAL_TERMS_KWH * max(dt, 1.0) and all(
        abs(v) <= EQUAL_TERMS_KWH for v in stored_units.values()
    )
    out: dict[str, float | bool] = {
        "cost_saving": theirs["cost"] - mine["cost"],
        "emissions_saving_kgco2": theirs["emissions_kgco2"] - mine["emissions_kgco2"],
        "emissions_location_saving_kgco2": theirs["emissions_location_kgco2"]
        - mine["emissions_location_kgco2"],
        "emissions_net_saving_kgco2": theirs["emissions_net_kgco2"] - mine["emissions_net_kgco2"],
        "served_more_kwh": unserved_gap,
        "served_more_value": served,
        "stored_more_value": float(stored),
        "equal_terms": bool(equal),
    }
    out["valued_saving"] = out["cost_saving"] + served + float(stored)
    for name, units in stored_units.items():
        out[f"stored_more.{name}"] = units
    return out


def objective_terms(site: Site, table: pd.DataFrame) -> dict[str, float]:
    """The planning objective of docs/formulation.md (mode ``cost``) evaluated on a plan table.

    So the baseline and an optimised plan can be compared on the same footing.

    Returns
    -------
    dict
        ``cost`` (Σ interval cost), ``horizon_cost`` (peak-import charge × the horizon's
        peak import), ``penalty`` (value of lost load × unserved electricity and heat, less the
        value of warmth left in heated digesters, docs/formulation.md *digester temperature*),
        ``emissions_kgco2``, ``carbon_cost`` (carbon price × emissions) and ``objective``,
        their sum less the emissions [currency, kgCO2e].

    Notes
    -----
    The LP's tie-break costs on flared and vented gas (at most 2e-4 per m³) are not included.
    """
    dt = step_hours(site, table)
    accounts = interval_accounts(site, table)
    horizon = sum(
        g.peak_import_charge_per_kw * float(column(table, f"{g.name}.import_kw").max(initial=0.0))
        for g in site.of_type(Grid)
    )
    warmth = sum(
        warmth_value(d, dt, float(column(table, f"{d.name}.rise_k")[-1]))
        for d in site.of_type(Digester) if f"{d.name}.rise_k" in table.columns
    )
    emissions = float(accounts["emissions_kgco2"].sum())
    terms = {
        "cost": float(accounts["cost"].sum()),
        "horizon_cost": float(horizon),
        "penalty": lost_load_value(site, table) - float(warmth),
        "emissions_kgco2": emissions,
        "carbon_cost": site.carbon_price_per_kgco2 * emissions,
    }
    terms["objective"] = (
        terms["cost"] + terms["horizon_cost"] + terms["penalty"] + terms["carbon_cost"]
    )
    return terms
