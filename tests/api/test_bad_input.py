"""Bad input over HTTP gets a named 4xx, on SQLite and PostgreSQL, and the OpenAPI document
lists the error answers the service really gives."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import SITE, SITE_YAML, Api

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("spelling", [".inf", ".Inf", "-.inf", ".nan"])
def test_an_infinite_number_in_a_site_file_is_refused(api: Api, spelling: str) -> None:
    text = re.sub(r"dc_capacity_kwp: [0-9.]+", f"dc_capacity_kwp: {spelling}", SITE_YAML, count=1)
    r = api.client.post("/v1/sites", content=text,
                        headers={**api.auth(), "Content-Type": "application/yaml"})
    assert r.status_code == 422, r.text
    assert any("dc_capacity_kwp" in line and "finite" in line for line in r.json()["errors"])
    assert api.client.get("/v1/sites", headers=api.auth()).json() == []


def test_infinity_in_a_json_site_is_refused(api: Api) -> None:
    import yaml

    data = yaml.safe_load(SITE_YAML)
    data["devices"][0]["dc_capacity_kwp"] = "REPLACE"
    import json

    text = json.dumps(data).replace('"REPLACE"', "Infinity")
    r = api.client.post("/v1/sites", content=text, headers={**api.auth(), **JSON})
    assert r.status_code == 422, r.text


def test_a_repeated_key_in_a_json_site_is_refused(api: Api) -> None:
    r = api.client.post("/v1/sites", content='{"name": "a", "name": "b"}',
                        headers={**api.auth(), **JSON})
    assert r.status_code == 422
    assert r.json()["errors"] == ["JSON object has a repeated key 'name'"]


@pytest.mark.parametrize("label", ["a\x00b", "line\nbreak", "x" * 201])
def test_a_key_label_that_cannot_be_stored_is_named(api: Api, label: str) -> None:
    r = api.client.post("/v1/keys", json={"role": "manager", "label": label},
                        headers=api.auth("admin"))
    assert r.status_code == 422, r.text
    assert any(line.startswith(("label", "body.label")) for line in r.json()["errors"])


def test_a_body_that_is_not_utf8_json_gets_422(api: Api) -> None:
    api.put_site()
    r = api.client.post(f"/v1/sites/{SITE}/plans", content=b"\xff{",
                        headers={**api.auth(), "Content-Type": "application/json; charset=x"})
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == ["body: not JSON in UTF-8"]


def test_a_long_if_none_match_is_refused_also_when_the_answer_is_in_memory(api: Api) -> None:
    api.put_site()
    api.plan({"date": "2026-07-01"})
    first = api.dispatch()
    assert first.status_code == 200
    for _ in range(3):  # the answer is cached now: the poll is served before the route
        r = api.client.get(f"/v1/sites/{SITE}/dispatch",
                           headers={**api.auth("controller"), "If-None-Match": "x" * 201})
        assert r.status_code == 422, r.text
        assert "if-none-match" in r.text
    r = api.client.get(f"/v1/sites/{SITE}/dispatch",
                       headers={**api.auth("controller"), "If-None-Match": first.headers["etag"]})
    assert r.status_code == 304


def test_openapi_lists_the_error_answers(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            answers = operation["responses"]
            if path.startswith("/v1/"):
                assert {"401", "403", "422", "429"} <= set(answers), (method, path)
            if path.startswith("/v1/") and "{" in path:
                assert "404" in answers, (method, path)
            if method in ("post", "put"):
                assert "413" in answers, (method, path)
            if "422" in answers:  # the shape the service really sends
                ref = answers["422"]["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/ErrorOut", (method, path)
    assert "ErrorOut" in schema["components"]["schemas"]
    # and an answer the schema lists is what the service gives
    r = api.client.get("/v1/sites/nowhere", headers=api.auth())
    assert r.status_code == 404 and set(r.json()) == {"detail", "errors"}
