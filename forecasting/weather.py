"""Weather in one vocabulary, from forecast files, typical-year files and Open-Meteo.

Every reader returns ``(data, meta)``: ``data`` is a DataFrame with a tz-aware UTC index and
columns from :data:`forecasting.records.VOCABULARY`; ``meta`` is a dict that says where the
data came from, how its timestamps are to be read, and what was derived or defaulted.

Timestamps mark the instant a value describes. Sources that give hourly means (typical-year
files, Open-Meteo radiation) are re-labelled at the middle of their hour, which is where
:func:`forecasting.pv.forecast_pv` (which interpolates between rows) should place them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecasting.openmeteo import get_weather as fetch_open_meteo
from forecasting.openmeteo import parse_open_meteo
from forecasting.records import (
    DEFAULTS,
    TIME_COLUMNS,
    TYPICAL_YEAR,
    VOCABULARY,
    WeatherError,
    finish,
    from_records,
)


def weather_at(
    weather: pd.DataFrame | None, index: pd.DatetimeIndex, step: pd.Timedelta, column: str
) -> np.ndarray:
    """One weather column at the middle of each interval [the column's unit].

    Parameters
    ----------
    weather : DataFrame or None
        Weather in this module's vocabulary (tz-aware index); None: no weather (clear sky).
    index : DatetimeIndex
        Interval starts, tz-aware.
    step : Timedelta
        Interval length.
    column : str
        A :data:`forecasting.records.VOCABULARY` column, e.g. ``temp_air_c``.

    Returns
    -------
    numpy.ndarray
        Linear interpolation in time at ``start + step/2`` (NaNs bridged, ends held); where
        the weather is None or lacks the column, the column's default
        (:data:`forecasting.records.DEFAULTS`).

    Raises
    ------
    WeatherError
        The column is not in the vocabulary, or has no default and the weather lacks it.
    """
    if column not in VOCABULARY:
        raise WeatherError(f"unknown weather column {column!r}; known: {', '.join(VOCABULARY)}")
    series = None if weather is None or column not in weather else weather[column]
    series = None if series is None else series.astype(float).dropna()
    if series is None or series.empty:
        if column not in DEFAULTS:
            raise WeatherError(f"the weather gives no {column!r}, and it has no default")
        return np.full(len(index), float(DEFAULTS[column]))
    if not isinstance(series.index, pd.DatetimeIndex) or series.index.tz is None:
        raise WeatherError("weather index must be a tz-aware DatetimeIndex")
    middle = (index + step / 2).tz_convert("UTC").as_unit("ns").asi8
    known = series.index.tz_convert("UTC").as_unit("ns").asi8
    order = np.argsort(known, kind="stable")
    return np.interp(middle, known[order], series.to_numpy()[order])


def read_weather(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """Read a CSV or JSON file of forecast weather.

    Parameters
    ----------
    path : str or pathlib.Path
        CSV with a ``time`` column (ISO 8601 with a UTC offset) and any of the vocabulary's
        columns, or JSON: a list of such records or ``{"data": [records...]}``.

    Returns
    -------
    data : pandas.DataFrame
        UTC index; the given columns plus ``temp_air_c`` [°C] and ``wind_speed_ms`` [m/s]
        (defaulted when absent).
    meta : dict
        ``source``, ``columns`` (as given), ``defaulted``, ``derived`` (what the PV chain
        will derive), ``rows``, ``start``, ``end``.

    Raises
    ------
    WeatherError
        Missing time column, naive timestamps, unknown columns, out-of-range values, or neither
        ``ghi_wm2`` nor ``cloud_cover_pct``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WeatherError(f"{path}: cannot read the file: {exc.strerror}") from None
    if path.suffix.lower() == ".json":
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as exc:
            raise WeatherError(f"{path}: not valid JSON: {exc}") from None
        records = payload.get("data") if isinstance(payload, dict) else payload
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise WeatherError(f"{path}: expected a list of records or {{'data': [records]}}")
        table = pd.DataFrame.from_records(records)
    else:
        from io import StringIO

        try:
            table = pd.read_csv(StringIO(text), comment="#", dtype={c: str for c in TIME_COLUMNS})
        except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
            raise WeatherError(f"{path}: not a weather CSV: {exc}") from None
    return from_records(table, str(path))


# --- typical-year files through pvlib -------------------------------------------------------

_PVLIB_NAMES = {
    "ghi": "ghi_wm2",
    "dni": "dni_wm2",
    "dhi": "dhi_wm2",
    "temp_air": "temp_air_c",
    "wind_speed": "wind_speed_ms",
}


HOURS_PER_TYPICAL_YEAR = 8760


def _typical_year(
    raw: pd.DataFrame, cloud_tenths: str | None, shift: pd.Timedelta, meta: dict
) -> tuple[pd.DataFrame, dict]:
    renamed = raw.rename(columns=_PVLIB_NAMES)
    data = renamed[[c for c in _PVLIB_NAMES.values() if c in renamed]].astype(float)
    if cloud_tenths is not None and cloud_tenths in raw:
        cover = raw[cloud_tenths].astype(float)
        data["cloud_cover_pct"] = cover.where((cover >= 0) & (cover <= 10)) * 10.0
    stamps = pd.DatetimeIndex(raw.index + shift, name="time")
    if len(stamps) == HOURS_PER_TYPICAL_YEAR:
        # A typical year is 8760 consecutive hours whatever years its months come from; laying
        # them out from the first stamp avoids readers' year-end and leap-year label slips
        # (pvlib labels the last hour of 28 February 1996 as 1 March).
        first = stamps[0]
        start = first.replace(year=TYPICAL_YEAR)
        data.index = pd.date_range(start, periods=len(stamps), freq="1h", name="time")
    else:
        data.index = stamps
        data = to_year(data, TYPICAL_YEAR)  # in the file's own (standard) time, then to UTC
    data.index = data.index.tz_convert("UTC")
    data = data.sort_index()
    meta = {
        **meta,
        "timestamps": f"hourly means re-labelled at mid-hour ({shift.total_seconds() / 60:+g} min)",
        "year": f"months of different years moved onto {TYPICAL_YEAR} (see to_year)",
    }
    return finish(data, meta)


def read_tmy3(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """Read an NSRDB TMY3 file (pvlib ships three under ``pvlib/data``).

    Values are means of the hour *ending* at the stamp, so rows move back 30 min.
    ``TotCld`` (tenths) becomes ``cloud_cover_pct``. ``meta`` adds ``latitude_deg``,
    ``longitude_deg``, ``altitude_m`` and ``name`` from the file's header.
    """
    import pvlib

    raw, head = pvlib.iotools.read_tmy3(str(path), map_variables=True)
    meta = {
        "source": str(path),
        "format": "TMY3",
        "name": str(head.get("Name", "")).strip('"'),
        "latitude_deg": float(head["latitude"]),
        "longitude_deg": float(head["longitude"]),
        "altitude_m": float(head["altitude"]),
    }
    return _typical_year(raw, "TotCld (tenths)", pd.Timedelta(minutes=-30), meta)


def read_epw(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """Read an EnergyPlus weather (EPW) file.

    An EPW row holds the mean of the hour ending at its hour field; pvlib labels it at the
    hour's start, so rows move forward 30 min. ``total_sky_cover`` (tenths) becomes
    ``cloud_cover_pct``.
    """
    import pvlib

    raw, head = pvlib.iotools.read_epw(str(path))
    meta = {
        "source": str(path),
        "format": "EPW",
        "name": str(head.get("city", "")),
        "latitude_deg": float(head["latitude"]),
        "longitude_deg": float(head["longitude"]),
        "altitude_m": float(head["altitude"]),
    }
    return _typical_year(raw, "total_sky_cover", pd.Timedelta(minutes=30), meta)


def read_pvgis_tmy(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """Read a PVGIS typical-year file (JSON or CSV as PVGIS writes them).

    PVGIS stamps each hourly row in UTC at the hour; its irradiance belongs to the satellite
    scan close to that instant, so rows are taken as instantaneous at their stamps. PVGIS
    gives no cloud cover.
    """
    import pvlib

    result = pvlib.iotools.read_pvgis_tmy(str(path), map_variables=True)
    raw, head = result[0], result[-1]  # (data, meta); pvlib < 0.13 returned four items
    inputs: dict[str, Any] = head.get("inputs") or {} if isinstance(head, dict) else {}
    location: dict[str, Any] = inputs.get("location") or inputs
    meta = {
        "source": str(path),
        "format": "PVGIS TMY",
        "latitude_deg": location.get("latitude"),
        "longitude_deg": location.get("longitude"),
        "altitude_m": location.get("elevation"),
    }
    return _typical_year(raw, None, pd.Timedelta(0), meta)


def to_year(data: pd.DataFrame, year: int) -> pd.DataFrame:
    """Move a typical year onto calendar ``year`` (month, day and clock time in the index's own
    time zone kept; 29 February dropped when ``year`` is not a leap year; result sorted)."""
    idx = pd.DatetimeIndex(data.index)
    leap = pd.Timestamp(year=year, month=1, day=1).is_leap_year
    keep = leap | ~((idx.month == 2) & (idx.day == 29))
    idx = idx[keep]
    delta = pd.to_datetime({"year": year, "month": idx.month, "day": idx.day}) - pd.to_datetime(
        {"year": idx.year, "month": idx.month, "day": idx.day}
    )
    moved = data.loc[keep].copy()
    moved.index = pd.DatetimeIndex(idx + pd.TimedeltaIndex(delta.to_numpy()), name="time")
    return moved[~moved.index.duplicated()].sort_index()


def _is_tmy3(path: Path) -> bool:
    with path.open(encoding="utf-8", errors="replace") as f:
        first = f.readline()
    return len(first.split(",")) == 7 and first.split(",")[0].strip().isdigit()


def _is_pvgis(path: Path) -> bool:
    with path.open(encoding="utf-8", errors="replace") as f:
        start = f.read(400)
    return "PVGIS" in start or '"outputs"' in start


def read_open_meteo(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """Read a saved Open-Meteo forecast response (JSON, ``timezone=GMT``)."""
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise WeatherError(f"{path}: cannot read an Open-Meteo response: {exc}") from None
    return parse_open_meteo(payload, source=str(path))


def _is_open_meteo(path: Path) -> bool:
    with path.open(encoding="utf-8", errors="replace") as f:
        start = f.read(2000)
    return '"hourly"' in start and '"utc_offset_seconds"' in start


#: (test on the path, reader) pairs tried in order by :func:`read_any_weather`.
_FORMATS: tuple[tuple[Callable[[Path], bool], Callable[..., tuple[pd.DataFrame, dict]]], ...] = (
    (lambda p: p.suffix.lower() == ".epw", read_epw),
    (lambda p: p.suffix.lower() == ".csv" and _is_tmy3(p), read_tmy3),
    (lambda p: p.suffix.lower() in (".csv", ".json") and _is_pvgis(p), read_pvgis_tmy),
    (lambda p: p.suffix.lower() == ".json" and _is_open_meteo(p), read_open_meteo),
)


#: Prefix naming a typical-year file that ships with pvlib, e.g. ``pvlib:723170TYA.CSV``.
PVLIB_DATA = "pvlib:"


def resolve_weather_path(path: str | Path) -> Path:
    """The file a weather argument names; ``pvlib:NAME`` is a file of pvlib's own data folder
    (TMY3 files of Greensboro NC ``723170TYA.CSV`` and Sand Point AK ``703165TY.csv``)."""
    text = str(path)
    if not text.startswith(PVLIB_DATA):
        return Path(path)
    import pvlib

    folder = Path(pvlib.__file__).parent / "data"
    found = folder / text[len(PVLIB_DATA) :]
    if not found.is_file():
        shipped = sorted(p.name for p in folder.iterdir() if "TY" in p.name.upper())
        raise WeatherError(f"{text}: pvlib ships no such file; it has {', '.join(shipped)}")
    return found


def read_any_weather(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a weather file of any supported format: EPW, TMY3, PVGIS TMY, a saved Open-Meteo
    response, else :func:`read_weather`'s CSV/JSON. ``pvlib:NAME`` reads a file pvlib ships."""
    p = resolve_weather_path(path)
    if not p.is_file():
        raise WeatherError(f"{p}: no such file")
    reader = next((r for test, r in _FORMATS if test(p)), read_weather)
    return reader(p)


def get_weather(
    latitude_deg: float,
    longitude_deg: float,
    start: str,
    end: str,
    **kw: Any,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Hourly forecast weather from Open-Meteo; see :func:`forecasting.openmeteo.get_weather`."""
    return fetch_open_meteo(latitude_deg, longitude_deg, start, end, **kw)
