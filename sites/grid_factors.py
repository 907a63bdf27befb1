"""Published average CO2 emission factors of China's electricity, by region and province.

A grid device names one with ``grid_region`` (default ``national``) unless the site file gives
its own ``carbon_kgco2_per_kwh``. Each factor carries its value, the year it describes and its
source; plans keep the factor, year and source in their metadata.

Sources
-------
- MEE and NBS (Ministry of Ecology and Environment, National Bureau of Statistics of China),
  *Announcement on the 2022 electricity CO2 emission factors*, 20 December 2024: national
  average 0.5366 kgCO2/kWh; regional averages North 0.6776, Northeast 0.5564, East 0.5617,
  Central 0.5395, Northwest 0.5857, Southwest 0.2268, South 0.3869; provincial averages
  including Inner Mongolia 0.6849, Hebei 0.7252, Shanxi 0.7096, Yunnan 0.1073, Sichuan 0.1404,
  Guangxi 0.4044, Qinghai 0.1567, Fujian 0.4092.
- MEE and NBS, the 2023 electricity CO2 emission factors (published 2025): national average
  0.5306 kgCO2/kWh.

These are location-based averages (GHG Protocol Scope 2 Guidance, 2015, ch. 6): the factor of
all electricity supplied in the region, market-traded green electricity included.
"""

from __future__ import annotations

from typing import Literal, NamedTuple


class GridFactor(NamedTuple):
    """An average grid emission factor with the year it describes and its source."""

    kgco2_per_kwh: float
    year: int | None
    source: str


_MEE_2022 = "MEE/NBS electricity CO2 factors for 2022, published 2024-12-20"
_MEE_2023 = "MEE/NBS electricity CO2 factors for 2023, published 2025"

#: Factor by region name [kgCO2/kWh]. Regional grids follow the MEE's division of China
#: into seven regional grids; province names are given where a province's own factor differs
#: much from its region's.
GRID_FACTORS: dict[str, GridFactor] = {
    "national": GridFactor(0.5306, 2023, _MEE_2023),
    "national_2022": GridFactor(0.5366, 2022, _MEE_2022),
    "north": GridFactor(0.6776, 2022, _MEE_2022),
    "northeast": GridFactor(0.5564, 2022, _MEE_2022),
    "east": GridFactor(0.5617, 2022, _MEE_2022),
    "central": GridFactor(0.5395, 2022, _MEE_2022),
    "northwest": GridFactor(0.5857, 2022, _MEE_2022),
    "southwest": GridFactor(0.2268, 2022, _MEE_2022),
    "south": GridFactor(0.3869, 2022, _MEE_2022),
    "inner_mongolia": GridFactor(0.6849, 2022, _MEE_2022),
    "hebei": GridFactor(0.7252, 2022, _MEE_2022),
    "shanxi": GridFactor(0.7096, 2022, _MEE_2022),
    "yunnan": GridFactor(0.1073, 2022, _MEE_2022),
    "sichuan": GridFactor(0.1404, 2022, _MEE_2022),
    "guangxi": GridFactor(0.4044, 2022, _MEE_2022),
    "qinghai": GridFactor(0.1567, 2022, _MEE_2022),
    "fujian": GridFactor(0.4092, 2022, _MEE_2022),
}

GridRegion = Literal[
    "national",
    "national_2022",
    "north",
    "northeast",
    "east",
    "central",
    "northwest",
    "southwest",
    "south",
    "inner_mongolia",
    "hebei",
    "shanxi",
    "yunnan",
    "sichuan",
    "guangxi",
    "qinghai",
    "fujian",
]
