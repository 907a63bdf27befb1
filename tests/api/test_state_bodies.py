"""State in HTTP bodies: per device (``values``) or in the former per-kind fields, both made
from the quantities the device modules declare."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from optimizer.state import declared_rows
from tests.api.conftest import SITE, SITE_YAML, Api

DAY = "2026-07-02"


def _soc(api: Api, plan_id: str) -> list[float]:
    doc = json.loads(api.client.get(f"/v1/plans/{plan_id}", headers=api.auth()).text)
    return [r["village-battery.soc_kwh"] for r in doc["records"]]


def test_openapi_describes_every_declared_quantity_and_the_former_fields(api: Api) -> None:
    schemas = api.client.get("/openapi.json").json()["components"]["schemas"]
    per_device = schemas["DeviceStateIn"]["properties"]
    for quantity, var in declared_rows().items():
        assert quantity in per_device
        assert f"[{var.unit}]" in per_device[quantity]["description"]
        if var.legacy:
            assert var.legacy in schemas["StateIn"]["properties"]
            assert var.legacy in schemas["TelemetryIn"]["properties"]
    assert "values" in schemas["StateIn"]["properties"]
    assert "values" in schemas["TelemetryIn"]["properties"]


def test_a_plan_starts_from_the_state_in_either_form(api: Api) -> None:
    api.put_site()
    new = api.plan({"date": DAY, "state": {"values": {"village-battery": {"soc_kwh": 180.0}}}})
    old = api.plan({"date": DAY, "state": {"battery_soc_kwh": {"village-battery": 180.0}}})
    default = api.plan({"date": DAY})
    assert _soc(api, new["plan_id"]) == _soc(api, old["plan_id"])
    # the site file starts at 100 kWh; 80 kWh more cannot all be gone after one interval
    assert _soc(api, new["plan_id"])[0] > _soc(api, default["plan_id"])[0] + 40


def test_bad_state_names_device_quantity_bound_and_value(api: Api) -> None:
    api.put_site()

    def post(state: dict):  # type: ignore[no-untyped-def]
        return api.client.post(f"/v1/sites/{SITE}/plans", json={"date": DAY, "state": state},
                               headers=api.auth())

    r = post({"values": {"village-battery": {"gas_m3": 1.0}}})
    assert r.status_code == 422
    assert "state.village-battery.gas_m3: 'village-battery' has no state quantity 'gas_m3'" in (
        r.json()["errors"][0])
    r = post({"values": {"village-battery": {"soc_kwh": 201.0}}})
    assert r.status_code == 422
    assert r.json()["errors"] == ["state.village-battery.soc_kwh: must lie in [0, 200] kWh, "
                                  "got 201"]
    assert post({"values": {"village-battery": {"charge_kw": 1.0}}}).status_code == 422


def test_telemetry_per_device_measures_deviation_and_replans_from_it(api: Api) -> None:
    api.put_site()
    api.plan({"date": "2026-07-01"})
    planned = api.dispatch(at="2026-07-01T09:50:00+08:00").json()
    soc = planned["setpoints"]["village-battery"]["soc_kwh"]  # level at 10:00
    usable = (0.95 - 0.1) * 200
    far = soc - 0.5 * usable if soc - 0.5 * usable >= 20 else soc + 0.5 * usable
    r = api.client.post(
        f"/v1/sites/{SITE}/telemetry",
        json={"at": "2026-07-01T10:00:00+08:00",
              "values": {"village-battery": {"soc_kwh": far}}},
        headers=api.auth("controller"),
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert abs(out["deviation_pu"] - 0.5) < 1e-3 and out["replanned"]
    first = _soc(api, out["plan"]["plan_id"])[0]
    assert abs(first - far) < abs(first - soc)  # the re-plan starts from the measured level


def test_bad_telemetry_state_is_422_and_names_it(api: Api) -> None:
    api.put_site()
    r = api.client.post(
        f"/v1/sites/{SITE}/telemetry",
        json={"at": "2026-07-01T10:07:00+08:00", "values": {"pig-digester": {"gas_m3": 61.0}},
              "holder_m3": {"no-digester": 1.0}},
        headers=api.auth("controller"),
    )
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert "telemetry.pig-digester.gas_m3: must lie in [0, 60] m3, got 61" in errors
    assert any(e.startswith("telemetry.no-digester: no device with state") for e in errors)


def test_a_replan_owes_a_daily_load_only_what_the_plan_has_not_served_yet(api: Api) -> None:
    # the demo's grain dryer made a daily load: 150 kWh every day in its 08–20 h window
    daily = SITE_YAML.replace("period_days: 2", "period_days: 1")
    assert daily != SITE_YAML
    api.put_site(daily)
    day = api.plan({"date": "2026-07-01"})
    doc = json.loads(api.client.get(f"/v1/plans/{day['plan_id']}", headers=api.auth()).text)
    step_h = 0.25
    ten = datetime.fromisoformat("2026-07-01T10:00:00+08:00")
    before = sum(r["grain-dryer.demand_kw"] for r in doc["records"]
                 if datetime.fromisoformat(r["start"]) < ten) * step_h
    r = api.client.post(
        f"/v1/sites/{SITE}/telemetry",
        json={"at": "2026-07-01T10:00:00+08:00", "replan": True,
              "values": {"village-battery": {"soc_kwh": 100.0}}},
        headers=api.auth("controller"),
    )
    assert r.status_code == 201 and r.json()["replanned"], r.text
    rest = json.loads(api.client.get(f"/v1/plans/{r.json()['plan']['plan_id']}",
                                     headers=api.auth()).text)
    after = sum(r["grain-dryer.demand_kw"] for r in rest["records"]) * step_h
    assert before > 0  # the dryer ran before the re-plan
    # energy_kwh, served once (to the solver's tolerance over the 48 intervals summed)
    assert before + after == pytest.approx(150.0, abs=1e-4)
