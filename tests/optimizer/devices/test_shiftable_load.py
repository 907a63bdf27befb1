"""Shiftable load: lands in the cheapest hours of its window; periods; served energy."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from optimizer.errors import InfeasibleError
from optimizer.planner import make_plan
from optimizer.state import State
from sites.timeindex import horizon_index
from tests.optimizer.toy import grid, inputs, plan, toy_site


def pump(**fields):
    spec = {
        "name": "pump", "kind": "load", "type": "shiftable", "energy_kwh": 4,
        "max_power_kw": 2, "window_start_h": 1, "window_end_h": 6,
    }  # fmt: skip
    spec.update(fields)
    return spec


PRICES = [1.0, 0.9, 0.2, 0.3, 0.8, 1.0, 0.1, 0.1]  # hours 6 and 7 are cheap but outside


def test_lands_in_the_cheapest_hours_of_its_window():
    site = toy_site(grid(), pump())
    p = plan(site, 24, grid__import_price_per_kwh=PRICES + [1.0] * 16)
    power = p.table["pump.demand_kw"].to_numpy()
    assert power[:8].tolist() == pytest.approx([0, 0, 2, 2, 0, 0, 0, 0])
    assert power.sum() == pytest.approx(4)
    assert p.objective_terms["cost"] == pytest.approx(2 * 0.2 + 2 * 0.3)


def test_energy_already_served_in_the_open_window_is_not_served_again():
    site = toy_site(grid(), pump())
    start = datetime(2026, 7, 1, 2, tzinfo=ZoneInfo("Asia/Shanghai"))  # inside the window
    idx = horizon_index(site, start, 22)
    prices = np.array(PRICES[2:] + [1.0] * 16)
    p = make_plan(
        site,
        idx,
        inputs(site, idx, grid__import_price_per_kwh=prices),
        State(served_kwh={"pump": 3.0}),
    )
    power = p.table["pump.demand_kw"].to_numpy()
    assert power.sum() == pytest.approx(1)
    assert power[0] == pytest.approx(1)  # 02:00, the cheapest hour left


def test_energy_served_in_a_closed_window_does_not_count_for_the_next():
    site = toy_site(grid(), pump())
    # at midnight the last window to open was yesterday's: today's 4 kWh are all due
    p = plan(
        site,
        24,
        state=State(served_kwh={"pump": 3.0}),
        grid__import_price_per_kwh=PRICES + [1.0] * 16,
    )
    assert p.table["pump.demand_kw"].sum() == pytest.approx(4)


def test_min_power_holds_across_the_window():
    site = toy_site(grid(), pump(min_power_kw=0.5))
    p = plan(site, 24, grid__import_price_per_kwh=PRICES + [1.0] * 16)
    power = p.table["pump.demand_kw"].to_numpy()
    assert (power[1:6] >= 0.5 - 1e-9).all()
    assert power.sum() == pytest.approx(4)


def _period_day(days: int, first: bool) -> date:
    """A date that is the first (or second) day of its ``days``-day period."""
    day = date(2026, 7, 1)
    while (day.toordinal() % days == 0) != first:
        day = date.fromordinal(day.toordinal() + 1)
    return day


def test_a_period_over_two_days_serves_its_pro_rata_share_now():
    # 30 kWh per 2 days, 2 kW for 12 h a day. The second day could hold 24 kWh, so only 6 kWh
    # cannot wait; but the first day holds half the period's window time, so it takes its
    # pro-rata share, 15 kWh (and, prices flat, no more): deferring past the horizon is not free
    dryer = pump(energy_kwh=30, period_days=2, window_start_h=0, window_end_h=12)
    site = toy_site(grid(), dryer)
    first = plan(site, 24, day=_period_day(2, True))
    assert first.table["pump.demand_kw"].sum() == pytest.approx(15)
    second = plan(site, 24, day=_period_day(2, False), state=State(served_kwh={"pump": 15.0}))
    assert second.table["pump.demand_kw"].sum() == pytest.approx(15)


def test_energy_beyond_what_the_rest_of_the_window_holds_names_the_parameters():
    site = toy_site(grid(), pump())
    start = datetime(2026, 7, 1, 5, tzinfo=ZoneInfo("Asia/Shanghai"))  # one window hour left
    idx = horizon_index(site, start, 12)
    with pytest.raises(InfeasibleError, match="pump: 4 kWh of energy_kwh 4.*max_power_kw 2"):
        make_plan(site, idx, inputs(site, idx))


def test_nothing_outside_the_window():
    site = toy_site(grid(), pump(window_start_h=22, window_end_h=2))  # wraps past midnight
    p = plan(site, 24, grid__import_price_per_kwh=np.linspace(1, 0.1, 24))
    power = p.table["pump.demand_kw"].to_numpy()
    inside = np.r_[0:2, 22:24]
    outside = np.setdiff1d(np.arange(24), inside)
    assert power[outside].sum() == pytest.approx(0)
    # 00-02 h finish the window opened yesterday at 22 h (nothing served yet: all 4 kWh);
    # today's window runs on past midnight: half its window time is inside the horizon, so
    # half its energy (2 kWh) is served now, in the cheaper of its two hours (23 h)
    assert power[0:2].tolist() == pytest.approx([2, 2])
    assert power[22:24].tolist() == pytest.approx([0, 2])
