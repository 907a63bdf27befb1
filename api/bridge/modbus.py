"""The bridge loop: poll dispatch (with ETag), write the interval's setpoints to the Modbus
devices of the site's register map, post what they measure as telemetry.

When the service cannot be reached the bridge keeps the last dispatch answer and follows its
intervals (the current one and the next few) until the last of them ends; from then on it
applies each device's declared safe mode, at the first step after the plan expired (steps
come every ``poll_s``, shorter than an interval). Each change of mode is logged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from api.bridge.drivers import DeviceError, PlainDriver, driver_for
from sites.schema import Battery, Site

log = logging.getLogger("villagegrid.bridge")


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


class Bridge:
    """One site's bridge. ``http`` is an ``httpx.Client`` on the service, with the site's
    controller key in its headers."""

    def __init__(self, site: Site, http: Any, drivers: dict[str, PlainDriver] | None = None):
        if site.modbus is None:
            raise ValueError(f"site {site.name!r} has no modbus section")
        self.site = site
        self.map = site.modbus
        self.http = http
        capacity = {b.name: b.capacity_kwh for b in site.of_type(Battery)}
        self.drivers = drivers or {
            m.device: driver_for(m, capacity.get(m.device)) for m in self.map.devices
        }
        self.doc: dict[str, Any] | None = None
        self.etag: str | None = None
        self.mode = "start"  # "plan" or "safe" once a step ran
        self.reachable = True
        self.last_report: dict[str, Any] | None = None
        self._reported_s = float("-inf")

    def close(self) -> None:
        for driver in self.drivers.values():
            driver.close()

    # --- the service ----------------------------------------------------------------------
    def poll(self) -> None:
        """Fetch dispatch; on failure keep the last answer and say so once."""
        import httpx

        headers = {"If-None-Match": self.etag} if self.etag else {}
        try:
            r = self.http.get(f"/v1/sites/{self.site.name}/dispatch", headers=headers)
        except httpx.HTTPError as exc:
            return self._unreachable(f"{type(exc).__name__}: {exc}")
        if r.status_code == 304:
            return self._reached()
        if r.status_code != 200:
            return self._unreachable(f"HTTP {r.status_code}: {r.text[:200]}")
        self.doc, self.etag = r.json(), r.headers.get("etag")
        self._reached()

    def _unreachable(self, why: str) -> None:
        if self.reachable:
            until = self.doc["intervals"][-1]["end"] if self.doc else "no plan held"
            log.warning("the plan service is unreachable (%s); keeping the last plan until %s",
                        why, until)
        self.reachable = False

    def _reached(self) -> None:
        if not self.reachable:
            log.info("the plan service answers again")
        self.reachable = True

    # --- the devices ----------------------------------------------------------------------
    def current(self, now_s: float) -> tuple[dict[str, dict[str, float]] | None, float]:
        """The held plan's setpoints for ``now_s`` and when the held plan ends, or None."""
        if self.doc is None:
            return None, now_s
        end_s = _epoch(self.doc["intervals"][-1]["end"])
        for interval in self.doc["intervals"]:
            if _epoch(interval["start"]) <= now_s < _epoch(interval["end"]):
                return interval["setpoints"], end_s
        return None, end_s

    def apply(self, now: datetime) -> dict[str, dict[str, float]]:
        """Write the setpoints of ``now`` (or the safe mode); returns what was written."""
        setpoints, end_s = self.current(now.timestamp())
        mode = "plan" if setpoints is not None else "safe"
        if mode != self.mode:
            if mode == "safe":
                why = "no plan was ever received" if self.doc is None else (
                    f"plan {self.doc['plan_id']} expired at {self.doc['intervals'][-1]['end']}")
                safe = {m.device: m.safe_values for m in self.map.devices}
                log.warning("%s: safe mode: %s", why, safe)
            else:
                log.info("following plan %s", self.doc["plan_id"] if self.doc else "?")
            self.mode = mode
        written = {}
        for m in self.map.devices:
            values = m.safe_values if setpoints is None else setpoints.get(m.device, {})
            revert_s = 0 if setpoints is None else int(end_s - now.timestamp())
            try:
                written[m.device] = self.drivers[m.device].write(dict(values), revert_s)
            except DeviceError as exc:
                log.error("writing %s failed: %s", m.device, exc)
        return written

    def report(self, now: datetime, force: bool = False) -> dict[str, Any] | None:
        """Read the devices' measures and post them as telemetry (every ``telemetry_s``)."""
        import httpx

        if not force and now.timestamp() - self._reported_s < self.map.telemetry_s:
            return None
        body: dict[str, Any] = {"at": now.isoformat()}
        for m in self.map.devices:
            try:
                for field, value in self.drivers[m.device].read().items():
                    body.setdefault(field, {})[m.device] = round(max(0.0, value), 6)
            except DeviceError as exc:
                log.error("reading %s failed: %s", m.device, exc)
        if len(body) == 1:
            return None
        try:
            r = self.http.post(f"/v1/sites/{self.site.name}/telemetry", json=body)
        except httpx.HTTPError as exc:
            self._unreachable(f"{type(exc).__name__}: {exc}")
            return None
        if r.status_code != 201:
            log.error("the service refused the telemetry (HTTP %s): %s", r.status_code,
                      r.text[:300])
            return None
        self._reported_s = now.timestamp()
        self.last_report = r.json()
        return self.last_report

    def step(self, now: datetime) -> dict[str, dict[str, float]]:
        """One cycle: poll, write, report."""
        self.poll()
        written = self.apply(now)
        self.report(now)
        return written

    def run(self, clock: Callable[[], datetime], stop: threading.Event) -> None:
        """Step every ``poll_s`` until ``stop`` is set."""
        while not stop.is_set():
            self.step(clock())
            stop.wait(self.map.poll_s)
