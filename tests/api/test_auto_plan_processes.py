"""Automatic planning with several server processes on one database: each site-day is
planned once, and a site registered through one process is scheduled by all."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from api.services.keys import create_key
from api.store import PlanRow, Store
from tests.api.conftest import NOW, SITE, SITE_YAML, Api
from tests.api.servers import start_servers

GENEROUS_S = 30.0


def test_two_schedulers_plan_a_site_day_once(make_api: Callable[..., Api]) -> None:
    first, second = make_api(), make_api()
    first.put_site()
    barrier = threading.Barrier(2)
    results: list[object] = []

    def run(api: Api) -> None:
        barrier.wait()
        results.append(api.app.state.services.auto.run_site(SITE))

    threads = [threading.Thread(target=run, args=(api,)) for api in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    made = [r for r in results if r is not None]
    assert len(made) == 1 and made[0]["kind"] == "auto"  # type: ignore[index]
    with first.app.state.services.store.reader() as s:
        assert s.scalar(select(func.count()).select_from(PlanRow).where(
            PlanRow.kind == "auto")) == 1
    # the next run of the same day is skipped too; a manual trigger still plans
    assert second.app.state.services.auto.run_site(SITE) is None
    r = second.client.post(f"/v1/sites/{SITE}/plans/auto", headers=second.auth())
    assert r.status_code == 201


def test_a_failed_automatic_plan_gives_its_claim_back(api: Api) -> None:
    api.put_site()
    pool = api.app.state.services.plan_service.pool
    pool.close()  # every solve fails now
    assert api.app.state.services.auto.run_site(SITE) is None
    api.app.state.services.plan_service.pool = type(pool)(api.settings)  # a working pool again
    assert api.app.state.services.auto.run_site(SITE) is not None


def test_a_site_registered_in_one_process_is_scheduled_in_the_other(db_url: str,
                                                                    tmp_path: Path) -> None:
    store = Store(db_url)
    manager = create_key(store, "manager", None, NOW)[1]
    store.dispose()
    a, b = start_servers(db_url, tmp_path, 2, scheduler_enabled="true",
                         dispatch_cache_ttl_s=0.5)
    try:
        auth = {"Authorization": f"Bearer {manager}"}
        assert b.client.get("/v1/scheduler/jobs", headers=auth).json() == []
        r = a.client.post("/v1/sites", content=SITE_YAML,
                          headers={**auth, "Content-Type": "application/yaml"})
        assert r.status_code == 201, r.text
        deadline = time.monotonic() + GENEROUS_S
        while time.monotonic() < deadline:
            jobs = b.client.get("/v1/scheduler/jobs", headers=auth).json()
            if jobs:
                break
            time.sleep(0.1)
        assert [j["site"] for j in jobs] == [SITE] and jobs[0]["next_run_time"]
    finally:
        a.stop()
        b.stop()
