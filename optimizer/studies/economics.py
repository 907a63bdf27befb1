"""Engineering economics of a design: annualised cost, net present cost, levelised cost.

The definitions follow the lifecycle-cost method used by microgrid design tools (HOMER Pro's
"Net Present Cost", "Capital Recovery Factor", "Salvage Value" and "Levelized Cost of Energy"
help pages; Lambert, Gilman & Lilienthal, *Micropower System Modeling with HOMER*, in Farret &
Simões, *Integration of Alternative Sources of Energy*, Wiley 2006, ch. 15) and textbook
engineering economics (Short, Packey & Holt, *A Manual for the Economic Evaluation of Energy
Efficiency and Renewable Energy Technologies*, NREL/TP-462-5173, 1995, §4).

All money is in the site currency at real (constant) prices; the discount rate is real.
Every cost here is linear in the installed capacity, so a per-unit figure times a capacity
is the device's cost, which is what lets sizing treat capacity as an LP variable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sites.schema import Economics


def capital_recovery_factor(rate_pu: float, years: float) -> float:
    """Capital recovery factor: the annuity that repays 1 over ``years`` [1/year].

    Parameters
    ----------
    rate_pu : float
        Real discount rate [pu/year], ≥ 0.
    years : float
        Number of years, > 0.

    Notes
    -----
    .. math:: CRF(i, N) = \\frac{i (1+i)^N}{(1+i)^N - 1}, \\qquad CRF(0, N) = 1/N

    References
    ----------
    Short, Packey & Holt (1995), NREL/TP-462-5173, eq. 4-6.
    """
    if rate_pu < 0:
        raise ValueError(f"rate_pu must be ≥ 0, got {rate_pu}")
    if years <= 0:
        raise ValueError(f"years must be > 0, got {years}")
    if rate_pu == 0:
        return 1.0 / years
    growth = (1.0 + rate_pu) ** years
    return rate_pu * growth / (growth - 1.0)


def present_worth_factor(rate_pu: float, year: float) -> float:
    """Present value of 1 paid at the end of ``year``: :math:`(1+i)^{-n}` [pu]."""
    if rate_pu < 0:
        raise ValueError(f"rate_pu must be ≥ 0, got {rate_pu}")
    return (1.0 + rate_pu) ** (-year)


def replacement_years(lifetime_years: float, project_life_years: float) -> list[float]:
    """Years, within the project life, at which a device reaches its end of life [year].

    A device installed in year 0 with lifetime :math:`L` is replaced at :math:`L, 2L, ...`
    as long as that is strictly before the end of the project :math:`N`.
    """
    if lifetime_years <= 0:
        raise ValueError(f"lifetime_years must be > 0, got {lifetime_years}")
    count = math.ceil(project_life_years / lifetime_years) - 1
    return [lifetime_years * k for k in range(1, count + 1)]


def salvage_fraction(lifetime_years: float, project_life_years: float) -> float:
    """Share of the last installation's cost left at the end of the project [pu].

    Notes
    -----
    Linear depreciation, as in HOMER: with the last unit installed in year
    :math:`R_{rep} = L\\,\\lceil N/L - 1 \\rceil` the remaining life is
    :math:`R_{rem} = L - (N - R_{rep})` and the salvage is :math:`R_{rem}/L` of its cost.
    """
    years = replacement_years(lifetime_years, project_life_years)
    installed = years[-1] if years else 0.0
    remaining = lifetime_years - (project_life_years - installed)
    return max(0.0, remaining / lifetime_years)


@dataclass(frozen=True)
class UnitCost:
    """Lifecycle cost of one unit (kWp, kWh, kW or m³) of a device [site currency].

    ``capital``, ``replacement``, ``fixed_om`` and ``salvage`` are present values over the
    project life (``salvage`` is a credit, ≥ 0); ``npc = capital + replacement + fixed_om −
    salvage`` and ``annualised = npc × CRF``.
    """

    capital: float
    replacement: float
    fixed_om: float
    salvage: float
    crf_per_year: float

    @property
    def npc(self) -> float:
        return self.capital + self.replacement + self.fixed_om - self.salvage

    @property
    def annualised(self) -> float:
        return self.npc * self.crf_per_year


def unit_cost(economics: Economics, rate_pu: float, project_life_years: float) -> UnitCost:
    """Present values of the costs of one unit of a device over the project life.

    Parameters
    ----------
    economics : Economics
        Capital cost per unit, lifetime, fixed O&M per unit and year, replacement cost share.
    rate_pu : float
        Real discount rate [pu/year].
    project_life_years : float
        Project life [year].

    Notes
    -----
    With capital :math:`C`, replacement share :math:`r`, lifetime :math:`L`, fixed O&M
    :math:`F` per year, project life :math:`N` and discount rate :math:`i`:

    .. math::
        PV_{rep} = \\sum_{k: kL < N} r C (1+i)^{-kL}, \\qquad
        PV_{O\\&M} = F / CRF(i, N), \\qquad
        PV_{salv} = s\\, C_{last} (1+i)^{-N}

    where :math:`s` is :func:`salvage_fraction` and :math:`C_{last}` is the cost of the last
    installation (:math:`rC` if the device was replaced, else :math:`C`).
    """
    capital = economics.capital_cost_per_unit
    replacement_each = capital * economics.replacement_cost_pu
    years = replacement_years(economics.lifetime_years, project_life_years)
    replacement = sum(replacement_each * present_worth_factor(rate_pu, y) for y in years)
    crf = capital_recovery_factor(rate_pu, project_life_years)
    fixed_om = economics.fixed_om_per_unit_year / crf
    last_cost = replacement_each if years else capital
    salvage = (
        salvage_fraction(economics.lifetime_years, project_life_years)
        * last_cost
        * present_worth_factor(rate_pu, project_life_years)
    )
    return UnitCost(capital, replacement, fixed_om, salvage, crf)


def annualised_cost_per_unit(
    economics: Economics, rate_pu: float, project_life_years: float
) -> float:
    """Annualised capital, replacement, fixed O&M and salvage of one unit [currency/unit/year]."""
    return unit_cost(economics, rate_pu, project_life_years).annualised


def net_present_cost(annual_cost: float, rate_pu: float, project_life_years: float) -> float:
    """Present value of a cost paid every year of the project [currency].

    Notes
    -----
    :math:`NPC = C_{ann} / CRF(i, N)` (HOMER, "Total Net Present Cost").
    """
    return annual_cost / capital_recovery_factor(rate_pu, project_life_years)


def levelised_cost_of_energy(total_annualised_cost: float, served_kwh_per_year: float) -> float:
    """Levelised cost of energy: annualised cost per kWh of load served [currency/kWh].

    Notes
    -----
    :math:`LCOE = C_{ann,tot} / E_{served}` (HOMER, "Levelized Cost of Energy"), with
    :math:`C_{ann,tot}` the annualised capital, replacement, O&M, salvage and operating cost
    (energy bought minus energy sold, fuel) and :math:`E_{served}` the load served in a year.
    """
    if served_kwh_per_year <= 0:
        raise ValueError(f"served_kwh_per_year must be > 0, got {served_kwh_per_year}")
    return total_annualised_cost / served_kwh_per_year


def design_costs(
    units: dict[str, float],
    existing_units: dict[str, float],
    economics: dict[str, Economics],
    rate_pu: float,
    project_life_years: float,
) -> dict[str, dict[str, float]]:
    """Present values and annualised cost of each device of a design [currency].

    Existing equipment is sunk: its capital cost is not counted, but its replacements, fixed
    O&M and salvage are; new units (``units − existing_units``) carry all four. Every term
    stays linear in the capacity, so this is also the sizing LP's capital objective up to a
    constant.

    Parameters
    ----------
    units : dict
        Installed capacity of each device after the design [kWp, kWh, kW or m³].
    existing_units : dict
        Capacity already installed; missing names mean 0.
    economics : dict
        The economics of each device in ``units``.
    """
    table: dict[str, dict[str, float]] = {}
    for name, total in units.items():
        existing = min(existing_units.get(name, 0.0), total)
        new = total - existing
        unit = unit_cost(economics[name], rate_pu, project_life_years)
        row = {
            "existing_units": existing,
            "new_units": new,
            "units": total,
            "capital": unit.capital * new,
            "replacement": unit.replacement * total,
            "fixed_om": unit.fixed_om * total,
            "salvage": unit.salvage * total,
        }
        row["npc"] = row["capital"] + row["replacement"] + row["fixed_om"] - row["salvage"]
        row["annualised"] = row["npc"] * unit.crf_per_year
        table[name] = row
    return table
