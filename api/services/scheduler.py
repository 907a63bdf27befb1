"""Automatic planning: each site's next local day is planned at a configured local time.

APScheduler 3's ``BackgroundScheduler`` runs one cron job per site, in the site's own time
zone. Any number of server processes may run it on one database: before planning a site's
day, a process claims it with a row in ``auto_plan_claims`` (site, local day); the others
find the row and skip. A plan that fails gives its claim back, so a later run may try again.
Sites registered through another process are scheduled when the change feed reports them.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from api.services.errors import ServiceError
from api.services.planning import Planner, local_day
from api.services.sites import SiteBook
from api.settings import Settings
from api.store import AutoPlanClaim, Store

log = logging.getLogger("villagegrid.scheduler")


def _job_id(site: str) -> str:
    return f"auto-plan:{site}"


class AutoPlanner:
    def __init__(self, settings: Settings, sites: SiteBook, planner: Planner,
                 clock: Callable[[], datetime], store: Store):
        from apscheduler.schedulers.background import BackgroundScheduler

        self._store = store
        self._me = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._settings = settings
        self._sites = sites
        self._planner = planner
        self._clock = clock
        self._scheduler = BackgroundScheduler(timezone=UTC)

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

    def _claim(self, site: str, day: date, now: datetime) -> bool:
        """True if this process may plan (site, day): it inserted the claim row."""
        try:
            with self._store.writer() as s:
                s.add(AutoPlanClaim(site=site, local_day=day, claimed_by=self._me,
                                    claimed_at=now))
        except IntegrityError:
            return False
        return True

    def _release(self, site: str, day: date) -> None:
        with self._store.writer() as s:
            s.execute(delete(AutoPlanClaim).where(
                AutoPlanClaim.site == site, AutoPlanClaim.local_day == day,
                AutoPlanClaim.claimed_by == self._me))

    def run_site(self, site: str) -> dict[str, Any] | None:
        """The job: plan the site's next day, if no other process claimed it; failures are
        logged, the current plan stays."""
        now = self._clock()
        try:
            tomorrow = local_day(self._sites.latest(site)[0], now) + timedelta(days=1)
            if not self._claim(site, tomorrow, now):
                log.info("automatic plan of %s for %s is made by another process", site,
                         tomorrow)
                return None
        except (ServiceError, SQLAlchemyError) as exc:
            log.warning("automatic plan of %s not started: %s", site, exc)
            return None
        try:
            return self._planner.plan_tomorrow(site, now)
        except ServiceError as exc:
            log.warning("automatic plan of %s failed: %s", site, exc.message)
            self._release(site, tomorrow)
            return None

    def jobs(self) -> list[dict[str, Any]]:
        return [
            {"site": job.args[0], "next_run_time": getattr(job, "next_run_time", None)}
            for job in self._scheduler.get_jobs()
        ]
