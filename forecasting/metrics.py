"""Forecast accuracy metrics: MAE, RMSE, bias and skill over 24-h persistence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Scores:
    """Accuracy of a forecast against actual values and against 24-h persistence."""

    mae_kw: float
    rmse_kw: float
    bias_kw: float
    mae_pct: float  # of the scale (kWp for PV, mean load for load)
    rmse_pct: float
    skill: float  # 1 − RMSE / RMSE of 24-h persistence
    persistence_rmse_pct: float
    hours: int


def scores(forecast: pd.Series, actual: pd.Series, persistence: pd.Series, scale: float) -> Scores:
    """MAE, RMSE, bias [kW], MAE and RMSE as % of ``scale``, and skill over persistence.

    ``skill = 1 − RMSE_forecast / RMSE_persistence``; NaN rows of any series are left out.
    """
    frame = pd.concat([forecast, actual, persistence], axis=1).dropna().to_numpy(dtype=float)
    f, a, p = frame.T
    if len(f) == 0:
        nan = float("nan")
        return Scores(nan, nan, nan, nan, nan, nan, nan, 0)
    err, err_p = f - a, p - a
    rmse, rmse_p = float(np.sqrt(np.mean(err**2))), float(np.sqrt(np.mean(err_p**2)))
    mae = float(np.mean(np.abs(err)))
    return Scores(
        mae_kw=mae,
        rmse_kw=rmse,
        bias_kw=float(np.mean(err)),
        mae_pct=100 * mae / scale,
        rmse_pct=100 * rmse / scale,
        skill=1 - rmse / rmse_p,
        persistence_rmse_pct=100 * rmse_p / scale,
        hours=len(f),
    )
