"""Automatic planning: each site's next local day is planned at a configured local time.

APScheduler 3's ``BackgroundScheduler`` runs one cron job per site, in the site's own time
zone. The job plans through the fleet runner (``api.fleet``) on the service's solve pool, so a
nightly plan is the same task, and the same idempotent plan id, as ``villagegrid fleet plan``.
Several service processes may share one database with their schedulers on: before planning,
a job claims (site, day) in ``plan_claims`` and only the process whose claim lands plans it.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from api.fleet.executor import SerialExecutor
from api.fleet.roster import Roster
from api.fleet.runner import plan_fleet
from api.services.errors import ServiceError
from api.services.planning import PlanService, local_day
from api.services.plans import PlanBook
from api.services.sites import SiteBook
from api.settings import Settings
from api.store import Store

log = logging.getLogger("villagegrid.scheduler")


def _job_id(site: str) -> str:
    return f"auto-plan:{site}"


class AutoPlanner:
    def __init__(self, settings: Settings, sites: SiteBook, plan_service: PlanService,
                 clock: Callable[[], datetime], store: Store,
                 on_moved: Callable[[str], None] = lambda site: None):
        from apscheduler.schedulers.background import BackgroundScheduler

        self._store = store
        self._me = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._settings = settings
        self._sites = sites
        self._plan_service = plan_service
        self._clock = clock
        self._store = store
        self._on_moved = on_moved
        self._scheduler = BackgroundScheduler(timezone=UTC)
        #: this process, as its claims name it
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        wait_s = settings.solve_time_limit_s + settings.solve_wait_margin_s
        self._lease = timedelta(seconds=2 * wait_s)
        self._executor = SerialExecutor(
            call=lambda fn, item: plan_service.pool.run(fn, item, wait_s=wait_s),
            description="the service's solve pool",
        )

    def start(self) -> None:
        for row in self._sites.list_latest():
            self.schedule(row.site, self._sites.site(row).location.timezone)
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def schedule(self, site: str, timezone: str) -> None:
        """Add or move the site's job to the configured local time in ``timezone``."""
        from apscheduler.triggers.cron import CronTrigger

        hour, minute = self._settings.auto_plan_hour_minute
        self._scheduler.add_job(
            self.run_site, CronTrigger(hour=hour, minute=minute, timezone=timezone),
            args=[site], id=_job_id(site), replace_existing=True, misfire_grace_time=3600,
            coalesce=True, max_instances=1,
        )

    def run_site(self, site: str) -> dict[str, Any] | None:
        """The job: claim and plan the site's next day; returns the plan's summary, or None
        when another process holds the claim or the plan failed (logged; the current plan
        stays)."""
        now = self._clock()
        try:
            spec, _ = self._sites.latest(site)
        except ServiceError as exc:
            log.warning("automatic plan of %s failed: %s", site, exc.message)
            return None
        day = local_day(spec, now) + timedelta(days=1)
        if not self._store.claim(site, day, self.name, now, stale_before=now - self._lease):
            log.info("automatic plan of %s for %s: claimed by another process", site, day)
            return None
        goal, _ = self._plan_service.goal_of(site, day)  # the goal of the plan it replaces
        try:
            member = Roster.of([spec])
            run = plan_fleet(member, day, self._executor, self._settings.database_url, now=now,
                             time_limit_s=self._settings.solve_time_limit_s, kind="auto",
                             goals={site: goal})
            row = run.table.iloc[0]
        except Exception:
            self._store.release_claim(site, day, self.name)
            raise
        if row.get("stored") not in ("new", "existing"):
            # a failed plan gives its claim back, so a later run may try again
            self._store.release_claim(site, day, self.name)
            log.warning("automatic plan of %s failed: %s: %s", site, row.get("status"),
                        row.get("reason"))
            return None
        self._store.finish_claim(site, day, self.name, self._clock())
        if row["current"]:
            self._on_moved(site)
        return PlanBook(self._store).summary(str(row["plan_id"]))

    def jobs(self) -> list[dict[str, Any]]:
        return [
            {"site": job.args[0], "next_run_time": getattr(job, "next_run_time", None)}
            for job in self._scheduler.get_jobs()
        ]
