"""The monthly account of a village's waste use: feedstock → methane → gas → uses → claims.

A pure function of the site, its current readings and a local month
(:func:`monthly_account`); the equations and every factor are in docs/ledger.md. Claims are
kept apart — ``avoided_manure_methane``, ``displaced_electricity``,
``displaced_cooking_fuel`` — each with its own status, equation and sourced factors; nothing
here adds one claim to another.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from forecasting.digester import forecast_digesters
from optimizer.ledger.readings import Reading, biogas_potential_m3
from sites import factors as F
from sites.biogas import LedgerSettings
from sites.schema import BiogasFuel, Digester, Genset, Grid, Site
from sites.timeindex import local_midnight


def month_bounds(site: Site, month: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """UTC start and end of a local calendar month ``YYYY-MM``."""
    try:
        year, mon = (int(part) for part in month.split("-"))
        first = date(year, mon, 1)
    except ValueError:
        raise ValueError(f"month must be YYYY-MM, e.g. 2026-11, got {month!r}") from None
    after = date(year + mon // 12, mon % 12 + 1, 1)
    return local_midnight(site, first), local_midnight(site, after)


def register_at(series: Sequence[Reading], moment: pd.Timestamp) -> float | None:
    """A register's value at ``moment``, linear between readings, held at the ends [unit]."""
    if not series:
        return None
    times = np.array([pd.Timestamp(r.at).value for r in series], dtype=float)
    values = np.array([r.value for r in series], dtype=float)
    order = np.argsort(times)
    return float(np.interp(float(moment.value), times[order], values[order]))


def register_delta(readings: Sequence[Reading], kind: str, device: str,
                   start: pd.Timestamp, end: pd.Timestamp, hours: bool = False) -> float:
    """What the registers of ``kind`` of ``device`` counted between start and end."""
    total = 0.0
    meters = {r.meter or r.device for r in readings if r.kind == kind and r.device == device}
    for meter in sorted(meters):
        series = [r for r in readings if r.kind == kind and r.device == device
                  and (r.meter or r.device) == meter]
        if hours:
            series = [Reading(r.kind, r.device, r.at, r.hours) for r in series
                      if r.hours is not None]
        a, b = register_at(series, start), register_at(series, end)
        total += 0.0 if a is None or b is None else b - a
    return total


def _inside(r: Reading, start: pd.Timestamp, end: pd.Timestamp) -> bool:
    return start <= pd.Timestamp(r.at) < end


def _feedstock(site: Site, d: Digester, readings: Sequence[Reading], start: pd.Timestamp,
               end: pd.Timestamp) -> list[dict[str, Any]]:
    rows = []
    for feed in d.feedstocks:
        got = [r for r in readings if r.kind == "feedstock" and r.device == d.name
               and r.meter == feed.name and _inside(r, start, end)]
        kg = sum(r.value for r in got)
        biogas = sum(biogas_potential_m3(d, feed, r.value, r.ts_pu) for r in got)
        parts = feed.composition()
        vs = sum(r.value * (r.ts_pu or parts[0]) * parts[1] for r in got) if parts else None
        rows.append({
            "feedstock": feed.name, "substrate": feed.substrate, "kg": kg,
            "vs_kg": vs, "b0_m3_per_kg_vs": parts[2] if parts else None,
            "methane_potential_m3": biogas * d.methane_fraction_pu,
            "biogas_potential_m3": biogas,
            "source": _feed_source(feed),
        })
    return rows


def _feed_source(feed: Any) -> str:
    if feed.biogas_yield_m3_per_kg is not None:
        return "site file: realised biogas yield"
    if feed.substrate is not None and feed.ts_pu is None:
        s = F.SUBSTRATES[feed.substrate]
        return f"{s.b0_m3_per_kg_vs.source}, {s.b0_m3_per_kg_vs.where}"
    return feed.source or "site file"


def _fuel_m3(site: Site, d: Digester, readings: Sequence[Reading], start: pd.Timestamp,
             end: pd.Timestamp) -> tuple[float, float, float]:
    """Biogas burnt by the gensets of ``d`` from their registers: (m³, kWh, heat kWh)."""
    fuel = kwh_total = heat = 0.0
    for g in site.of_type(Genset):
        if isinstance(g.fuel, BiogasFuel) and g.fuel.digester == d.name:
            kwh = register_delta(readings, "genset_energy", g.name, start, end)
            hours = register_delta(readings, "genset_energy", g.name, start, end, hours=True)
            fuel += g.fuel.m3_per_kwh * kwh + g.fuel.no_load_m3_per_h * hours
            kwh_total += kwh
            heat += register_delta(readings, "heat_delivered", g.name, start, end)
    return fuel, kwh_total, heat


def _level_change(readings: Sequence[Reading], d: Digester, start: pd.Timestamp,
                  end: pd.Timestamp) -> float:
    series = [r for r in readings if r.kind == "holder_level" and r.device == d.name]
    a, b = register_at(series, start), register_at(series, end)
    return 0.0 if a is None or b is None else b - a


def _planned_biogas_m3(site: Site, d: Digester, start: pd.Timestamp, end: pd.Timestamp
                       ) -> float:
    """Gas the site model expects over the period: steady, or φ(T) on the site's climate."""
    if d.temperature is None:
        return d.biogas_m3_per_day * (end - start) / pd.Timedelta(days=1)
    index = pd.date_range(start, end, freq=site.step, inclusive="left")
    return float(forecast_digesters(site, index)[f"{d.name}.production_m3"].sum())


def digester_account(site: Site, d: Digester, readings: Sequence[Reading],
                     start: pd.Timestamp, end: pd.Timestamp, tolerance_pu: float,
                     planned: tuple[float, str] | None = None) -> dict[str, Any]:
    """Feedstock, gas and its uses of one digester, with the gas balance."""
    feeds = _feedstock(site, d, readings, start, end)
    metered = register_delta(readings, "gas_produced", d.name, start, end)
    cooking = register_delta(readings, "gas_cooking", d.name, start, end)
    flared = register_delta(readings, "gas_flared", d.name, start, end)
    fuel, kwh, heat = _fuel_m3(site, d, readings, start, end)
    stored = _level_change(readings, d, start, end)
    leak = d.leakage_pu or 0.0
    leaked = metered * leak / (1.0 - leak)
    residual = metered - cooking - fuel - flared - stored
    closes = abs(residual) <= tolerance_pu * max(metered, 1e-9)
    potential_ch4 = sum(f["methane_potential_m3"] for f in feeds)
    made_ch4 = (metered + leaked) * d.methane_fraction_pu
    balance = {
        "gas_made_m3": metered + leaked, "metered_m3": metered, "cooking_m3": cooking,
        "genset_fuel_m3": fuel, "flared_m3": flared, "leaked_m3": leaked,
        "stored_change_m3": stored, "unaccounted_m3": residual,
        "tolerance_pu": tolerance_pu, "closes": bool(closes),
        "message": "gas made = used + flared + leaked + stored change, within meter tolerance"
        if closes else (
            f"the gas balance does not close: {residual:+.1f} m3 "
            f"({residual / max(metered, 1e-9):+.1%} of the metered gas) is not accounted for "
            f"by cooking, genset fuel, flaring and the holder; check the meters of {d.name}"),
    }
    model = _planned_biogas_m3(site, d, start, end)
    plan_m3, plan_source = planned if planned is not None else (model, "site model")
    return {
        "digester": d.name, "methane_fraction_pu": d.methane_fraction_pu,
        "feedstock": feeds, "methane_potential_m3": potential_ch4,
        "methane_made_m3": made_ch4,
        "realised_efficiency_pu": made_ch4 / potential_ch4 if potential_ch4 > 0 else None,
        "balance": balance, "genset_kwh": kwh, "heat_kwh": heat,
        "plan_vs_actual": {"planned_biogas_m3": plan_m3, "plan_source": plan_source,
                           "model_biogas_m3": model, "metered_biogas_m3": metered,
                           "actual_over_plan_pu": metered / plan_m3 if plan_m3 > 0 else None},
    }


def _ch4_kgco2e(m3_ch4: float) -> float:
    return m3_ch4 * F.METHANE_KG_PER_M3_IPCC.value * F.GWP100_CH4.value


def manure_claim(site: Site, settings: LedgerSettings, digesters: list[dict[str, Any]],
                 specs: dict[str, Digester]) -> dict[str, Any]:
    """Avoided manure methane (IPCC 2019 Tier 2 form, AMS-III.D) less project emissions."""
    mcf = F.mcf(settings.baseline_system, settings.annual_mean_air_c)
    used = {"methane_density": F.METHANE_KG_PER_M3_IPCC, "gwp100_ch4": F.GWP100_CH4,
            "mcf": mcf, "model_uncertainty": F.MODEL_UNCERTAINTY_PU,
            "flare_efficiency": F.OPEN_FLARE_EFFICIENCY_PU,
            "min_annual_mean_c": F.AMS_III_D_MIN_ANNUAL_MEAN_C}
    claim: dict[str, Any] = {
        "claim": "avoided_manure_methane", "unit": "kgCO2e",
        "equation": "BE = Σ_manure VS·B0·0.67·MCF·UF_b·GWP;  PE = leaked CH4·0.67·GWP + "
                    "flared CH4·(1 − η_flare)·0.67·GWP;  claim = BE − PE",
        "factors": {k: f.as_dict() for k, f in used.items()},
    }
    if not settings.manure_claim:
        return {**claim, "status": "off", "reason": "ledger.manure_claim is false"}
    limit = F.AMS_III_D_MIN_ANNUAL_MEAN_C.value
    if settings.annual_mean_air_c < limit:
        return {**claim, "status": "not_applicable",
                "reason": f"annual mean temperature {settings.annual_mean_air_c:g} °C is below "
                          f"the {limit:g} °C applicability limit of AMS-III.D"}
    baseline_ch4 = leaked_ch4 = flared_ch4 = 0.0
    for acc in digesters:
        d = specs[acc["digester"]]
        manure_potential = sum(f["vs_kg"] * f["b0_m3_per_kg_vs"] for f in acc["feedstock"]
                               if f["substrate"] in F.MANURES and f["vs_kg"] is not None)
        baseline_ch4 += manure_potential * mcf.value * F.MODEL_UNCERTAINTY_PU.value
        if d.leakage_pu is None:
            leaked_ch4 += F.DEFAULT_LEAKAGE_PU.value * manure_potential
        else:
            leaked_ch4 += acc["balance"]["leaked_m3"] * d.methane_fraction_pu
        flared_ch4 += acc["balance"]["flared_m3"] * d.methane_fraction_pu * (
            1.0 - F.OPEN_FLARE_EFFICIENCY_PU.value)
    baseline = _ch4_kgco2e(baseline_ch4)
    project = _ch4_kgco2e(leaked_ch4) + _ch4_kgco2e(flared_ch4)
    return {**claim, "status": "claimed", "baseline_ch4_m3": baseline_ch4,
            "leaked_ch4_m3": leaked_ch4, "unburnt_flare_ch4_m3": flared_ch4,
            "baseline_kgco2e": baseline, "project_kgco2e": project,
            "kgco2e": baseline - project}


def electricity_claim(site: Site, genset_kwh: float, pv_kwh: float) -> dict[str, Any]:
    """Biogas and PV energy used on site or exported × the location-based grid factor."""
    grids = site.of_type(Grid)
    claim: dict[str, Any] = {"claim": "displaced_electricity", "unit": "kgCO2e",
                             "equation": "(E_genset + E_pv) · EF_grid",
                             "genset_kwh": genset_kwh, "pv_kwh": pv_kwh}
    if not grids:
        return {**claim, "status": "not_applicable",
                "reason": "the site has no grid connection whose electricity is displaced"}
    grid = grids[0]
    given = grid.carbon_factor  # the file's value, or its grid_region's published factor
    where = (f"devices.{grid.name}.carbon_kgco2_per_kwh" if grid.carbon_kgco2_per_kwh is not None
             else f"sites/grid_factors.py: {grid.grid_region}, {given.year}")
    factor = F.Factor(given.kgco2_per_kwh, "kgCO2/kWh", given.source, where)
    return {**claim, "status": "claimed", "factors": {"grid": factor.as_dict()},
            "kgco2e": (genset_kwh + pv_kwh) * factor.value}


def cooking_claim(settings: LedgerSettings, cooking_ch4_m3: float) -> dict[str, Any]:
    """Cooking gas replacing the household's previous fuel (AMS-I.E for firewood)."""
    fuel = settings.previous_cooking_fuel
    used = {"methane_lhv": F.METHANE_LHV_MJ_PER_M3, "fuel_emission": F.FUEL_KGCO2_PER_GJ[fuel],
            "biogas_stove": F.STOVE_EFFICIENCY_PU["biogas"],
            "previous_stove": F.STOVE_EFFICIENCY_PU[fuel]}
    useful_gj = cooking_ch4_m3 * used["methane_lhv"].value / 1000 * used["biogas_stove"].value
    displaced_gj = useful_gj / used["previous_stove"].value
    share = 1.0
    factors = {k: f.as_dict() for k, f in used.items()}
    if fuel == "firewood":
        share = settings.non_renewable_fraction_pu or 0.0
        factors["fnrb"] = F.Factor(share, "-", settings.non_renewable_fraction_source or "",
                                   "ledger.non_renewable_fraction_pu").as_dict()
    return {"claim": "displaced_cooking_fuel", "unit": "kgCO2e", "status": "claimed",
            "previous_fuel": fuel,
            "equation": "V_CH4·LHV·η_biogas/η_previous · EF_fuel (· fNRB for firewood)",
            "cooking_ch4_m3": cooking_ch4_m3, "displaced_fuel_gj": displaced_gj,
            "factors": factors,
            "kgco2e": displaced_gj * used["fuel_emission"].value * share}


def monthly_account(site: Site, readings: Sequence[Reading], month: str,
                    settings: LedgerSettings | None = None,
                    planned: dict[str, tuple[float, str]] | None = None) -> dict[str, Any]:
    """The account of one local month ``YYYY-MM`` (see docs/ledger.md).

    ``planned`` gives, per digester, the biogas the plans expected [m³] and where that figure
    comes from (e.g. the day's current plans); by default the site model's figure.

    Returns
    -------
    dict
        ``digesters`` (feedstock, potential, gas balance, plan vs actual), ``claims`` (three
        separate claims, each with status, equation, factors and ``kgco2e``), and
        ``energy_system_kgco2e`` (leaked methane, the emission every plan counts).
    """
    settings = settings or site.ledger
    if settings is None:
        raise ValueError(f"site {site.name!r} has no ledger settings (a `ledger:` block)")
    start, end = month_bounds(site, month)
    specs = {d.name: d for d in site.of_type(Digester)}
    accounts = [digester_account(site, d, readings, start, end, settings.meter_tolerance_pu,
                                 (planned or {}).get(d.name)) for d in specs.values()]
    genset_kwh = sum(a["genset_kwh"] for a in accounts)
    pv_kwh = sum(register_delta(readings, "pv_energy", dev, start, end)
                 for dev in {r.device for r in readings if r.kind == "pv_energy"})
    cooking_ch4 = sum(a["balance"]["cooking_m3"] * a["methane_fraction_pu"] for a in accounts)
    leaked_kgco2e = sum(a["balance"]["leaked_m3"] * a["methane_fraction_pu"] for a in accounts)
    claims = [manure_claim(site, settings, accounts, specs),
              electricity_claim(site, genset_kwh, pv_kwh),
              cooking_claim(settings, cooking_ch4)]
    return {
        "site": site.name, "county": site.county, "township": site.township, "month": month,
        "start": start.isoformat(), "end": end.isoformat(),
        "digesters": accounts, "claims": {c["claim"]: c for c in claims},
        "energy_system_kgco2e": _ch4_kgco2e(leaked_kgco2e),
        "closes": all(a["balance"]["closes"] for a in accounts),
    }


def months_before(month: str, count: int) -> list[str]:
    """``count`` months ending with ``month``, oldest first."""
    year, mon = (int(p) for p in month.split("-"))
    out = []
    for k in range(count - 1, -1, -1):
        y, m = divmod(year * 12 + mon - 1 - k, 12)
        out.append(f"{y:04d}-{m + 1:02d}")
    return out


def claims_by_month(site: Site, readings: Sequence[Reading], month: str, count: int = 12
                    ) -> list[dict[str, Any]]:
    """Each claim's kgCO2e (None where it does not apply) for the months up to ``month``."""
    out = []
    for m in months_before(month, count):
        acc = monthly_account(site, readings, m)
        out.append({"month": m, **{name: c.get("kgco2e") if c["status"] == "claimed" else None
                                   for name, c in acc["claims"].items()}})
    return out


def roll_up(accounts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Villages summed claim by claim (never one claim into another)."""
    names = ("avoided_manure_methane", "displaced_electricity", "displaced_cooking_fuel")
    claims = {}
    for name in names:
        claimed = [a for a in accounts if a["claims"][name]["status"] == "claimed"]
        claims[name] = {"kgco2e": sum(a["claims"][name]["kgco2e"] for a in claimed),
                        "villages_claimed": [a["site"] for a in claimed],
                        "villages_not_claimed": [a["site"] for a in accounts
                                                 if a not in claimed]}
    gas = sum(d["balance"]["metered_m3"] for a in accounts for d in a["digesters"])
    return {"villages": [a["site"] for a in accounts], "claims": claims,
            "metered_biogas_m3": gas,
            "energy_system_kgco2e": sum(a["energy_system_kgco2e"] for a in accounts)}
