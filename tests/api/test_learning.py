"""api.services.learning on a real database: telemetry becomes series with gaps, and the
curtailment of the plan in force marks readings as not showing the array's potential."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from api.services.learning import MAX_HOLD, MeterBook
from api.services.sites import SiteBook
from api.store import PlanRow, Store, TelemetryRow
from tests.api.conftest import SITE_YAML

T0 = datetime(2026, 6, 24, 2, 0, tzinfo=UTC)  # 10:00 local


@pytest.fixture
def store(db_url: str):  # type: ignore[no-untyped-def]
    s = Store(db_url)
    yield s
    s.dispose()


def _reading(at: datetime, kw: float, **flags: list[str]) -> TelemetryRow:
    body = {"at": at.isoformat(), "pv_kw": {"school-roof": kw}, **flags}
    return TelemetryRow(site="demo-village", at=at, received_at=at, body_json=json.dumps(body))


def test_plan_curtailment_and_flags_exclude_readings_and_silence_is_a_gap(store: Store) -> None:
    from sites.load import parse_site

    site = parse_site(SITE_YAML)
    row, _ = SiteBook(store).put(site, T0)
    # readings every 15 min 10:00-12:45 local, then silence, then one at 18:00
    times = [T0 + timedelta(minutes=15 * i) for i in range(12)] + [T0 + timedelta(hours=8)]
    # a plan in force from 11:00 to 12:00 local curtails the roof by 5 kW
    starts = [int((T0 + timedelta(hours=1, minutes=15 * i)).timestamp()) for i in range(4)]
    dispatch = {"starts": starts, "step_s": 900, "columns": ["school-roof.curtailed_kw"],
                "values": [[5.0], [5.0], [5.0], [5.0]]}
    with store.writer() as s:
        s.add_all([_reading(t, 10.0) for t in times[:-2]])
        s.add(_reading(times[-2], 10.0, inverter_off=["school-roof"]))
        s.add(_reading(times[-1], 10.0))
        s.add(PlanRow(
            plan_id="p1", site=site.name, site_version_id=row.id, local_day=T0.date(),
            kind="day", status="optimal", start=T0 + timedelta(hours=1),
            end=T0 + timedelta(hours=2), step_minutes=15, created_at=T0, requested_at=T0,
            summary_json="{}", request_json="{}", inputs_json="{}", plan_json="{}",
            dispatch_json=json.dumps(dispatch)))
    metered = MeterBook(store).metered(site, T0 + timedelta(days=1))
    flags = metered.exclude["school-roof"].dropna()
    flagged = sorted(t for t, v in flags.items() if v > 0)
    expected = [T0 + timedelta(hours=1, minutes=15 * i) for i in range(4)] + [times[-2]]
    assert flagged == expected
    series = metered.pv_kw["school-roof"]
    assert metered.readings == len(times)
    gap = series[(series.index > times[-2]) & (series.index < times[-1])]
    assert gap.isna().all() and len(gap) == 1  # silence beyond MAX_HOLD is not held
    assert gap.index[0] - times[-2] <= MAX_HOLD


def test_telemetry_too_thin_to_learn_from_leaves_the_plan_inputs_alone() -> None:
    import numpy as np
    import pandas as pd

    from api.services.learning import Metered, learned_inputs
    from sites.load import parse_site
    from sites.timeindex import day_index

    site = parse_site(SITE_YAML)
    index = day_index(site, T0.date())
    silent = pd.Series([np.nan, np.nan], index=pd.DatetimeIndex([T0, T0 + timedelta(hours=1)]))
    one_day = pd.Series(5.0, index=pd.date_range(T0, periods=8, freq="15min"))
    overrides, history, report = learned_inputs(
        site, index, None, None,
        Metered(pv_kw={"school-roof": silent, "houses-east": one_day},
                load_kw={"households": one_day}, readings=10))
    assert overrides is None and history is None  # under 3 days: nothing applied
    assert report["pv"]["houses-east"]["used"] is False and "school-roof" not in report["pv"]
    assert report["load_history"] == [] and "pv_error" not in report
