"""``villagegrid plan`` and ``villagegrid demo`` run end to end on the bundled sites."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from api.cli import main
from api.commands.demo import demo_site
from optimizer.plan import Plan
from optimizer.state import State
from sites.load import load_site
from tests.optimizer.invariants import assert_plan_invariants

SITES = Path(__file__).resolve().parents[3] / "sites"
DEMO = str(SITES / "demo_village.yaml")


def plan_json(tmp_path: Path, *extra: str) -> tuple[Plan, str]:
    out = tmp_path / "plan.json"
    assert main(["plan", DEMO, "--date", "2026-06-21", "--out", str(out), *extra]) == 0
    return Plan.from_dict(json.loads(out.read_text(encoding="utf-8"))), str(out)


def test_plan_writes_json_and_a_png(tmp_path, capsys):
    png = tmp_path / "plan.png"
    plan, _ = plan_json(tmp_path, "--plot", str(png))
    printed = capsys.readouterr().out
    assert (
        "demo-village" in printed
        and "renewable share" in printed
        and "against the rules" in printed
    )
    assert plan.status == "optimal" and len(plan.table) == 96
    assert plan.start.isoformat() == "2026-06-21T00:00:00+08:00"
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert_plan_invariants(load_site(DEMO), plan)


def test_plan_writes_csv_with_metadata(tmp_path):
    out = tmp_path / "plan.csv"
    assert main(["plan", DEMO, "--date", "2026-06-21", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# plan_id:")
    table = pd.read_csv(out, comment="#", index_col="start")
    assert len(table) == 96 and "village-battery.soc_kwh" in table.columns
    assert table.index[0] == "2026-06-21T00:00:00+08:00"


def test_horizon_and_mode(tmp_path):
    plan, _ = plan_json(tmp_path, "--horizon-hours", "48", "--mode", "carbon")
    assert len(plan.table) == 192
    assert plan.objective_terms["mode"] == "carbon"


def test_inputs_file_overrides_a_column(tmp_path):
    site = load_site(DEMO)
    starts = pd.date_range("2026-06-21", periods=96, freq="15min", tz="Asia/Shanghai")
    csv = tmp_path / "inputs.csv"
    pd.DataFrame({"start": [s.isoformat() for s in starts], "households.forecast_kw": 5.0}).to_csv(
        csv, index=False
    )
    plan, _ = plan_json(tmp_path, "--inputs", str(csv))
    assert (plan.table["households.forecast_kw"] == 5.0).all()
    assert (plan.table["households.demand_kw"] == 5.0).all()
    assert_plan_invariants(site, plan)


def test_weather_file_feeds_the_pv_forecast(tmp_path):
    times = pd.date_range("2026-06-20T12:00Z", "2026-06-22T12:00Z", freq="1h")
    weather = tmp_path / "overcast.csv"
    pd.DataFrame({"time": [t.isoformat() for t in times], "cloud_cover_pct": 100.0}).to_csv(
        weather, index=False
    )
    clear, _ = plan_json(tmp_path)
    overcast, _ = plan_json(tmp_path, "--weather", str(weather))
    assert 0 < overcast.kpis["pv_kwh"] < 0.7 * clear.kpis["pv_kwh"]
    available = [c for c in overcast.table.columns if c.endswith(".available_kw")]
    assert (overcast.table[available].sum() < clear.table[available].sum()).all()


def test_state_file_sets_the_initial_soc(tmp_path):
    state = tmp_path / "state.yaml"
    state.write_text("battery_soc_kwh: {village-battery: 150}\n", encoding="utf-8")
    plan, _ = plan_json(tmp_path, "--state", str(state))
    state = State(battery_soc_kwh={"village-battery": 150.0})
    assert_plan_invariants(load_site(DEMO), plan, state)
    assert plan.table["village-battery.soc_kwh"].iloc[-1] >= 150 - 1e-6


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "21/06/2026"], "YYYY-MM-DD"),
        (["--date", "2026-06-21", "--out", "plan.txt"], ".csv or .json"),
        (["--date", "2026-06-21", "--inputs", "{naive}"], "UTC offset"),
        (["--date", "2026-06-21", "--inputs", "{unknown}"], "unknown input column"),
        (
            ["--date", "2026-06-21", "--state", "{bad_state}"],
            "state.no-such-battery: no device with state named 'no-such-battery'",
        ),
        (["--date", "2026-06-21", "--weather", "{missing}"], "--weather"),
        (["--date", "2026-06-21", "--state", "{odd_state}"], "battery_soc: unknown field"),
        (["--date", "2026-06-21", "--plot", "{missing_dir}"], "no directory"),
        (["--date", "2026-06-21", "--weather", "{august}"], "--weather: weather covers"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(tmp_path, capsys, args, message):
    naive = tmp_path / "naive.csv"
    naive.write_text("start,households.forecast_kw\n2026-06-21T00:00,5\n", encoding="utf-8")
    starts = pd.date_range("2026-06-21", periods=96, freq="15min", tz="Asia/Shanghai")
    unknown = tmp_path / "unknown.csv"
    pd.DataFrame({"start": [s.isoformat() for s in starts], "grid.nonsense_kw": 1.0}).to_csv(
        unknown, index=False
    )
    bad_state = tmp_path / "state.json"
    bad_state.write_text('{"battery_soc_kwh": {"no-such-battery": 10}}', encoding="utf-8")
    odd_state = tmp_path / "odd.yaml"
    odd_state.write_text("battery_soc: 3\n", encoding="utf-8")
    august = tmp_path / "august.csv"
    august.write_text("time,ghi_wm2\n2026-08-01T00:00Z,0\n2026-08-01T01:00Z,0\n", encoding="utf-8")
    files = {
        "august": august,
        "naive": naive,
        "unknown": unknown,
        "bad_state": bad_state,
        "odd_state": odd_state,
        "missing": tmp_path / "missing.csv",
        "missing_dir": tmp_path / "no" / "plan.png",
    }
    args = [a.format(**{k: str(v) for k, v in files.items()}) for a in args]
    assert main(["plan", DEMO, *args]) == 2
    err = capsys.readouterr().err
    assert message in err


def test_a_site_that_does_not_validate_exits_2(tmp_path, capsys):
    site = tmp_path / "site.yaml"
    site.write_text("name: x\n", encoding="utf-8")
    assert main(["plan", str(site), "--date", "2026-06-21"]) == 2
    assert "location" in capsys.readouterr().err


def test_demo_plans_tomorrow_from_the_packaged_site(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the bundled site is found without the source tree
    assert demo_site().name == "demo-village"
    assert main(["demo", "--out", "result"]) == 0
    printed = capsys.readouterr().out
    assert "cost" in printed and "renewable share" in printed and "against the rules" in printed
    written = sorted(p.suffix for p in (tmp_path / "result").iterdir())
    assert written == [".csv", ".json", ".png"]
    data = json.loads(next((tmp_path / "result").glob("*.json")).read_text(encoding="utf-8"))
    assert data["metadata"]["site"] == "demo-village" and len(data["records"]) == 96


def test_a_pv_override_above_the_inverter_is_refused(tmp_path, capsys):
    starts = pd.date_range("2026-06-21", periods=96, freq="15min", tz="Asia/Shanghai")
    csv = tmp_path / "inputs.csv"
    frame = pd.DataFrame({"start": [s.isoformat() for s in starts],
                          "school-roof.available_kw": 500.0})  # fmt: skip
    frame.to_csv(csv, index=False)
    code = main(["plan", str(DEMO), "--date", "2026-06-21", "--inputs", str(csv),
                 "--out", str(tmp_path / "p.json")])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "'school-roof.available_kw' is 500 at 2026-06-21T00:00:00+08:00" in err
    assert "inverter_ac_kw = 50" in err
    assert not (tmp_path / "p.json").exists()


def _weather_csv(path, scale=1.0, drop=()):
    times = pd.date_range("2026-06-20T12:00Z", "2026-06-22T12:00Z", freq="1h")
    hour = ((times.hour + 8) % 24).to_numpy()
    ghi = 900 * np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None) * scale
    frame = pd.DataFrame({"time": [t.isoformat() for t in times], "ghi_wm2": ghi,
                          "temp_air_c": 25.0})  # fmt: skip
    frame.drop(index=list(drop)).to_csv(path, index=False)
    return str(path)


def test_weather_in_kw_per_m2_is_refused(tmp_path, capsys):
    weather = _weather_csv(tmp_path / "kw.csv", scale=1 / 1000)
    code = main(["plan", DEMO, "--date", "2026-06-21", "--weather", weather])
    assert code == 2
    assert "--weather: ghi_wm2 peaks at" in capsys.readouterr().err


def test_weather_holes_are_printed_and_recorded(tmp_path, capsys):
    weather = _weather_csv(tmp_path / "holes.csv", drop=range(20, 24))
    plan, _ = plan_json(tmp_path, "--weather", weather)
    filled = plan.inputs_notes["weather_filled"]
    assert filled["holes"] == [["2026-06-21T15:00:00+08:00", "2026-06-21T20:00:00+08:00"]]
    assert "weather: no records from 2026-06-21T15:00:00+08:00" in capsys.readouterr().out
    assert plan.inputs_notes["sources"]["grid"]["year"] == 2022


def test_a_day_without_grid_is_compared_on_equal_terms_or_said_not_to_be(tmp_path, capsys):
    starts = pd.date_range("2026-06-21", periods=96, freq="15min", tz="Asia/Shanghai")
    csv = tmp_path / "outage.csv"
    frame = pd.DataFrame({"start": [s.isoformat() for s in starts], "grid.available_pu": 0.0})
    frame.to_csv(csv, index=False)
    plan, _ = plan_json(tmp_path, "--inputs", str(csv))
    printed = capsys.readouterr().out
    assert plan.kpis["unserved_kwh"] < plan.baseline["unserved_kwh"]
    assert "not on equal terms: the plan serves" in printed and "kWh more load" in printed
    assert f"valued, it saves {plan.baseline['valued_saving']:.2f} CNY" in printed
