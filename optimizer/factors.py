"""Emission factors and physical constants of the planning model, with their sources.

Grid and diesel factors are site parameters (``Grid.carbon_kgco2_per_kwh``,
``DieselFuel.emission_kgco2_per_l``); the constants here are the ones no site file states.
"""

from __future__ import annotations

#: Density of methane [kg/m³] at 20 °C and 1 atm, the conversion factor of IPCC (2006)
#: Guidelines for National Greenhouse Gas Inventories, Vol. 4, Ch. 10, Eq. 10.23.
METHANE_DENSITY_KG_PER_M3 = 0.67

#: Global warming potential of non-fossil (biogenic) methane over 100 years
#: [kgCO2e per kgCH4]: IPCC AR6 WG1 (2021), Ch. 7, Table 7.15 (27.0; fossil methane: 29.8).
METHANE_GWP100 = 27.0

#: Biogenic CO2 from burning biogas (genset, flare) counts zero (IPCC inventory convention).
BIOGENIC_CO2_KGCO2_PER_M3 = 0.0


def vented_biogas_kgco2_per_m3(methane_fraction_pu: float) -> float:
    """CO2-equivalent of one m³ of vented biogas [kgCO2e/m³].

    Notes
    -----
    .. math:: e = \\phi \\, \\rho_{CH_4} \\, \\mathrm{GWP}_{100}

    with :math:`\\phi` the methane fraction of the biogas.
    """
    return methane_fraction_pu * METHANE_DENSITY_KG_PER_M3 * METHANE_GWP100
