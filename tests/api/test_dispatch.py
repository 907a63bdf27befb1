"""Dispatch: setpoints of now and the next intervals, ETag, Cache-Control, stale and fallback."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.api.conftest import SITE, Api


def _body(r) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == 200, r.text
    return r.json()


def _records_at(api: Api, plan_id: str, start_utc: str) -> dict:
    doc = json.loads(api.client.get(f"/v1/plans/{plan_id}", headers=api.auth()).text)
    (record,) = [r for r in doc["records"] if str(r.get("start", "")).startswith(start_utc)]
    return record


def test_current_plan_setpoints_fresh(api: Api) -> None:
    api.put_site()
    made = api.plan({"date": "2026-07-01"})
    doc = _body(api.dispatch())
    assert (doc["plan_id"], doc["stale"], doc["fallback"]) == (made["plan_id"], False, False)
    assert doc["interval_start"] == "2026-07-01T10:00:00+08:00"
    assert doc["valid_until"] == "2026-07-01T10:15:00+08:00"
    starts = [i["start"][11:16] for i in doc["intervals"]]
    assert starts == ["10:00", "10:15", "10:30", "10:45"]
    record = _records_at(api, made["plan_id"], "2026-07-01T10:00")
    battery = doc["setpoints"]["village-battery"]
    assert battery["charge_kw"] == round(record["village-battery.charge_kw"], 4)
    assert battery["soc_kwh"] == round(record["village-battery.soc_kwh"], 4)


def test_etag_and_cache_control(api: Api) -> None:
    api.put_site()
    api.plan({"date": "2026-07-01"})
    first = api.dispatch()
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, max-age=10"  # the poll interval
    again = api.client.get(
        f"/v1/sites/{SITE}/dispatch", headers={**api.auth("controller"), "If-None-Match": etag}
    )
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    near_end = api.dispatch(at="2026-07-01T10:14:55+08:00")
    assert near_end.headers["cache-control"] == "private, max-age=5"  # to the boundary
    assert near_end.headers["etag"] == etag  # same interval, same plan, same answer
    api.plan({"date": "2026-07-01"})
    changed = api.client.get(
        f"/v1/sites/{SITE}/dispatch", headers={**api.auth("controller"), "If-None-Match": etag}
    )
    assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_no_plan_at_all_gives_the_stale_fallback(api: Api) -> None:
    api.put_site()
    doc = _body(api.dispatch())
    assert doc["stale"] and doc["fallback"] and doc["status"] == "fallback"
    assert len(doc["intervals"]) == 4 and doc["setpoints"]
    assert doc["interval_start"] == "2026-07-01T10:00:00+08:00"
    listed = api.client.get(f"/v1/sites/{SITE}/plans", headers=api.auth()).json()
    assert [(p["kind"], p["current"]) for p in listed] == [("fallback", False)]
    _body(api.dispatch(at="2026-07-01T10:20:00+08:00"))
    listed = api.client.get(f"/v1/sites/{SITE}/plans", headers=api.auth()).json()
    assert len(listed) == 1  # the stored fallback is reused, not made again


def test_last_good_plan_is_stale_and_fallback_follows_its_end(api: Api) -> None:
    api.put_site()
    old = api.plan({"start": "2026-06-30T20:00:00+08:00", "horizon_hours": 24})
    api.plan({"start": "2026-07-01T12:00:00+08:00", "horizon_hours": 6})
    # 10:07: today's current plan starts at noon; yesterday's still covers the morning
    doc = _body(api.dispatch())
    assert (doc["plan_id"], doc["stale"], doc["fallback"]) == (old["plan_id"], True, False)
    # 19:50: both have ended by 20:00, so the rule-based fallback takes over
    doc = _body(api.dispatch(at="2026-07-01T19:50:00+08:00"))
    assert doc["plan_id"] == old["plan_id"] and doc["stale"]
    assert [i["status"] for i in doc["intervals"]] == ["optimal"] + ["fallback"] * 3
    assert [i["start"][11:16] for i in doc["intervals"]] == ["19:45", "20:00", "20:15", "20:30"]


def test_next_day_without_a_plan_falls_back(api: Api) -> None:
    api.put_site()
    today = api.plan({"date": "2026-07-01"})
    doc = _body(api.dispatch(at="2026-07-01T23:50:00+08:00"))
    assert not doc["stale"] and doc["plan_id"] == today["plan_id"]
    assert [i["status"] for i in doc["intervals"]] == ["optimal"] + ["fallback"] * 3
    doc = _body(api.dispatch(at="2026-07-02T00:10:00+08:00"))
    assert doc["stale"] and doc["fallback"]


def test_bad_moments_are_422(api: Api) -> None:
    api.put_site()
    assert api.dispatch(at="2026-07-01T10:00:00").status_code == 422  # no offset
    assert api.dispatch(at="2099-01-01T00:00:00Z").status_code == 422
    assert api.dispatch(at="yesterday").status_code == 422
    assert api.dispatch(site="nowhere", who="manager").status_code == 404


def test_fast_path_gives_the_routes_answer(api: Api) -> None:
    """The first poll goes through the route (and fills the caches); the next ones are served
    by the fast path in front of the app: the same body, ETag and rules."""
    api.put_site()
    api.plan({"date": "2026-07-01"})
    first, second = api.dispatch(), api.dispatch()
    assert first.content == second.content and first.headers["etag"] == second.headers["etag"]
    assert first.headers["cache-control"] == second.headers["cache-control"]
    assert second.headers["content-type"] == "application/json"
    assert api.dispatch("other").status_code == 403  # a cached key, the wrong site
    unknown = {"Authorization": "Bearer vg_000000000000_unknown"}
    assert api.client.get(f"/v1/sites/{SITE}/dispatch", headers=unknown).status_code == 401
    r = api.client.get(
        f"/v1/sites/{SITE}/dispatch",
        headers={**api.auth("controller"), "If-None-Match": f'"x", {first.headers["etag"]}'},
    )
    assert r.status_code == 304


def test_another_process_moving_the_pointer_is_seen_after_a_refresh(
    make_api: Callable[..., Api],
) -> None:
    planner = make_api()
    poller = make_api(dispatch_cache_ttl_s=300)  # its background refresh will not run here
    planner.put_site()
    assert _body(poller.dispatch())["fallback"]
    made = planner.plan({"date": "2026-07-01"})
    assert _body(poller.dispatch())["fallback"]  # still trusting its cached pointer
    poller.app.state.services.dispatcher.refresh()
    doc = _body(poller.dispatch())
    assert (doc["plan_id"], doc["stale"]) == (made["plan_id"], False)


def test_a_short_later_plan_does_not_hide_the_full_day_plan(api: Api) -> None:
    api.put_site()
    full = api.plan({"date": "2026-07-01"})
    short = api.plan({"start": "2026-07-01T10:00:00+08:00", "horizon_hours": 0.5})
    # 10:07 is inside the short plan, which is now the day's current plan: fresh
    doc = _body(api.dispatch())
    assert (doc["plan_id"], doc["stale"], doc["fallback"]) == (short["plan_id"], False, False)
    # noon is outside it: the earlier full-day plan answers (stale), not the fallback
    doc = _body(api.dispatch(at="2026-07-01T12:00:00+08:00"))
    assert (doc["plan_id"], doc["stale"], doc["fallback"]) == (full["plan_id"], True, False)
    assert [i["status"] for i in doc["intervals"]] == ["optimal"] * 4
