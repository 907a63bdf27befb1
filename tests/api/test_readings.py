"""Readings and the ledger through the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.api.conftest import SITE, SITE_YAML, Clock

#: 1 December 2026, after the bundled month of readings.
DEC = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
MONTH_CSV = (Path(__file__).parents[2] / "sites" / "readings" / "demo_village_2026-11.csv"
             ).read_text()


def reading(**fields):
    base = {"kind": "gas_produced", "device": "pig-digester", "meter": "gas-meter",
            "at": "2026-11-10T08:00:00+08:00", "value": 100.0}
    return {**base, **fields}


@pytest.fixture
def dec_api(make_api):
    api = make_api(Clock(DEC))
    api.put_site()
    return api


def post(api, rows, who="controller", site=SITE):
    return api.client.post(f"/v1/sites/{site}/readings", json={"readings": rows},
                           headers=api.auth(who))


def feed(at="2026-11-09T08:00:00+08:00", kg=1200):
    return reading(kind="feedstock", meter="pig-manure", at=at, value=kg)


def test_who_may_write_read_and_correct(dec_api):
    api = dec_api
    assert post(api, [feed()], "controller").status_code == 201
    assert post(api, [feed("2026-11-08T08:00:00+08:00")], "manager").status_code == 201
    assert post(api, [feed("2026-11-07T08:00:00+08:00")], "admin").status_code == 201
    assert post(api, [feed("2026-11-06T08:00:00+08:00")], "other").status_code == 403
    r = api.client.post(f"/v1/sites/{SITE}/readings", json={"readings": [feed()]})
    assert r.status_code == 401
    url = f"/v1/sites/{SITE}/readings"
    assert api.client.get(url, headers=api.auth("manager")).status_code == 200
    assert api.client.get(url, headers=api.auth("controller")).status_code == 403
    first = api.client.get(url, headers=api.auth("manager")).json()[0]["id"]
    fix = {"value": 1100, "reason": "scale re-calibrated"}
    assert api.client.post(f"{url}/{first}/corrections", json=fix,
                           headers=api.auth("controller")).status_code == 403
    assert api.client.post(f"{url}/{first}/corrections", json=fix,
                           headers=api.auth("manager")).status_code == 201
    ledger = f"/v1/sites/{SITE}/ledger?month=2026-11"
    assert api.client.get(ledger, headers=api.auth("controller")).status_code == 403
    assert api.client.get(ledger, headers=api.auth("manager")).status_code == 200


def test_a_re_post_is_idempotent_and_a_changed_value_is_refused(dec_api):
    api = dec_api
    rows = [feed(), reading(value=100.0), reading(at="2026-11-11T08:00:00+08:00", value=150.0)]
    first = post(api, rows).json()
    assert len(first["stored"]) == 3 and first["duplicates"] == []
    again = post(api, rows).json()
    assert again["stored"] == [] and [d["id"] for d in again["duplicates"]] == [
        s["id"] for s in first["stored"]]
    listed = api.client.get(f"/v1/sites/{SITE}/readings", headers=api.auth()).json()
    assert len(listed) == 3
    r = post(api, [reading(value=101.0)])
    assert r.status_code == 422
    assert "is stored already" in r.json()["errors"][0] and "corrections" in r.json()["errors"][0]


def test_a_correction_keeps_the_old_value(dec_api):
    api = dec_api
    stored = post(api, [feed(), reading(value=100.0),
                        reading(at="2026-11-11T08:00:00+08:00", value=150.0)]).json()["stored"]
    gas = stored[2]
    url = f"/v1/sites/{SITE}/readings/{gas['id']}"
    fixed = api.client.post(f"{url}/corrections", json={"value": 140.0, "reason": "misread"},
                            headers=api.auth()).json()
    assert fixed["revision"] == 1 and fixed["supersedes"] == gas["id"]
    history = api.client.get(f"{url}/history", headers=api.auth()).json()
    assert [(h["value"], h["revision"], h["reason"]) for h in history] == [
        (150.0, 0, ""), (140.0, 1, "misread")]
    current = api.client.get(f"/v1/sites/{SITE}/readings?kind=gas_produced",
                             headers=api.auth()).json()
    assert [c["value"] for c in current] == [100.0, 140.0]
    every = api.client.get(f"/v1/sites/{SITE}/readings?kind=gas_produced&history=true",
                           headers=api.auth()).json()
    assert [c["value"] for c in every] == [100.0, 150.0, 140.0]
    # the superseded revision cannot be corrected again; a correction is checked as well
    again = api.client.post(f"{url}/corrections", json={"value": 1.0, "reason": "x"},
                            headers=api.auth())
    assert again.status_code == 409
    bad = api.client.post(f"/v1/sites/{SITE}/readings/{fixed['id']}/corrections",
                          json={"value": 50.0, "reason": "typo"}, headers=api.auth())
    assert bad.status_code == 422 and "negative meter delta" in bad.json()["errors"][0]


@pytest.mark.parametrize("rows, field, rule", [
    ([reading(at="2026-12-02T08:00:00+08:00")], "readings[0].at", "in the future"),
    ([feed(), reading(value=100.0), reading(at="2026-11-11T08:00:00+08:00", value=90.0)],
     "readings[2].value", "negative meter delta"),
    ([reading(kind="holder_level", meter="", value=61.0)], "readings[0].value",
     "above the holder's capacity"),
    ([feed(kg=100), reading(value=100.0), reading(at="2026-11-11T08:00:00+08:00", value=200.0)],
     "readings[2].value", "above what the feedstock recorded"),
    ([reading(device="pig-digestor")], "readings[0].device", "name a digester"),
    ([reading(kind="compost")], "readings[0].kind", "must be one of"),
    ([reading(ts_pu=0.2)], "readings[0].ts_pu", "belongs to a feedstock delivery"),
])
def test_each_implausible_reading_is_refused_and_nothing_is_stored(dec_api, rows, field, rule):
    api = dec_api
    r = post(api, rows)
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert any(e.startswith(field) and rule in e for e in errors), errors
    assert api.client.get(f"/v1/sites/{SITE}/readings", headers=api.auth()).json() == []


def test_csv_upload_of_a_month_gives_the_ledger(dec_api):
    api = dec_api
    r = api.client.post(f"/v1/sites/{SITE}/readings", content=MONTH_CSV,
                        headers={**api.auth("controller"), "Content-Type": "text/csv"})
    assert r.status_code == 201, r.text
    assert len(r.json()["stored"]) == MONTH_CSV.count("\n") - 1
    again = api.client.post(f"/v1/sites/{SITE}/readings", content=MONTH_CSV,
                            headers={**api.auth("controller"), "Content-Type": "text/csv"})
    assert again.json()["stored"] == []
    url = f"/v1/sites/{SITE}/ledger?month=2026-11"
    account = api.client.get(url, headers=api.auth()).json()
    assert account["closes"] is True
    assert set(account["claims"]) == {"avoided_manure_methane", "displaced_electricity",
                                      "displaced_cooking_fuel"}
    assert all(c["status"] == "claimed" for c in account["claims"].values())
    csv = api.client.get(url + "&format=csv", headers=api.auth())
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "section,item,quantity,value,unit,source"
    html = api.client.get(url + "&format=html", headers=api.auth()).text
    assert html.count("<svg") == 2 and "@page { size: A4" in html
    bad = api.client.post(f"/v1/sites/{SITE}/readings", content="kind,at\nx,y\n",
                          headers={**api.auth(), "Content-Type": "text/csv"})
    assert bad.status_code == 422 and "header" in bad.json()["errors"][0]
    # a carriage return inside an unquoted field is no CSV the reader takes: 422, not a 500
    broken = api.client.post(f"/v1/sites/{SITE}/readings",
                             content='kind,device,at,value\n"gas"x\r"y,d,2026-11-01,1\n',
                             headers={**api.auth(), "Content-Type": "text/csv"})
    assert broken.status_code == 422 and broken.json()["errors"][0].startswith("CSV: not readable")


def test_a_county_sums_its_villages_claim_by_claim(dec_api):
    api = dec_api
    api.put_site(SITE_YAML.replace("name: demo-village ", "name: demo-village-east "))
    for site in (SITE, "demo-village-east"):
        r = api.client.post(f"/v1/sites/{site}/readings", content=MONTH_CSV,
                            headers={**api.auth(), "Content-Type": "text/csv"})
        assert r.status_code == 201, r.text
    one = api.client.get(f"/v1/sites/{SITE}/ledger?month=2026-11", headers=api.auth()).json()
    county = api.client.get("/v1/ledger/counties/Qingxin District?month=2026-11",
                            headers=api.auth()).json()
    assert sorted(county["villages"]) == [SITE, "demo-village-east"]
    for name, claim in county["claims"].items():
        assert claim["kgco2e"] == pytest.approx(2 * one["claims"][name]["kgco2e"])
    missing = api.client.get("/v1/ledger/counties/Nowhere?month=2026-11", headers=api.auth())
    assert missing.status_code == 404


def test_one_reading_may_be_posted_on_its_own(dec_api):
    api = dec_api
    url = f"/v1/sites/{SITE}/readings"
    r = api.client.post(url, json=feed(), headers=api.auth("controller"))
    assert r.status_code == 201 and len(r.json()["stored"]) == 1
    assert r.json()["stored"][0]["recorded_by"]  # the key that recorded it
    bad = api.client.post(url, json={**feed(), "value": "lots"}, headers=api.auth())
    assert bad.status_code == 422 and bad.json()["errors"][0].startswith("value")


def test_plan_against_actual_takes_the_days_current_plans(dec_api):
    api = dec_api
    api.client.post(f"/v1/sites/{SITE}/readings", content=MONTH_CSV,
                    headers={**api.auth(), "Content-Type": "text/csv"})
    url = f"/v1/sites/{SITE}/ledger?month=2026-11"
    model = api.client.get(url, headers=api.auth()).json()["digesters"][0]["plan_vs_actual"]
    assert model["plan_source"] == "site model"
    api.plan({"date": "2026-11-10"})
    got = api.client.get(url, headers=api.auth()).json()["digesters"][0]["plan_vs_actual"]
    assert got["plan_source"] == "current plans of 1 of 30 days"
    # one day of the steady 72.4 m³/day the demo digester's feed yields
    assert got["planned_biogas_m3"] == pytest.approx(1200 * 0.2 * 0.8 * 0.29 * 0.78 / 0.6)


@pytest.mark.parametrize("who, write, read", [
    ("admin", 201, 200), ("manager", 201, 200), ("controller", 201, 403), ("other", 403, 403),
])
def test_role_matrix_on_the_own_site(dec_api, who, write, read):
    api = dec_api
    stored = post(api, [feed()], "manager").json()["stored"][0]["id"]
    assert post(api, [feed("2026-11-05T08:00:00+08:00")], who).status_code == write
    base = f"/v1/sites/{SITE}"
    county = "/v1/ledger/counties/Qingxin District?month=2026-11"
    for url in (f"{base}/readings", f"{base}/readings/{stored}/history",
                f"{base}/ledger?month=2026-11", county):
        assert api.client.get(url, headers=api.auth(who)).status_code == read, url
    fix = api.client.post(f"{base}/readings/{stored}/corrections",
                          json={"value": 1000, "reason": "re-weighed"}, headers=api.auth(who))
    assert fix.status_code == (201 if read == 200 else 403)
