"""The simulate and size commands, run end to end on a pvlib-shipped typical year."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from api.cli import main

SITES = Path(__file__).resolve().parents[3] / "sites"


@pytest.fixture(scope="module")
def tmy3() -> str:
    import pvlib

    return os.path.join(os.path.dirname(pvlib.__file__), "data", "723170TYA.CSV")


def test_simulate_writes_tables_and_plots(tmp_path, tmy3, capsys) -> None:
    out = tmp_path / "year"
    code = main(
        [
            "simulate",
            str(SITES / "mountain_hamlet.yaml"),
            "--weather",
            tmy3,
            "--year",
            "2026",
            "--days",
            "2",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr()
    assert "optimised: 2 days" in printed.out and "savings:" in printed.out
    assert "day 2/2" in printed.err  # progress
    operation = pd.read_csv(out / "operation.csv", index_col=0)
    assert len(operation) == 48
    assert operation.index[0] == "2026-01-01 00:00:00+08:00"  # local time at the edges
    kpis = pd.read_csv(out / "kpis.csv", index_col=[0, 1])
    assert {("optimised", "year"), ("baseline", "year"), ("optimised", "2026-01")} <= set(
        kpis.index
    )
    energy = kpis.loc[("optimised", "year")]
    # households and mill, and what the hamlet's chargers drew
    charging_kwh = operation["hamlet-chargers.charge_kw"].sum() * 1.0  # hourly rows
    assert energy["load_kwh"] == pytest.approx(2 * (60 + 12) + charging_kwh, rel=1e-6)
    for name in ("monthly_balance.png", "heatmap.png", "typical_days.png"):
        assert (out / name).stat().st_size > 10_000


def test_simulate_names_a_bad_site(tmp_path, tmy3, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (SITES / "mountain_hamlet.yaml").read_text().replace("step_minutes: 60", "step_minutes: 7")
    )
    assert main(["simulate", str(bad), "--weather", tmy3, "--days", "1"]) == 2
    assert "step_minutes" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "--days", "0"], "--days must be ≥ 1"),
        (["simulate", "--year", "0"], "--year must be"),
        (["size", "--pareto", "1"], "--pareto must be ≥ 2, got 1"),
        (["size", "--days", "400"], "--days must be from 0 to 366, got 400"),
        (["size", "--check-days", "-1"], "--check-days must be ≥ 0, got -1"),
        (["size", "--workers", "0"], "--workers must be ≥ 1, got 0"),
        (["size", "--year", "0"], "--year must be a calendar year"),
    ],
)
def test_bad_options_are_refused_naming_the_value(tmp_path, tmy3, capsys, args, message) -> None:
    out = tmp_path / "never"
    site = str(SITES / "mountain_hamlet.yaml")
    command, *options = args
    assert main([command, site, "--weather", tmy3, "--out", str(out), *options]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_size_writes_sizes_economics_front_and_sensitivity(tmp_path, tmy3, capsys) -> None:
    out = tmp_path / "size"
    code = main(
        [
            "size",
            str(SITES / "mountain_hamlet.yaml"),
            "--weather",
            tmy3,
            "--year",
            "2026",
            "--days",
            "3",
            "--check-days",
            "2",
            "--pareto",
            "3",
            "--workers",
            "2",
            "--vary",
            "devices.diesel-backup.fuel.price_per_l=8.2,16.4",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    sizes = pd.read_csv(out / "sizes.csv", index_col=0)
    assert set(sizes.index) == {"hamlet-roofs", "hamlet-battery", "diesel-backup"}
    assert (sizes["chosen"] >= sizes["existing"] - 1e-6).all()
    assert sizes.loc["hamlet-roofs", "chosen"] <= 250 * 0.18 + 1e-6  # usable area × kWp/m²
    econ = pd.read_csv(out / "economics.csv", index_col=0)
    assert econ.loc["total", "lcoe_per_kwh"] > 0
    front = pd.read_csv(out / "pareto.csv", index_col=0)
    assert len(front) == 3 and front["emissions_kgco2"].is_monotonic_decreasing
    sens = pd.read_csv(out / "sensitivity.csv")
    assert sens["devices.diesel-backup.fuel.price_per_l"].tolist() == [8.2, 16.4]
    # dearer diesel never buys more diesel
    assert sens["emissions_kgco2"].iloc[1] <= sens["emissions_kgco2"].iloc[0] + 1e-6
    assert (out / "sized_site.yaml").read_text().startswith("name: mountain-hamlet")


def test_size_refuses_a_bad_vary_before_any_work(tmp_path, tmy3, capsys) -> None:
    site = str(SITES / "mountain_hamlet.yaml")
    out = tmp_path / "never"
    assert (
        main(["size", site, "--weather", tmy3, "--vary", "devices.nope.x=1", "--out", str(out)])
        == 2
    )
    assert "no item named 'nope'" in capsys.readouterr().err
    assert main(["size", site, "--weather", tmy3, "--vary", "carbon_price_per_kgco2=-1"]) == 2
    assert "carbon_price_per_kgco2: must be ≥ 0, got -1" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("command", ["simulate", "size"])
def test_bad_weather_file_is_bad_input(tmp_path, command, capsys) -> None:
    empty = tmp_path / "weather.csv"
    empty.write_text("", encoding="utf-8")
    site = str(SITES / "mountain_hamlet.yaml")
    assert main([command, site, "--weather", str(empty), "--out", str(tmp_path / "o")]) == 2
    assert f"{command}: --weather:" in capsys.readouterr().err


def test_simulate_bad_start_date_is_bad_input(tmp_path, tmy3, capsys) -> None:
    site = str(SITES / "mountain_hamlet.yaml")
    args = ["simulate", site, "--weather", tmy3, "--start", "2026-13-01", "--out", str(tmp_path)]
    assert main(args) == 2
    assert "--start must be a date YYYY-MM-DD, got '2026-13-01'" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["simulate", "size"])
def test_weather_that_does_not_cover_the_days_is_refused(tmp_path, command, capsys) -> None:
    # one day of hourly records for a three-day (or whole-year) study
    times = pd.date_range("2026-01-01", periods=24, freq="1h", tz="Asia/Shanghai")
    weather = tmp_path / "day.csv"
    pd.DataFrame({"time": [t.isoformat() for t in times], "ghi_wm2": 300.0,
                  "temp_air_c": 10.0}).to_csv(weather, index=False)  # fmt: skip
    site = str(SITES / "mountain_hamlet.yaml")
    out = str(tmp_path / "o")
    args = [command, site, "--weather", str(weather), "--year", "2026", "--out", out]
    if command == "simulate":
        args += ["--days", "3"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{command}: --weather: the weather does not cover the simulated days" in err
    assert "no record within 2 h of 2026-01-0" in err
    assert not list((tmp_path / "o").glob("*")) if (tmp_path / "o").exists() else True
