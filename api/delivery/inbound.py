"""Handlers of the inbound MQTT topics: the payload is the body the HTTP endpoint takes, and
it goes through the same validation and service call."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.delivery.publisher import Handler
from api.schemas import LimitIn, LimitPosted, TelemetryIn, TelemetryOut
from api.services.grid_limits import LimitDesk
from api.services.telemetry import TelemetryDesk


def telemetry_handler(desk: TelemetryDesk) -> Handler:
    """``<base>/<site>/state``: a ``POST /v1/sites/{site}/telemetry`` body."""

    def handle(site: str, payload: bytes, now: datetime) -> dict[str, Any]:
        out = desk.report(site, TelemetryIn.model_validate_json(payload), now)
        return TelemetryOut.model_validate(out).model_dump(mode="json")

    return handle


def limit_handler(desk: LimitDesk) -> Handler:
    """``<base>/<site>/limits``: a ``POST /v1/sites/{site}/limits`` body."""

    def handle(site: str, payload: bytes, now: datetime) -> dict[str, Any]:
        out = desk.post(site, LimitIn.model_validate_json(payload), now, via="mqtt")
        return LimitPosted.model_validate(out).model_dump(mode="json")

    return handle
