"""Automatic planning: each site's next local day is planned at a configured local time.

APScheduler 3's ``BackgroundScheduler`` runs one cron job per site, in the site's own time
zone. Run one scheduler per database: with several server processes, enable it in one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from api.services.errors import ServiceError
from api.services.planning import Planner
from api.services.sites import SiteBook
from api.settings import Settings

log = logging.getLogger("villagegrid.scheduler")


def _job_id(site: str) -> str:
    return f"auto-plan:{site}"


class AutoPlanner:
    def __init__(self, settings: Settings, sites: SiteBook, planner: Planner,
                 clock: Callable[[], datetime]):
        from apscheduler.schedulers.background import BackgroundScheduler

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

    def run_site(self, site: str) -> dict[str, Any] | None:
        """The job: plan the site's next day; failures are logged, the current plan stays."""
        try:
            return self._planner.plan_tomorrow(site, self._clock())
        except ServiceError as exc:
            log.warning("automatic plan of %s failed: %s", site, exc.message)
            return None

    def jobs(self) -> list[dict[str, Any]]:
        return [
            {"site": job.args[0], "next_run_time": getattr(job, "next_run_time", None)}
            for job in self._scheduler.get_jobs()
        ]
