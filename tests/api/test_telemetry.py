"""Telemetry: stored; a re-plan of the rest of the day on request or on a large deviation."""

from __future__ import annotations

from tests.api.conftest import SITE, Api

AT = "2026-07-01T10:07:00+08:00"


def _post(api: Api, body: dict, who: str = "controller"):  # type: ignore[no-untyped-def]
    return api.client.post(f"/v1/sites/{SITE}/telemetry", json=body, headers=api.auth(who))


def test_replan_on_request_starts_from_the_measured_state(api: Api) -> None:
    api.put_site()
    day_plan = api.plan({"date": "2026-07-01"})
    r = _post(
        api,
        {
            "at": AT,
            "battery_soc_kwh": {"village-battery": 120.0},
            "holder_m3": {"pig-digester": 20.0},
            "replan": True,
        },
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["replanned"] and out["plan"]["current"] and out["plan"]["kind"] == "replan"
    assert out["plan"]["start"] == "2026-07-01T10:00:00+08:00"  # the interval containing `at`
    assert out["plan"]["end"] == "2026-07-02T00:00:00+08:00"  # local midnight
    doc = api.dispatch().json()
    assert doc["plan_id"] == out["plan"]["plan_id"] != day_plan["plan_id"]
    assert not doc["stale"]


def test_large_deviation_triggers_a_replan_small_one_does_not(api: Api) -> None:
    api.put_site()
    api.plan({"date": "2026-07-01"})
    planned = api.dispatch(at="2026-07-01T09:50:00+08:00").json()
    soc = planned["setpoints"]["village-battery"]["soc_kwh"]  # level at 10:00
    r = _post(api, {"at": "2026-07-01T10:00:00+08:00", "battery_soc_kwh": {"village-battery": soc}})
    assert r.status_code == 201 and r.json()["deviation_pu"] == 0 and not r.json()["replanned"]
    usable = (0.95 - 0.1) * 200
    far = soc - 0.5 * usable if soc - 0.5 * usable >= 20 else soc + 0.5 * usable
    r = _post(api, {"at": "2026-07-01T10:00:00+08:00", "battery_soc_kwh": {"village-battery": far}})
    assert r.status_code == 201
    assert abs(r.json()["deviation_pu"] - 0.5) < 1e-3 and r.json()["replanned"]


def test_bad_telemetry_is_422_and_names_the_field(api: Api) -> None:
    api.put_site()
    r = _post(api, {"at": AT, "battery_soc_kwh": {"no-battery": 1.0}, "pv_kw": {"nope": 1.0}})
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert any("no-battery" in e for e in errors) and any(
        e.startswith("pv_kw.nope") for e in errors
    )
    assert _post(api, {"at": "2026-07-01T10:00:00"}).status_code == 422  # naive
    assert _post(api, {"at": AT, "battery_soc_kwh": {"village-battery": -1}}).status_code == 422
    assert _post(api, {"at": AT, "battery_soc_kwh": {"village-battery": 1e6}}).status_code == 422
