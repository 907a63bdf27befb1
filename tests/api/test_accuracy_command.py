"""``villagegrid forecast --measured`` and ``villagegrid forecast-accuracy``: corrections and
P10/P50/P90 learnt from a measured PV file, through the real CLI entry point."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from api.cli import main
from forecasting.pv import forecast_pv
from sites.load import load_site

SITE = "sites/demo_village.yaml"


@pytest.fixture
def measured(tmp_path):  # type: ignore[no-untyped-def]
    """Ten days of a school roof giving 70 % of the model, with 10 % noise, start-labelled."""
    site = load_site(SITE)
    idx = pd.date_range(pd.Timestamp("2026-06-01", tz=site.tz), periods=96 * 10, freq="15min")
    model = forecast_pv(site, idx.tz_convert("UTC"))["school-roof.available_kw"].to_numpy()
    rng = np.random.default_rng(1)
    kw = np.clip(0.7 * model * rng.normal(1.0, 0.1, len(model)), 0, None)
    path = tmp_path / "measured.csv"
    pd.DataFrame({"time": [t.isoformat() for t in idx], "school-roof": kw}).to_csv(
        path, index=False)
    return path


def test_forecast_with_measured_pv_writes_corrected_power_and_ordered_bands(tmp_path, capsys,
                                                                            measured):
    out = tmp_path / "f.csv"
    code = main(["forecast", SITE, "--date", "2026-06-12", "--measured", str(measured),
                 "--out", str(out), "--label", "end"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "correction of school-roof: used" in printed and "P10/P50/P90" in printed
    table = pd.read_csv(out)
    assert table["end"].iloc[0] == "2026-06-12T00:15:00+08:00"  # labelled by interval end
    roof = table.filter(like="school-roof.")
    share = roof["school-roof.available_kw"].sum() / roof["school-roof.raw_kw"].sum()
    assert share == pytest.approx(0.7, abs=0.03)
    p10, p50, p90 = (roof[f"school-roof.{q}_kw"] for q in ("p10", "p50", "p90"))
    assert (p10 <= p50 + 1e-4).all() and (p50 <= p90 + 1e-4).all() and (p10 >= 0).all()
    assert (p90 - p10).max() > 0  # a band, learnt from the noise
    other = table["houses-east.p90_kw"] - table["houses-east.p10_kw"]
    assert other.max() > 0  # no measurement: the documented default spread


def test_forecast_accuracy_reports_raw_and_corrected(capsys, measured):
    code = main(["forecast-accuracy", SITE, "--measured", str(measured), "--days", "4"])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    raw = next(x for x in lines if "school-roof" in x and " raw " in x).split()
    corrected = next(x for x in lines if "school-roof" in x and "corrected" in x).split()
    assert float(corrected[3]) < float(raw[3])  # RMSE % of kWp
    band = next(x for x in lines if "P10-P90" in x)
    assert 50 <= float(band.split("holds ")[1].split(" %")[0]) <= 100


@pytest.mark.parametrize(("extra", "message"), [
    (["--days", "0"], "--days must be ≥ 1"),
    (["--label", "start", "--weather", "nowhere.csv"], "nowhere.csv"),
])
def test_forecast_accuracy_bad_input_exits_2(capsys, measured, extra, message):
    assert main(["forecast-accuracy", SITE, "--measured", str(measured), *extra]) == 2
    assert message in capsys.readouterr().err


def test_measured_file_naming_no_array_exits_2(tmp_path, capsys):
    path = tmp_path / "m.csv"
    path.write_text("time,barn\n2026-06-01T10:00+08:00,1.0\n2026-06-01T10:15+08:00,1.0\n")
    assert main(["forecast", SITE, "--date", "2026-06-12", "--measured", str(path)]) == 2
    assert "'barn' is not a pv_array" in capsys.readouterr().err
