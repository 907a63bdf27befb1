"""Sourced factors of the digester physics and the waste ledger: one table, one place.

Every factor carries its value, its unit, its source and where in the source it stands
(table, equation or page). Site files may override each of them (``sites/schema.py``); the
methodology that uses them is ``docs/ledger.md``. Values a source gives as a range are
represented by the value the source recommends, or by the middle of the range where it
recommends none; the ``where`` text says which.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Factor:
    """A number with its unit and provenance."""

    value: float
    unit: str
    source: str
    where: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


IPCC_2006_V4_CH10 = (
    "IPCC (2006) Guidelines for National Greenhouse Gas Inventories, Vol. 4, Ch. 10 "
    "(Emissions from livestock and manure management)"
)
IPCC_2019_V4_CH10 = (
    "IPCC (2019) Refinement to the 2006 Guidelines, Vol. 4, Ch. 10 (Emissions from "
    "livestock and manure management)"
)
IPCC_2006_V2_CH1 = "IPCC (2006) Guidelines for National Greenhouse Gas Inventories, Vol. 2, Ch. 1"
AMS_III_D = ("UNFCCC CDM small-scale methodology AMS-III.D, Methane recovery in animal manure "
             "management systems")
AMS_I_E = ("UNFCCC CDM small-scale methodology AMS-I.E, Switch from non-renewable biomass for "
           "thermal applications by the user")
ASABE_D384 = "ASABE Standard D384.2 (2005), Manure production and characteristics"
AR6_WG1 = "IPCC AR6 WG1 (2021), Ch. 7"
METCALF_EDDY = "Metcalf & Eddy, Wastewater Engineering: Treatment and Reuse, 4th ed. (2003), Ch. 14"
YANG_2016 = (
    "Yang et al. (2016), Water Research 102:464-474, relative maximum methane production "
    "rate of swine slurry at 15-35 °C"
)


@dataclass(frozen=True)
class Substrate:
    """What a substrate is made of and what it can yield (per kg of fresh mass)."""

    ts_pu: Factor  #: total solids share of fresh mass [-]
    vs_pu: Factor  #: volatile solids share of total solids [-]
    b0_m3_per_kg_vs: Factor  #: maximum methane producing capacity [m³ CH4 / kg VS]


def _f(value: float, unit: str, source: str, where: str) -> Factor:
    return Factor(value, unit, source, where)


_TYPICAL = "typical literature value for planning; replace with a laboratory measurement"

#: Substrates a feedstock may name in a site file (``feedstocks[].substrate``).
SUBSTRATES: dict[str, Substrate] = {
    "pig_manure": Substrate(
        _f(0.20, "kg TS/kg", "scraped fresh pig manure as fed to Chinese village digesters; "
           "NY/T 1220 design range", "demo_village.yaml comment; measure on site"),
        _f(0.80, "kg VS/kg TS", ASABE_D384, "Table 1.b, swine grow-finish, as excreted (VS/TS)"),
        _f(0.29, "m3 CH4/kg VS", IPCC_2006_V4_CH10, "Table 10A-7, swine, Asia"),
    ),
    "cattle_manure": Substrate(
        _f(0.12, "kg TS/kg", ASABE_D384, "Table 1.b, lactating dairy cow, as excreted"),
        _f(0.85, "kg VS/kg TS", ASABE_D384, "Table 1.b, lactating dairy cow, as excreted"),
        _f(0.13, "m3 CH4/kg VS", IPCC_2006_V4_CH10, "Table 10A-4, dairy cattle, Asia"),
    ),
    "poultry_manure": Substrate(
        _f(0.25, "kg TS/kg", ASABE_D384, "Table 1.b, layers, as excreted"),
        _f(0.75, "kg VS/kg TS", ASABE_D384, "Table 1.b, layers, as excreted"),
        _f(0.24, "m3 CH4/kg VS", IPCC_2006_V4_CH10, "Table 10A-9, poultry, developing countries"),
    ),
    "maize_stover": Substrate(
        _f(0.85, "kg TS/kg", _TYPICAL, "air-dry stover"),
        _f(0.90, "kg VS/kg TS", _TYPICAL, "air-dry stover"),
        _f(0.25, "m3 CH4/kg VS", _TYPICAL, "chopped, untreated stover"),
    ),
    "rice_straw": Substrate(
        _f(0.88, "kg TS/kg", _TYPICAL, "air-dry straw"),
        _f(0.83, "kg VS/kg TS", _TYPICAL, "air-dry straw"),
        _f(0.23, "m3 CH4/kg VS", _TYPICAL, "chopped, untreated straw"),
    ),
    "wheat_straw": Substrate(
        _f(0.90, "kg TS/kg", _TYPICAL, "air-dry straw"),
        _f(0.90, "kg VS/kg TS", _TYPICAL, "air-dry straw"),
        _f(0.24, "m3 CH4/kg VS", _TYPICAL, "chopped, untreated straw"),
    ),
    "kitchen_waste": Substrate(
        _f(0.20, "kg TS/kg", _TYPICAL, "source-separated household food waste"),
        _f(0.90, "kg VS/kg TS", _TYPICAL, "source-separated household food waste"),
        _f(0.40, "m3 CH4/kg VS", _TYPICAL, "source-separated household food waste"),
    ),
}

#: Substrates that are manure: only these enter the avoided-manure-methane claim.
MANURES = frozenset({"pig_manure", "cattle_manure", "poultry_manure"})

# --- digester temperature ------------------------------------------------------------------
#: φ(T) of swine slurry: (digester temperature [°C], relative maximum methane rate [-]).
#: 15-35 °C from Yang et al. (2016); 10 °C → 0 is this project's closure of "near zero below
#: about 10 °C"; above 35 °C the rate is held at 1 (the mesophilic optimum, up to 40 °C).
PHI_POINTS_C_PU: tuple[tuple[float, float], ...] = (
    (10.0, 0.0), (15.0, 0.07), (20.0, 0.41), (25.0, 0.66), (30.0, 0.78), (35.0, 1.0),
    (40.0, 1.0),
)
PHI_SOURCE = _f(1.0, "-", YANG_2016, "Fig. and text; points 0.07, 0.41, 0.66, 0.78, 1.0")

#: Overall heat-transfer coefficient of a digester's envelope by insulation class [W/(m²·K)].
INSULATION_U_W_PER_M2K: dict[str, Factor] = {
    "none": _f(4.9, "W/(m2 K)", METCALF_EDDY,
               "table of digester heat-transfer coefficients: plain concrete wall above "
               "ground, 4.7-5.1 (middle)"),
    "buried": _f(1.25, "W/(m2 K)", METCALF_EDDY,
                 "same table: concrete wall below ground, surrounded by moist earth, "
                 "1.1-1.4 (middle)"),
    "insulated": _f(0.7, "W/(m2 K)", METCALF_EDDY,
                    "same table: concrete wall above ground with insulation, 0.6-0.8 (middle)"),
}

#: Volumetric heat capacity of digestate (taken as water) [kWh/(m³·K)].
WATER_HEAT_KWH_PER_M3K = _f(1.163, "kWh/(m3 K)", "water: 4.186 kJ/(kg K) × 1000 kg/m3 / 3600",
                            "physical constant")
#: Specific heat of fresh feed (taken as water) [kWh/(kg·K)].
WATER_HEAT_KWH_PER_KGK = _f(4.186 / 3600, "kWh/(kg K)", "water: 4.186 kJ/(kg K)",
                            "physical constant")

# --- the ledger ------------------------------------------------------------------------------
#: Density of methane used by the Tier 2 manure equation [kg/m³].
METHANE_KG_PER_M3_IPCC = _f(0.67, "kg CH4/m3 CH4", IPCC_2019_V4_CH10, "Eq. 10.23 (0.67)")
#: 100-year GWP of non-fossil methane [kgCO2e/kg CH4] (same value as optimizer.accounting).
GWP100_CH4 = _f(27.0, "kgCO2e/kg CH4", AR6_WG1, "Table 7.15, CH4 non-fossil")
#: Model uncertainty factor of the baseline manure methane [-].
MODEL_UNCERTAINTY_PU = _f(0.94, "-", AMS_III_D, "baseline emissions equation, UF_b")
#: Annual mean temperature below which AMS-III.D does not apply [°C].
AMS_III_D_MIN_ANNUAL_MEAN_C = _f(5.0, "°C", AMS_III_D, "applicability conditions")
#: Default physical leakage of a digester: share of the methane potential [-].
DEFAULT_LEAKAGE_PU = _f(0.10, "-", AMS_III_D,
                        "project emissions from physical leakage, default 10 % of the "
                        "maximum methane producing potential")
#: Share of flared methane destroyed by an open flare [-].
OPEN_FLARE_EFFICIENCY_PU = _f(0.50, "-", "UNFCCC CDM tool 06, Project emissions from flaring",
                              "default efficiency of an open flare without monitoring")

#: MCF of liquid/slurry storage without natural crust cover by annual mean temperature,
#: 10-28 °C in 1 °C steps [-] (≤ 10 °C takes the first, ≥ 28 °C the last value).
_SLURRY_MCF = (0.17, 0.19, 0.20, 0.22, 0.25, 0.27, 0.29, 0.32, 0.35, 0.39, 0.42, 0.46, 0.50,
               0.55, 0.60, 0.65, 0.71, 0.78, 0.80)
#: MCF of systems given by climate zone (cool, temperate, warm) [-].
_ZONE_MCF = {
    "solid_storage": ("solid storage", (0.02, 0.04, 0.05)),
    "daily_spread": ("daily spread", (0.001, 0.005, 0.01)),
}
#: Baseline manure management systems a site may name (``ledger.baseline_system``).
MANURE_SYSTEMS = ("liquid_slurry", "pit_over_1_month", *_ZONE_MCF)
#: Climate zones by annual mean temperature: cool < 15 °C, temperate 15-25 °C, warm > 25 °C.
CLIMATE_ZONE_BOUNDS_C = (15.0, 25.0)


def mcf(system: str, annual_mean_c: float) -> Factor:
    """Methane conversion factor of a baseline manure system at a site's climate [-].

    Liquid/slurry and pit storage over one month follow the annual mean temperature row by
    row; solid storage and daily spread the climate zone (:func:`climate_zone`).
    """
    if system in ("liquid_slurry", "pit_over_1_month"):
        row = int(min(max(math.floor(annual_mean_c + 0.5), 10), 28))
        label = "liquid/slurry without natural crust cover" if system == "liquid_slurry" else (
            "pit storage below animal confinements > 1 month")
        where = f"Table 10.17, {label}, annual mean {row} °C"
        return _f(_SLURRY_MCF[row - 10], "-", IPCC_2006_V4_CH10, where)
    if system not in _ZONE_MCF:
        raise KeyError(f"unknown manure system {system!r}; known: {', '.join(MANURE_SYSTEMS)}")
    label, values = _ZONE_MCF[system]
    zone = climate_zone(annual_mean_c)
    value = values[("cool", "temperate", "warm").index(zone)]
    return _f(value, "-", IPCC_2006_V4_CH10, f"Table 10.17, {label}, {zone} climate")


#: Cooking fuels a household may have used before biogas: CO2 per energy and heating value.
FUEL_KGCO2_PER_GJ: dict[str, Factor] = {
    "lpg": _f(63.1, "kgCO2/GJ", IPCC_2006_V2_CH1, "Table 1.4, liquefied petroleum gases"),
    "coal": _f(94.6, "kgCO2/GJ", IPCC_2006_V2_CH1, "Table 1.4, other bituminous coal"),
    "firewood": _f(81.6, "kgCO2/GJ", AMS_I_E,
                   "emission factor of the fossil fuel a user would switch to (81.6 tCO2/TJ)"),
}
#: Share of the fuel's energy that reaches the pot, by stove [-].
STOVE_EFFICIENCY_PU: dict[str, Factor] = {
    "biogas": _f(0.55, "-", "planning assumption: household biogas burner", "site survey"),
    "lpg": _f(0.55, "-", "planning assumption: household LPG burner", "site survey"),
    "coal": _f(0.25, "-", "planning assumption: household coal stove", "site survey"),
    "firewood": _f(0.10, "-", AMS_I_E, "default efficiency of a three-stone fire"),
}
#: Lower heating value of methane at normal conditions [MJ/m³].
METHANE_LHV_MJ_PER_M3 = _f(35.8, "MJ/m3 CH4", "ISO 6976 / engineering tables",
                           "methane, 0 °C, 101.325 kPa, net calorific value")
#: China's national average grid emission factor, location-based [kgCO2/kWh].


def climate_zone(annual_mean_c: float) -> str:
    """``cool``, ``temperate`` or ``warm`` by annual mean temperature [°C]."""
    low, high = CLIMATE_ZONE_BOUNDS_C
    return "cool" if annual_mean_c < low else "temperate" if annual_mean_c <= high else "warm"
