"""Telemetry → the PV correction of later plans, and the forecast-accuracy report, through
HTTP on the real app and database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from forecasting.pv import forecast_pv
from sites.load import load_site
from tests.api.conftest import SITE, SITE_YAML, Api, Clock

ARRAY = "school-roof"
#: The real roof gives this share of what the model expects (soiling, shading).
REAL_SHARE = 0.7
FIRST = datetime(2026, 6, 24, tzinfo=UTC)  # local 08:00
DAYS = 5
#: Readings flagged curtailed (pv held at 0.5 kW): day 3, 11:00-13:00 local.
CURTAILED_DAY, CURTAILED_HOURS = 2, (11, 12, 13)
#: The households' feeder as metered, daytime [kW].
FEEDER_KW = 30.0


def _site():  # type: ignore[no-untyped-def]
    from pathlib import Path

    return load_site(Path(__file__).parents[2] / "sites" / "demo_village.yaml")


def _readings() -> list[dict]:
    """Hourly readings: PV 06-19 local (the mean of the hour centred on the reading, silent
    at night), the households' feeder all day at :data:`FEEDER_KW` (day) or half (night)."""
    site = _site()
    local0 = pd.Timestamp("2026-06-24", tz=site.tz)
    index = pd.date_range(local0, periods=96 * DAYS, freq="15min").tz_convert("UTC")
    model = forecast_pv(site, index)[f"{ARRAY}.available_kw"]
    out = []
    for day in range(DAYS):
        for hour in range(24):
            at = local0 + pd.Timedelta(days=day, hours=hour)
            feeder = FEEDER_KW if 6 <= hour < 22 else FEEDER_KW / 2
            body: dict = {"at": at.isoformat(), "load_kw": {"households": feeder}}
            if not 6 <= hour < 20:
                out.append(body)
                continue
            window = model[(model.index >= at - pd.Timedelta(minutes=30))
                           & (model.index < at + pd.Timedelta(minutes=30))]
            body["pv_kw"] = {ARRAY: REAL_SHARE * window.mean()}
            if day == CURTAILED_DAY and hour in CURTAILED_HOURS:
                body["pv_kw"] = {ARRAY: 0.5}
                body["curtailed"] = [ARRAY]
            out.append(body)
    return out


def _post_all(api: Api, clock: Clock) -> None:
    for body in _readings():
        clock.now = datetime.fromisoformat(body["at"]).astimezone(UTC) + timedelta(minutes=1)
        r = api.client.post(f"/v1/sites/{SITE}/telemetry", json=body,
                            headers=api.auth("controller"))
        assert r.status_code == 201, r.text


def _plan_column(api: Api, plan: dict, column: str = f"{ARRAY}.available_kw") -> pd.Series:
    r = api.client.get(f"/v1/plans/{plan['plan_id']}", headers=api.auth())
    assert r.status_code == 200, r.text
    records = r.json()["records"]
    return pd.Series([row[column] for row in records])


def test_telemetry_corrects_the_next_plan_and_the_report_shows_raw_and_corrected(make_api):
    clock = Clock(FIRST)
    api = make_api(clock)
    api.put_site(SITE_YAML)
    first = api.plan({"date": "2026-06-30"})
    before = _plan_column(api, first)
    _post_all(api, clock)
    clock.now = datetime(2026, 6, 29, 9, 0, tzinfo=UTC)  # 17:00 local, after the last reading
    second = api.plan({"date": "2026-06-30"})
    after = _plan_column(api, second)
    assert before.sum() > 0
    # the curtailed readings are left out: the learned energy share is the real one
    assert after.sum() / before.sum() == pytest.approx(REAL_SHARE, abs=0.04)
    assert (after >= 0).all() and (after <= before + 1e-6).all()  # never above clear sky
    # the feeder's telemetry is the load history: 30 kW by day, 15 kW at night, not the shape
    load_before = _plan_column(api, first, "households.forecast_kw")
    load_after = _plan_column(api, second, "households.forecast_kw")
    assert load_before.sum() * 0.25 == pytest.approx(600.0, rel=0.01)  # the site's profile
    assert sorted(set(load_after.round(3))) == [FEEDER_KW / 2, FEEDER_KW]

    r = api.client.get(f"/v1/sites/{SITE}/forecast-accuracy", params={"days": 2},
                       headers=api.auth())
    assert r.status_code == 200, r.text
    roof = r.json()["arrays"][ARRAY]
    assert roof["fit"]["used"] and roof["fit"]["excluded"] == 4 * len(CURTAILED_HOURS)
    assert roof["corrected"]["rmse_pct_of_kwp"] < roof["raw"]["rmse_pct_of_kwp"]
    assert abs(roof["corrected"]["bias_kw"]) < abs(roof["raw"]["bias_kw"])
    assert roof["raw"]["bias_kw"] > 0  # clear sky over-predicts a 70 % roof


def test_forecast_accuracy_rejects_bad_days_and_unknown_sites(api: Api) -> None:
    api.put_site()
    url = f"/v1/sites/{SITE}/forecast-accuracy"
    r = api.client.get(url, params={"days": 0}, headers=api.auth())
    assert r.status_code == 422 and "days" in r.text
    assert api.client.get("/v1/sites/nowhere/forecast-accuracy",
                          headers=api.auth()).status_code == 404
    empty = api.client.get(url, headers=api.auth())
    assert empty.status_code == 200 and empty.json()["arrays"] == {}
    assert np.isfinite(empty.json()["window_days"])


def test_curtailed_and_inverter_off_must_name_pv_arrays(api: Api) -> None:
    api.put_site()
    body = {"at": "2026-07-01T10:00:00+08:00", "curtailed": ["village-battery"],
            "inverter_off": ["nope"]}
    r = api.client.post(f"/v1/sites/{SITE}/telemetry", json=body, headers=api.auth("controller"))
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert any(e.startswith("curtailed.village-battery") for e in errors)
    assert any(e.startswith("inverter_off.nope") for e in errors)


def test_plan_weather_may_carry_measured_poa_and_module_temperature(api: Api) -> None:
    api.put_site()
    times = pd.date_range("2026-06-30T15:00Z", periods=27, freq="h")  # 23:00 local, the eve
    n = len(times)
    weather = {"time": [t.isoformat() for t in times],
               "poa_global_wm2": {ARRAY: [0.0] * n, "hall-facade": [600.0] * n},
               "module_temp_c": {"hall-facade": [40.0] * n}}
    plan = api.plan({"date": "2026-07-01", "weather": weather})
    roof = _plan_column(api, plan)
    hall = _plan_column(api, plan, "hall-facade.available_kw")
    east = _plan_column(api, plan, "houses-east.available_kw")
    assert (roof == 0).all()  # a dark reference cell: no output, whatever the sun does
    day = hall[east > 0]
    assert day.max() - day.min() < 0.02 * day.max()  # constant POA and module temperature
    assert day.min() > 0 and (hall[east == 0].iloc[:4] == 0).all()  # and night stays dark
    assert east.max() > 0  # arrays without sensors keep the chain (clear sky here)
    bad = {**weather, "poa_global_wm2": {"barn": [0.0] * n}}
    r = api.client.post(f"/v1/sites/{SITE}/plans", json={"date": "2026-07-01", "weather": bad},
                        headers=api.auth())
    assert r.status_code == 422 and "barn.poa_global_wm2" in r.text
    short = {**weather, "module_temp_c": {"hall-facade": [40.0]}}
    r = api.client.post(f"/v1/sites/{SITE}/plans", json={"date": "2026-07-01", "weather": short},
                        headers=api.auth())
    assert r.status_code == 422 and "module_temp_c.hall-facade has 1 values" in r.text
