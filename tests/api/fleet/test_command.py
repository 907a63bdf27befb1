"""``villagegrid fleet``: the per-site table, the roll-up and the files; bad input exits 2."""

from __future__ import annotations

import socket
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from api.cli import main
from api.commands.study_files import weather_for
from optimizer.studies.simulation import period_inputs, simulate
from sites.load import load_site
from tests.api.fleet.conftest import COUNTY, DAY

WEATHER = "pvlib:723170TYA.CSV"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_fleet_plan_prints_the_table_and_roll_up_and_writes_files(
    county: Path, tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (county / "broken.yaml").write_text("name: broken\n", encoding="utf-8")
    out = tmp_path / "out"
    code = main(["fleet", "plan", "--sites", str(county), "--date", DAY.isoformat(),
                 "--county", "Fugong County", "--workers", "1", "--database", sqlite_url,
                 "--out", str(out), "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    table = pd.read_csv(out / f"fleet_plan_{DAY}.csv")
    assert sorted(table["site"]) == ["broken", "hamlet-a", "hamlet-b", "hamlet-c"]
    assert table.set_index("site").loc["broken", "status"] == "failed"
    assert "broken: failed: " in printed and "county roll-up" in printed
    rollup = pd.read_csv(out / f"fleet_plan_{DAY}_rollup.csv").set_index("county")
    planned = table[table["status"] == "optimal"]
    assert rollup.loc["Fugong County", "optimal"] == 3 == len(planned)
    assert rollup.loc["Fugong County", "cost"] == pytest.approx(planned["cost"].sum())
    assert (out / f"fleet_plan_{DAY}.png").stat().st_size > 10_000


def test_an_unreachable_scheduler_is_named_and_nothing_is_written(
    county: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    db = tmp_path / "never.db"
    out = tmp_path / "never"
    code = main(["fleet", "plan", "--sites", str(county), "--date", DAY.isoformat(),
                 "--scheduler", address, "--connect-timeout", "2",
                 "--database", f"sqlite:///{db}", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"--scheduler {address}: cannot reach a Dask scheduler there" in err
    assert not db.exists() and not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "2026-13-01"], "--date must be a date YYYY-MM-DD, got '2026-13-01'"),
        (["--date", "2026-07-02", "--county", "Nowhere"], "lies in county 'Nowhere'"),
        (["--date", "2026-07-02", "--time-limit", "0"], "--time-limit must be > 0"),
        (["--date", "2026-07-02", "--workers", "0"], "--workers must be ≥ 1, got 0"),
    ],
)
def test_bad_options_exit_2_naming_the_value(
    county: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fleet", "plan", "--sites", str(county), *args]) == 2
    assert message in capsys.readouterr().err


def test_an_out_path_under_a_file_is_refused_before_any_work(
    county: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "never.db"
    out = county / "hamlet-a.yaml" / "results"
    assert main(["fleet", "plan", "--sites", str(county), "--date", DAY.isoformat(),
                 "--workers", "1", "--database", f"sqlite:///{db}", "--out", str(out)]) == 2
    assert "hamlet-a.yaml is a file, not a folder" in capsys.readouterr().err
    assert not db.exists()


def test_fleet_plan_from_the_registry(
    county: Path, tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A first run from files puts the sites in the registry; a run from it finds them."""
    assert main(["fleet", "plan", "--sites", str(county), "--date", DAY.isoformat(),
                 "--workers", "1", "--database", sqlite_url, "--out", str(tmp_path / "a"),
                 "--quiet"]) == 0
    assert main(["fleet", "plan", "--registry", "--county", "Saihan District", "--date",
                 DAY.isoformat(), "--workers", "1", "--database", sqlite_url, "--out",
                 str(tmp_path / "b"), "--quiet"]) == 0
    table = pd.read_csv(tmp_path / "b" / f"fleet_plan_{DAY}.csv")
    assert sorted(table["site"]) == sorted(r[1] for r in COUNTY if r[2] == "Saihan District")
    assert set(table["stored"]) == {"existing"}  # same sites, same day: the same plans


def test_fleet_simulate_and_size_run_every_site(
    county: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["fleet", "simulate", "--sites", str(county), "--county", "Fugong County",
                 "--weather", WEATHER, "--year", "2026", "--start", "2026-07-01", "--days", "2",
                 "--workers", "1", "--out", str(tmp_path / "sim"), "--quiet"])
    assert code == 0, capsys.readouterr().err
    sim = pd.read_csv(tmp_path / "sim" / "fleet_simulate_2026-07-01_2026-07-02.csv")
    assert sorted(sim["site"]) == ["hamlet-a", "hamlet-b", "hamlet-c"]
    assert (sim["status"] == "optimal").all() and (sim["days"] == 2).all()
    # the task's figures are those of the single-site simulation of the same days
    site = load_site(county / "hamlet-a.yaml")
    weather = weather_for(site, WEATHER, date(2026, 7, 1), 2)
    alone = simulate(site, period_inputs(site, date(2026, 7, 1), 2, weather), date(2026, 7, 1), 2)
    row = sim.set_index("site").loc["hamlet-a"]
    assert row["cost"] == pytest.approx(float(alone.table["cost"].sum()), rel=1e-6, abs=1e-6)
    assert row["baseline_cost"] > 0 and row["renewable_fraction_pu"] > 0
    code = main(["fleet", "size", "--sites", str(county), "--county", "Fugong County",
                 "--township", "Shangpa Town", "--weather", WEATHER, "--year", "2026",
                 "--rep-days", "2", "--workers", "1", "--out", str(tmp_path / "size"), "--quiet"])
    assert code == 0, capsys.readouterr().err
    size = pd.read_csv(tmp_path / "size" / "fleet_size_2026.csv")
    assert size["site"].tolist() == ["hamlet-c"] and size["status"].tolist() == ["optimal"]
    assert size["hamlet-battery [kWh]"].iloc[0] >= 0
