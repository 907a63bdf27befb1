"""Limits from the grid operator, end to end through the real app: validated, stored,
re-planned with, and shown in dispatch."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from tests.api.conftest import SITE, SITE_YAML, Api, Clock

#: 11:00 local (UTC+8) on 1 July 2026
ELEVEN = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)
DAY = "2026-07-01"
ARRAYS = ("school-roof", "houses-east", "houses-south", "houses-west", "hall-facade")


def _post(api: Api, body: dict, who: str = "controller"):  # type: ignore[no-untyped-def]
    return api.client.post(f"/v1/sites/{SITE}/limits", json=body, headers=api.auth(who))


def _grid_at(api: Api, hhmm: str) -> dict:
    return api.dispatch(at=f"{DAY}T{hhmm}:00+08:00").json()


def _records(api: Api, plan_id: str) -> dict[str, dict]:
    doc = api.client.get(f"/v1/plans/{plan_id}", headers=api.auth()).json()
    return {r["start"][11:16]: r for r in doc["records"]}


@pytest.fixture
def at_eleven(make_api: Callable[..., Api]) -> Api:
    """The day planned at 10:07; the clock then moved to 11:00."""
    api = make_api(Clock(datetime(2026, 7, 1, 2, 7, tzinfo=UTC)))
    api.put_site()
    api.plan({"date": DAY})
    api.clock.now = ELEVEN
    return api


def test_an_export_cap_posted_at_eleven_changes_the_setpoints_from_eleven_on(
    at_eleven: Api,
) -> None:
    api = at_eleven
    hours = ("10:30", "10:45", "11:00", "12:00", "13:30", "14:45", "15:00")
    before = {h: _grid_at(api, h) for h in hours}
    assert max(before[h]["setpoints"]["grid"]["export_kw"] for h in hours[2:6]) > 10
    r = _post(api, {"kind": "export_cap", "cap_kw": 10, "start": f"{DAY}T11:00:00+08:00",
                    "end": f"{DAY}T15:00:00+08:00", "source": "county dispatch",
                    "reference": "order 42"})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["replanned"] and out["plans"][0]["start"] == f"{DAY}T11:00:00+08:00"
    new_id = out["plans"][0]["plan_id"]
    after = {h: _grid_at(api, h) for h in hours}
    for h in ("11:00", "12:00", "13:30", "14:45"):
        assert after[h]["plan_id"] == new_id and not after[h]["stale"]
        assert after[h]["setpoints"]["grid"]["export_kw"] <= 10 + 1e-6
        (limit,) = after[h]["limits"]
        assert (limit["kind"], limit["cap_kw"]) == ("export_cap", 10)
        assert limit["reference"] == "order 42"
    # before 11:00 nothing changed; after 15:00 the cap is no longer in force
    for h in ("10:30", "10:45"):
        assert after[h]["setpoints"] == before[h]["setpoints"] and after[h]["limits"] == []
    assert after["15:00"]["limits"] == []
    # what could not be exported is curtailed or stored, never lost from the balance
    rows = _records(api, new_id)
    for h in ("11:00", "12:00", "13:30", "14:45"):
        row = rows[h]
        assert row["grid.export_limit_kw"] == 10
        supply = sum(row[f"{a}.pv_kw"] for a in ARRAYS) + row["grid.import_kw"] + row[
            "village-battery.discharge_kw"] + row["biogas-genset.power_kw"] + row["unserved_kw"]
        demand = row["grid.export_kw"] + row["village-battery.charge_kw"] + sum(
            row[f"{load}.demand_kw"] for load in ("households", "grain-dryer")
        ) + row["irrigation.pump_kw"]
        assert supply == pytest.approx(demand, abs=1e-6)
    listed = api.client.get(f"/v1/sites/{SITE}/limits", headers=api.auth()).json()
    assert [x["limit_id"] for x in listed] == [out["limit_id"]] and listed[0]["via"] == "http"


def test_curtailment_caps_the_pv_of_all_arrays_together(at_eleven: Api) -> None:
    api = at_eleven
    r = _post(api, {"kind": "curtailment", "cap_kw": 20, "start": f"{DAY}T11:00:00+08:00",
                    "end": f"{DAY}T13:00:00+08:00"}, who="manager")
    assert r.status_code == 201, r.text
    rows = _records(api, r.json()["plans"][0]["plan_id"])
    for h in ("11:00", "12:45"):
        assert sum(rows[h][f"{a}.pv_kw"] for a in ARRAYS) <= 20 + 1e-6
        assert sum(rows[h][f"{a}.available_kw"] for a in ARRAYS) == pytest.approx(20, abs=1e-3)
    assert sum(rows["13:00"][f"{a}.available_kw"] for a in ARRAYS) > 20


def test_a_critical_peak_day_raises_the_import_price_in_its_bands(make_api) -> None:  # type: ignore[no-untyped-def]
    api = make_api(Clock(ELEVEN))
    band = "    critical_peak_bands:\n      - {start_h: 19, end_h: 21, price_per_kwh: 2.5}\n"
    text = SITE_YAML.replace("    max_export_kw: 100\n", "    max_export_kw: 100\n" + band)
    assert band in text
    api.put_site(text)
    api.plan({"date": DAY})
    r = _post(api, {"kind": "critical_peak", "start": f"{DAY}T00:00:00+08:00",
                    "end": "2026-07-02T00:00:00+08:00"})
    assert r.status_code == 201, r.text
    rows = _records(api, r.json()["plans"][0]["plan_id"])
    assert rows["19:00"]["grid.import_price_per_kwh"] == rows["20:45"][
        "grid.import_price_per_kwh"] == 2.5
    assert rows["18:45"]["grid.import_price_per_kwh"] < 2.5 > rows["21:00"][
        "grid.import_price_per_kwh"]


@pytest.mark.parametrize("body,field", [
    ({"kind": "export_cap", "cap_kw": 5, "start": f"{DAY}T13:00:00+08:00",
      "end": f"{DAY}T12:00:00+08:00"}, "end"),
    ({"kind": "export_cap", "cap_kw": -1, "start": f"{DAY}T11:00:00+08:00",
      "end": f"{DAY}T12:00:00+08:00"}, "cap_kw"),
    ({"kind": "export_cap", "cap_kw": 5, "start": f"{DAY}T11:00:00",
      "end": f"{DAY}T12:00:00+08:00"}, "start"),
    ({"kind": "import_cap", "start": f"{DAY}T11:00:00+08:00",
      "end": f"{DAY}T12:00:00+08:00"}, "cap_kw"),
    ({"kind": "curtailment", "cap_kw": 5, "device": "no-such-array",
      "start": f"{DAY}T11:00:00+08:00", "end": f"{DAY}T12:00:00+08:00"}, "device"),
    ({"kind": "critical_peak", "start": f"{DAY}T11:00:00+08:00",
      "end": f"{DAY}T12:00:00+08:00"}, "kind"),
    ({"kind": "import_cap", "cap_kw": 5, "start": f"{DAY}T08:00:00+08:00",
      "end": f"{DAY}T09:00:00+08:00"}, "end"),
    ({"kind": "export_cap", "cap_kw": 5, "start": f"{DAY}T11:00:00+08:00",
      "end": "9999-12-31T00:00:00+08:00"}, "end"),
    ({"kind": "export_cap", "cap_kw": 5, "start": "0001-01-02T00:00:00+08:00",
      "end": f"{DAY}T12:00:00+08:00"}, "start"),
    ({"kind": "frequency", "cap_kw": 5, "start": f"{DAY}T11:00:00+08:00",
      "end": f"{DAY}T12:00:00+08:00"}, "kind"),
])
def test_bad_limits_are_422_naming_the_field_and_nothing_is_stored(
    at_eleven: Api, body: dict, field: str
) -> None:
    r = _post(at_eleven, body)
    assert r.status_code == 422, r.text
    assert any(field in e for e in r.json()["errors"]), r.json()
    assert at_eleven.client.get(f"/v1/sites/{SITE}/limits",
                                headers=at_eleven.auth()).json() == []


def test_a_far_since_is_422(at_eleven: Api) -> None:
    r = at_eleven.client.get(f"/v1/sites/{SITE}/limits", params={
        "since": "0001-01-01T00:00:00+01:00"}, headers=at_eleven.auth())
    assert r.status_code == 422 and r.json()["errors"][0].startswith("since:")


def test_limits_of_another_site_are_refused(at_eleven: Api) -> None:
    body = {"kind": "export_cap", "cap_kw": 5, "start": f"{DAY}T11:00:00+08:00",
            "end": f"{DAY}T12:00:00+08:00"}
    assert _post(at_eleven, body, who="other").status_code == 403
    r = at_eleven.client.post("/v1/sites/no-such-site/limits", json=body,
                              headers=at_eleven.auth("manager"))
    assert r.status_code == 404
