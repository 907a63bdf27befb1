"""The nightly auto-plan runs through the fleet runner; two service processes on one
PostgreSQL database plan each site's night exactly once between them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from api.services.sites import SiteBook
from api.store import PlanClaim, PlanRow, Store
from sites.load import load_site
from tests.api.fleet.conftest import NOW

ROOT = Path(__file__).parents[3]
#: Longest a service process of the test may take [s] (imports, four plans, on busy cores).
PROCESS_TIMEOUT_S = 300


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_service_processes_plan_each_night_once(
    county: Path, db_url: str, tmp_path: Path, open_store: Callable[[str], Store]
) -> None:
    store = open_store(db_url)
    names = []
    for file in sorted(county.glob("*.yaml"))[:4]:
        site = load_site(file)
        SiteBook(store).put(site, NOW)
        names.append(site.name)
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    command = [sys.executable, "-m", "tests.api.fleet.nightly_node", db_url, NOW.isoformat(),
               str(barrier), "2", *names]
    procs = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    answers = []
    for proc in procs:
        out, err = proc.communicate(timeout=PROCESS_TIMEOUT_S)
        assert proc.returncode == 0, err
        answers.append(json.loads(out.strip().splitlines()[-1]))
    for name in names:
        made = [a["planned"][name] for a in answers]
        assert sum(m is not None for m in made) == 1, (name, made)  # one process planned it
    with store.reader() as s:
        plans = s.execute(select(PlanRow.site, PlanRow.plan_id, PlanRow.kind,
                                 PlanRow.local_day)).all()
        claims = s.scalars(select(PlanClaim)).all()
        assert sorted(p.site for p in plans) == sorted(names)  # one stored plan per site
        assert {p.kind for p in plans} == {"auto"}
        for p in plans:
            assert p.local_day == NOW.date() + timedelta(days=1)
            assert store.pointer(s, p.site, p.local_day) == p.plan_id
    assert sorted(c.site for c in claims) == sorted(names)
    assert {c.claimed_by for c in claims} <= {a["name"] for a in answers}
    assert all(c.finished_at is not None for c in claims)


def test_a_claim_is_taken_once_and_over_only_when_stale(db_url: str,
                                                        open_store: Callable[[str], Store]) -> None:
    store = open_store(db_url)
    day = NOW.date()
    assert store.claim("v", day, "a", NOW, stale_before=NOW - timedelta(minutes=5))
    assert not store.claim("v", day, "b", NOW, stale_before=NOW - timedelta(minutes=5))
    later = NOW + timedelta(minutes=10)  # a's process died: its claim went stale
    assert store.claim("v", day, "b", later, stale_before=later - timedelta(minutes=5))
    store.finish_claim("v", day, "a", later)  # a no longer holds it: nothing changes
    store.finish_claim("v", day, "b", later)
    much_later = later + timedelta(hours=1)
    assert not store.claim("v", day, "c", much_later, stale_before=much_later)  # done
