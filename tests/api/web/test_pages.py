"""The pages through the real app and database: logins, who sees what, languages, errors."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from api.services.keys import create_key
from api.store import Store
from api.web.auth import SESSION_COOKIE, make_login_link
from tests.api.conftest import NOW, SITE, SITE_YAML, Api

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
OTHER_YAML = SITE_YAML.replace("name: demo-village", "name: other-village").replace(
    "county: Qingxin District", "county: Yangshan County")


def login(api: Api, who: str = "manager") -> None:
    r = api.client.post("/login", content=f"key={api.tokens[who]}", headers=FORM,
                        follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"


@pytest.fixture
def planned(api: Api) -> Api:
    api.put_site()
    api.put_site(OTHER_YAML)
    api.plan({"date": "2026-07-01"})
    return api


def test_pages_need_a_login_and_the_cookie_is_httponly(planned: Api):
    for path in ("/", f"/sites/{SITE}", f"/sites/{SITE}/words", f"/sites/{SITE}/compare"):
        r = planned.client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login", path
    r = planned.client.post("/login", content=f"key={planned.tokens['manager']}", headers=FORM,
                            follow_redirects=False)
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert planned.tokens["manager"] not in cookie
    assert planned.client.get("/").status_code == 200


def test_a_wrong_key_is_refused_with_the_form(planned: Api):
    r = planned.client.post("/login", content="key=vg_nothing_here", headers=FORM)
    assert r.status_code == 401 and 'name="key"' in r.text
    assert SESSION_COOKIE not in r.headers.get("set-cookie", "")


def test_a_controller_sees_its_own_site_only(planned: Api):
    login(planned, "controller")
    home = planned.client.get("/")
    assert re.findall(r'data-site="([^"]+)"', home.text) == [SITE]
    assert planned.client.get(f"/sites/{SITE}/words").status_code == 200
    for path in ("/sites/other-village", "/sites/other-village/words",
                 "/sites/other-village/compare"):
        r = planned.client.get(path)
        assert r.status_code == 403 and "other-village" in r.text, path


def test_a_manager_sees_every_site_grouped_by_county(planned: Api):
    login(planned)
    home = planned.client.get("/").text
    assert re.findall(r'data-site="([^"]+)"', home) == [SITE, "other-village"]
    assert home.index("Qingxin District") < home.index("Yangshan County")
    assert home.index("Taihe Town") < home.index("other-village")


def test_login_link_works_once_and_leaves_the_url(planned: Api, db_url: str):
    store = Store(db_url)
    try:
        row, _token = create_key(store, "controller", SITE, NOW)
        link = make_login_link(store, row.key_id, NOW, 15)
        old = make_login_link(store, row.key_id, NOW - timedelta(minutes=20), 15)
    finally:
        store.dispose()
    r = planned.client.get(f"/login?token={link}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert link not in r.headers["location"]
    assert planned.client.get(f"/sites/{SITE}").status_code == 200
    planned.client.cookies.clear()
    again = planned.client.get(f"/login?token={link}", follow_redirects=False)
    assert again.status_code == 401 and "expired" in again.text
    expired = planned.client.get(f"/login?token={old}", follow_redirects=False)
    assert expired.status_code == 401


def test_revoking_the_key_ends_its_sessions(planned: Api, db_url: str):
    store = Store(db_url)
    try:
        row, token = create_key(store, "manager", None, NOW)
    finally:
        store.dispose()
    planned.client.post("/login", content=f"key={token}", headers=FORM)
    assert planned.client.get("/").status_code == 200
    r = planned.client.delete(f"/v1/keys/{row.key_id}", headers=planned.auth("admin"))
    assert r.status_code in (200, 204), r.text
    assert planned.client.get("/", follow_redirects=False).status_code == 303


def test_logout_ends_the_session(planned: Api):
    login(planned)
    r = planned.client.post("/logout", follow_redirects=False)
    assert r.status_code == 303
    assert planned.client.get("/", follow_redirects=False).status_code == 303


def test_language_from_the_browser_and_the_switch(planned: Api):
    login(planned)
    zh = planned.client.get(f"/sites/{SITE}/words", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert '<html lang="zh-Hans">' in zh.text and "计划说明" in zh.text
    en = planned.client.get(f"/sites/{SITE}/words", headers={"Accept-Language": "en-GB"})
    assert "The plan in plain words" in en.text
    r = planned.client.get(f"/lang/zh?next=/sites/{SITE}/words", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/sites/{SITE}/words"
    again = planned.client.get(f"/sites/{SITE}/words", headers={"Accept-Language": "en"})
    assert "计划说明" in again.text
    away = planned.client.get("/lang/en?next=//evil.example/", follow_redirects=False)
    assert away.headers["location"] == "/"


def test_bad_input_gets_a_page_naming_it(planned: Api):
    login(planned)
    r = planned.client.get(f"/sites/{SITE}?date=2026-13-01")
    assert r.status_code == 422 and "2026-13-01" in r.text and "YYYY-MM-DD" in r.text
    r = planned.client.get(f"/sites/{SITE}/words?plan=no-such-plan")
    assert r.status_code == 404 and "no-such-plan" in r.text
    r = planned.client.get("/sites/nowhere")
    assert r.status_code == 404 and "nowhere" in r.text
    r = planned.client.get(f"/sites/{SITE}/compare?a=bad%20id")
    assert r.status_code == 422 and "bad id" in r.text


def test_a_day_without_a_plan_says_so(planned: Api):
    login(planned)
    r = planned.client.get(f"/sites/{SITE}?date=2026-08-01")
    assert r.status_code == 200 and 'data-state="none"' in r.text


def test_compare_shows_both_plans_and_their_difference(planned: Api):
    planned.clock.now = NOW + timedelta(minutes=5)
    carbon = planned.plan({"date": "2026-07-01", "mode": "carbon"})
    login(planned)
    r = planned.client.get(f"/sites/{SITE}/compare?date=2026-07-01")
    assert r.status_code == 200
    plans = re.findall(r'<section class="side" data-plan="([^"]+)"', r.text)
    assert plans[1] == carbon["plan_id"] and len(plans) == 2
    assert "mode: least carbon" in r.text and "mode: least cost" in r.text
    diff = float(re.search(r'data-cost-diff="([^"]+)"', r.text).group(1))
    first = planned.client.get(f"/v1/plans/{plans[0]}/summary", headers=planned.auth()).json()
    second = planned.client.get(f"/v1/plans/{plans[1]}/summary", headers=planned.auth()).json()
    assert diff == pytest.approx(second["kpis"]["cost"] - first["kpis"]["cost"])


def test_a_site_served_by_the_rule_based_fallback_says_so(api: Api):
    api.put_site()
    assert api.dispatch().status_code == 200  # no plan: dispatch makes today's fallback plan
    login(api)
    home = api.client.get("/").text
    assert 'data-state="fallback"' in home
    day = api.client.get(f"/sites/{SITE}")
    assert 'data-state="fallback"' in day.text and "rule-based fallback" in day.text


@pytest.mark.parametrize("name", ["mountain_hamlet", "dairy_cooperative"])
def test_every_example_village_has_its_pages(api: Api, name: str):
    from pathlib import Path

    text = (Path(__file__).resolve().parents[3] / "sites" / f"{name}.yaml").read_text()
    site = api.put_site(text)["name"]
    api.plan({"date": "2026-07-01"}, site=site)
    login(api)
    day = api.client.get(f"/sites/{site}?date=2026-07-01")
    assert day.status_code == 200 and day.text.count("<svg") == 1
    has_grid = "kind: grid" in text
    assert ("grid price</li>" in day.text) == has_grid  # the price panel only with a grid
    assert ("Bottom: grid price." in day.text) == has_grid
    words = api.client.get(f"/sites/{site}/words?date=2026-07-01")
    assert words.status_code == 200 and 'class="action' in words.text
