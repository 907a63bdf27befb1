"""The pages in headless Chromium (Debian's ``chromium`` through Playwright) against the real
server in a subprocess: log in, read each page of the demo village, switch language, fit a
360-pixel phone, print on one A4 page, and be refused another site. Screenshots and PDFs go
to ``artifacts/pages/`` for people to look at."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.services.keys import create_key
from api.store import Store
from optimizer.explain import explain
from optimizer.plan import Plan
from sites.load import load_site

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts" / "pages"
DEMO = ROOT / "sites" / "demo_village.yaml"
SITE = "demo-village"
OTHER_YAML = DEMO.read_text().replace("name: demo-village", "name: other-village")
PHONE = {"width": 360, "height": 740}
START_WAIT_S = 90  # a cold start imports pandas, Pyomo and pvlib


def _chromium_or_skip() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (Debian package chromium; .ci/run installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI=true: the browser tests must run")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``villagegrid serve`` on a fresh SQLite file, with the demo village and another site,
    two plans of today for the demo village (cost, then carbon) and keys."""
    _chromium_or_skip()
    url = f"sqlite:///{tmp_path_factory.mktemp('pages') / 'villagegrid.db'}"
    now = datetime.now(UTC)
    store = Store(url)
    try:
        tokens = {"manager": create_key(store, "manager", None, now)[1],
                  "controller": create_key(store, "controller", SITE, now)[1]}
    finally:
        store.dispose()
    port = _free_port()
    env = {**os.environ, "VILLAGEGRID_DATABASE_URL": url, "VILLAGEGRID_PLAN_POOL": "thread",
           "VILLAGEGRID_SCHEDULER_ENABLED": "false"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--log-level",
         "warning"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        client = httpx.Client(base_url=base, timeout=120,
                              headers={"Authorization": f"Bearer {tokens['manager']}"})
        deadline = time.monotonic() + START_WAIT_S
        while True:
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not start (exit code {proc.poll()})")
            time.sleep(0.3)
        yaml = {"Content-Type": "application/yaml"}
        for text in (DEMO.read_text(), OTHER_YAML):
            assert client.post("/v1/sites", content=text, headers=yaml).status_code == 201
        site = load_site(DEMO)
        today = now.astimezone(site.tz).date().isoformat()
        for mode in ("cost", "carbon"):
            r = client.post(f"/v1/sites/{SITE}/plans", json={"date": today, "mode": mode})
            assert r.status_code == 201, r.text
        current = client.get(f"/v1/sites/{SITE}/plans/current", params={"date": today})
        plan = Plan.from_dict(current.json())
        client.close()
        yield {"base": base, "tokens": tokens, "site": site, "plan": plan, "day": today}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser(server: dict[str, Any]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), chromium_sandbox=False)
        yield chromium
        chromium.close()


def _logged_in(browser: Any, server: dict[str, Any], who: str = "manager", **options: Any):
    context = browser.new_context(locale="en-US", **options)
    page = context.new_page()
    page.goto(server["base"] + "/")
    assert page.url.endswith("/login")
    page.fill("#key", server["tokens"][who])
    page.click("button[type=submit]")
    page.wait_for_url(server["base"] + "/")
    return context, page


def _no_horizontal_scroll(page: Any) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url}: {widths[0]} px wide in a {widths[1]} px window"


def _large_dark_type(page: Any) -> None:
    """Body text is at least 16 px and at least 7:1 against white (WCAG AAA)."""
    found = page.evaluate("""() => [...document.querySelectorAll('main p, main li, main td')]
        .filter(e => e.innerText.trim()).map(e => {
          const s = getComputedStyle(e);
          return [parseFloat(s.fontSize), s.color.match(/\\d+/g).slice(0, 3).map(Number)];
        })""")
    assert found
    for size_px, rgb in found:
        lum = [(c / 255) / 12.92 if c <= 10 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
        luminance = 0.2126 * lum[0] + 0.7152 * lum[1] + 0.0722 * lum[2]
        assert size_px >= 16 and (1.05 / (luminance + 0.05)) >= 7, (page.url, size_px, rgb)


def _pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def test_each_page_matches_the_plan(browser: Any, server: dict[str, Any]):
    context, page = _logged_in(browser, server)
    sites = page.eval_on_selector_all("li.site", "els => els.map(e => e.dataset.site)")
    assert sites == [SITE, "other-village"]
    page.screenshot(path=str(ARTIFACTS / "sites-en.png"), full_page=True)

    plan, site = server["plan"], server["site"]
    page.goto(f"{server['base']}/sites/{SITE}")
    shown = page.eval_on_selector_all(
        "table.kpis tbody td:nth-child(2)",
        "els => els.map(e => [e.dataset.kpi, e.dataset.value])")
    assert len(shown) == 5
    for key, value in shown:
        assert float(value) == pytest.approx(plan.kpis[key], rel=1e-9, abs=1e-9), key
    assert page.locator("figure.chart svg polygon").count() >= 3
    page.screenshot(path=str(ARTIFACTS / "day-en.png"), full_page=True)

    page.goto(f"{server['base']}/sites/{SITE}/words")
    listed = page.eval_on_selector_all(
        "li.action", "els => els.map(e => [e.dataset.what, e.dataset.why, e.dataset.device,"
        " e.dataset.start, e.dataset.end])")
    expected = [[a.what, a.why, a.device, a.start.isoformat(), a.end.isoformat()]
                for a in explain(site, plan).actions]
    assert listed == expected and len(listed) > 3
    page.screenshot(path=str(ARTIFACTS / "words-en.png"), full_page=True)

    page.goto(f"{server['base']}/sites/{SITE}/compare")
    assert page.locator("section.side").count() == 2
    page.screenshot(path=str(ARTIFACTS / "compare-en.png"), full_page=True)
    context.close()


def test_the_language_switch_and_the_browsers_language(browser: Any, server: dict[str, Any]):
    context, page = _logged_in(browser, server)
    page.goto(f"{server['base']}/sites/{SITE}/words")
    english = page.inner_text("li.action >> nth=0")
    page.click("a[hreflang=zh]")
    page.wait_for_url(f"{server['base']}/sites/{SITE}/words")
    assert page.get_attribute("html", "lang") == "zh-Hans"
    assert page.inner_text("h2") == "计划说明"
    chinese = page.inner_text("li.action >> nth=0")
    assert chinese != english and re.search(r"[\u4e00-\u9fff]", chinese)
    assert english.split()[0] == chinese.split()[0]  # the same time span
    page.screenshot(path=str(ARTIFACTS / "words-zh.png"), full_page=True)
    context.close()
    zh = browser.new_context(locale="zh-CN")
    page = zh.new_page()
    page.goto(server["base"] + "/login")
    assert page.inner_text("h1") == "登录"
    zh.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_phone_needs_no_horizontal_scroll(browser: Any, server: dict[str, Any], lang: str):
    context, page = _logged_in(browser, server, viewport=PHONE, device_scale_factor=2,
                               is_mobile=True, has_touch=True)
    page.goto(f"{server['base']}/lang/{lang}?next=/")
    for name, path in (("sites", "/"), ("day", f"/sites/{SITE}"),
                       ("words", f"/sites/{SITE}/words"), ("compare", f"/sites/{SITE}/compare")):
        page.goto(server["base"] + path)
        _no_horizontal_scroll(page)
        _large_dark_type(page)
        page.screenshot(path=str(ARTIFACTS / f"phone-{name}-{lang}.png"), full_page=True)
    context.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_plain_words_print_on_one_a4_page(browser: Any, server: dict[str, Any], lang: str):
    context, page = _logged_in(browser, server)
    page.goto(f"{server['base']}/lang/{lang}?next=/sites/{SITE}/words")
    pdf = page.pdf(format="A4", print_background=False)
    (ARTIFACTS / f"words-{lang}.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF") and _pdf_pages(pdf) == 1
    page.emulate_media(media="print")
    assert page.locator("header.bar").is_hidden()
    page.screenshot(path=str(ARTIFACTS / f"print-{lang}.png"), full_page=True)
    context.close()


def test_another_sites_pages_are_refused(browser: Any, server: dict[str, Any]):
    context, page = _logged_in(browser, server, who="controller")
    sites = page.eval_on_selector_all("li.site", "els => els.map(e => e.dataset.site)")
    assert sites == [SITE]
    for path in ("/sites/other-village", "/sites/other-village/words"):
        response = page.goto(server["base"] + path)
        assert response is not None and response.status == 403
        assert "other-village" in page.inner_text("p.error")
    page.screenshot(path=str(ARTIFACTS / "refused-en.png"), full_page=True)
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["vg_session"]["httpOnly"] and cookies["vg_session"]["sameSite"] == "Lax"
    assert server["tokens"]["controller"] not in json.dumps(context.cookies())
    context.close()
