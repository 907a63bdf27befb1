"""Bad input to the CLI: exit 2 and one message ``villagegrid COMMAND: message``, never a
traceback, and every problem of a site file in one run."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.cli import main

DEMO = "sites/demo_village.yaml"
FIVE_ERRORS = """\
name: broken
location: {latitude_deg: 95, longitude_deg: 0, timezone: UTC}
devices:
  - {name: a, kind: battery, capacity_kwh: -1, charge_kw: 1, discharge_kw: 1}
  - {name: a, kind: genset, rated_kw: 10, fuel: {type: biogas, digester: nope, m3_per_kwh: 0.5}}
  - {name: b}
"""


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_validate_reports_field_and_cross_reference_errors_in_one_run(tmp_path, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text(FIVE_ERRORS)
    assert main(["validate", str(path)]) == 2
    err = _err(capsys)
    assert err.startswith(f"villagegrid validate: {path}: ")
    assert "location.latitude_deg: must be ≤ 90, got 95" in err
    assert "devices[0] (a).capacity_kwh: must be > 0, got -1" in err
    assert "device names must be unique; repeated: a" in err
    assert "devices[1] (a).fuel.digester: no digester named 'nope'" in err
    # a device without a kind: the allowed kinds are named, not pydantic's jargon
    assert (
        "devices[2] (b): kind is required: one of 'battery', 'cold_store', 'digester', "
        "'ev_charger', 'genset'"
    ) in err
    assert "discriminator" not in err


def test_validate_names_a_file_that_is_not_utf8(tmp_path, capsys):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: café\n".encode("latin-1"))
    assert main(["validate", str(path)]) == 2
    assert "not UTF-8" in _err(capsys)


@pytest.mark.parametrize("day", ["1500-01-01", "1900-01-01", "3000-01-01"])
@pytest.mark.parametrize("command", ["plan", "forecast"])
def test_a_date_far_from_today_is_refused_like_the_api_does(command, day, capsys):
    assert main([command, DEMO, "--date", day]) == 2
    err = _err(capsys)
    assert err.startswith(f"villagegrid {command}: --date must lie within 3660 days of today")
    assert day in err


@pytest.mark.parametrize("command", ["simulate", "size"])
@pytest.mark.parametrize("year", ["2500", "1900"])
def test_a_year_outside_the_supported_range_is_named(command, year, tmp_path, capsys):
    code = main([command, DEMO, "--weather", "pvlib:723170TYA.CSV", "--year", year,
                 "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 2
    assert f"--year must be a calendar year from 1970 to 2261, got {year}" in _err(capsys)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["simulate", "size"])
def test_an_unwritable_out_is_refused_before_any_work(command, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    # the weather file does not exist either: the --out check comes first, before any work
    code = main([command, DEMO, "--weather", str(tmp_path / "missing.csv"), "--year", "2026",
                 "--out", str(blocker)])  # fmt: skip
    assert code == 2
    assert _err(capsys).startswith(f"villagegrid {command}: --out: ")


@pytest.mark.parametrize("command", ["plan", "forecast"])
def test_plot_without_png_is_refused_and_nothing_is_written(command, tmp_path, capsys):
    target = tmp_path / "picture"
    assert main([command, DEMO, "--date", "2026-07-01", "--plot", str(target)]) == 2
    assert "--plot must end in .png, got" in _err(capsys)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("foo://x", "--database-url: unknown database kind in 'foo://x'"),
        ("not a url", "--database-url: not a database URL"),
        ("postgresql+psycopg://nobody:secret@127.0.0.1:1/x", "cannot open "
         "'postgresql+psycopg://nobody:***@127.0.0.1:1/x'"),
        ("sqlite:////proc/no/such/dir/v.db", "cannot open 'sqlite:////proc/no/such/dir/v.db'"),
    ],
)
def test_keys_names_a_database_it_cannot_open(url, message, capsys):
    assert main(["keys", "--database-url", url, "list"]) == 2
    err = _err(capsys)
    assert err.startswith("villagegrid keys: ") and message in err
    assert "secret" not in err


def test_every_command_reports_in_one_format(tmp_path, capsys):
    missing = str(tmp_path / "missing.yaml")
    runs = {
        "validate": ["validate", missing],
        "plan": ["plan", missing, "--date", "2026-07-01"],
        "forecast": ["forecast", missing, "--date", "2026-07-01"],
        "simulate": ["simulate", missing, "--weather", "x"],
        "size": ["size", missing, "--weather", "x"],
        "keys": ["keys", "--database-url", f"sqlite:///{tmp_path / 'k.db'}", "revoke", "abc"],
    }
    for command, argv in runs.items():
        assert main(argv) == 2, command
        lines = _err(capsys).splitlines()
        assert lines[0].startswith(f"villagegrid {command}: "), (command, lines)


def test_input_errors_quote_local_times(tmp_path, capsys):
    inputs = tmp_path / "inputs.csv"
    inputs.write_text("start,households.forecast_kw\n2026-07-01T00:00+08:00,5\n")
    assert main(["plan", DEMO, "--date", "2026-07-01", "--inputs", str(inputs)]) == 2
    err = _err(capsys)
    assert "the first at 2026-07-01T00:15:00+08:00" in err, err


def test_cli_and_api_share_the_date_rule(make_api, capsys):
    api = make_api()
    api.put_site()
    r = api.client.post("/v1/sites/demo-village/plans", json={"date": "1900-01-01"},
                        headers=api.auth())
    assert r.status_code == 422 and "3660 days" in r.text
    assert main(["plan", DEMO, "--date", "1900-01-01"]) == 2
    assert "3660 days" in _err(capsys)
    assert Path(DEMO).exists()


def test_weather_that_misses_the_day_is_quoted_in_local_interval_times(tmp_path, capsys):
    august = tmp_path / "august.csv"
    august.write_text("time,ghi_wm2\n2026-08-01T00:00Z,0\n2026-08-01T01:00Z,0\n")
    assert main(["plan", DEMO, "--date", "2026-06-21", "--weather", str(august)]) == 2
    err = _err(capsys)
    assert "weather covers 2026-08-01T08:00:00+08:00 to 2026-08-01T09:00:00+08:00" in err
    assert "needs 2026-06-21T00:00:00+08:00 to 2026-06-22T00:00:00+08:00 (Asia/Shanghai)" in err
