"""``villagegrid forecast``: tables, plots and errors, through the real CLI entry point."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pvlib
import pytest
import yaml

from api.cli import main

GREENSBORO = Path(pvlib.__file__).parent / "data" / "723170TYA.CSV"


def test_clear_sky_day_writes_local_table_and_plot(tmp_path, capsys):
    out, png = tmp_path / "f.csv", tmp_path / "f.png"
    code = main(["forecast", "sites/demo_village.yaml", "--date", "2026-06-21",
                 "--out", str(out), "--plot", str(png)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "school-roof" in printed and "households" in printed and "600.0 kWh" in printed
    table = pd.read_csv(out)
    assert len(table) == 96 and table["start"].iloc[0] == "2026-06-21T00:00:00+08:00"
    assert (table["school-roof.available_kw"].iloc[:20] == 0).all()
    assert table["school-roof.available_kw"].max() > 30
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_plot_draws_the_last_interval_to_the_end_of_the_day(tmp_path, monkeypatch):
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    saved = []
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: saved.append(fig))
    code = main(["forecast", "sites/demo_village.yaml", "--date", "2026-06-21",
                 "--plot", str(tmp_path / "f.png")])  # fmt: skip
    assert code == 0
    lines = saved[0].axes[0].get_lines()
    assert len(lines) == 6  # five arrays and the households
    end = pd.Timestamp("2026-06-22T00:00+08:00")
    for line in lines:
        last = mdates.num2date(mdates.date2num(line.get_xdata()[-1]))
        assert pd.Timestamp(last) == end


def greensboro_site(tmp_path: Path) -> Path:
    data = yaml.safe_load(Path("sites/dairy_cooperative.yaml").read_text(encoding="utf-8"))
    data["location"] = {"latitude_deg": 36.1, "longitude_deg": -79.95, "altitude_m": 273,
                        "timezone": "America/New_York"}  # fmt: skip
    path = tmp_path / "greensboro.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_typical_year_weather_spans_new_year_and_dst(tmp_path, capsys):
    site = greensboro_site(tmp_path)
    out = tmp_path / "f.csv"
    assert main(["forecast", str(site), "--date", "2026-12-31", "--days", "2",
                 "--weather", str(GREENSBORO), "--out", str(out)]) == 0  # fmt: skip
    assert len(pd.read_csv(out)) == 48
    assert main(["forecast", str(site), "--date", "2026-03-08", "--weather", str(GREENSBORO),
                 "--out", str(out)]) == 0  # fmt: skip
    table = pd.read_csv(out)
    assert len(table) == 23  # the day daylight saving time starts in New York
    assert table["barn-roof-south.available_kw"].sum() > 0
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "21/06/2026"], "--date must be a date as YYYY-MM-DD"),
        (["--date", "2026-06-21", "--days", "0"], "--days must be ≥ 1"),
        (["--date", "2026-06-21", "--cloud-cover", "150"], "cloud_cover_pct must lie in"),
        (["--date", "2026-06-21", "--weather", "nope.csv"], "no such file"),
    ],
)
def test_bad_input_exits_2_with_a_message(args, message, capsys):
    assert main(["forecast", "sites/demo_village.yaml", *args]) == 2
    assert message in capsys.readouterr().err


def test_naive_weather_file_exits_2(tmp_path, capsys):
    weather = tmp_path / "w.csv"
    weather.write_text("time,ghi_wm2\n2026-06-21T12:00,500\n", encoding="utf-8")
    code = main(["forecast", "sites/demo_village.yaml", "--date", "2026-06-21",
                 "--weather", str(weather)])  # fmt: skip
    assert code == 2 and "has no UTC offset" in capsys.readouterr().err


def test_offline_open_meteo_exits_1(capsys, monkeypatch):
    monkeypatch.setattr("forecasting.openmeteo.URL", "http://127.0.0.1:9/v1/forecast")
    code = main(["forecast", "sites/demo_village.yaml", "--date", "2026-06-21",
                 "--weather", "open-meteo"])  # fmt: skip
    assert code == 1 and "offline?" in capsys.readouterr().err
