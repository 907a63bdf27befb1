"""Keys and roles: 401 without a valid key, 403 for the wrong role or site."""

from __future__ import annotations

from tests.api.conftest import SITE, Api


def test_missing_wrong_and_revoked_keys_get_401(api: Api) -> None:
    assert api.client.get("/v1/sites").status_code == 401
    bad = {"Authorization": "Bearer vg_000000000000_nonsense"}
    assert api.client.get("/v1/sites", headers=bad).status_code == 401
    r = api.client.post("/v1/keys", json={"role": "manager"}, headers=api.auth("admin"))
    assert r.status_code == 201
    made = r.json()
    mine = {"Authorization": f"Bearer {made['token']}"}
    assert api.client.get("/v1/sites", headers=mine).status_code == 200
    r = api.client.delete(f"/v1/keys/{made['key_id']}", headers=api.auth("admin"))
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    assert api.client.get("/v1/sites", headers=mine).status_code == 401


def test_tokens_are_not_stored_in_clear(api: Api) -> None:
    listed = api.client.get("/v1/keys", headers=api.auth("admin")).json()
    assert listed and all("token" not in k for k in listed)
    from api.store import ApiKey, Store

    store = Store(api.settings.database_url)
    with store.reader() as s:
        hashes = [k.token_sha256 for k in s.query(ApiKey)]
    store.dispose()
    assert not set(hashes) & set(api.tokens.values())


def test_roles(api: Api) -> None:
    api.put_site()
    r = api.client.get("/v1/keys", headers=api.auth("manager"))
    assert r.status_code == 403
    assert r.json()["detail"] == "this needs an admin key, not a manager key"
    assert api.client.get("/v1/keys", headers=api.auth("controller")).status_code == 403
    assert api.client.get("/v1/sites", headers=api.auth("controller")).status_code == 403
    r = api.client.post(
        f"/v1/sites/{SITE}/plans", json={"date": "2026-07-01"}, headers=api.auth("controller")
    )
    assert r.status_code == 403
    assert r.json()["detail"] == "this needs an admin or manager key, not a controller key"
    assert api.client.get("/v1/sites", headers=api.auth("admin")).status_code == 200


def test_controller_cannot_read_another_site(api: Api) -> None:
    api.put_site()
    assert api.dispatch("other").status_code == 403
    r = api.client.post(
        f"/v1/sites/{SITE}/telemetry",
        headers=api.auth("other"),
        json={"at": "2026-07-01T10:00:00+08:00"},
    )
    assert r.status_code == 403
    assert api.dispatch("controller").status_code == 200


def test_controller_key_needs_a_site(api: Api) -> None:
    r = api.client.post("/v1/keys", json={"role": "controller"}, headers=api.auth("admin"))
    assert r.status_code == 422
    assert r.json()["errors"][0].startswith("site:")
