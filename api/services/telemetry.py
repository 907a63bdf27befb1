"""Telemetry from controllers: stored, compared with the plan, and a re-plan when asked for
or when the measured storage levels stray too far from the planned ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy import text as text_sql
from sqlalchemy.orm import Session

from api.schemas import TelemetryIn
from api.services.compact import CompactPlan
from api.services.dispatch import Dispatcher
from api.services.errors import Invalid, Limited, SolveFailed
from api.services.limits import Limits
from api.services.planning import PlanService, checked_state, local_day, make_state, state_data
from api.settings import Settings
from api.store import Store, TelemetryRow
from optimizer.state import State, site_rows
from sites.schema import FixedLoad, PvArray, ShiftableLoad, Site

#: How far from now a measurement may be stamped [days].
TELEMETRY_WINDOW_DAYS = 7
#: How far ahead of the server's clock a controller's clock may run.
CLOCK_SKEW = timedelta(minutes=5)
_MEASURED = {"pv_kw": (PvArray,), "load_kw": (FixedLoad, ShiftableLoad),
             "curtailed": (PvArray,), "inverter_off": (PvArray,)}


def _measured_errors(site: Site, body: TelemetryIn) -> list[str]:
    errors = []
    for field, kinds in _MEASURED.items():
        names = {d.name for d in site.devices if isinstance(d, kinds)}
        errors += [f"{field}.{n}: no such device in site {site.name!r}"
                   for n in getattr(body, field) if n not in names]
    return errors


def deviation_pu(site: Site, plan: CompactPlan | None, at: datetime, measured: State
                 ) -> float | None:
    """Largest |measured − planned| level at ``at``, as a share of the level's usable range.

    The levels compared are the state quantities declared with a ``usable`` range, against
    the plan column that carries them (``optimizer.statevars``); the planned level at
    ``at`` is the one at the end of the previous interval. None when no current plan covers
    ``at`` or it starts there.
    """
    if plan is None:
        return None
    i = plan.position(int(at.timestamp()))
    if i is None or i == 0:
        return None
    worst = None
    for model, var in site_rows(site):
        value = measured.get(model.name, var.quantity)
        if value is None or var.usable is None or var.column is None:
            continue
        planned = plan.setpoints[i - 1].get(model.name, {}).get(var.column)
        low, top = var.usable
        if planned is not None and top > low:  # type: ignore[operator]
            gap = abs(value - planned) / (top - low)  # type: ignore[operator]
            worst = gap if worst is None else max(worst, gap)
    return worst


def plan_frame(plan: CompactPlan) -> pd.DataFrame:
    """A plan's setpoints as a plan table: ``<device>.<quantity>`` columns, UTC interval
    starts."""
    index = pd.DatetimeIndex(pd.to_datetime(list(plan.starts), unit="s", utc=True))
    rows = [{f"{device}.{q}": v for device, values in row.items() for q, v in values.items()}
            for row in plan.setpoints]
    return pd.DataFrame(rows, index=index)


def merged(*layers: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per-device state values, a later layer's quantity replacing an earlier one's."""
    out: dict[str, dict[str, float]] = {}
    for layer in layers:
        for device, values in layer.items():
            out.setdefault(device, {}).update(values)
    return out


def served_so_far(site: Site, plan: CompactPlan | None, at: datetime) -> dict[str, float]:
    """Energy each daily shiftable load got from the plan before ``at`` [kWh]: its demand,
    ``served_kw`` + ``shed_kw`` (the plan's ``demand_kw``, which carries ``served_kwh``; a
    dispatch holds the setpoints only)."""
    if plan is None:
        return {}
    i = plan.position(int(at.timestamp()))
    if i is None:
        return {}
    step_h = plan.step_s / 3600
    return {
        load.name: min(sum(row.get(load.name, {}).get("served_kw", 0.0)
                           + row.get(load.name, {}).get("shed_kw", 0.0)
                           for row in plan.setpoints[:i]) * step_h, load.energy_kwh)
        for load in site.of_type(ShiftableLoad) if load.period_days == 1
    }


class TelemetryDesk:
    def __init__(self, store: Store, settings: Settings, dispatcher: Dispatcher,
                 plan_service: PlanService, limits: Limits):
        self._store = store
        self._settings = settings
        self._dispatcher = dispatcher
        self._plan_service = plan_service
        self._limits = limits

    @staticmethod
    def _equal(s: Session, name: str, body: TelemetryIn) -> TelemetryRow | None:
        """A stored report of the same site, time and measurements."""
        return s.scalar(select(TelemetryRow).where(
            TelemetryRow.site == name, TelemetryRow.at == body.at,
            TelemetryRow.body_json == body.model_dump_json()).limit(1))

    def _store_once(self, name: str, body: TelemetryIn, now: datetime
                    ) -> tuple[TelemetryRow, bool]:
        """Store the report unless an equal one is stored already; returns the row and
        whether it was new."""
        text = body.model_dump_json()
        with self._store.writer() as s:
            if self._store.dialect == "postgresql":  # serialise equal reports racing
                s.execute(text_sql("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                          {"k": f"telemetry:{name}:{body.at.isoformat()}"})
            found = self._equal(s, name, body)
            if found is not None:
                return found, False
            row = TelemetryRow(site=name, at=body.at, received_at=now, body_json=text)
            s.add(row)
        return row, True

    def report(self, name: str, body: TelemetryIn, now: datetime, key_id: str = ""
               ) -> dict[str, Any]:
        site, sv = self._dispatcher.site(name)
        errors = _measured_errors(site, body)
        measured, state_errors = checked_state(site, state_data(body), "telemetry")
        errors += state_errors
        if not -timedelta(days=TELEMETRY_WINDOW_DAYS) <= body.at - now <= CLOCK_SKEW:
            errors.append(f"at: must lie between {TELEMETRY_WINDOW_DAYS} days ago and "
                          f"{CLOCK_SKEW.seconds // 60} minutes from now, got {body.at.isoformat()}")
        if errors:
            raise Invalid("the telemetry does not fit the site", errors)
        with self._store.reader() as s:
            stored = self._equal(s, name, body)  # a retry is answered as the first report
        if body.replan and stored is None:  # over the limit: refused whole, nothing stored
            self._limits.replans.check(f"key:{key_id}", f"key {key_id}")
            self._limits.replans.check(f"site:{name}", f"site {name!r}")
        row, new = (stored, False) if stored is not None else self._store_once(name, body, now)
        if not new:
            return {"telemetry_id": row.id, "site": name, "at": body.at, "deviation_pu": None,
                    "replanned": row.replan_plan_id is not None, "duplicate": True,
                    "replan_plan_id": row.replan_plan_id}
        plan = self._dispatcher.current_plan(name, local_day(site, body.at))
        deviation = deviation_pu(site, plan, body.at, measured)
        out: dict[str, Any] = {"telemetry_id": row.id, "site": name, "at": body.at,
                               "deviation_pu": deviation, "replanned": False}
        too_far = deviation is not None and deviation > self._settings.replan_deviation_pu
        if not (body.replan or too_far):
            return out
        try:
            self._limits.replan(key_id, name)
        except Limited as exc:
            return {**out, "replan_error": exc.message}
        served = {name: {"served_kwh": kwh} for name, kwh in
                  served_so_far(site, plan, body.at).items()}
        state = make_state(site, State(values=merged(served, measured.values)))
        try:
            summary = self._plan_service.replan_rest_of_day(site, sv, body.at, state, now)
        except SolveFailed as exc:
            out["replan_error"] = exc.message
            return out
        with self._store.writer() as s:
            s.get(TelemetryRow, row.id).replan_plan_id = summary["plan_id"]  # type: ignore[union-attr]
        return {**out, "replanned": True, "plan": summary}

