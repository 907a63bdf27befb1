"""Operation rules through HTTP: re-plans keep the manager's goal, and controllers are told
what to shed."""

from __future__ import annotations

import pytest

from tests.api.conftest import SITE, Api

AT = "2026-07-01T10:07:00+08:00"


def _replan(api: Api) -> dict:
    r = api.client.post(
        f"/v1/sites/{SITE}/telemetry",
        json={"at": AT, "battery_soc_kwh": {"village-battery": 120.0}, "replan": True},
        headers=api.auth("controller"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["replanned"]
    return r.json()["plan"]


@pytest.mark.parametrize(
    "goal",
    [
        {"mode": "carbon"},
        {"mode": "cost"},
        {"mode": "cost", "emission_budget_kgco2": 60.0},
        {"mode": "cost", "carbon_guard": False},
    ],
)
def test_a_telemetry_replan_keeps_the_goal_of_the_plan_it_replaces(api: Api, goal: dict) -> None:
    api.put_site()
    first = api.plan({"date": "2026-07-01", **goal})
    assert {k: first["request"][k] for k in goal} == goal
    replan = _replan(api)
    assert replan["request"]["inherited_from"] == first["plan_id"]
    for key, value in goal.items():
        assert replan["request"][key] == value
        assert replan["request"]["inherited"][key] == value
    # the plan itself was made for that goal, not for the default one
    plan = api.client.get(f"/v1/plans/{replan['plan_id']}", headers=api.auth()).json()
    terms = plan["metadata"]["objective_terms"]
    assert terms["mode"] == goal["mode"]
    if "emission_budget_kgco2" in goal:
        assert terms["emission_budget_kgco2"] == goal["emission_budget_kgco2"]
    assert terms["carbon_guard"] is (goal["mode"] == "cost" and goal.get("carbon_guard", True))


def test_overrides_are_kept_by_the_replan(api: Api) -> None:
    api.put_site()
    outage = [1.0] * 96
    outage[48:64] = [0.0] * 16  # no grid 12:00-16:00
    api.plan({"date": "2026-07-01", "overrides": {"grid.available_pu": outage}})
    replan = _replan(api)
    assert "grid.available_pu" in replan["request"]["override_columns"]
    plan = api.client.get(f"/v1/plans/{replan['plan_id']}", headers=api.auth()).json()
    rows = {r["start"]: r for r in plan["records"]}
    assert rows["2026-07-01T13:00:00+08:00"]["grid.available_pu"] == 0.0
    assert rows["2026-07-01T13:00:00+08:00"]["grid.import_kw"] == 0.0


def test_dispatch_tells_the_controller_what_to_shed(api: Api) -> None:
    api.put_site()
    # no grid from 12:00 and no sun all day: the load outruns the battery and the genset
    arrays = ("school-roof", "houses-east", "houses-south", "houses-west", "hall-facade")
    overrides = {"grid.available_pu": [1.0] * 48 + [0.0] * 48}
    overrides.update({f"{a}.available_kw": [0.0] * 96 for a in arrays})
    plan = api.plan({"date": "2026-07-01", "overrides": overrides})
    assert plan["kpis"]["unserved_kwh"] > 1.0
    records = api.client.get(f"/v1/plans/{plan['plan_id']}", headers=api.auth()).json()["records"]
    first = next(r["start"] for r in records if r["unserved_kw"] > 1e-3)
    doc = api.dispatch(at=first).json()
    shed = doc["shedding"]
    assert shed["now"] is True and shed["now_kw"] > 0
    loads = doc["setpoints"]
    assert sum(q.get("shed_kw", 0.0) for q in loads.values()) == pytest.approx(
        shed["now_kw"], abs=1e-3
    )
    for name, kw in shed["loads_kw"].items():
        assert loads[name]["served_kw"] >= 0 and kw == loads[name]["shed_kw"]
    assert doc["intervals"][0]["start"] in shed["intervals"]
    # a morning interval with the grid up sheds nothing
    morning = api.dispatch(at="2026-07-01T09:00:00+08:00").json()
    assert morning["shedding"]["now"] is False and morning["shedding"]["now_kw"] == 0
