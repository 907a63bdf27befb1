"""Cell temperature of PV arrays: the thermal models a site's ``temperature_model`` names,
and the step from a measured back-of-module temperature to the cell.

References
----------
King, D. L., Boyson, W. E. and Kratochvil, J. A. (2004). Photovoltaic array performance model.
SAND2004-3535. Faiman, D. (2008). Assessing the outdoor operating temperature of photovoltaic
modules. Progress in Photovoltaics 16(4), 307-315.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pvlib

CellModel = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _sapm(params: Mapping[str, float]) -> CellModel:
    return lambda poa, t_air, wind: pvlib.temperature.sapm_cell(poa, t_air, wind, **params)


def _pvsyst(params: Mapping[str, float]) -> CellModel:
    return lambda poa, t_air, wind: pvlib.temperature.pvsyst_cell(poa, t_air, wind, **params)


_FAMILIES: dict[str, Callable[[Mapping[str, float]], CellModel]] = {
    "sapm": _sapm,
    "pvsyst": _pvsyst,
}


def cell_model(name: str) -> CellModel:
    """The cell-temperature function for a ``temperature_model`` name ``<family>_<mounting>``.

    Parameters come from ``pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS``: SAPM (King et al.
    2004) ``open_rack_*``, ``close_mount_glass_glass``, ``insulated_back_glass_polymer``; PVsyst
    ``freestanding`` (U_c = 29), ``semi_integrated`` (20), ``insulated`` (15 W/m²K).
    """
    family, _, mounting = name.partition("_")
    table = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS
    if family not in _FAMILIES or mounting not in table.get(family, {}):
        raise ValueError(f"unknown temperature_model {name!r}; expected <sapm|pvsyst>_<mounting>")
    return _FAMILIES[family](table[family][mounting])


#: Cell minus back-of-module temperature at 1000 W/m² for models without their own figure:
#: SAPM's value for glass/glass open-rack modules (King et al. 2004, table 2) [°C].
DEFAULT_MODULE_TO_CELL_DELTA_C = 3.0


def module_to_cell_delta_c(name: str) -> float:
    """ΔT of ``T_cell = T_module + E/1000·ΔT`` for a ``temperature_model`` [°C]: the SAPM
    table's ``deltaT`` for SAPM mountings, else :data:`DEFAULT_MODULE_TO_CELL_DELTA_C`."""
    family, _, mounting = name.partition("_")
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS.get(family, {}).get(mounting, {})
    return float(params.get("deltaT", DEFAULT_MODULE_TO_CELL_DELTA_C))
