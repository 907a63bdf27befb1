"""Methane released to the air: its CO2-equivalent per cubic metre of biogas."""

from __future__ import annotations

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


def vented_kgco2e_per_m3(methane_fraction_pu: float) -> float:
    """CO2-equivalent of one normal cubic metre of vented biogas [kgCO2e/m³].

    Notes
    -----
    ``e = x_CH4 × ρ_CH4 × GWP100``, with the methane share ``x_CH4`` [-], the density
    ``ρ_CH4`` = 0.717 kg/m³ and ``GWP100`` = 27.0 of non-fossil methane (IPCC AR6 WG1
    Table 7.15). For 60 % methane: 0.6 × 0.717 × 27.0 = 11.6 kgCO2e/m³.
    """
    return methane_fraction_pu * METHANE_DENSITY_KG_PER_M3 * METHANE_GWP100_NON_FOSSIL
