"""All services of one app instance, built from its settings and closed with it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from api.services.dispatch import Dispatcher
from api.services.keys import KeyRing
from api.services.planning import Planner
from api.services.plans import PlanBook
from api.services.scheduler import AutoPlanner
from api.services.sites import SiteBook
from api.services.telemetry import TelemetryDesk
from api.settings import Settings
from api.store import Store


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

    def close(self) -> None:
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

    planner = Planner(store, settings, sites, on_moved=on_moved)
    dispatcher = Dispatcher(store, settings, sites, planner)
    moved.append(dispatcher.invalidate)
    return Services(
        settings=settings, store=store, keys=KeyRing(store, settings.key_cache_ttl_s),
        sites=sites, plans=PlanBook(store), planner=planner, dispatcher=dispatcher,
        telemetry=TelemetryDesk(store, settings, dispatcher, planner),
        auto=AutoPlanner(settings, sites, planner, clock),
    )
