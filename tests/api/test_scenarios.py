"""Scenario plans through HTTP and the CLI: ``scenarios: 3`` is planned, stored with the
request and inherited by re-plans; other values are refused by name."""

from __future__ import annotations

import pytest

from api.cli import main
from tests.api.conftest import SITE, Api

AT = "2026-07-01T10:07:00+08:00"


def test_a_three_scenario_plan_is_made_stored_and_inherited(api: Api) -> None:
    api.put_site()
    first = api.plan({"date": "2026-07-01", "scenarios": 3})
    assert first["status"] == "optimal" and first["request"]["scenarios"] == 3
    plan = api.client.get(f"/v1/plans/{first['plan_id']}", headers=api.auth()).json()
    terms = plan["metadata"]["objective_terms"]
    assert [s["name"] for s in terms["scenarios"]] == ["p10", "p50", "p90"]
    assert [s["weight"] for s in terms["scenarios"]] == [0.3, 0.4, 0.3]
    assert terms["served_scenario"] == "p50"
    r = api.client.post(
        f"/v1/sites/{SITE}/telemetry",
        json={"at": AT, "battery_soc_kwh": {"village-battery": 120.0}, "replan": True},
        headers=api.auth("controller"),
    )
    assert r.status_code == 201, r.text
    replan = r.json()["plan"]
    assert replan["request"]["scenarios"] == 3
    assert replan["request"]["inherited"]["scenarios"] == 3
    again = api.client.get(f"/v1/plans/{replan['plan_id']}", headers=api.auth()).json()
    assert len(again["metadata"]["objective_terms"]["scenarios"]) == 3


def test_a_default_plan_has_one_scenario(api: Api) -> None:
    api.put_site()
    first = api.plan({"date": "2026-07-01"})
    assert first["request"]["scenarios"] == 1
    plan = api.client.get(f"/v1/plans/{first['plan_id']}", headers=api.auth()).json()
    assert "scenarios" not in plan["metadata"]["objective_terms"]


@pytest.mark.parametrize("bad", [0, 2, 4, "x", None, 3.5])
def test_a_bad_scenario_count_is_422_naming_the_field(api: Api, bad: object) -> None:
    api.put_site()
    r = api.client.post(f"/v1/sites/{SITE}/plans", json={"date": "2026-07-01", "scenarios": bad},
                        headers=api.auth())
    assert r.status_code == 422, r.text
    assert any("scenarios" in line for line in r.json()["errors"]), r.json()


@pytest.mark.parametrize("bad", ["0", "2", "4", "x"])
def test_the_cli_refuses_a_bad_scenario_count_with_exit_2(bad: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["plan", "sites/demo_village.yaml", "--date", "2026-07-01", "--scenarios", bad])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--scenarios" in err and "Traceback" not in err


def test_the_cli_plans_three_scenarios(tmp_path, capsys) -> None:
    out = tmp_path / "plan.json"
    code = main(["plan", "sites/demo_village.yaml", "--date", "2026-07-01",
                 "--scenarios", "3", "--out", str(out)])
    assert code == 0
    import json

    terms = json.loads(out.read_text())["metadata"]["objective_terms"]
    assert [s["weight"] for s in terms["scenarios"]] == [0.3, 0.4, 0.3]
    assert "scenarios" in capsys.readouterr().out
