"""Plans: JSON/CSV round trips, metadata, re-plans, and a cheap ``import optimizer``."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from optimizer.plan import Plan
from optimizer.planner import Planner, make_plan
from optimizer.state import State
from tests.optimizer.devices.test_battery import battery
from tests.optimizer.toy import check, grid, index, inputs, load, pv, toy_site

PRICES = [0.3, 0.3, 1.0, 1.0]


def _site():
    return toy_site(grid(max_export_kw=5, export_price_per_kwh=0.1), load(), pv(), battery())


def _plan(**kw):
    site = _site()
    idx = index(site, 4)
    given = inputs(
        site,
        idx,
        grid__import_price_per_kwh=PRICES,
        load__forecast_kw=[2, 2, 6, 6],
        pv__available_kw=[0, 4, 3, 0],
    )
    return site, make_plan(site, idx, given, now=datetime(2026, 6, 30, 12, tzinfo=UTC), **kw)


def test_metadata_and_table():
    site, p = _plan()
    check(site, p)
    assert p.status == "optimal" and p.solver.startswith("HiGHS")
    assert p.start.isoformat() == "2026-07-01T00:00:00+08:00"
    assert p.end.isoformat() == "2026-07-01T04:00:00+08:00"
    assert p.step_minutes == 60 and p.site == "toy"
    assert str(p.table.index.tz) == "UTC" and p.table.index.name == "start"
    for column in (
        "pv.pv_kw",
        "bat.soc_kwh",
        "grid.import_kw",
        "unserved_kw",
        "cost",
        "emissions_kgco2",
        "marginal_price_per_kwh",
        "pv.available_kw",
    ):
        assert column in p.table.columns


def test_json_round_trip_keeps_everything():
    _, p = _plan()
    data = json.loads(p.to_json())
    assert set(data) == {"metadata", "records"}
    assert data["records"][0]["start"] == "2026-07-01T00:00:00+08:00"
    assert data["metadata"]["created_at"] == "2026-06-30T12:00:00+00:00"
    back = Plan.from_dict(data)
    pd.testing.assert_frame_equal(back.table, p.table, check_freq=False)
    assert back.start == p.start and back.objective_terms == pytest.approx(p.objective_terms)
    assert back.plan_id == p.plan_id and back.status == p.status


def test_csv_holds_the_metadata_and_the_table():
    _, p = _plan()
    text = p.to_csv()
    meta = dict(line[2:].split(": ", 1) for line in text.splitlines() if line.startswith("# "))
    assert json.loads(meta["status"]) == "optimal"
    frame = pd.read_csv(pd.io.common.StringIO(text), comment="#", index_col="start")
    assert list(frame.columns) == list(p.table.columns)
    assert np.allclose(frame.to_numpy(), p.table.to_numpy(), atol=1e-8, equal_nan=True)


def test_replan_reuses_the_model_and_matches_a_fresh_plan():
    site = _site()
    idx = index(site, 4)
    planner = Planner()
    first = inputs(site, idx, grid__import_price_per_kwh=PRICES, load__forecast_kw=2)
    planner.plan(site, idx, first)
    assert "build_s" in planner.last_timings
    second = inputs(
        site,
        idx,
        grid__import_price_per_kwh=[1.0, 0.2, 0.2, 2.0],
        load__forecast_kw=[1, 5, 2, 7],
        pv__available_kw=[0, 1, 2, 0],
    )
    state = State(battery_soc_kwh={"bat": 3.0})
    again = planner.plan(site, idx, second, state)
    assert "build_s" not in planner.last_timings and "refresh_s" in planner.last_timings
    fresh = make_plan(site, idx, second, state)
    check(site, again, state)
    assert again.objective_terms["objective"] == pytest.approx(fresh.objective_terms["objective"])


def test_created_at_needs_an_aware_now():
    from optimizer.errors import PlanningError

    site = _site()
    idx = index(site, 2)
    with pytest.raises(PlanningError, match="now must be timezone-aware"):
        make_plan(site, idx, inputs(site, idx), now=datetime(2026, 7, 1))


def test_import_optimizer_does_not_import_pyomo():
    # only pyomo.common.dependencies, to keep scipy.stats out (optimizer/__init__.py)
    code = "import sys, optimizer; print('pyomo.environ' in sys.modules, 'highspy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_a_plan_in_a_fresh_process_does_not_import_scipy_stats():
    # Pyomo's scipy callback would import scipy.stats (~0.4 s) that planning never uses
    code = (
        "import sys\n"
        "from datetime import date\n"
        "from optimizer.planner import make_plan\n"
        "from sites.load import load_site\n"
        "from sites.timeindex import day_index\n"
        "site = load_site('sites/demo_village.yaml')\n"
        "plan = make_plan(site, day_index(site, date(2026, 7, 1)))\n"
        "print(plan.status, 'scipy.sparse' in sys.modules, 'scipy.stats' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["optimal", "True", "False"]


def test_planners_with_different_thread_counts_coexist():
    # HiGHS keeps one scheduler per process; a new thread count must reset it first
    site = _site()
    idx = index(site, 4)
    given = inputs(site, idx, grid__import_price_per_kwh=PRICES, load__forecast_kw=2)
    one = Planner(threads=1).plan(site, idx, given)
    two = Planner(threads=2).plan(site, idx, given)
    assert one.status == two.status == "optimal"
    assert one.objective_terms["objective"] == pytest.approx(two.objective_terms["objective"])
