"""Plans: stored for good, one current plan per day that moves only after a good solve."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from tests.api.conftest import SITE, Api

DAY = "2026-07-02"
INTERVALS_PER_DAY = 96  # the demo village plans in 15-minute steps


def _current(api: Api, day: str = DAY) -> dict:
    r = api.client.get(f"/v1/sites/{SITE}/plans/current", params={"date": day}, headers=api.auth())
    assert r.status_code == 200, r.text
    return r.json()


def test_plan_for_a_day_becomes_current(api: Api) -> None:
    api.put_site()
    made = api.plan({"date": DAY})
    assert made["current"] and made["status"] == "optimal"
    assert made["local_day"] == DAY and made["site_version"] == 1
    doc = _current(api)
    assert doc["metadata"]["plan_id"] == made["plan_id"]
    r = api.client.get(f"/v1/plans/{made['plan_id']}", params={"format": "csv"}, headers=api.auth())
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = [line for line in r.text.splitlines() if not line.startswith("#")]
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    assert len(rows) == 1 + INTERVALS_PER_DAY and rows[0][0] == "start"
    assert f'# plan_id: "{made["plan_id"]}"' in r.text


def test_every_plan_survives_a_restart(make_api: Callable[..., Api]) -> None:
    first = make_api(plan_pool="process", plan_workers=1)
    first.put_site()
    made = []
    for day in (DAY, DAY, "2026-07-03"):
        made.append(first.plan({"date": day}))
        first.clock.now += timedelta(minutes=1)
    documents = {
        m["plan_id"]: first.client.get(f"/v1/plans/{m['plan_id']}", headers=first.auth()).text
        for m in made
    }
    first.close()
    second = make_api()
    for plan_id, text in documents.items():
        r = second.client.get(f"/v1/plans/{plan_id}", headers=second.auth())
        assert r.status_code == 200 and r.text == text
    assert _current(second)["metadata"]["plan_id"] == made[1]["plan_id"]
    listed = second.client.get(
        f"/v1/sites/{SITE}/plans", params={"date": DAY}, headers=second.auth()
    ).json()
    assert [p["plan_id"] for p in listed] == [made[1]["plan_id"], made[0]["plan_id"]]
    assert [p["current"] for p in listed] == [True, False]


def test_two_concurrent_requests_end_on_a_complete_plan(api: Api) -> None:
    api.put_site()
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: api.plan({"date": DAY}), range(2)))
    ids = {r["plan_id"] for r in results}
    assert len(ids) == 2
    doc = _current(api)
    assert doc["metadata"]["plan_id"] in ids
    assert len(doc["records"]) == INTERVALS_PER_DAY
    listed = api.client.get(
        f"/v1/sites/{SITE}/plans", params={"date": DAY}, headers=api.auth()
    ).json()
    assert sorted(p["plan_id"] for p in listed) == sorted(ids)
    assert sum(p["current"] for p in listed) == 1


def test_a_failed_solve_keeps_the_last_good_plan(api: Api) -> None:
    api.put_site()
    good = api.plan({"date": DAY})
    # a negative price is a contradiction the optimizer's input checks refuse
    bad = {"date": DAY, "overrides": {"grid.import_price_per_kwh": [-1.0] * INTERVALS_PER_DAY}}
    r = api.client.post(f"/v1/sites/{SITE}/plans", json=bad, headers=api.auth())
    assert r.status_code == 422, r.text
    assert "unchanged" in r.json()["detail"]
    assert _current(api)["metadata"]["plan_id"] == good["plan_id"]


def test_a_solve_over_its_time_limit_keeps_the_last_good_plan(api: Api) -> None:
    api.put_site()
    good = api.plan({"date": DAY})
    r = api.client.post(
        f"/v1/sites/{SITE}/plans", json={"date": DAY, "time_limit_s": 1e-6}, headers=api.auth()
    )
    assert r.status_code in (422, 504), r.text
    assert "unchanged" in r.json()["detail"]
    assert _current(api)["metadata"]["plan_id"] == good["plan_id"]


def test_a_horizon_from_now_with_state(api: Api) -> None:
    api.put_site()
    body = {"horizon_hours": 6, "state": {"battery_soc_kwh": {"village-battery": 150.0}}}
    made = api.plan(body)
    doc = json.loads(api.client.get(f"/v1/plans/{made['plan_id']}", headers=api.auth()).text)
    assert len(doc["records"]) == 24
    assert made["start"] == "2026-07-01T10:00:00+08:00"


def test_bad_plan_requests_name_the_field(api: Api) -> None:
    api.put_site()
    r = api.client.post(f"/v1/sites/{SITE}/plans", json={}, headers=api.auth())
    assert r.status_code == 422 and "date" in r.text
    r = api.client.post(
        f"/v1/sites/{SITE}/plans",
        json={"date": DAY, "state": {"battery_soc_kwh": {"no-such-battery": 1.0}}},
        headers=api.auth(),
    )
    assert r.status_code == 422 and "no-such-battery" in r.json()["errors"][0]
    r = api.client.post(
        f"/v1/sites/{SITE}/plans",
        json={"date": DAY, "overrides": {"grid.import_price_per_kwh": [1.0]}},
        headers=api.auth(),
    )
    assert r.status_code == 422 and r.json()["errors"][0].startswith("overrides.grid")
    r = api.client.get(
        f"/v1/sites/{SITE}/plans/current", params={"date": "2031-01-01"}, headers=api.auth()
    )
    assert r.status_code == 404


def test_a_solve_that_outlives_its_wait_is_dropped(make_api: Callable[..., Api]) -> None:
    api = make_api(solve_wait_margin_s=0)
    api.put_site()
    good = api.plan({"date": DAY})
    r = api.client.post(
        f"/v1/sites/{SITE}/plans", json={"date": DAY, "time_limit_s": 0.001}, headers=api.auth()
    )
    assert r.status_code in (422, 504), r.text  # 504: the wait ended first (building inputs)
    assert "unchanged" in r.json()["detail"]
    api.plan({"date": "2026-07-03"})  # the pool is free again; the dropped solve changed nothing
    assert _current(api)["metadata"]["plan_id"] == good["plan_id"]
    listed = api.client.get(
        f"/v1/sites/{SITE}/plans", params={"date": DAY}, headers=api.auth()
    ).json()
    assert [p["plan_id"] for p in listed] == [good["plan_id"]]


def test_weather_given_with_the_request_drives_the_pv_forecast(api: Api) -> None:
    """No sunlight all day: every array's available power is zero (clear sky otherwise)."""
    api.put_site()
    hours = [f"2026-07-02T{h:02d}:00:00+08:00" for h in range(24)] + ["2026-07-03T00:00:00+08:00"]
    dark = {"time": hours, **{k: [0.0] * 25 for k in ("ghi_wm2", "dni_wm2", "dhi_wm2")}}
    sunny = api.plan({"date": DAY})
    night = api.plan({"date": DAY, "weather": dark})

    def pv_kwh(plan_id: str) -> float:
        doc = json.loads(api.client.get(f"/v1/plans/{plan_id}", headers=api.auth()).text)
        return (
            sum(v for r in doc["records"] for k, v in r.items() if k.endswith(".available_kw"))
            * 0.25
        )

    assert pv_kwh(sunny["plan_id"]) > 100
    assert pv_kwh(night["plan_id"]) == 0
    r = api.client.post(
        f"/v1/sites/{SITE}/plans",
        json={"date": DAY, "weather": {"time": hours, "ghi_wm2": [1.0]}},
        headers=api.auth(),
    )
    assert r.status_code == 422 and "ghi_wm2" in r.text
    no_series = {"date": DAY, "weather": {"time": hours}}
    r = api.client.post(f"/v1/sites/{SITE}/plans", json=no_series, headers=api.auth())
    assert r.status_code == 422
    assert r.json()["errors"] == [
        "weather: give at least one series with time: ghi_wm2, dni_wm2, dhi_wm2, "
        "cloud_cover_pct, temp_air_c, wind_speed_ms, poa_global_wm2, module_temp_c"
    ]
