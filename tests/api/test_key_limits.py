"""What one key can cost: re-plans per hour, plans in flight, fallback plans per day and
failed authentications are limited (429 with Retry-After); superseded plans are pruned;
a retried telemetry report is stored once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select

from api.store import PlanRow, TelemetryRow
from tests.api.conftest import SITE, Api


def _count(api: Api, table, **where) -> int:  # type: ignore[no-untyped-def]
    with api.app.state.services.store.reader() as s:
        query = select(func.count()).select_from(table)
        for column, value in where.items():
            query = query.where(getattr(table, column) == value)
        return int(s.scalar(query))


def _telemetry(api: Api, at: str, who: str = "controller",  # type: ignore[no-untyped-def]
               **extra: object):
    body = {"at": at, "battery_soc_kwh": {"village-battery": 150.0}, **extra}
    return api.client.post(f"/v1/sites/{SITE}/telemetry", json=body, headers=api.auth(who))


def _key_id(token: str) -> str:
    return token.split("_")[1]


def test_replans_per_hour_are_limited_per_key_and_site(make_api: Callable[..., Api]) -> None:
    api = make_api(replans_per_hour=2)
    api.put_site()
    api.plan({"date": "2026-07-01"})
    for minute in ("00", "01"):
        r = _telemetry(api, f"2026-07-01T10:{minute}:00+08:00", replan=True)
        assert r.status_code == 201 and r.json()["replanned"], r.text
    plans = _count(api, PlanRow)
    refused = _telemetry(api, "2026-07-01T10:02:00+08:00", replan=True)
    assert refused.status_code == 429, refused.text
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert "2 re-plans per hour" in refused.json()["detail"]
    assert _count(api, PlanRow) == plans  # nothing solved, nothing stored
    # a retry of a report that was answered is answered again, limit or not
    retry = _telemetry(api, "2026-07-01T10:01:00+08:00", replan=True)
    assert retry.status_code == 201 and retry.json()["duplicate"], retry.text
    # the telemetry itself is still accepted without a re-plan
    plain = _telemetry(api, "2026-07-01T10:03:00+08:00")
    assert plain.status_code == 201


def test_plan_requests_in_flight_are_limited_per_key(make_api: Callable[..., Api]) -> None:
    api = make_api(plans_in_flight_per_key=1)
    api.put_site()
    limits = api.app.state.services.limits
    with limits.plan_slot(_key_id(api.tokens["manager"])):  # a solve of this key is running
        r = api.client.post(f"/v1/sites/{SITE}/plans", json={"date": "2026-07-01"},
                            headers=api.auth())
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert "in flight" in r.json()["detail"]
        other = api.client.post(f"/v1/sites/{SITE}/plans", json={"date": "2026-07-01"},
                                headers=api.auth("admin"))
        assert other.status_code == 201, other.text
    api.plan({"date": "2026-07-02"})  # the slot is free again


def test_fallback_plans_for_explicit_moments_are_limited(make_api: Callable[..., Api]) -> None:
    api = make_api(fallback_plans_per_day=2)
    api.put_site()
    for day in ("2026-07-05", "2026-07-06"):
        assert api.dispatch(at=f"{day}T12:00:00+08:00").status_code == 200
    stored = _count(api, PlanRow, kind="fallback")
    r = api.dispatch(at="2026-07-07T12:00:00+08:00")
    assert r.status_code == 429 and "fallback plans per day" in r.json()["detail"]
    assert _count(api, PlanRow, kind="fallback") == stored
    # an answer already made costs nothing, and the current moment is always answered
    assert api.dispatch(at="2026-07-05T13:00:00+08:00").status_code == 200
    now = api.dispatch()
    assert now.status_code == 200 and now.json()["fallback"]


def test_failed_authentication_is_rate_limited(make_api: Callable[..., Api]) -> None:
    api = make_api(auth_failures_per_minute=5)
    api.put_site()
    assert api.client.get("/v1/sites", headers=api.auth()).status_code == 200
    bad = {"Authorization": "Bearer vg_000000000000_guess"}
    codes = [api.client.get("/v1/sites", headers=bad).status_code for _ in range(5)]
    assert codes == [401] * 5
    limited = api.client.get("/v1/sites", headers=bad)
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60
    assert api.client.get("/v1/sites").status_code == 429  # no key at all is a failure too
    # a key this process knows keeps working
    assert api.client.get("/v1/sites", headers=api.auth()).status_code == 200


def test_superseded_plans_beyond_the_kept_number_are_pruned(make_api: Callable[..., Api]
                                                            ) -> None:
    api = make_api(superseded_plans_kept=2)
    api.put_site()
    made = []
    for _ in range(5):
        api.clock.now += timedelta(seconds=1)  # plans are told apart by when they were made
        made.append(api.plan({"date": "2026-07-01"})["plan_id"])
    with api.app.state.services.store.reader() as s:
        left = set(s.scalars(select(PlanRow.plan_id).where(PlanRow.kind != "fallback")))
    assert left == set(made[-3:])  # the current plan and the two newest superseded ones
    doc = api.dispatch().json()
    assert (doc["plan_id"], doc["stale"]) == (made[-1], False)


def test_a_retried_telemetry_report_is_stored_once(api: Api) -> None:
    api.put_site()
    api.plan({"date": "2026-07-01"})
    first = _telemetry(api, "2026-07-01T10:00:00+08:00", replan=True)
    assert first.status_code == 201 and first.json()["replanned"]
    plans = _count(api, PlanRow)
    again = _telemetry(api, "2026-07-01T10:00:00+08:00", replan=True)
    assert again.status_code == 201, again.text
    assert again.json()["duplicate"] and again.json()["telemetry_id"] == first.json()[
        "telemetry_id"]
    assert again.json()["replan_plan_id"] == first.json()["plan"]["plan_id"]
    assert _count(api, TelemetryRow) == 1 and _count(api, PlanRow) == plans
    # another measurement at the same moment is a report of its own
    other = _telemetry(api, "2026-07-01T10:00:00+08:00", holder_m3={"pig-digester": 40.0})
    assert other.status_code == 201 and not other.json()["duplicate"]
    assert _count(api, TelemetryRow) == 2
