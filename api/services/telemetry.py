"""Telemetry from controllers: stored, compared with the plan, and a re-plan when asked for
or when the measured storage levels stray too far from the planned ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy import text as text_sql
from sqlalchemy.orm import Session

from api.schemas import TelemetryIn
from api.services.compact import CompactPlan
from api.services.dispatch import Dispatcher
from api.services.errors import Invalid, Limited, SolveFailed
from api.services.limits import Limits
from api.services.planning import PlanService, local_day, make_state, state_errors
from api.settings import Settings
from api.store import Store, TelemetryRow
from sites.schema import Battery, Digester, FixedLoad, PvArray, ShiftableLoad, Site

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


def deviation_pu(site: Site, plan: CompactPlan | None, at: datetime, body: TelemetryIn
                 ) -> float | None:
    """Largest |measured − planned| storage level at ``at``, as a share of the usable range.

    The planned level at ``at`` is the stored level at the end of the previous interval.
    None when no current plan covers ``at`` or it starts there.
    """
    if plan is None:
        return None
    i = plan.position(int(at.timestamp()))
    if i is None or i == 0:
        return None
    worst = None
    checks: list[tuple[dict[str, float], type, str, Any]] = [
        (body.battery_soc_kwh, Battery, "soc_kwh",
         lambda d: (d.soc_max_pu - d.soc_min_pu) * d.capacity_kwh),
        (body.holder_m3, Digester, "gas_m3", lambda d: d.holder_max_m3 - d.holder_min_m3),
    ]
    for measured, kind, quantity, span in checks:
        for name, value in measured.items():
            device = site.device(name)
            planned = plan.setpoints[i - 1].get(name, {}).get(quantity)
            if isinstance(device, kind) and planned is not None:
                gap = abs(value - planned) / span(device)
                worst = gap if worst is None else max(worst, gap)
    return worst


def served_so_far(site: Site, plan: CompactPlan | None, at: datetime) -> dict[str, float]:
    """Energy each daily shiftable load got from the plan before ``at`` [kWh]."""
    if plan is None:
        return {}
    i = plan.position(int(at.timestamp()))
    if i is None:
        return {}
    step_h = plan.step_s / 3600
    return {
        load.name: sum(row.get(load.name, {}).get("power_kw", 0.0) for row in
                       plan.setpoints[:i]) * step_h
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
        levels = {k: getattr(body, k) for k in ("battery_soc_kwh", "holder_m3", "genset_kw")}
        errors += state_errors(site, levels, "telemetry")
        if body.served_kwh is not None:
            errors += state_errors(site, {"served_kwh": body.served_kwh}, "telemetry")
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
        deviation = deviation_pu(site, plan, body.at, body)
        out: dict[str, Any] = {"telemetry_id": row.id, "site": name, "at": body.at,
                               "deviation_pu": deviation, "replanned": False}
        too_far = deviation is not None and deviation > self._settings.replan_deviation_pu
        if not (body.replan or too_far):
            return out
        try:
            self._limits.replan(key_id, name)
        except Limited as exc:
            return {**out, "replan_error": exc.message}
        served = body.served_kwh if body.served_kwh is not None else served_so_far(
            site, plan, body.at)
        state = make_state(site, {**levels, "served_kwh": served})
        try:
            summary = self._plan_service.replan_rest_of_day(site, sv, body.at, state, now)
        except SolveFailed as exc:
            out["replan_error"] = exc.message
            return out
        with self._store.writer() as s:
            s.get(TelemetryRow, row.id).replan_plan_id = summary["plan_id"]  # type: ignore[union-attr]
        return {**out, "replanned": True, "plan": summary}

