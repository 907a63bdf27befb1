"""All services of one app instance, built from its settings and closed with it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from api.delivery.inbound import limit_handler, telemetry_handler
from api.delivery.publisher import MqttPublisher
from api.services.changes import ChangeFeed
from api.services.dispatch import Dispatcher
from api.services.grid_limits import LimitBook, LimitDesk
from api.services.keys import KeyRing
from api.services.limits import Limits
from api.services.planning import PlanService
from api.services.plans import PlanBook
from api.services.scheduler import AutoPlanner
from api.services.sites import SiteBook
from api.services.telemetry import TelemetryDesk
from api.settings import Settings
from api.store import Store

log = logging.getLogger("villagegrid.api")


@dataclass
class Services:
    settings: Settings
    store: Store
    keys: KeyRing
    sites: SiteBook
    plans: PlanBook
    plan_service: PlanService
    dispatcher: Dispatcher
    telemetry: TelemetryDesk
    auto: AutoPlanner
    clock: Callable[[], datetime]
    limits: Limits
    grid_limits: LimitDesk
    mqtt: MqttPublisher | None = None

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._feed = ChangeFeed(self.store)
        self._refresher = threading.Thread(
            target=self._refresh_loop, name="change-feed", daemon=True
        )

    def start(self) -> None:
        """Start the background work: the change feed reader, and the scheduler if
        enabled."""
        self.poll_changes()
        if self.settings.dispatch_cache_ttl_s > 0:
            self._refresher.start()
        if self.settings.scheduler_enabled:
            self.auto.start()
        if self.mqtt is not None:
            self.mqtt.start()

    def poll_changes(self) -> None:
        """Apply what changed in any process since the last poll: revoked keys are
        forgotten, changed sites' dispatch snapshots rebuilt."""
        self.plan_service.pool.check()
        try:
            changes = self._feed.poll(self.clock())
        except Exception as exc:  # noqa: BLE001 - a database outage must not end the loop
            self.store.note_down(exc)
            return
        self.store.note_up()
        if changes.everything:
            self.keys.forget_all()
        elif changes.keys:
            self.keys.forget(changes.keys)
        if changes.everything:
            self.dispatcher.refresh()
        elif changes.sites:
            self.dispatcher.refresh(changes.sites)
        if self.settings.scheduler_enabled:  # sites registered here or in another process
            for name in changes.new_sites:
                try:
                    site, _ = self.sites.latest(name)
                    self.auto.schedule(name, site.location.timezone)
                except Exception as exc:  # noqa: BLE001 - scheduled at the next change or start
                    log.warning("scheduling %s failed: %s", name, exc)

    def _refresh_loop(self) -> None:
        while not self._stop.wait(self.settings.dispatch_cache_ttl_s):
            self.poll_changes()

    def close(self) -> None:
        self._stop.set()
        if self.mqtt is not None:
            self.mqtt.close()
        if self._refresher.is_alive():
            self._refresher.join(timeout=10)
        self.auto.shutdown()
        self.plan_service.close()
        self.store.dispose()


def build_services(settings: Settings, clock: Callable[[], datetime]) -> Services:
    store = Store(settings.database_url)
    sites = SiteBook(store)
    moved: list[Callable[[str], None]] = []

    def on_moved(site: str) -> None:
        for listener in moved:
            listener(site)

    limit_book = LimitBook(store)
    plan_service = PlanService(
        store, settings, sites, on_moved=on_moved, limits=limit_book.for_index
    )
    dispatcher = Dispatcher(store, settings, sites, plan_service)
    moved.append(dispatcher.invalidate)
    limits = Limits(settings)
    telemetry = TelemetryDesk(store, settings, dispatcher, plan_service, limits)
    grid_limits = LimitDesk(limit_book, sites, dispatcher, plan_service)
    mqtt = None
    if settings.mqtt_enabled:
        handlers = {"state": telemetry_handler(telemetry), "limits": limit_handler(grid_limits)}
        mqtt = MqttPublisher(settings, store, sites, dispatcher, handlers, clock)
        moved.append(mqtt.notify)
    return Services(
        settings=settings, store=store, keys=KeyRing(store, settings.key_cache_ttl_s),
        sites=sites, plans=PlanBook(store), plan_service=plan_service, dispatcher=dispatcher,
        telemetry=telemetry,
        auto=AutoPlanner(settings, sites, plan_service, clock, store, on_moved=on_moved),
        clock=clock, limits=limits, grid_limits=grid_limits, mqtt=mqtt,
    )
