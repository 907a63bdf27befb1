"""Operating a plan against what actually happens: the real-time rule.

A plan is made on forecasts; the site then meets the actual PV and load. In each interval
the devices follow the plan's setpoints and the difference is balanced by the real-time rule
(docs/studies.md, *Closed-loop operation*):

1. every device whose rule can follow a setpoint does so (``DeviceRule.pin``): gensets run at
   the planned output, shiftable loads draw the planned power, a PV array gives the plan's
   output moved by the forecast error (actual − forecast available), the grid exchanges the
   planned power, a battery charges or discharges as planned — each within its limits at the
   actual state (SoC, holder level, ramp);
2. a shortfall is met by the stores (less charging, then more discharging, within power and
   SoC limits), then by the PV the plan curtailed, then by more genset output (biogas, then
   the cheaper of diesel and grid) and the grid (less export, then more import, within its
   limits), and what is still missing is shed, the least value of lost load first;
3. a surplus is taken by the stores (less discharging, then more charging), then by the grid
   (less import, then more export), then gensets give back output and PV is curtailed.

This is the rule-based dispatch (``optimizer.baseline.dispatch``) with every rule pinned to
the plan, so the realised rows form a plan table with the same columns, costs and
emissions, and carry the state (``State.from_plan``) the next plan starts from. When
nothing differs from the forecast, the realised rows are the plan's.
"""

from __future__ import annotations

import pandas as pd

from optimizer.baseline import dispatch
from optimizer.state import State
from sites.schema import Site


def operate(
    site: Site, plan: pd.DataFrame, actual: pd.DataFrame, state: State | None = None
) -> pd.DataFrame:
    """Operate the intervals of ``actual`` following ``plan``'s rows.

    Parameters
    ----------
    site : Site
    plan : pandas.DataFrame
        A plan table covering the intervals of ``actual`` (it may cover more).
    actual : pandas.DataFrame
        The input columns as they turned out (``optimizer.inputs.build_inputs`` on the actual
        weather and load), on a UTC interval index.
    state : optimizer.state.State, optional
        The actual state at the start of ``actual``'s first interval.

    Returns
    -------
    pandas.DataFrame
        The realised plan table on ``actual``'s intervals: inputs, decisions, levels,
        ``cost`` [currency], ``emissions_kgco2`` [kgCO2e].
    """
    missing = actual.index.difference(plan.index)
    if len(missing):
        raise ValueError(f"the plan does not cover {len(missing)} intervals, from {missing[0]}")
    return dispatch(site, actual, state, plan=plan.loc[actual.index])
