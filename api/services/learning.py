"""Forecasts that learn from the site's meters: stored telemetry → measured PV and load series
→ the sky-class correction of PV (:mod:`forecasting.learn`) and the load history of every plan.

Telemetry readings are instantaneous: each stands for the interval centred on its moment
(label ``centre``) and holds at most :data:`MAX_HOLD` — a longer silence is a gap, not a
constant. PV readings of an array are left out of the fit when the reading says the array was
curtailed or its inverter was off, and for the intervals where the plan in force curtailed it
(its ``curtailed_kw`` setpoint above :data:`CURTAILED_KW`), since the meter then shows less
than the array could give. The service keeps no past weather, so the past raw forecast is the
clear-sky chain, and the correction is applied to plans whose PV comes from the same source
(requests without their own weather).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from api.services.compact import load_compact
from api.store import PlanRow, Store, TelemetryRow
from forecasting.history import forecast_from_history
from forecasting.learn import WINDOW_DAYS, accuracy, learn_pv, pv_quantiles
from sites.schema import FixedLoad, PvArray, Site

#: Longest time one reading stands for; beyond it the series has a gap.
MAX_HOLD = timedelta(hours=1)
#: Planned curtailment above this marks an interval as curtailed [kW].
CURTAILED_KW = 1e-3
#: Load history needs this many days of telemetry before it replaces the profile [d].
MIN_LOAD_DAYS = 2
#: Plan statuses whose setpoints were in force.
_IN_FORCE = ("optimal", "time_limit", "fallback")


@dataclass(frozen=True)
class Metered:
    """Measured series of one site up to a moment (inputs of the pool jobs)."""

    pv_kw: dict[str, pd.Series] = field(default_factory=dict)
    load_kw: dict[str, pd.Series] = field(default_factory=dict)
    exclude: dict[str, pd.Series] = field(default_factory=dict)
    readings: int = 0


def _series(points: list[tuple[pd.Timestamp, float]]) -> pd.Series:
    """Readings as a step series that holds each value at most :data:`MAX_HOLD`."""
    s = pd.Series([v for _, v in points], index=pd.DatetimeIndex([t for t, _ in points]))
    s = s[~s.index.duplicated(keep="last")].sort_index()
    step = s.index.to_series().diff()
    spacing = min(step.median(), pd.Timedelta(MAX_HOLD)) if len(s) > 1 else MAX_HOLD
    gaps = s.index[(step.shift(-1) > pd.Timedelta(MAX_HOLD)).to_numpy()]
    if len(gaps):
        s = pd.concat([s, pd.Series(np.nan, index=gaps + spacing)]).sort_index()
    return s


class MeterBook:
    """Reads a site's telemetry and its plans' curtailment from the store."""

    def __init__(self, store: Store):
        self._store = store

    def metered(self, site: Site, now: datetime, days: int = WINDOW_DAYS) -> Metered:
        """Telemetry of the ``days`` before ``now``, as series per array and per fixed load."""
        since = now - timedelta(days=days)
        with self._store.reader() as s:
            rows = s.execute(
                select(TelemetryRow.at, TelemetryRow.body_json)
                .where(TelemetryRow.site == site.name, TelemetryRow.at >= since,
                       TelemetryRow.at < now)
                .order_by(TelemetryRow.at)
            ).all()
        if not rows:
            return Metered()
        arrays = {a.name for a in site.of_type(PvArray)}
        loads = {d.name for d in site.of_type(FixedLoad)}
        pv: dict[str, list] = {}
        load: dict[str, list] = {}
        flagged: dict[str, list] = {}
        for at, text in rows:
            body = json.loads(text)
            t = pd.Timestamp(at).tz_convert("UTC")
            off = set(body.get("curtailed", [])) | set(body.get("inverter_off", []))
            for name, kw in body.get("pv_kw", {}).items():
                if name in arrays:
                    pv.setdefault(name, []).append((t, float(kw)))
                    flagged.setdefault(name, []).append((t, float(name in off)))
            for name, kw in body.get("load_kw", {}).items():
                if name in loads:
                    load.setdefault(name, []).append((t, float(kw)))
        exclude = {n: _series(v).fillna(0.0) for n, v in flagged.items()}
        self._add_planned_curtailment(site, exclude, since, now)
        return Metered({n: _series(v) for n, v in pv.items()},
                       {n: _series(v) for n, v in load.items()}, exclude, len(rows))

    def _add_planned_curtailment(self, site: Site, exclude: dict[str, pd.Series],
                                 since: datetime, now: datetime) -> None:
        """Flag the readings that fall in intervals the plan in force curtailed (the plan
        requested last among those covering the interval)."""
        if not exclude:
            return
        with self._store.reader() as s:
            plans = s.execute(
                select(PlanRow.plan_id, PlanRow.status, PlanRow.dispatch_json)
                .where(PlanRow.site == site.name, PlanRow.end > since, PlanRow.start < now,
                       PlanRow.status.in_(_IN_FORCE))
                .order_by(PlanRow.requested_at)
            ).all()
        compact = [load_compact(plan_id, status, text) for plan_id, status, text in plans]
        for name, flags in exclude.items():
            t_s = pd.DatetimeIndex(flags.index).as_unit("s").asi8
            in_force = np.zeros(len(t_s))
            for plan in compact:  # requested last wins: later plans overwrite
                column = plan.column(name, "curtailed_kw")
                if column is None or not plan.starts:
                    continue
                starts = np.asarray(plan.starts)
                j = np.searchsorted(starts, t_s, side="right") - 1
                inside = (j >= 0) & (t_s < starts[np.maximum(j, 0)] + plan.step_s)
                values = np.asarray(column, dtype=float)[np.maximum(j, 0)]
                in_force[inside] = values[inside] > CURTAILED_KW
            exclude[name] = flags.where(flags > 0, in_force)


def learned_inputs(
    site: Site, index: pd.DatetimeIndex, weather: pd.DataFrame | None,
    overrides: pd.DataFrame | None, metered: Metered | None,
) -> tuple[pd.DataFrame | None, dict[str, pd.Series] | None, dict[str, Any]]:
    """Overrides with the corrected PV, the load history, and a report of what was learned.

    Runs in the solve pool. The caller's own overrides win over learned columns.
    """
    if metered is None or not (metered.pv_kw or metered.load_kw):
        return overrides, None, {}
    report: dict[str, Any] = {"readings": metered.readings, "pv": {}, "load_history": []}
    columns: dict[str, np.ndarray] = {}
    pv_kw = {n: s for n, s in metered.pv_kw.items() if s.notna().sum() >= 2}
    try:
        fits = learn_pv(site, pv_kw, None, exclude=metered.exclude, label="centre")
    except Exception as exc:  # noqa: BLE001 - odd telemetry must never stop a plan
        fits, report["pv_error"] = {}, f"{type(exc).__name__}: {exc}"
    report["pv"] = {name: fit.summary() for name, fit in fits.items()}
    if weather is None and any(f.used for f in fits.values()):
        pv = pv_quantiles(site, index, None, fits)
        columns.update({f"{n}.available_kw": pv[f"{n}.available_kw"].to_numpy()
                        for n, f in fits.items() if f.used})
    report["pv_applied"] = sorted(c.split(".")[0] for c in columns)
    history = {}
    for name, series in metered.load_kw.items():
        span = series.dropna().index
        if len(span) < 2 or span[-1] - span[0] < pd.Timedelta(days=MIN_LOAD_DAYS):
            continue
        try:
            forecast_from_history(site, index, series, name=name)
        except ValueError:
            continue  # the history does not cover every clock time of the horizon yet
        history[name] = series
    report["load_history"] = sorted(history)
    if columns:
        learned = pd.DataFrame(columns, index=index)
        if overrides is not None:
            learned = learned.drop(columns=[c for c in overrides.columns if c in learned])
            learned = pd.concat([overrides.tz_convert("UTC"), learned.tz_convert("UTC")], axis=1)
        overrides = learned
    return overrides, history or None, report


def _scores(s: Any) -> dict[str, float | None]:
    def num(v: float) -> float | None:
        return None if not np.isfinite(v) else round(float(v), 4)

    return {"mae_pct_of_kwp": num(s.mae_pct), "rmse_pct_of_kwp": num(s.rmse_pct),
            "bias_kw": num(s.bias_kw), "skill": num(s.skill),
            "persistence_rmse_pct_of_kwp": num(s.persistence_rmse_pct)}


def accuracy_job(site: Site, metered: Metered, days: int, now: datetime) -> dict[str, Any]:
    """Per array: hourly MAE, RMSE (% of kWp), bias and skill over 24-h persistence of the raw
    and the corrected forecast over the ``days`` local days before ``now``, the share of hours
    inside P10-P90, and the correction as fitted on the latest window. Runs in the pool."""
    options: dict[str, Any] = {"exclude": metered.exclude, "label": "centre"}
    pv_kw = {n: s for n, s in metered.pv_kw.items() if s.notna().sum() >= 2}
    scored = accuracy(site, pv_kw, None, days=days, end=pd.Timestamp(now), **options)
    since = pd.Timestamp(now) - pd.Timedelta(days=WINDOW_DAYS)
    fits = learn_pv(site, {n: s[s.index >= since] for n, s in pv_kw.items()
                           if s[s.index >= since].notna().sum() >= 2}, None, **options)
    return {
        name: {"kwp": a.kwp, "hours": a.raw.hours, "raw": _scores(a.raw),
               "corrected": _scores(a.corrected),
               "coverage_p10_p90_pu": None if not np.isfinite(a.coverage_pu)
               else round(a.coverage_pu, 4),
               "fit": fits[name].summary() if name in fits else None}
        for name, a in scored.items()
    }
