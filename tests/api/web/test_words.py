"""Catalogues, local formats and the plan in plain words in the terminal."""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po

from api.cli import main
from api.web import words
from api.web.i18n import LOCALE_DIR, Local, negotiate, read_catalogues
from optimizer.explain import Action, explain
from optimizer.plan import Plan
from sites.load import load_site
from tests.api.conftest import Api

WEB = Path(words.__file__).parent
DEMO = str(Path(__file__).resolve().parents[3] / "sites" / "demo_village.yaml")
TZ = ZoneInfo("Asia/Shanghai")


def used_ids() -> set[str]:
    """Message ids marked in the web package's code and templates."""
    found = set(words.WHAT.values()) | set(words.WHY.values()) | {words.JOIN}
    for path in [*WEB.glob("*.py"), *(WEB / "templates").glob("*.html")]:
        text = path.read_text(encoding="utf-8")
        found.update(re.findall(r'\b(?:N_|_)\(\s*"((?:[^"\\]|\\.)*)"', text))
        for table in re.findall(r'_\(\{([^}]*)\}\[', text):
            found.update(re.findall(r':\s*"([^"]*)"', table))
        found.update(re.findall(r'\("[a-z_]+", "([^"]+)", "(?:money|number|percent)"\)', text))
    return found


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("po", sorted(LOCALE_DIR.glob("*/LC_MESSAGES/messages.po")),
                         ids=lambda p: p.parents[1].name)
def test_every_message_is_translated_with_the_same_placeholders(po: Path):
    with po.open("rb") as f:
        catalog = read_po(f)
    ids = used_ids()
    assert len(ids) > 80
    missing = sorted(i for i in ids if not (catalog.get(i) and catalog.get(i).string))
    assert missing == []
    for message in catalog:
        if message.id:
            assert fields(message.string) == fields(message.id), message.id


def test_language_negotiation():
    langs = list(read_catalogues())
    assert negotiate("zh-CN,zh;q=0.9,en;q=0.8", langs) == "zh"
    assert negotiate("en-US,en;q=0.9,zh;q=0.5", langs) == "en"
    assert negotiate("fr-FR, zh-TW;q=0.3", langs) == "zh"
    assert negotiate("fr", langs) == "en"
    assert negotiate(None, langs) == "en"
    assert negotiate("zh;q=nonsense, en;q=0.1", langs) == "en"


def test_numbers_money_and_times_follow_the_language():
    catalogues = read_catalogues()
    zh, en = (Local(lang, catalogues[lang], "CNY") for lang in ("zh", "en"))
    moment = datetime(2026, 7, 1, 18, 30, tzinfo=TZ)
    assert zh.money(1.1) == "¥1.10" and en.money(1.1) == "CN¥1.10"
    assert en.number(1234.6) == "1,235" and en.number(3.14) == "3.1" and en.number(0.001) == "0"
    assert zh.time(moment) == en.time(moment) == "18:30"
    assert zh.day(moment) == "2026年7月1日星期三"
    assert en.day(moment) == "Wednesday, July 1, 2026"


def test_a_sentence_shows_the_actions_own_numbers():
    catalogues = read_catalogues()
    start = datetime(2026, 7, 1, 18, tzinfo=TZ)
    action = Action(start, start.replace(hour=21), "discharge", "village-battery", "dear",
                    {"energy_kwh": 86.4, "price_per_kwh": 1.1, "cheapest_per_kwh": 0.25})
    what, why = words.sentence(action, Local("en", catalogues["en"]))
    assert what == "the battery village-battery supplies the village (86 kWh)"
    assert why == "power is dear then: CN¥1.10 per kWh, against CN¥0.25 when it charged"
    dearer = Action(**{**action.__dict__, "numbers": {**action.numbers, "price_per_kwh": 1.5}})
    zh = Local("zh", catalogues["zh"])
    assert "¥1.50" in words.sentence(dearer, zh)[1] and "电价高" in words.sentence(dearer, zh)[1]


def test_plan_explain_prints_each_action_in_the_chosen_language(tmp_path, capsys):
    out = tmp_path / "plan.json"
    assert main(["plan", DEMO, "--date", "2026-06-21", "--out", str(out), "--explain",
                 "--lang", "zh"]) == 0
    printed = capsys.readouterr().out
    plan = Plan.from_dict(json.loads(out.read_text(encoding="utf-8")))
    actions = explain(load_site(DEMO), plan).actions
    lines = [ln for ln in printed.splitlines() if re.match(r"\s+[ !] \d\d:\d\d", ln)]
    assert len(lines) == len(actions) > 3
    for line, action in zip(lines, actions, strict=True):
        assert action.start.strftime("%H:%M") in line
    assert "——" in lines[0] and "费用" in printed


def test_plan_explain_refuses_an_unknown_language(capsys):
    assert main(["plan", DEMO, "--date", "2026-06-21", "--explain", "--lang", "fr"]) == 2
    err = capsys.readouterr().err
    assert "--lang" in err and "'fr'" in err and "zh" in err


def test_keys_link_prints_a_single_use_login_url(
    make_api: Callable[..., Api], db_url: str, capsys: pytest.CaptureFixture[str]
):
    api = make_api()
    assert main(["keys", "--database-url", db_url, "create", "--role", "manager"]) == 0
    capsys.readouterr()
    assert main(["keys", "--database-url", db_url, "list"]) == 0
    key_id = capsys.readouterr().out.splitlines()[-1].split("\t")[0]
    assert main(["keys", "--database-url", db_url, "link", key_id, "--minutes", "5",
                 "--base-url", "http://testserver"]) == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith("http://testserver/login?token=")
    api.clock.now = datetime.now(UTC)
    r = api.client.get(url, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert main(["keys", "--database-url", db_url, "link", "nokey"]) == 2
    assert "nokey" in capsys.readouterr().err
    assert main(["keys", "--database-url", db_url, "link", key_id, "--minutes", "0"]) == 2
    assert "minutes" in capsys.readouterr().err
