"""The device contract is complete: a kind the code base has never heard of (the ice bank of
``tests/optimizer/icebank.py``, declared only through its spec, model, columns, state, rule,
cost and emissions) runs through the whole product without any core module changing: both
plans, KPIs, plots, study tables, the plan in plain words, the stored plan over HTTP, the
dispatch document, state and telemetry bodies, and the state carried to the next plan.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from api.web import words
from api.web.i18n import Local, read_catalogues
from optimizer.accounting import interval_accounts, kpis
from optimizer.baseline import rule_based_plan
from optimizer.devices import REGISTRY, device_models, registered
from optimizer.explain import explain
from optimizer.inputs import build_inputs
from optimizer.planner import make_plan
from optimizer.plot import plot_plan
from optimizer.site_columns import controller_columns
from optimizer.state import State
from optimizer.studies.report import energy_flows, monthly_energy, plot_monthly_balance
from sites.load import site_from_data
from sites.schema import Site
from tests.api.conftest import NOW, SITE, Api, Clock
from tests.optimizer import icebank
from tests.optimizer.invariants import ACCOUNT_ORACLES, plan_problems

DEMO = Path(__file__).parents[2] / "sites" / "demo_village.yaml"
ICE = "ice-bank"
ICE_BANK = {"name": ICE, "kind": "ice_bank", "capacity_kwh": 60.0, "max_chill_kw": 8.0,
            "cop_pu": 3.0, "initial_kwh": 10.0, "cooling_kw": 3.0}


@pytest.fixture
def ice_kind() -> Iterator[None]:
    """The ice bank is a device kind for the duration of one test."""
    with registered(icebank.IceBank, icebank.IceBankModel):
        ACCOUNT_ORACLES[icebank.IceBank] = icebank.oracle
        try:
            yield
        finally:
            del ACCOUNT_ORACLES[icebank.IceBank]


def site_data() -> dict:
    data = yaml.safe_load(DEMO.read_text())
    data["devices"].append(dict(ICE_BANK))
    return data


@pytest.fixture
def site(ice_kind: None) -> Site:
    return site_from_data(site_data(), "demo")


def day_index(site: Site) -> pd.DatetimeIndex:
    return pd.date_range("2026-07-01", periods=24 * 60 // site.step_minutes,
                         freq=site.step, tz=site.tz)


def test_unknown_kinds_are_refused_until_registered_and_after():
    with pytest.raises(ValueError, match="ice_bank"):
        site_from_data(site_data(), "demo")
    with registered(icebank.IceBank, icebank.IceBankModel):
        assert any(isinstance(d, icebank.IceBank)
                   for d in site_from_data(site_data(), "demo").devices)
        with pytest.raises(ValueError, match="already"):
            with registered(icebank.IceBank, icebank.IceBankModel):
                pass
    assert icebank.IceBank not in REGISTRY
    with pytest.raises(ValueError, match="ice_bank"):
        site_from_data(site_data(), "demo")


def test_both_plans_balance_and_count_the_new_kinds_money(site: Site):
    index = day_index(site)
    inputs = build_inputs(site, index)
    dt = site.step_h
    for plan in (make_plan(site, index, inputs), rule_based_plan(site, inputs)):
        t = plan.table
        assert plan_problems(site, plan) == [], plan.status
        chill = t[f"{ICE}.chill_kw"].to_numpy()
        # the cooling is met: the ice bank's balance closes with nothing unmet
        np.testing.assert_allclose(t[f"{ICE}.unmet_kw"], 0.0, atol=1e-6)
        level = np.concatenate([[10.0], t[f"{ICE}.ice_kwh"].to_numpy()[:-1]])
        np.testing.assert_allclose(t[f"{ICE}.ice_kwh"], level + (3 * chill - 3.0) * dt,
                                   atol=1e-6)
        assert (t[f"{ICE}.ice_kwh"] <= 60 + 1e-6).all() and chill.max() <= 8 + 1e-6
        # its wear and leak are in the plan's cost and emissions, interval by interval
        wear, leak = icebank.oracle(site.device(ICE), t, dt)
        assert wear.sum() > 0
        others = [m for m in device_models(site) if m.name != ICE]
        rest = interval_accounts(site, t, devices=others)
        np.testing.assert_allclose(t["cost"], rest["cost"] + wear, atol=1e-9)
        np.testing.assert_allclose(t["emissions_kgco2"], rest["emissions_kgco2"] + leak,
                                   atol=1e-9)
        # the key figures count its electricity as served demand
        figures = kpis(site, t)
        assert figures == pytest.approx(plan.kpis)
        assert figures["unserved_kwh"] == pytest.approx(0.0, abs=1e-6)
        served = sum(t[c].sum() for c in t.columns if c.endswith(".served_kw")) * dt
        assert figures["served_kwh"] == pytest.approx(served + chill.sum() * dt, rel=1e-9)
        # study tables: its draw is one of the bus flows, and the flows sum to zero
        flows = energy_flows(site, t)
        np.testing.assert_allclose(flows["ice bank chiller"], -chill)
        np.testing.assert_allclose(flows.sum(axis=1), 0.0, atol=1e-6)


def test_plot_and_plain_words_show_the_new_kind(site: Site):
    plan = make_plan(site, day_index(site))
    figure = plot_plan(site, plan)
    png = io.BytesIO()
    figure.savefig(png, format="png")
    assert png.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    labels = [t.get_text() for ax in figure.axes if ax.get_legend()
              for t in ax.get_legend().get_texts()]
    assert f"{ICE} SoC" in labels  # a kWh level with a declared size
    month = monthly_energy(site, plan.table)["ice bank chiller"]
    assert month.iloc[0] == pytest.approx(-plan.table[f"{ICE}.chill_kw"].sum() * site.step_h)
    bars = plot_monthly_balance(site, plan.table)
    assert "ice bank chiller" in [t.get_text() for t in bars.axes[0].get_legend().get_texts()]
    made = [a for a in explain(site, plan).actions if a.device == ICE]
    assert made and {a.what for a in made} == {"freeze"}
    chill = plan.table[f"{ICE}.chill_kw"].to_numpy()
    assert sum(a.numbers["energy_kwh"] for a in made) == pytest.approx(
        chill.sum() * site.step_h, rel=0.05)  # runs below the told minimum are left out
    what, why = words.sentence(made[0], Local("en", read_catalogues()["en"]))
    assert what.startswith(f"the ice bank {ICE} makes ice (") and why


def test_state_carries_and_is_checked_against_the_declared_bounds(site: Site):
    plan = rule_based_plan(site, build_inputs(site, day_index(site)))
    at = plan.table.index[6]
    carried = State.from_plan(site, plan.table, at)
    assert carried.value(ICE, "ice_kwh") == pytest.approx(plan.table[f"{ICE}.ice_kwh"].iloc[5])
    assert State().resolved(site).value(ICE, "ice_kwh") == 10.0  # the site file's default
    with pytest.raises(ValueError, match=r"ice-bank.*ice_kwh.*\[0, 60\]"):
        State(values={ICE: {"ice_kwh": 61.0}}).resolved(site)
    assert f"{ICE}.chill_kw" in controller_columns(site)
    assert f"{ICE}.ice_kwh" in controller_columns(site)


def test_the_service_stores_dispatches_and_takes_state_of_the_new_kind(ice_kind, tmp_path):
    api = Api(f"sqlite:///{tmp_path / 'villagegrid.db'}", Clock(NOW))
    try:
        api.put_site(yaml.safe_dump(site_data(), allow_unicode=True))
        made = api.plan({"date": "2026-07-01",
                         "state": {"values": {ICE: {"ice_kwh": 30.0}}}})
        doc = json.loads(api.client.get(f"/v1/plans/{made['plan_id']}", headers=api.auth()).text)
        first = doc["records"][0]
        assert first[f"{ICE}.ice_kwh"] == pytest.approx(
            30.0 + (3 * first[f"{ICE}.chill_kw"] - 3.0) * 0.25, abs=1e-6)  # 15-minute steps
        (now,) = [r for r in doc["records"] if str(r["start"]).startswith("2026-07-01T10:00")]
        dispatch = api.dispatch()
        assert dispatch.status_code == 200, dispatch.text
        ice = dispatch.json()["setpoints"][ICE]
        assert ice["chill_kw"] == round(now[f"{ICE}.chill_kw"], 4)
        assert ice["ice_kwh"] == round(now[f"{ICE}.ice_kwh"], 4)

        def telemetry(values: dict):  # type: ignore[no-untyped-def]
            return api.client.post(f"/v1/sites/{SITE}/telemetry", headers=api.auth("controller"),
                                   json={"at": "2026-07-01T10:05:00+08:00", "values": values})

        ok = telemetry({ICE: {"ice_kwh": 12.5}})
        assert ok.status_code in (200, 201), ok.text
        too_much = telemetry({ICE: {"ice_kwh": 75.0}})
        assert too_much.status_code == 422
        assert "ice_kwh" in too_much.text and "[0, 60]" in too_much.text
        assert telemetry({ICE: {"frost_kwh": 1.0}}).status_code == 422
        bad_plan = api.client.post(f"/v1/sites/{SITE}/plans", headers=api.auth(), json={
            "date": "2026-07-01", "state": {"values": {ICE: {"ice_kwh": -1.0}}}})
        assert bad_plan.status_code == 422 and "ice_kwh" in bad_plan.text
        # the pages: its level in the chart, its runs in plain words
        r = api.client.post("/login", content=f"key={api.tokens['manager']}",
                            headers={"Content-Type": "application/x-www-form-urlencoded"},
                            follow_redirects=False)
        assert r.status_code == 303
        day = api.client.get(f"/sites/{SITE}")
        assert day.status_code == 200 and "ice stored" in day.text
        said = api.client.get(f"/sites/{SITE}/words", headers={"Accept-Language": "en"})
        assert said.status_code == 200 and f"the ice bank {ICE} makes ice" in said.text
    finally:
        api.close()


def test_the_invariants_refuse_a_kind_they_cannot_check_the_money_of():
    with registered(icebank.IceBank, icebank.IceBankModel):
        site = site_from_data(site_data(), "demo")
        plan = rule_based_plan(site, build_inputs(site, day_index(site)))
        problems = plan_problems(site, plan)
    assert problems == [f"no independent cost and emissions check for {ICE} (IceBank)"]
    # the declared balance still covers it: its column off by 1 kW breaks the balance
    with registered(icebank.IceBank, icebank.IceBankModel):
        table = plan.table.copy()
        table[f"{ICE}.chill_kw"] += 1.0
        assert any(p.startswith("bus balance (declared column signs)")
                   for p in plan_problems(site, table))
