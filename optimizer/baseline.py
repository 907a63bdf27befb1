"""The rule-based dispatch every plan is compared with, and the fallback when solving fails.

It decides interval by interval, in time order, with no look-ahead except two end-of-horizon
rules that keep it inside the LP's constraints (docs/formulation.md): a battery never falls
below the SoC from which its end target is still reachable at full charging power, and a gas
holder never falls below the level from which later production (less cooking) refills it to
its initial level. So a baseline plan is a feasible point of the LP, and the optimum can only
be cheaper.

The rules, in each interval:

1. fixed loads as forecast; shiftable loads as early as possible in their window at full
   power (keeping their minimum power for the rest of the window);
2. cooking gas comes out of the holder first;
3. demand (loads, and charging forced by the end-of-horizon rule) is met by gensets that ramp
   limits keep running, then PV, then battery discharge, then biogas gensets within the
   holder's spare gas, then the grid or diesel gensets — the cheaper per kWh first, counting
   price plus carbon price × emissions — and the rest is unserved;
4. heat loads take recovered heat from their CHP units, then their electric backup (supplied
   as in 3 but never unserved); heat still missing is unserved heat;
5. surplus charges the batteries, then is exported, then PV is curtailed;
6. gas above the holder's top is flared, or vented where there is no flare.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimizer.accounting import interval_accounts, kpis, objective_terms
from optimizer.baseline_devices import (
    EPS,
    BatteryRule,
    DigesterRule,
    GensetRule,
    GridRule,
    Rule,
    Source,
    Table,
    draw,
)
from optimizer.inputs import check_index, validate_inputs
from optimizer.state import State
from optimizer.windows import OUTSIDE, due_energy, period_labels
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

if TYPE_CHECKING:
    from optimizer.plan import Plan


class _ShiftableRule:
    """A shiftable load: as early as possible in its window, at full power."""

    def __init__(self, site: Site, load: ShiftableLoad, index: pd.DatetimeIndex, state: State):
        self.load = load
        self.labels = period_labels(site, load, index)
        due = due_energy(site, load, index, state.value(load.name, "served_kwh"))
        # the share due inside the horizon, as the plan must serve at least (windows.due_energy)
        self.left = {k: d.low_kwh for k, d in due.items()}
        self.later = np.zeros(len(index), dtype=int)  # intervals of the period still to come
        seen: dict[int, int] = {}
        for t in range(len(index) - 1, -1, -1):
            k = int(self.labels[t])
            if k != OUTSIDE:
                self.later[t] = seen.get(k, 0)
                seen[k] = self.later[t] + 1

    def power_kw(self, t: int, step_h: float) -> float:
        k = int(self.labels[t])
        if k == OUTSIDE:
            return 0.0
        s = self.load
        want = (self.left[k] - s.min_power_kw * step_h * self.later[t]) / step_h
        p = min(s.max_power_kw, max(s.min_power_kw, want))
        self.left[k] -= p * step_h
        return p


def _serve_heat(
    h: HeatLoad, need_kw: float, heat_left: dict[str, float], sources: list[Source]
) -> tuple[float, float, float]:
    """CHP heat drawn [kW], backup electricity [kW] and unserved heat [kW] of one heat load."""
    cop = h.heat_to_demand_cop_pu
    drawn = 0.0
    for unit in h.chp_units:
        take = max(0.0, min(heat_left[unit], need_kw / cop - drawn))
        heat_left[unit] -= take
        drawn += take
    rest = max(0.0, need_kw - drawn * cop)
    backup = 0.0
    if h.electric_backup_cop_pu is not None and rest > EPS:
        backup, _ = draw(sources, rest / h.electric_backup_cop_pu)
    return drawn, backup, max(0.0, rest - backup * (h.electric_backup_cop_pu or 0.0))


def _trim(gensets: list[GensetRule], excess_kw: float) -> None:
    """Lower units whose ramp limit kept them above what the bus can take [kW]."""
    for g in gensets:
        cut = min(excess_kw, g.power_kw)
        g.power_kw -= cut
        excess_kw -= cut


#: Order of a device's decision columns in the plan table, as the LP writes them.
QUANTITY_ORDER = (
    "pv_kw", "curtailed_kw", "charge_kw", "discharge_kw", "soc_kwh", "gas_m3", "flared_m3",
    "vented_m3", "power_kw", "demand_kw", "served_kw", "shed_kw", "fuel_m3", "fuel_l", "on_pu",
    "heat_kw", "chp_heat_kw",
    "backup_kw", "unserved_kw", "import_kw", "export_kw",
)  # fmt: skip


def _column_order(site: Site, columns: pd.Index) -> list[str]:
    """Decision columns by device (in file order), then quantity; site-wide ones last."""
    device = {d.name: i for i, d in enumerate(site.devices)}

    def key(column: str) -> tuple[int, int]:
        name, _, quantity = column.rpartition(".")
        return device.get(name, len(device)), QUANTITY_ORDER.index(quantity) if name else 0

    return sorted(columns, key=key)


def spare_supply_kw(site: Site, col: dict[str, np.ndarray], n: int, dt: float) -> np.ndarray:
    """Supply left for charging in each interval once the fixed loads are served [kW].

    PV available, grid import within its limit (an operator's cap included) where the grid is
    up, diesel units at their rating and biogas units as far as the interval's production
    fuels them, less the fixed loads' forecast: what the end-of-horizon rule may count on to
    refill a battery.
    """
    spare = np.zeros(n)
    for a in site.of_type(PvArray):
        spare += col[f"{a.name}.available_kw"]
    for g in site.of_type(Grid):
        limit = col.get(f"{g.name}.import_limit_kw", np.full(n, g.max_import_kw))
        spare += limit * col[f"{g.name}.available_pu"]
    for gen in site.of_type(Genset):
        if isinstance(gen.fuel, DieselFuel):
            spare += gen.rated_kw
        else:
            holder = gen.fuel.digester
            made = col[f"{holder}.production_m3"] - col[f"{holder}.cooking_m3"]
            spare += np.clip(made / (gen.fuel.m3_per_kwh * dt), 0.0, gen.rated_kw)
    for ld in site.of_type(FixedLoad):
        spare -= col[f"{ld.name}.forecast_kw"]
    return spare


def dispatch(site: Site, inputs: pd.DataFrame, state: State | None = None) -> pd.DataFrame:
    """Run the rule-based dispatch; return ``inputs`` with every decision column added.

    Parameters
    ----------
    site : Site
    inputs : pandas.DataFrame
        The input columns of ``optimizer.inputs.build_inputs`` on a UTC interval index.
    state : optimizer.state.State, optional
        Initial battery SoC [kWh], holder levels [m³], shiftable energy already served [kWh]
        and genset output [kW]; missing entries default from the site file.

    Returns
    -------
    pandas.DataFrame
        ``inputs`` plus the decision columns of the plan table, ``cost`` [currency],
        ``emissions_kgco2`` [kgCO2e] and ``marginal_price_per_kwh`` [currency/kWh] — here the
        cost of the last kWh the rule supplied or the price the last surplus kWh earned, not
        an LP dual.
    """
    inputs = validate_inputs(site, inputs.index, inputs)
    state = (state or State()).resolved(site)
    dt = site.step_h
    n = len(inputs)
    col = {c: inputs[c].to_numpy(dtype=float) for c in inputs.columns}
    out = Table(n)
    cp = site.carbon_price_per_kgco2
    arrays = site.of_type(PvArray)
    fixed = site.of_type(FixedLoad)
    grids = [GridRule(g, col, out) for g in site.of_type(Grid)]
    shiftable = [_ShiftableRule(site, s, inputs.index, state) for s in site.of_type(ShiftableLoad)]
    spare = spare_supply_kw(site, col, n, dt)
    batteries = [BatteryRule(b, state, n, dt, out, spare) for b in site.of_type(Battery)]
    digesters = {d.name: DigesterRule(d, state, col, out) for d in site.of_type(Digester)}
    gensets = [
        GensetRule(g, state, dt, out, digesters.get(getattr(g.fuel, "digester", "")))
        for g in site.of_type(Genset)
    ]
    biogas = [g for g in gensets if not isinstance(g.spec.fuel, DieselFuel)]
    diesel = [g for g in gensets if isinstance(g.spec.fuel, DieselFuel)]
    # digesters get ready before the gensets that read their spare gas, and settle after
    # the gensets whose fuel leaves their holder
    ready: list[Rule] = [*batteries, *digesters.values(), *gensets, *grids]
    settle: list[Rule] = [*batteries, *gensets, *digesters.values(), *grids]

    # loads are shed in this order: the least value of lost load first
    shed_order = sorted(
        [*fixed, *(sh.load for sh in shiftable)],
        key=lambda ld: lost_load_value_per_kwh(ld, site.value_of_lost_load_per_kwh),
    )
    for t in range(n):
        # 1. loads
        demand: dict[str, float] = {}
        for ld in fixed:
            demand[ld.name] = col[f"{ld.name}.forecast_kw"][t]
        for sh in shiftable:
            demand[sh.load.name] = sh.power_kw(t, dt)
        load_kw = sum(demand.values())
        # 2. self-discharge, production and cooking, ramp bounds
        for rule in ready:
            rule.prepare(t)
        forced_kw = sum(b.forced_kw for b in batteries)

        # 3. the merit order
        must = Source(sum(g.power_kw for g in gensets), 0.0, lambda x: None)
        pv = [Source(col[f"{a.name}.available_kw"][t], 0.0, lambda x: None) for a in arrays]
        dear = [gr.source(cp) for gr in grids] + [g.source(cp) for g in diesel]
        sources = [must, *pv, *(b.source() for b in batteries), *(g.source(cp) for g in biogas)]
        sources += sorted(dear, key=lambda s: s.marginal_per_kwh)
        served, marginal = draw(sources, load_kw + forced_kw)
        short = load_kw + forced_kw - served
        for b in batteries:  # a shortfall trims the forced charging first
            cut = min(short, b.forced_kw)
            b.forced_kw -= cut
            short -= cut
        out["unserved_kw"][t] = left = max(0.0, short)
        for ld in shed_order:
            shed = min(left, demand[ld.name])
            left -= shed
            out[f"{ld.name}.demand_kw"][t] = demand[ld.name]
            out[f"{ld.name}.served_kw"][t] = demand[ld.name] - shed
            out[f"{ld.name}.shed_kw"][t] = shed
        if short > EPS:
            marginal = site.value_of_lost_load_per_kwh

        # 4. heat
        heat_left = {g.spec.name: g.spec.heat_recovery_pu * g.power_kw for g in gensets}
        for h in site.of_type(HeatLoad):
            chp, backup, lack = _serve_heat(h, col[f"{h.name}.forecast_kw"][t], heat_left, sources)
            out[f"{h.name}.chp_heat_kw"][t] = chp
            out[f"{h.name}.backup_kw"][t] = backup
            out[f"{h.name}.unserved_kw"][t] = lack

        # 5. surplus (unused must-run output, then PV) charges batteries, then is exported
        surplus = must.left_kw + sum(s.left_kw for s in pv)
        absorbed = 0.0
        for b in batteries:
            absorbed += b.absorb(surplus - absorbed)
        for gr in grids:
            x = gr.export(surplus - absorbed)
            absorbed += x
            if x > EPS:
                marginal = gr.export_price[t]
        from_units = min(must.left_kw, absorbed)
        _trim(gensets, must.left_kw - from_units)  # only if ramp limits leave no other way
        extra = absorbed - from_units
        for a, s in zip(arrays, pv, strict=True):
            used = min(s.left_kw, extra)
            extra -= used
            out[f"{a.name}.pv_kw"][t] = col[f"{a.name}.available_kw"][t] - s.left_kw + used
            out[f"{a.name}.curtailed_kw"][t] = s.left_kw - used
        out["marginal_price_per_kwh"][t] = 0.0 if marginal is None else marginal

        # 6. settle
        for rule in settle:
            rule.finish(t)

    marginal_price = out.columns.pop("marginal_price_per_kwh")
    decisions = pd.DataFrame(out.columns, index=inputs.index)
    table = pd.concat([inputs, decisions[_column_order(site, decisions.columns)]], axis=1)
    table[["cost", "emissions_kgco2"]] = interval_accounts(site, table)
    table["marginal_price_per_kwh"] = marginal_price
    return table


def rule_based_plan(
    site: Site,
    inputs: pd.DataFrame,
    state: State | None = None,
    *,
    now: datetime | None = None,
) -> Plan:
    """The rule-based plan on the same inputs as an optimised one; status ``"fallback"``.

    Parameters
    ----------
    site : Site
    inputs : pandas.DataFrame
        Input columns on a UTC interval index (``optimizer.inputs.build_inputs``).
    state : optimizer.state.State, optional
        Initial state; missing entries default from the site file.
    now : datetime, optional
        Stamps ``created_at``; nothing else depends on it.
    """
    from optimizer.plan import Plan

    began = time.perf_counter()
    check_index(site, inputs.index)
    table = dispatch(site, inputs, state)
    table.index = table.index.rename("start")
    terms: dict[str, Any] = {**objective_terms(site, table), "mode": "cost"}
    return Plan.create(
        site,
        table,
        now=now,
        status="fallback",
        solver="rules",
        solve_time_s=time.perf_counter() - began,
        objective_terms=terms,
        kpis=kpis(site, table),
    )
