"""Closed-loop studies: plans on forecasts, operated on the actual inputs, re-planned."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from forecasting.variants import make_forecast, persisted, uncertain_columns
from optimizer.studies import closed_loop as cl
from optimizer.studies.simulation import period_inputs, simulate
from sites.load import load_site
from tests.optimizer.invariants import expected_accounts, plan_problems

FIRST = date(2026, 3, 10)
DAYS = 2


@pytest.fixture(scope="module")
def hamlet() -> tuple:
    site = load_site("sites/mountain_hamlet.yaml")
    actual = period_inputs(site, FIRST - timedelta(days=1), DAYS + 1, None)
    return site, actual


def test_perfect_forecast_without_replans_is_the_day_by_day_simulation(hamlet: tuple) -> None:
    site, actual = hamlet
    run = cl.closed_loop(site, actual, make_forecast(site, actual, "perfect"), FIRST, DAYS,
                         replan="none")
    sim = simulate(site, actual, FIRST, DAYS)
    columns = [c for c in sim.table.columns if c != "marginal_price_per_kwh"]
    np.testing.assert_allclose(run.table[columns], sim.table[columns], atol=1e-6)
    assert run.statuses == ["optimal"] * DAYS


def test_hourly_replans_on_a_noisy_forecast(hamlet: tuple) -> None:
    site, actual = hamlet
    forecast = make_forecast(site, actual, "noisy:0.3")
    run = cl.closed_loop(site, actual, forecast, FIRST, DAYS, replan="hourly")
    assert len(run.statuses) == 24 * DAYS and run.failed == 0
    table = run.table
    assert len(table) == 24 * DAYS and table.index.is_monotonic_increasing
    # physics and book-keeping of a plan, the horizon-end targets aside (they are the plans')
    problems = [p for p in plan_problems(site, table) if "end-of-horizon" not in p]
    assert not problems
    # the figures are the realised intervals' costs, recomputed from the formulation
    cost, emissions = expected_accounts(site, table)
    got = cl.figures(site, run)
    assert got["cost"] == pytest.approx(float(np.sum(cost)), rel=1e-9)
    assert got["emissions_kgco2"] == pytest.approx(float(np.sum(emissions)), rel=1e-9)
    # never less load served than the rules on the same actual inputs
    rules = cl.figures(site, cl.rules_operation(site, actual, FIRST, DAYS))
    assert got["unserved_kwh"] <= rules["unserved_kwh"] + 1e-6
    # the chargers follow the plans and every vehicle leaves with its energy (a vehicle
    # still plugged in at the end of an operated hour owes nothing yet)
    assert table["hamlet-chargers.unmet_kw"].to_numpy() == pytest.approx(0, abs=1e-6)
    # the error differs from the plans: the realised PV is the actual one
    np.testing.assert_allclose(table["hamlet-roofs.available_kw"],
                               actual.loc[table.index, "hamlet-roofs.available_kw"])


def test_comparison_share_of_the_perfect_saving() -> None:
    assert cl.kept_share(100.0, 80.0, 60.0) == pytest.approx(0.5)
    assert cl.kept_share(100.0, 60.0, 60.0) == pytest.approx(1.0)
    assert np.isnan(cl.kept_share(100.0, 90.0, 100.0))


def test_persistence_reads_only_the_past(hamlet: tuple) -> None:
    site, actual = hamlet
    sources, loads = uncertain_columns(site, actual)
    assert sources == ["hamlet-roofs.available_kw"] and loads
    index = actual.index[30:60]
    issued = index[0]
    before = persisted(actual, sources + loads, index, issued)
    changed = actual.copy()
    changed.loc[changed.index >= issued, sources + loads] *= 3.0
    after = persisted(changed, sources + loads, index, issued)
    pd.testing.assert_frame_equal(before, after)
    # the interval under way comes from one day earlier; a day later, two days earlier
    day = pd.Timedelta(days=1)
    assert before.loc[index[0], sources[0]] == actual.loc[index[0] - day, sources[0]]
    assert before.loc[index[0] + day, sources[0]] == actual.loc[index[0] - day, sources[0]]


def test_noisy_forecast_is_seeded_and_within_limits(hamlet: tuple) -> None:
    site, actual = hamlet
    a = make_forecast(site, actual, "noisy:0.5")(actual.index[:48], actual.index[0])
    b = make_forecast(site, actual, "noisy:0.5")(actual.index[:48], actual.index[0])
    pd.testing.assert_frame_equal(a, b)
    pv = "hamlet-roofs.available_kw"
    assert (a[pv] != actual[pv].iloc[:48]).any()
    assert a[pv].max() <= 25.0 + 1e-9 and a[pv].min() >= 0.0
    with pytest.raises(ValueError, match="noisy:SIGMA"):
        make_forecast(site, actual, "noisy:abc")
    with pytest.raises(ValueError, match="persistence"):
        make_forecast(site, actual, "tomorrow")
    with pytest.raises(ValueError, match="replan"):
        cl.replan_starts(site, "weekly", 24)


def test_simulate_command_prints_and_writes_the_comparison(tmp_path, capsys) -> None:
    import os

    import pvlib

    from api.cli import main

    tmy3 = os.path.join(os.path.dirname(pvlib.__file__), "data", "723170TYA.CSV")
    out = tmp_path / "loop"
    args = ["simulate", "sites/mountain_hamlet.yaml", "--weather", tmy3, "--year", "2026",
            "--start", "2026-06-10", "--days", "1", "--out", str(out), "--quiet"]
    assert main([*args, "--forecast", "cloud", "--replan", "none"]) == 0
    printed = capsys.readouterr().out
    assert "forecast cloud" in printed and "day-ahead" in printed and "perfect" in printed
    table = pd.read_csv(out / "closed_loop.csv", index_col=0)
    assert list(table.index) == ["rules", "day-ahead", "perfect"]
    assert table.loc["perfect", "kept_pu"] == pytest.approx(1.0)
    assert len(pd.read_csv(out / "operation_day_ahead.csv")) == 24
    assert main([*args, "--forecast", "tomorrow"]) == 2
    assert "--forecast must be one of" in capsys.readouterr().err
    # (d): day-ahead plans hedged over three scenarios, operated the same way
    assert main([*args, "--forecast", "cloud", "--replan", "none", "--scenarios", "3"]) == 0
    capsys.readouterr()
    table = pd.read_csv(out / "closed_loop.csv", index_col=0)
    assert "3 scenarios, none re-plans" in table.index
    assert table.loc["3 scenarios, none re-plans", "unserved_kwh"] <= (
        table.loc["rules", "unserved_kwh"] + 1e-6
    )


def test_a_failed_solve_is_operated_on_the_rules_plan_and_counted(hamlet: tuple) -> None:
    from optimizer.errors import PlanningError

    site, actual = hamlet

    def failing(*_: object) -> None:
        raise PlanningError("HiGHS ended with status Unknown")

    run = cl.closed_loop(site, actual, make_forecast(site, actual, "perfect"), FIRST, 1,
                         replan="none", plan_horizon=failing)
    rules = cl.rules_operation(site, actual, FIRST, 1)
    assert run.failed == 1 and run.statuses == ["fallback"]
    # the rules' plan on a perfect forecast, operated, is the rules' operation
    columns = [c for c in rules.table.columns if c != "marginal_price_per_kwh"]
    np.testing.assert_allclose(run.table[columns], rules.table[columns], atol=1e-6)
