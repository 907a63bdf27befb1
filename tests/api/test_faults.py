"""Controllers are never left without setpoints: a dead solve worker is replaced, dispatch
works without the solve pool and without the database, a full SQLite disk and a lost
database get a clear JSON answer with Retry-After, and workers end with their server."""

from __future__ import annotations

import logging
import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from api.store import PlanRow, Store
from tests.api.conftest import SITE, Api
from tests.api.proxy import Proxy
from tests.api.servers import Server

GENEROUS_S = 30.0


def _wait_gone(pids: list[int]) -> list[int]:
    """PIDs still alive (not a zombie) after waiting up to GENEROUS_S for them to end."""
    deadline = time.monotonic() + GENEROUS_S
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _alive(p)]
        time.sleep(0.1)
    return alive


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_dead_idle_worker_is_replaced_and_plans_work_again(make_api: Callable[..., Api]
                                                             ) -> None:
    api = make_api(plan_pool="process", plan_workers=1)
    api.put_site()
    api.plan({"date": "2026-07-01"})
    pool = api.app.state.services.plan_service.pool
    victims = pool.worker_pids()
    assert victims
    for pid in victims:
        os.kill(pid, signal.SIGKILL)  # the worker is idle: nothing is solving
    assert _wait_gone(victims) == []
    made = api.plan({"date": "2026-07-02"})  # not 503: the pool was rebuilt
    assert made["status"] == "optimal"
    ready = api.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["solve_pool_rebuilt"] >= 1
    assert not set(victims) & set(pool.worker_pids())


def test_dispatch_does_not_need_the_solve_pool(api: Api) -> None:
    api.put_site()
    api.app.state.services.plan_service.pool.close()  # no solve can run any more
    r = api.dispatch()
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["fallback"] and doc["stale"] and len(doc["intervals"]) == 4
    # the rule-based plan balances the bus like any plan: it is real setpoints
    assert all(doc["setpoints"][name] for name in ("households", "grid"))
    plans = api.client.post(f"/v1/sites/{SITE}/plans", json={"date": "2026-07-01"},
                            headers=api.auth())
    assert plans.status_code == 503 and "Retry-After" in plans.headers


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # SQLite's max_page_count
def test_a_full_sqlite_disk_gets_507_and_nothing_half_written(api: Api, db_url: str) -> None:
    api.put_site()
    store: Store = api.app.state.services.store
    engine = store._write_engine

    def tiny(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count={pages}")

    event.listen(engine, "connect", tiny)
    engine.dispose()
    with store.reader() as s:
        before = s.scalar(select(func.count()).select_from(PlanRow))
    r = api.client.post(f"/v1/sites/{SITE}/plans", json={"date": "2026-07-01"},
                        headers=api.auth())
    assert r.status_code == 507, r.text
    assert "full" in r.json()["detail"] and r.headers["Retry-After"]
    with store.reader() as s:
        assert s.scalar(select(func.count()).select_from(PlanRow)) == before
    ready = api.client.get("/readyz")
    assert ready.status_code == 503 and "full" in ready.json()["detail"]
    assert api.dispatch().status_code == 200  # the fallback is served from memory
    event.remove(engine, "connect", tiny)
    engine.dispose()
    api.plan({"date": "2026-07-01"})
    assert api.client.get("/readyz").status_code == 200


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # cut as a TCP connection
def test_a_lost_database_gets_503_json_and_recovers(
    make_api: Callable[..., Api], db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = Proxy(5432)
    proxy.start()
    url = re.sub(r"@127\.0\.0\.1:5432/", f"@127.0.0.1:{proxy.port}/", db_url)
    served = make_api(database_url=url, dispatch_cache_ttl_s=0.2)
    served.put_site()
    served.plan({"date": "2026-07-01"})
    assert served.dispatch().status_code == 200
    caplog.set_level(logging.WARNING, logger="villagegrid.api")
    proxy.stop()
    try:
        answers = [served.client.get("/v1/sites", headers=served.auth()) for _ in range(20)]
        for r in answers:
            assert r.status_code == 503, r.text
            assert r.json()["detail"] == "the database is unavailable; retry shortly"
            assert int(r.headers["Retry-After"]) > 0
        # the controller keeps its setpoints, for now and for a later moment of the day
        assert served.dispatch().status_code == 200
        later = served.dispatch(at="2026-07-01T18:00:00+08:00")
        assert later.status_code == 200 and later.json()["plan_id"]
        assert served.client.get("/readyz").status_code == 503
        outages = [rec for rec in caplog.records if "unreachable" in rec.getMessage()]
        assert len(outages) == 1, [rec.getMessage() for rec in caplog.records]
    finally:
        proxy.start()
    deadline = time.monotonic() + GENEROUS_S
    while served.client.get("/v1/sites", headers=served.auth()).status_code != 200:
        assert time.monotonic() < deadline, "the service did not recover"
        time.sleep(0.2)
    assert served.client.get("/readyz").status_code == 200
    proxy.stop()


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(p) for p in text]
    return found


def test_solve_workers_end_when_the_server_is_killed(tmp_path: Path) -> None:
    server = Server(f"sqlite:///{tmp_path / 'v.db'}", tmp_path, plan_pool="process",
                    plan_workers=2)
    try:
        server.wait_ready()
        deadline = time.monotonic() + GENEROUS_S
        while len(_children(server.process.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)  # two workers and the resource tracker
        children = _children(server.process.pid)
        assert len(children) >= 2, children
    finally:
        server.stop(signal.SIGKILL)
    assert _wait_gone(children) == []
