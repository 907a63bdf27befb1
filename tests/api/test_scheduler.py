"""Automatic planning: a job per site at the configured local time, and a manual trigger."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from tests.api.conftest import SITE, Api


def test_each_site_gets_a_job_at_the_local_time(make_api: Callable[..., Api]) -> None:
    api = make_api(scheduler_enabled=True, auto_plan_local_time="17:30")
    api.put_site()
    jobs = api.client.get("/v1/scheduler/jobs", headers=api.auth()).json()
    assert [j["site"] for j in jobs] == [SITE]
    when = datetime.fromisoformat(jobs[0]["next_run_time"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert (when.hour, when.minute) == (17, 30)


def test_manual_trigger_plans_tomorrow(api: Api) -> None:
    api.put_site()
    r = api.client.post(f"/v1/sites/{SITE}/plans/auto", headers=api.auth())
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["local_day"] == "2026-07-02" and made["kind"] == "auto" and made["current"]


def test_scheduled_jobs_survive_a_restart(make_api: Callable[..., Api]) -> None:
    first = make_api()
    first.put_site()
    first.close()
    second = make_api(scheduler_enabled=True)
    jobs = second.client.get("/v1/scheduler/jobs", headers=second.auth()).json()
    assert [j["site"] for j in jobs] == [SITE] and jobs[0]["next_run_time"]


def test_the_scheduled_job_plans_the_next_local_day(api: Api) -> None:
    """What the cron trigger runs: at 23:30 UTC on 1 July it is already 2 July in China."""
    api.put_site()
    api.clock.now = datetime(2026, 7, 1, 23, 30, tzinfo=ZoneInfo("UTC"))
    made = api.app.state.services.auto.run_site(SITE)
    assert made is not None and made["local_day"].isoformat() == "2026-07-03" and made["current"]
    assert api.app.state.services.auto.run_site("no-such-site") is None  # logged, not raised
