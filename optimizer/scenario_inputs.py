"""The scenarios of a scenario plan: P10/P50/P90 of PV and load, and their weights.

The P10, P50 and P90 scenarios take each array's band of ``forecasting.skyfit`` (the default
spread around the plan's own PV unless the caller gives learned bands,
``forecasting.learn.pv_quantiles``) and each fixed load's forecast ± ``LOAD_SPREAD_PU``,
weighted by Swanson's 30-40-30 rule (docs/formulation.md, *Scenario plans*).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from forecasting.pv import forecast_pv
from forecasting.skyfit import apply_sky, default_fit
from optimizer.errors import PlanningError
from sites.schema import FixedLoad, PvArray, Site

#: Scenario counts a plan may ask for: 1 (the deterministic plan) or 3 (P10/P50/P90).
SCENARIO_COUNTS = (1, 3)

#: Probability weights of the P10, P50 and P90 scenarios [pu]: Swanson's 30-40-30 rule
#: (Hurst, Brown & Swanson 2000, AAPG Bulletin 84(12):1883-1891; compared with other
#: three-point rules by Keefer & Bodily 1983, Management Science 29(5):595-609). For a
#: normal variable the weights p, 1-2p, p at the P10/P90 points z = ±1.2816 keep the mean and
#: keep the variance when 2 p z² = 1, i.e. p = 0.304 (docs/formulation.md, *Scenario plans*).
SWANSON_WEIGHTS = {"p10": 0.3, "p50": 0.4, "p90": 0.3}

#: P10/P90 of a fixed load as a share of its forecast, ±[pu]. The load forecasts of
#: ``forecasting.load`` have no spread of their own; this is a stated default, not a fit.
LOAD_SPREAD_PU = 0.15


@dataclass(frozen=True)
class Scenario:
    """One scenario: its name, probability weight [pu] and input table."""

    name: str
    weight: float
    inputs: pd.DataFrame


def check_scenarios(value: Any) -> int:
    """The number of scenarios asked for, or a ``PlanningError`` naming the field."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise PlanningError(f"scenarios must be one of {SCENARIO_COUNTS}, got {value!r}")
    if int(value) not in SCENARIO_COUNTS:
        raise PlanningError(f"scenarios must be one of {SCENARIO_COUNTS}, got {value}")
    return int(value)


def pv_bands(site: Site, inputs: pd.DataFrame) -> pd.DataFrame:
    """P10/P50/P90 of every array around the inputs' own PV [kW].

    The documented default spread (``forecasting.skyfit.DEFAULT_RESIDUAL_PU``) applied to
    ``<array>.available_kw`` with the array's clear-sky output (``forecasting.pv``), as
    ``forecasting.learn.pv_quantiles`` does without history. Columns ``<array>.p10_kw``,
    ``.p50_kw``, ``.p90_kw``.
    """

    arrays = site.of_type(PvArray)
    if not arrays:
        return pd.DataFrame(index=inputs.index)
    clear = forecast_pv(site, pd.DatetimeIndex(inputs.index))
    out = {}
    for a in arrays:
        col = f"{a.name}.available_kw"
        band = apply_sky(default_fit(), inputs[col], clear[col], a.inverter_ac_kw, site.tz)
        for level in SWANSON_WEIGHTS:
            out[f"{a.name}.{level}_kw"] = band[f"{level}_kw"].to_numpy()
    return pd.DataFrame(out, index=inputs.index)


def scenario_inputs(
    site: Site,
    inputs: pd.DataFrame,
    *,
    bands: pd.DataFrame | None = None,
    load_spread_pu: float = LOAD_SPREAD_PU,
) -> list[Scenario]:
    """The P10, P50 and P90 scenarios of ``inputs``, weighted by ``SWANSON_WEIGHTS``.

    PV takes each array's band (``bands``, e.g. from ``forecasting.learn.pv_quantiles``;
    None: :func:`pv_bands`); fixed loads their forecast × (1 ± ``load_spread_pu``). The
    scenarios pair little sun with much load (P10 of PV, P90 of load) and much sun with little
    load. Interval 0 is known when the plan is made: every scenario takes the P50 inputs there.
    """
    bands = pv_bands(site, inputs) if bands is None else bands
    load_factor = {"p10": 1.0 + load_spread_pu, "p50": 1.0, "p90": 1.0 - load_spread_pu}
    tables = {}
    for level in SWANSON_WEIGHTS:
        table = inputs.copy()
        for a in site.of_type(PvArray):
            # within what the inverter can deliver (a band around a forecast at the limit
            # can reach past it)
            band = bands[f"{a.name}.{level}_kw"].to_numpy()
            table[f"{a.name}.available_kw"] = np.clip(band, 0.0, a.inverter_ac_kw)
        for load in site.of_type(FixedLoad):
            col = f"{load.name}.forecast_kw"
            table[col] = inputs[col].to_numpy() * load_factor[level]
        tables[level] = table
    for table in tables.values():
        table.iloc[0] = tables["p50"].iloc[0]
    return [Scenario(level, w, tables[level]) for level, w in SWANSON_WEIGHTS.items()]
