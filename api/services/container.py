"""All services of one app instance, built from its settings and closed with it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from api.delivery.inbound import limit_handler, telemetry_handler
from api.delivery.publisher import MqttPublisher
from api.services.dispatch import Dispatcher
from api.services.keys import KeyRing
from api.services.limits import LimitBook, LimitDesk
from api.services.planning import Planner
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
    planner: Planner
    dispatcher: Dispatcher
    telemetry: TelemetryDesk
    auto: AutoPlanner
    limits: LimitDesk
    mqtt: MqttPublisher | None = None

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._refresher = threading.Thread(
            target=self._refresh_loop, name="dispatch-refresh", daemon=True
        )

    def start(self) -> None:
        """Start the background work: the dispatch cache refresher, and the scheduler if
        enabled."""
        if self.settings.dispatch_cache_ttl_s > 0:
            self._refresher.start()
        if self.settings.scheduler_enabled:
            self.auto.start()
        if self.mqtt is not None:
            self.mqtt.start()

    def _refresh_loop(self) -> None:
        while not self._stop.wait(self.settings.dispatch_cache_ttl_s):
            try:
                self.dispatcher.refresh()
            except Exception:  # noqa: BLE001 - a database hiccup must not end the loop
                log.exception("refreshing the dispatch caches failed")

    def close(self) -> None:
        self._stop.set()
        if self.mqtt is not None:
            self.mqtt.close()
        if self._refresher.is_alive():
            self._refresher.join(timeout=10)
        self.auto.shutdown()
        self.planner.close()
        self.store.dispose()


def build_services(settings: Settings, clock: Callable[[], datetime]) -> Services:
    store = Store(settings.database_url)
    sites = SiteBook(store)
    moved: list[Callable[[str], None]] = []

    def on_moved(site: str) -> None:
        for listener in moved:
            listener(site)

    limit_book = LimitBook(store)
    planner = Planner(store, settings, sites, on_moved=on_moved, limits=limit_book.for_index)
    dispatcher = Dispatcher(store, settings, sites, planner)
    moved.append(dispatcher.invalidate)
    telemetry = TelemetryDesk(store, settings, dispatcher, planner)
    limits = LimitDesk(limit_book, sites, dispatcher, planner)
    mqtt = None
    if settings.mqtt_enabled:
        handlers = {"state": telemetry_handler(telemetry), "limits": limit_handler(limits)}
        mqtt = MqttPublisher(settings, store, sites, dispatcher, handlers, clock)
        moved.append(mqtt.notify)
    return Services(
        settings=settings, store=store, keys=KeyRing(store, settings.key_cache_ttl_s),
        sites=sites, plans=PlanBook(store), planner=planner, dispatcher=dispatcher,
        telemetry=telemetry, auto=AutoPlanner(settings, sites, planner, clock), limits=limits,
        mqtt=mqtt,
    )
