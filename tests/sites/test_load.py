"""Reading site files: YAML errors point at the line; the CLI reports every error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from api.cli import main
from sites.load import SiteError, dump_site, load_site, parse_site

from .test_schema import EXAMPLES, minimal

ROOT = Path(__file__).resolve().parents[2]


def test_yaml_syntax_error_points_at_the_line() -> None:
    text = "name: x\nlocation:\n  latitude_deg: 24\n  longitude_deg: [113\ndevices: []\n"
    with pytest.raises(SiteError) as info:
        parse_site(text, "broken.yaml")
    [message] = info.value.errors
    assert message.startswith("YAML syntax error at line 5")


def test_repeated_keys_are_an_error_with_the_line() -> None:
    text = yaml.safe_dump(minimal(), sort_keys=False) + "name: other\n"
    with pytest.raises(SiteError) as info:
        parse_site(text)
    assert "repeated key 'name'" in info.value.errors[0]
    assert f"line {text.count(chr(10))}" in info.value.errors[0]


def test_a_site_that_is_not_a_mapping() -> None:
    with pytest.raises(SiteError, match="a site is a mapping"):
        parse_site("- just\n- a list\n")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SiteError, match="cannot read the file"):
        load_site(tmp_path / "nope.yaml")


def test_json_is_yaml_too() -> None:
    import json

    site = parse_site(json.dumps(minimal()))
    assert site.name == "test-site"


def test_dump_is_readable_yaml_with_units_in_keys(tmp_path: Path) -> None:
    site = load_site(EXAMPLES[0])
    path = tmp_path / "copy.yaml"
    path.write_text(dump_site(site), encoding="utf-8")
    assert load_site(path) == site
    assert "capacity_kwh" in path.read_text() or "dc_capacity_kwp" in path.read_text()


def test_cli_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", *map(str, EXAMPLES)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(EXAMPLES)
    assert all(line.startswith("ok ") and "devices" in line for line in out)


def test_cli_validate_reports_every_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = minimal()
    data["devices"][0]["tilt_deg"] = 120
    data["devices"][1]["charge_efficiency_pu"] = 1.3
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert main(["validate", str(bad), str(EXAMPLES[0])]) == 2
    captured = capsys.readouterr()
    assert "2 error(s)" in captured.err
    assert "devices[0] (roof).tilt_deg: must be ≤ 90, got 120" in captured.err
    assert "devices[1] (village-battery).charge_efficiency_pu: must be ≤ 1, got 1.3" in captured.err
    assert captured.out.startswith("ok ")


def test_console_help_runs_in_a_fresh_interpreter() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "validate" in result.stdout
