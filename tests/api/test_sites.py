"""Sites: versioning, validation errors that name the field, YAML and JSON bodies."""

from __future__ import annotations

import yaml

from tests.api.conftest import SITE, SITE_YAML, Api


def test_same_content_same_version_changed_content_new_version(api: Api) -> None:
    first = api.put_site()
    assert (first["version"], first["changed"]) == (1, True)
    again = api.put_site()
    assert (again["version"], again["changed"]) == (1, False)
    data = yaml.safe_load(SITE_YAML)
    data["description"] = "changed"
    r = api.client.put(f"/v1/sites/{SITE}", json=data, headers=api.auth())
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["changed"]) == (2, True)
    versions = api.client.get(f"/v1/sites/{SITE}/versions", headers=api.auth()).json()
    assert [v["version"] for v in versions] == [1, 2]
    got = api.client.get(f"/v1/sites/{SITE}", params={"version": 1}, headers=api.auth()).json()
    assert got["site"]["description"] != "changed"
    listed = api.client.get("/v1/sites", headers=api.auth()).json()
    assert [(s["name"], s["version"]) for s in listed] == [(SITE, 2)]


def test_yaml_round_trip(api: Api) -> None:
    api.put_site()
    r = api.client.get(f"/v1/sites/{SITE}", params={"format": "yaml"}, headers=api.auth())
    assert r.status_code == 200
    assert yaml.safe_load(r.text)["name"] == SITE


def test_invalid_site_names_each_field(api: Api) -> None:
    bad = SITE_YAML.replace("capacity_kwh: 200", "capacity_kwh: -5").replace(
        "timezone: Asia/Shanghai", "timezone: Mars/Olympus"
    )
    r = api.client.post(
        "/v1/sites", content=bad, headers={**api.auth(), "Content-Type": "application/yaml"}
    )
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert any("location.timezone" in e for e in errors), errors
    assert any("village-battery" in e and "capacity_kwh" in e for e in errors), errors


def test_url_name_must_match_body(api: Api) -> None:
    r = api.client.put(
        "/v1/sites/another",
        content=SITE_YAML,
        headers={**api.auth(), "Content-Type": "application/yaml"},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0].startswith("name:")


def test_unknown_site_is_404(api: Api) -> None:
    assert api.client.get("/v1/sites/nowhere", headers=api.auth()).status_code == 404
