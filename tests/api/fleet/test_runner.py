"""Fleet plans: the same plans serially and on Dask, each stored once, whatever dies or hangs."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.fleet import roster as rosters
from api.fleet import tasks
from api.fleet.executor import DaskExecutor, Lost, SerialExecutor
from api.fleet.runner import plan_fleet, rollup, run_members, simulate_fleet
from api.store import CurrentPlan, PlanRow, Store
from optimizer.plan import Plan
from sites.load import site_from_data
from tests.api.fleet.conftest import COUNTY, DAY, NOW, write_site
from tests.optimizer.invariants import assert_plan_invariants


def plans_per_site(store: Store) -> dict[str, int]:
    with store.reader() as s:
        return dict(s.execute(select(PlanRow.site, func.count()).group_by(PlanRow.site)).all())


def pointers(store: Store) -> list[tuple]:
    with store.reader() as s:
        return sorted(s.execute(select(CurrentPlan.site, CurrentPlan.local_day,
                                       CurrentPlan.plan_id, CurrentPlan.updated_at)).all())


def test_a_folder_is_filtered_by_county_and_township(county: Path) -> None:
    everyone = rosters.from_folder(county)
    assert sorted(m.name for m in everyone.members) == sorted(r[1] for r in COUNTY)
    fugong = rosters.from_folder(county, county="Fugong County")
    assert sorted(m.name for m in fugong.members) == ["hamlet-a", "hamlet-b", "hamlet-c"]
    town = rosters.from_folder(county, county="Fugong County", township="Shangpa Town")
    assert [m.name for m in town.members] == ["hamlet-c"]
    assert town.members[0].spec["name"] == "hamlet-c"  # JSON data, what a task receives


def test_bad_and_repeated_files_are_rejected_with_their_reason(county: Path) -> None:
    (county / "broken.yaml").write_text("name: broken\nlocation: {}\n", encoding="utf-8")
    elsewhere = county.parent / "elsewhere"
    elsewhere.mkdir()
    twin = write_site(elsewhere, "mountain_hamlet.yaml", "hamlet-a", "X", "Y", 1.0)
    twin.rename(county / "zz-twin.yaml")
    found = rosters.from_folder(county)
    reasons = {Path(r.source).name: r.reason for r in found.rejected}
    assert "location.latitude" in reasons["broken.yaml"]
    assert "already used by" in reasons["zz-twin.yaml"]
    assert len(found.members) == len(COUNTY)


def test_serial_and_dask_runs_store_the_same_plans(
    county: Path, tmp_path: Path, cluster: DaskExecutor, open_store: Callable[[str], Store]
) -> None:
    found = rosters.from_folder(county)
    urls = {"serial": f"sqlite:///{tmp_path / 'serial.db'}",
            "dask": f"sqlite:///{tmp_path / 'dask.db'}"}
    serial = plan_fleet(found, DAY, SerialExecutor(), urls["serial"], now=NOW)
    dask = plan_fleet(found, DAY, cluster, urls["dask"], now=NOW)
    assert set(dask.table["worker_pid"]) != {os.getpid()}  # the work ran in the workers
    assert (serial.table["status"] == "optimal").all() and (dask.table["status"] == "optimal").all()
    a, b = serial.table.set_index("site"), dask.table.set_index("site")
    assert (a["plan_id"] == b.loc[a.index, "plan_id"]).all()
    assert a["cost"].to_numpy() == pytest.approx(b.loc[a.index, "cost"].to_numpy(), abs=1e-6)
    store = open_store(urls["dask"])
    with store.reader() as s:
        for row in s.scalars(select(PlanRow)):
            plan = Plan.from_dict(json.loads(row.plan_json))
            spec = next(m.spec for m in found.members if m.name == row.site)
            assert_plan_invariants(site_from_data(spec), plan)  # energy balance, bounds
            assert store.pointer(s, row.site, row.local_day) == row.plan_id
    summed = rollup(dask.table).set_index("county")
    assert summed.loc["Fugong County", "sites"] == 3
    assert summed["cost"].sum() == pytest.approx(dask.table["cost"].sum())


def test_a_worker_killed_mid_run_loses_nothing_and_doubles_nothing(
    county: Path, sqlite_url: str, cluster: DaskExecutor, open_store: Callable[[str], Store]
) -> None:
    found = rosters.from_folder(county)
    killed: list[tuple[str, int, int]] = []

    def kill_a_busy_worker(row: dict) -> None:
        if killed:
            return
        busy = {w: keys for w, keys in cluster.client.processing().items() if keys}
        if not busy:  # nothing in hand right now: try again at the next result
            return
        pids = cluster.worker_pids()
        worker = next(iter(busy))
        os.kill(pids[worker], signal.SIGKILL)
        killed.append((worker, pids[worker], len(busy[worker])))

    run = plan_fleet(found, DAY, cluster, sqlite_url, now=NOW, on_row=kill_a_busy_worker)
    assert killed and killed[0][2] >= 1  # the killed worker had a task in hand
    assert sorted(run.table["site"]) == sorted(m.name for m in found.members)
    assert (run.table["status"] == "optimal").all(), run.table[["site", "status", "reason"]]
    assert plans_per_site(open_store(sqlite_url)) == {m.name: 1 for m in found.members}
    assert killed[0][1] not in cluster.worker_pids().values()  # the nanny started a new one


def test_rerunning_a_night_is_idempotent_until_a_site_changes(
    county: Path, db_url: str, open_store: Callable[[str], Store]
) -> None:
    first = plan_fleet(rosters.from_folder(county), DAY, SerialExecutor(), db_url, now=NOW)
    assert set(first.table["stored"]) == {"new"}
    store = open_store(db_url)
    before = pointers(store)
    later = NOW + timedelta(hours=1)
    again = plan_fleet(rosters.from_folder(county), DAY, SerialExecutor(), db_url, now=later)
    assert set(again.table["stored"]) == {"existing"}
    assert pointers(store) == before and plans_per_site(store) == {r[1]: 1 for r in COUNTY}
    write_site(county, "mountain_hamlet.yaml", "hamlet-b", "Fugong County", "Lishadi Township",
               1.5)  # hamlet-b's loads grow: its inputs changed
    changed = plan_fleet(rosters.from_folder(county), DAY, SerialExecutor(), db_url,
                         now=later).table.set_index("site")
    assert changed.loc["hamlet-b", "stored"] == "new" and changed.loc["hamlet-b", "current"]
    assert (changed.drop(index="hamlet-b")["stored"] == "existing").all()
    after = {p[0]: p for p in pointers(store)}
    assert after["hamlet-b"][2] == changed.loc["hamlet-b", "plan_id"] != first.table.set_index(
        "site").loc["hamlet-b", "plan_id"]
    assert [after[p[0]] for p in before if p[0] != "hamlet-b"] == [
        p for p in before if p[0] != "hamlet-b"]
    assert plans_per_site(store)["hamlet-b"] == 2


def test_a_hanging_site_is_cut_at_its_limit_and_falls_back(
    county: Path, sqlite_url: str, cluster: DaskExecutor, open_store: Callable[[str], Store]
) -> None:
    """One site asks for 60 days with 0.05 s; the rest plan a day with a minute each."""
    found = rosters.from_folder(county, county="Fugong County")
    items = [{"spec": m.spec, "date": DAY.isoformat(), "days": 1, "mode": "cost",
              "time_limit_s": 60.0, "kind": "fleet", "now": NOW.isoformat()}
             for m in found.members]
    items[0] = {**items[0], "days": 60, "time_limit_s": 0.05}
    run = run_members(partial(tasks.plan_site, database_url=sqlite_url), found, items, cluster,
                      kind="plan").table.set_index("site")
    hung = found.members[0].name
    assert run.loc[hung, "status"] == "fallback" and "time limit of 0.05 s" in run.loc[hung,
                                                                                     "reason"]
    assert not run.loc[hung, "current"]  # a fallback is stored, never made current
    assert (run.drop(index=hung)["status"] == "optimal").all()
    store = open_store(sqlite_url)
    with store.reader() as s:
        row = s.get(PlanRow, run.loc[hung, "plan_id"])
        assert row is not None and row.status == "fallback"
        assert row.end - row.start == timedelta(days=60)


def test_a_failing_site_is_reported_and_the_others_are_planned(
    county: Path, sqlite_url: str
) -> None:
    found = rosters.from_folder(county, county="Fugong County")
    bad = replace(found.members[0], spec={**found.members[0].spec, "step_minutes": 7})
    found.members[0] = bad
    table = plan_fleet(found, DAY, SerialExecutor(), sqlite_url, now=NOW).table.set_index("site")
    assert table.loc[bad.name, "status"] == "failed"
    assert "step_minutes" in table.loc[bad.name, "reason"]
    assert (table.drop(index=bad.name)["status"] == "optimal").all()


def fail_on_two(x: int, *, offset: int) -> int:
    if x == 2:
        raise ValueError("two is refused")
    return x + offset


@pytest.mark.parametrize("where", ["serial", "dask"])
def test_a_task_error_is_returned_as_lost_or_raised(where: str, cluster: DaskExecutor) -> None:
    executor = cluster if where == "dask" else SerialExecutor()
    seen: list[int] = []
    out = executor.map(fail_on_two, [1, 2, 3], shared={"offset": 10}, errors="return",
                       on_result=lambda i, _v: seen.append(i))
    assert out[0] == 11 and out[2] == 13 and sorted(seen) == [0, 1, 2]
    assert isinstance(out[1], Lost) and "two is refused" in out[1].reason
    with pytest.raises(ValueError, match="two is refused"):
        executor.map(fail_on_two, [1, 2, 3], shared={"offset": 10})


def test_a_study_gets_the_weather_once_and_gives_the_serial_figures(
    county: Path, cluster: DaskExecutor
) -> None:
    from forecasting.weather import read_any_weather

    found = rosters.from_folder(county, county="Fugong County", township="Lishadi Township")
    weather = read_any_weather("pvlib:723170TYA.CSV")
    runs = [simulate_fleet(found, weather, DAY, 1, executor, baseline=False).table
            for executor in (SerialExecutor(), cluster)]
    serial, dask = (r.set_index("site").sort_index() for r in runs)
    assert list(serial.index) == ["hamlet-a", "hamlet-b"] and (dask["status"] == "optimal").all()
    assert dask["cost"].to_numpy() == pytest.approx(serial["cost"].to_numpy(), abs=1e-6)
    assert serial.loc["hamlet-b", "cost"] > serial.loc["hamlet-a", "cost"]  # more load, dearer
