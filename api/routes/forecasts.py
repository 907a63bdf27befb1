"""Forecast accuracy of a site: how its PV forecasts, raw and corrected from its own meters,
compared with what the meters measured."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import Manager, NowDep, ServicesDep

router = APIRouter(prefix="/v1/sites", tags=["forecasts"])
SiteName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_\-]*$")]


@router.get("/{site}/forecast-accuracy")
def forecast_accuracy(
    site: SiteName, services: ServicesDep, now: NowDep, _: Manager,
    days: Annotated[int, Query(ge=1, le=365, description="local days before now scored")] = 7,
) -> dict:
    """Hourly MAE, RMSE (% of kWp), bias [kW] and skill against 24-h persistence of each
    array's PV forecast over the last ``days`` days, raw and corrected from telemetry (each
    day corrected only from the days before it), and the share of hours inside P10-P90."""
    return services.plan_service.forecast_accuracy(site, days, now)
