"""forecasting.weather and forecasting.openmeteo: readers, errors, typical years, the client."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pvlib
import pytest

from forecasting.openmeteo import get_weather, parse_open_meteo
from forecasting.pv import forecast_pv
from forecasting.records import TYPICAL_YEAR, WeatherError, WeatherServiceError
from forecasting.weather import (
    read_any_weather,
    read_epw,
    read_pvgis_tmy,
    read_tmy3,
    read_weather,
    to_year,
)
from sites.timeindex import day_index
from tests.forecasting.conftest import array, make_site

DATA = Path(__file__).parent / "data"
PVLIB_DATA = Path(pvlib.__file__).parent / "data"
GREENSBORO = PVLIB_DATA / "723170TYA.CSV"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_cloud_cover_only_defaults_and_records(tmp_path):
    rows = [f"2026-06-21T{h:02d}:00+08:00,{20 + 3 * h}" for h in range(24)]
    path = write(tmp_path, "w.csv", "time,cloud_cover_pct\n" + "\n".join(rows) + "\n")
    data, meta = read_weather(path)
    assert str(data.index.tz) == "UTC" and data.index[0] == pd.Timestamp("2026-06-20T16:00Z")
    assert meta["columns"] == ["cloud_cover_pct"]
    assert meta["defaulted"] == {"temp_air_c": 20.0, "wind_speed_ms": 1.0}
    assert any("Kasten" in d for d in meta["derived"])
    site = make_site([array("a", 25, 180)], step_minutes=60)
    idx = day_index(site, dt.date(2026, 6, 21))[:-1]  # the file ends at 23:00 local
    pv = forecast_pv(site, idx, data)
    clear = forecast_pv(site, idx)
    assert 0 < pv["a.available_kw"].sum() < clear["a.available_kw"].sum()
    assert any("DISC" in d for d in pv.attrs["derived"])


def test_json_records_with_all_columns(tmp_path):
    records = [
        {
            "time": f"2026-06-21T{h:02d}:30Z",
            "ghi_wm2": 0.0 if h < 22 and h > 10 else 500.0,
            "dni_wm2": 0.0 if h < 22 and h > 10 else 600.0,
            "dhi_wm2": 0.0 if h < 22 and h > 10 else 100.0,
            "temp_air_c": 30.0,
            "wind_speed_ms": 2.0,
        }
        for h in range(24)
    ]
    path = write(tmp_path, "w.json", json.dumps({"data": records}))
    data, meta = read_weather(path)
    assert list(data.columns) == [
        "ghi_wm2", "dni_wm2", "dhi_wm2", "temp_air_c", "wind_speed_ms"
    ]  # fmt: skip
    assert meta["defaulted"] == {} and meta["derived"] == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time,ghi_wm2\n2026-06-21T12:00,500\n", "row 1: timestamp '2026-06-21T12:00' has no UTC"),
        ("when,ghi_wm2\n2026-06-21T12:00Z,500\n", "missing time column"),
        ("time,temp_air_c\n2026-06-21T12:00Z,25\n", "missing column: weather needs ghi_wm2"),
        ("time,ghi\n2026-06-21T12:00Z,500\n", r"unknown column\(s\) \['ghi'\]"),
        ("time,ghi_wm2\n2026-06-21T12:00Z,500\n2026-06-21T13:00Z,-5\n", "row 2: ghi_wm2 must"),
        ("time,cloud_cover_pct\n2026-06-21T12:00Z,lots\n", "cloud_cover_pct must be a number"),
    ],
)
def test_bad_files_get_clear_errors(tmp_path, text, message):
    with pytest.raises(WeatherError, match=message):
        read_weather(write(tmp_path, "bad.csv", text))


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("empty.csv", "", "empty.csv: not a weather CSV"),
        ("list.json", "[1, 2, 3]", "expected a list of records"),
        ("rows.json", '{"data": [[1, 2]]}', "expected a list of records"),
        ("neg.csv", "time,ghi_wm2\n2026-06-21T12:00Z,-100\n", r"W/m², got -100$"),
    ],
)
def test_malformed_files_get_weather_errors(tmp_path, name, text, message):
    with pytest.raises(WeatherError, match=message):
        read_weather(write(tmp_path, name, text))


def test_naive_weather_frame_is_refused_by_the_pv_chain():
    site = make_site([array("a", 25, 180)])
    idx = day_index(site, dt.date(2026, 6, 21))
    naive = pd.DataFrame(
        {"ghi_wm2": 100.0}, index=pd.date_range("2026-06-20", periods=72, freq="h")
    )
    with pytest.raises(ValueError, match="tz-aware"):
        forecast_pv(site, idx, naive)


def test_tmy3_reader_renames_and_centres_hours():
    data, meta = read_tmy3(GREENSBORO)
    assert set(data.columns) == {
        "ghi_wm2", "dni_wm2", "dhi_wm2", "cloud_cover_pct", "temp_air_c", "wind_speed_ms"
    }  # fmt: skip
    assert meta["latitude_deg"] == pytest.approx(36.1) and meta["defaulted"] == {}
    assert len(data) >= 8759 and data.index.is_monotonic_increasing and data.index.is_unique
    assert (data.index.minute == 30).all()
    assert (data.index.tz_convert("Etc/GMT+5").year == TYPICAL_YEAR).all()  # local standard
    assert data["cloud_cover_pct"].between(0, 100).all()
    # the sun is up at local solar noon (about 17:20 UTC) and down at local midnight
    noon = data[(data.index.hour == 17) & (data.index.month == 6)]["ghi_wm2"]
    night = data[(data.index.hour == 5) & (data.index.month == 6)]["ghi_wm2"]
    assert noon.mean() > 500 and (night == 0).all()


def test_read_any_weather_dispatches_and_to_year_moves_the_calendar():
    data, meta = read_any_weather(PVLIB_DATA / "703165TY.csv")
    assert meta["format"] == "TMY3" and meta["name"] == "SAND POINT"
    moved = to_year(data, 2024)
    assert (moved.index.year == 2024).all() and len(moved) == len(data)


def epw_text() -> str:
    """A two-day EPW file in the EnergyPlus format, from Greensboro's TMY3 rows."""
    tmy, _ = pvlib.iotools.read_tmy3(str(GREENSBORO), map_variables=True)
    head = [
        "LOCATION,Greensboro,NC,USA,TMY3,723170,36.10,-79.95,-5.0,273.0",
        "DESIGN CONDITIONS,0",
        "TYPICAL/EXTREME PERIODS,0",
        "GROUND TEMPERATURES,0",
        "HOLIDAYS/DAYLIGHT SAVINGS,No,0,0,0",
        "COMMENTS 1,two days for a reader test",
        "COMMENTS 2,",
        "DATA PERIODS,1,1,Data,Sunday,1/1,1/2",
    ]
    lines = []
    for t, r in tmy.iloc[:48].iterrows():
        stamp = t - pd.Timedelta(hours=1)
        fields = [1990, stamp.month, stamp.day, stamp.hour + 1, 60, "?", r.temp_air,
                  r.temp_dew, r.relative_humidity, r.pressure * 100, 0, 0, 300, r.ghi, r.dni,
                  r.dhi, 0, 0, 0, 0, 180, r.wind_speed, int(r["TotCld (tenths)"]), 0, 10, 77777,
                  9, 999999999, 0, 0.1, 0, 88, 0.2, 0, 0]  # fmt: skip
        lines.append(",".join(str(f) for f in fields))
    return "\n".join(head + lines) + "\n"


def test_epw_reader(tmp_path):
    path = write(tmp_path, "greensboro.epw", epw_text())
    data, meta = read_any_weather(path)
    assert meta["format"] == "EPW" and meta["latitude_deg"] == pytest.approx(36.1)
    assert len(data) == 48 and (data.index.minute == 30).all()
    tmy, _ = read_tmy3(GREENSBORO)
    np.testing.assert_allclose(data["ghi_wm2"].to_numpy(), tmy["ghi_wm2"].iloc[:48].to_numpy())
    assert read_epw(path)[0]["cloud_cover_pct"].max() <= 100


def test_pvgis_tmy_json_reader(tmp_path):
    hours = pd.date_range("2007-01-01", periods=48, freq="h", tz="UTC")
    ghi = np.clip(600 * np.sin((hours.hour - 6) / 12 * np.pi), 0, None).round(1)
    rows = [
        {"time(UTC)": t.strftime("%Y%m%d:%H%M"), "T2m": 5.0, "RH": 70.0, "G(h)": g,
         "Gb(n)": g * 0.8, "Gd(h)": g * 0.3, "IR(h)": 250.0, "WS10m": 3.0, "WD10m": 200.0,
         "SP": 98000.0}
        for t, g in zip(hours, ghi, strict=True)
    ]  # fmt: skip
    payload = {
        "inputs": {"location": {"latitude": 45.0, "longitude": 8.0, "elevation": 250.0}},
        "outputs": {"months_selected": [{"month": 1, "year": 2007}], "tmy_hourly": rows},
        "meta": {"inputs": {}},
    }
    path = write(tmp_path, "pvgis.json", json.dumps(payload))
    data, meta = read_any_weather(path)
    assert meta["format"] == "PVGIS TMY" and meta["altitude_m"] == 250.0
    assert data["ghi_wm2"].max() == pytest.approx(600.0) and "cloud_cover_pct" not in data
    assert read_pvgis_tmy(path)[0].index[0] == pd.Timestamp(f"{TYPICAL_YEAR}-01-01T00:00Z")


def recorded() -> dict:
    return json.loads((DATA / "open_meteo_forecast.json").read_text(encoding="utf-8"))


def test_open_meteo_client_replays_a_recorded_response():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.url.params)
        return httpx.Response(200, json=recorded())

    data, meta = get_weather(
        24.18, 113.05, "2026-06-21", "2026-06-22", transport=httpx.MockTransport(handler)
    )
    assert seen["timezone"] == "GMT" and seen["wind_speed_unit"] == "ms"
    assert "shortwave_radiation" in seen["hourly"] and seen["start_date"] == "2026-06-21"
    assert len(data) == 48 and data.index[0] == pd.Timestamp("2026-06-20T23:30Z")
    raw = recorded()["hourly"]
    assert data["ghi_wm2"].iloc[5] == raw["shortwave_radiation"][5]
    assert data["temp_air_c"].iloc[5] == pytest.approx(
        (raw["temperature_2m"][4] + raw["temperature_2m"][5]) / 2
    )
    assert meta["request"]["latitude"] == 24.18
    site = make_site([array("a", 25, 180)])
    pv = forecast_pv(site, day_index(site, dt.date(2026, 6, 22)), data)
    clear = forecast_pv(site, day_index(site, dt.date(2026, 6, 22)))
    assert 0.2 < pv.sum().iloc[0] / clear.sum().iloc[0] < 1.0


def test_open_meteo_errors_are_clear():
    with pytest.raises(WeatherError, match="lacks hourly variable"):
        parse_open_meteo({"utc_offset_seconds": 0, "hourly": {"time": []}})
    with pytest.raises(WeatherError, match="service answered with an error: bad"):
        parse_open_meteo({"error": True, "reason": "bad"})

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": True, "reason": "Latitude must be in range"})

    with pytest.raises(WeatherServiceError, match="HTTP 400"):
        get_weather(1, 2, "2026-06-21", "2026-06-21", transport=httpx.MockTransport(refuse))


def test_open_meteo_offline_is_a_clear_error():
    # a real connection to a closed local port: refused at once, as when offline
    with pytest.raises(WeatherServiceError, match="cannot reach .* offline"):
        get_weather(24.18, 113.05, "2026-06-21", "2026-06-22", url="http://127.0.0.1:9/v1/forecast",
                    timeout_s=2)  # fmt: skip


def test_pvlib_prefix_names_a_typical_year_that_pvlib_ships() -> None:
    from forecasting.weather import WeatherError, read_any_weather

    data, _ = read_any_weather("pvlib:723170TYA.CSV")
    assert len(data) == 8760 and data["ghi_wm2"].max() > 800
    with pytest.raises(WeatherError, match="pvlib ships no such file; it has .*723170TYA.CSV"):
        read_any_weather("pvlib:nowhere.csv")
