"""Physics and book-keeping every plan must satisfy, whoever made it (the LP or the baseline).

``assert_plan_invariants(site, plan)`` checks, interval by interval: the bus balance; every
device bound (and a grid that imports or exports, not both); the battery and gas-holder
storage balances and end-of-horizon levels; the genset fuel line, ramp limits and recovered
heat; the heat balance of heat loads; shiftable loads inside their windows with the energy
each period is due; that the plan's ``cost`` and ``emissions_kgco2`` columns equal their
recomputation here (``expected_accounts``, written from docs/formulation.md and docs/kpis.md
without the code it checks); and that its KPIs, when it has them, equal
``optimizer.accounting.kpis``. The equations are those of docs/formulation.md.

The bus balance holds for any device kind: it is read from the signs the kinds declare for
their columns (``optimizer.columns``); the kinds known here are also balanced from their own
physics. Money and carbon are recomputed only for the kinds known here and those with an
oracle in ``ACCOUNT_ORACLES``; a plan with a device of any other kind fails (no kind passes
unchecked).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from optimizer.accounting import kpis
from optimizer.site_columns import site_columns
from optimizer.state import State
from optimizer.windows import OUTSIDE, due_energy, period_labels
from sites.schema import (
    Battery,
    BiogasFuel,
    DieselFuel,
    Digester,
    FixedLoad,
    Genset,
    Grid,
    HeatLoad,
    PvArray,
    ShiftableLoad,
    Site,
)

#: Absolute tolerance on powers [kW], energies [kWh] and volumes [m³]; HiGHS's primal
#: feasibility tolerance is 1e-7 on scaled rows.
ATOL = 1e-5


#: CO2-equivalent of a m³ of methane released [kgCO2e/m³ CH4]: density 0.717 kg/m³ at 0 °C
#: and 101.325 kPa (engineering tables) × GWP100 27.0 of non-fossil methane (IPCC AR6 WG1
#: Table 7.15).
METHANE_KGCO2E_PER_M3 = 0.717 * 27.0


#: Kinds whose money and carbon this module recomputes itself.
KNOWN_KINDS = (PvArray, Battery, Digester, Genset, FixedLoad, ShiftableLoad, HeatLoad, Grid)

#: Independent cost [currency] and emissions [kgCO2e] per interval of a kind defined
#: elsewhere (a test's): spec class -> ``oracle(spec, table, step_h)``.
Oracle = Callable[[Any, pd.DataFrame, float], tuple[np.ndarray, np.ndarray]]
ACCOUNT_ORACLES: dict[type, Oracle] = {}


def unchecked_devices(site: Site) -> list[str]:
    """Devices whose money and carbon nothing here recomputes."""
    return [f"{d.name} ({type(d).__name__})" for d in site.devices
            if not isinstance(d, KNOWN_KINDS) and type(d) not in ACCOUNT_ORACLES]


def expected_accounts(
    site: Site, table: pd.DataFrame, accounting: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Cost [currency] and emissions [kgCO2e] of each interval, from the site and the table.

    Grid: import bought less export sold; import × the carbon factor, less export × the factor
    under ``net`` accounting. Battery: wear on charge plus discharge. Genset: variable O&M per
    kWh; diesel bought and burnt. Digester: vented gas and the gas that leaked before the
    holder (the share λ of all gas made: λ/(1 − λ) per m³ that reached it) × CH4 share × CO2e
    per m³ of methane.
    """
    dt, n = site.step_h, len(table)
    accounting = accounting or site.carbon_accounting

    def col(name: str) -> np.ndarray:
        return table[name].to_numpy(dtype=float)

    cost, emissions = np.zeros(n), np.zeros(n)
    for g in site.of_type(Grid):
        imp, exp = col(f"{g.name}.import_kw") * dt, col(f"{g.name}.export_kw") * dt
        cost += imp * col(f"{g.name}.import_price_per_kwh")
        cost -= exp * col(f"{g.name}.export_price_per_kwh")
        flow = imp - exp if accounting == "net" else imp
        emissions += flow * col(f"{g.name}.carbon_kgco2_per_kwh")
    for b in site.of_type(Battery):
        throughput = col(f"{b.name}.charge_kw") + col(f"{b.name}.discharge_kw")
        cost += b.wear_cost_per_kwh * dt * throughput
    for gen in site.of_type(Genset):
        cost += gen.variable_om_per_kwh * dt * col(f"{gen.name}.power_kw")
        if isinstance(gen.fuel, DieselFuel):
            litres = col(f"{gen.name}.fuel_l")
            cost += gen.fuel.price_per_l * litres
            emissions += gen.fuel.emission_kgco2_per_l * litres
    for d in site.of_type(Digester):
        made = f"{d.name}.produced_m3"
        made = made if made in table.columns else f"{d.name}.production_m3"
        leak = d.leakage_pu or 0.0
        escaped = col(f"{d.name}.vented_m3") + leak / (1 - leak) * col(made)
        emissions += escaped * d.methane_fraction_pu * METHANE_KGCO2E_PER_M3
    for spec in site.devices:
        if type(spec) in ACCOUNT_ORACLES:
            more_cost, more_emissions = ACCOUNT_ORACLES[type(spec)](spec, table, dt)
            cost, emissions = cost + more_cost, emissions + more_emissions
    return cost, emissions


def _initial(state: State, quantity: str, name: str, default: float) -> float:
    return float(state.get(name, quantity, default))  # type: ignore[arg-type]


class _Checker:
    def __init__(self, site: Site, table: pd.DataFrame, state: Any):
        self.site, self.table, self.state = site, table, state
        self.dt = site.step_h
        self.problems: list[str] = []

    def c(self, name: str) -> np.ndarray:
        if name not in self.table.columns:
            self.problems.append(f"missing column {name}")
            return np.zeros(len(self.table))
        return self.table[name].to_numpy(dtype=float)

    def close(self, what: str, got: np.ndarray | float, want: np.ndarray | float) -> None:
        got_a, want_a = (
            np.atleast_1d(np.asarray(got, float)),
            np.atleast_1d(np.asarray(want, float)),
        )
        tol = ATOL * np.maximum(1.0, np.abs(want_a))
        bad = np.flatnonzero(np.abs(got_a - want_a) > tol)
        if bad.size:
            i = int(bad[0])
            j = min(i, got_a.size - 1), min(i, want_a.size - 1)
            self.problems.append(
                f"{what}: interval {i} has {got_a[j[0]]:.9g}, expected {want_a[j[1]]:.9g} "
                f"({bad.size} interval(s) off)"
            )

    def within(self, what: str, x: np.ndarray, low: Any = 0.0, high: Any = np.inf) -> None:
        x = np.asarray(x, float)
        low_a = np.broadcast_to(np.asarray(low, float), x.shape)
        high_a = np.broadcast_to(np.asarray(high, float), x.shape)
        tol = ATOL * np.maximum(
            1.0, np.maximum(np.abs(low_a), np.abs(np.where(np.isfinite(high_a), high_a, 0.0)))
        )
        bad = np.flatnonzero((x < low_a - tol) | (x > high_a + tol))
        if bad.size:
            i = int(bad[0])
            self.problems.append(
                f"{what}: interval {i} has {x[i]:.9g}, outside [{low_a[i]:.9g}, {high_a[i]:.9g}] "
                f"({bad.size} interval(s) off)"
            )

    # --- devices ---------------------------------------------------------------------
    def pv(self, a: PvArray) -> np.ndarray:
        avail, p = self.c(f"{a.name}.available_kw"), self.c(f"{a.name}.pv_kw")
        self.within(f"{a.name}.pv_kw", p, 0.0, avail)
        self.close(f"{a.name}.curtailed_kw", self.c(f"{a.name}.curtailed_kw"), avail - p)
        return p

    def battery(self, b: Battery) -> np.ndarray:
        n, cap = b.name, b.capacity_kwh
        ch, dis, soc = self.c(f"{n}.charge_kw"), self.c(f"{n}.discharge_kw"), self.c(f"{n}.soc_kwh")
        self.within(f"{n}.charge_kw", ch, 0.0, b.max_charge_kw)
        self.within(f"{n}.discharge_kw", dis, 0.0, b.max_discharge_kw)
        self.within(f"{n}.soc_kwh", soc, b.soc_min_pu * cap, b.soc_max_pu * cap)
        s0 = _initial(self.state, "soc_kwh", n, b.initial_soc_pu * cap)
        keep = (1 - b.self_discharge_pu_per_day) ** (self.dt / 24)
        before = np.concatenate([[s0], soc[:-1]])
        gain = (b.charge_efficiency_pu * ch - dis / b.discharge_efficiency_pu) * self.dt
        self.close(f"{n} soc balance", soc, keep * before + gain)
        if b.end_target == "hard":
            end = b.end_soc_pu * cap if b.end_soc_pu is not None else s0
            reachable = keep ** len(soc) * s0 + b.max_charge_kw * b.charge_efficiency_pu * (
                self.dt * len(soc)
            )  # an unreachable hard target is the LP's infeasibility, not the rules' fault
            target = min(end, b.soc_max_pu * cap, reachable)
            self.within(f"{n} end-of-horizon soc", soc[-1:], target)
        return dis - ch

    def digester(self, d: Digester, fuel: np.ndarray) -> None:
        n = d.name
        gas, flared, vented = (
            self.c(f"{n}.gas_m3"),
            self.c(f"{n}.flared_m3"),
            self.c(f"{n}.vented_m3"),
        )
        self.within(f"{n}.gas_m3", gas, d.holder_min_m3, d.holder_max_m3)
        self.within(f"{n}.flared_m3", flared, 0.0, np.inf if d.has_flare else 0.0)
        self.within(f"{n}.vented_m3", vented, 0.0, 0.0 if d.has_flare else np.inf)
        v0 = _initial(self.state, "gas_m3", n, d.holder_initial_m3)
        before = np.concatenate([[v0], gas[:-1]])
        made = f"{n}.produced_m3" if f"{n}.produced_m3" in self.table.columns else (
            f"{n}.production_m3")
        change = self.c(made) - self.c(f"{n}.cooking_m3") - fuel - flared - vented
        self.close(f"{n} gas balance", gas, before + change)
        if d.end_target == "hard":
            self.within(f"{n} end-of-horizon holder level", gas[-1:], v0)

    def genset(self, g: Genset) -> tuple[np.ndarray, np.ndarray]:
        n, dt = g.name, self.dt
        p = self.c(f"{n}.power_kw")
        self.within(f"{n}.power_kw", p, 0.0, g.rated_kw)
        biogas = isinstance(g.fuel, BiogasFuel)
        fuel = self.c(f"{n}.fuel_m3" if biogas else f"{n}.fuel_l")
        slope = g.fuel.m3_per_kwh if isinstance(g.fuel, BiogasFuel) else g.fuel.l_per_kwh
        no_load = (
            g.fuel.no_load_m3_per_h if isinstance(g.fuel, BiogasFuel) else g.fuel.no_load_l_per_h
        )
        if f"{n}.on_pu" in self.table.columns:
            # F = (a P + f0 u) Δ, P ≤ P̄ u; u binary and P ≥ p_min P̄ u with commitment
            u = self.c(f"{n}.on_pu")
            self.within(f"{n}.on_pu", u, 0.0, 1.0)
            if g.commitment:
                self.within(f"{n}.on_pu integral", np.minimum(u, 1 - u), 0.0, 0.0)
                self.within(f"{n} minimum load", p, g.min_load_pu * g.rated_kw * u)
            self.within(f"{n} output within its on share", p, 0.0, g.rated_kw * u)
            self.close(f"{n} fuel line", fuel, (slope * p + no_load * u) * dt)
        else:  # the same with u unknown: P/P̄ ≤ u ≤ 1, or u ∈ {0, 1}
            u_low = (p > ATOL).astype(float) if g.commitment else p / g.rated_kw
            u_high = u_low if g.commitment else np.ones(len(p))
            self.within(
                f"{n} fuel line", fuel, (slope * p + no_load * u_low) * dt,
                (slope * p + no_load * u_high) * dt,
            )  # fmt: skip
        if g.max_ramp_kw_per_h is not None:
            allow = max(g.max_ramp_kw_per_h * dt, g.min_load_pu * g.rated_kw)
            p0 = _initial(self.state, "power_kw", n, 0.0)
            self.within(f"{n} ramp", np.diff(p, prepend=p0), -allow, allow)
        if g.heat_recovery_pu > 0 or f"{n}.heat_kw" in self.table.columns:
            self.close(f"{n}.heat_kw", self.c(f"{n}.heat_kw"), g.heat_recovery_pu * p)
        return p, fuel if biogas else np.zeros(len(p))

    def heat_load(self, h: HeatLoad) -> np.ndarray:
        n = h.name
        chp, backup, lack = (
            self.c(f"{n}.chp_heat_kw"),
            self.c(f"{n}.backup_kw"),
            self.c(f"{n}.unserved_kw"),
        )
        self.within(f"{n}.chp_heat_kw", chp)
        self.within(f"{n}.backup_kw", backup, 0.0, np.inf if h.electric_backup_cop_pu else 0.0)
        self.within(f"{n}.unserved_kw", lack)
        served = h.heat_to_demand_cop_pu * chp + (h.electric_backup_cop_pu or 0.0) * backup
        self.close(f"{n} heat balance", served + lack, self.c(f"{n}.forecast_kw"))
        units = sum(self.c(f"{u}.heat_kw") for u in h.chp_units)
        self.within(f"{n} CHP heat drawn", chp, 0.0, units)
        return backup

    def served(self, name: str, demand: np.ndarray) -> np.ndarray:
        """A load's served power: demand less shed, the shed within the demand [kW]."""
        shed, served = self.c(f"{name}.shed_kw"), self.c(f"{name}.served_kw")
        self.within(f"{name}.shed_kw", shed, 0.0, demand)
        self.close(f"{name}.served_kw", served, demand - shed)
        return served

    def shiftable(self, s: ShiftableLoad) -> np.ndarray:
        p = self.c(f"{s.name}.demand_kw")
        labels = period_labels(self.site, s, self.table.index)
        inside = labels != OUTSIDE
        self.within(f"{s.name}.power_kw outside its window", p[~inside], 0.0, 0.0)
        self.within(f"{s.name}.power_kw", p[inside], s.min_power_kw, s.max_power_kw)
        served = self.state.value(s.name, "served_kwh")
        for k, due in due_energy(self.site, s, self.table.index, served).items():
            energy = p[labels == k].sum() * self.dt
            self.within(
                f"{s.name} energy of period {k}", np.array([energy]), due.low_kwh, due.high_kwh
            )
        return self.served(s.name, p)

    def grid(self, gr: Grid) -> np.ndarray:
        avail = self.c(f"{gr.name}.available_pu")
        imp, exp = self.c(f"{gr.name}.import_kw"), self.c(f"{gr.name}.export_kw")
        self.within(f"{gr.name}.import_kw", imp, 0.0, avail * gr.max_import_kw)
        self.within(f"{gr.name}.export_kw", exp, 0.0, avail * gr.max_export_kw)
        self.within(f"{gr.name} flow one way at a time", np.minimum(imp, exp), 0.0, 0.0)
        return imp - exp


def plan_problems(site: Site, plan: Any, state: Any = None) -> list[str]:
    """Every invariant the plan (a Plan or its table) breaks, as readable lines."""
    table = getattr(plan, "table", plan)
    ck = _Checker(site, table, (state or State()).resolved(site))
    n = len(table)
    bus = np.zeros(n)  # net injection [kW], supply positive
    fuel_by_digester = {d.name: np.zeros(n) for d in site.of_type(Digester)}
    for a in site.of_type(PvArray):
        bus += ck.pv(a)
    for b in site.of_type(Battery):
        bus += ck.battery(b)
    for g in site.of_type(Genset):
        p, fuel = ck.genset(g)
        bus += p
        if isinstance(g.fuel, BiogasFuel):
            fuel_by_digester[g.fuel.digester] += fuel
    for d in site.of_type(Digester):
        ck.digester(d, fuel_by_digester[d.name])
    for h in site.of_type(HeatLoad):
        bus -= ck.heat_load(h)
    shed = np.zeros(n)
    for ld in site.of_type(FixedLoad):
        demand = ck.c(f"{ld.name}.demand_kw")
        ck.close(f"{ld.name}.demand_kw", demand, ck.c(f"{ld.name}.forecast_kw"))
        bus -= ck.served(ld.name, demand)
        shed = shed + ck.c(f"{ld.name}.shed_kw")
    for s in site.of_type(ShiftableLoad):
        bus -= ck.shiftable(s)
        shed = shed + ck.c(f"{s.name}.shed_kw")
    for gr in site.of_type(Grid):
        bus += ck.grid(gr)
    # lost load is the loads' shed power only, never charging or export
    ck.close("unserved_kw", ck.c("unserved_kw"), shed)
    # the balance through the declared column signs, whatever the kinds
    declared = sum((c.column.sign * ck.c(c.name) for c in site_columns(site)
                    if c.column.sign), np.zeros(n))
    ck.close("bus balance (declared column signs)", declared, 0.0)
    if all(isinstance(d, KNOWN_KINDS) for d in site.devices):
        ck.close("bus balance (net injection)", bus, 0.0)
    unchecked = unchecked_devices(site)
    if unchecked:
        ck.problems.append("no independent cost and emissions check for "
                           + ", ".join(unchecked))
    # heat drawn from a unit by all loads together stays within its recovered heat
    for g in site.of_type(Genset):
        users = [h for h in site.of_type(HeatLoad) if g.name in h.chp_units]
        warmed = [d for d in site.of_type(Digester) if d.heated_by == (g.name,)
                  and f"{d.name}.heat_in_kw" in ck.table.columns]  # the baseline heats none
        if (users or warmed) and all(len(h.chp_units) == 1 for h in users):
            drawn = sum(ck.c(f"{h.name}.chp_heat_kw") for h in users)
            drawn = drawn + sum(ck.c(f"{d.name}.heat_in_kw") for d in warmed)
            ck.within(f"{g.name} heat drawn by its loads", drawn, 0.0, ck.c(f"{g.name}.heat_kw"))
    if not ck.problems:
        cost, emissions = expected_accounts(site, table)
        ck.close("cost", ck.c("cost"), cost)
        ck.close("emissions_kgco2", ck.c("emissions_kgco2"), emissions)
        reported = getattr(plan, "kpis", None)
        if reported:
            for accounting in ("location", "net"):
                key = f"emissions_{accounting}_kgco2"
                want = expected_accounts(site, table, accounting)[1].sum()
                ck.close(f"kpis[{key!r}]", reported.get(key, np.nan), want)
            for key, value in kpis(site, table).items():
                ck.close(f"kpis[{key!r}]", reported.get(key, np.nan), value)
    return ck.problems


def assert_plan_invariants(site: Site, plan: Any, state: Any = None) -> None:
    """Fail with every broken invariant listed; ``state`` defaults to the site file's."""
    problems = plan_problems(site, plan, state)
    assert not problems, "plan breaks its invariants:\n  " + "\n  ".join(problems)
