"""Weather in one vocabulary, from forecast files, typical-year files and Open-Meteo.

Every reader returns ``(data, meta)``: ``data`` is a DataFrame with a tz-aware UTC index and
columns from :data:`VOCABULARY`; ``meta`` is a dict that says where the data came from, how
its timestamps are to be read, and what was derived or defaulted.

Timestamps mark the instant a value describes. Sources that give hourly means (typical-year
files, Open-Meteo radiation) are re-labelled at the middle of their hour, which is where
:func:`forecasting.pv.forecast_pv` (which interpolates between rows) should place them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Air temperature and wind speed used when the weather gives none [°C], [m/s].
DEFAULT_TEMP_AIR_C = 20.0
DEFAULT_WIND_SPEED_MS = 1.0

#: Column → (unit, lowest, highest plausible value).
VOCABULARY: dict[str, tuple[str, float, float]] = {
    "ghi_wm2": ("W/m²", 0.0, 1500.0),
    "dni_wm2": ("W/m²", 0.0, 1400.0),
    "dhi_wm2": ("W/m²", 0.0, 1000.0),
    "cloud_cover_pct": ("%", 0.0, 100.0),
    "temp_air_c": ("°C", -70.0, 65.0),
    "wind_speed_ms": ("m/s", 0.0, 75.0),
}
#: On-site sensor quantities, one column per array named ``<array>.<quantity>``: measured
#: plane-of-array irradiance and back-of-module temperature (unit, lowest, highest).
SENSORS: dict[str, tuple[str, float, float]] = {
    "poa_global_wm2": ("W/m²", 0.0, 1600.0),
    "module_temp_c": ("°C", -70.0, 100.0),
}


def column_spec(column: str) -> tuple[str, float, float] | None:
    """Unit and bounds of a weather column: a vocabulary name or ``<array>.<sensor>``."""
    if column in VOCABULARY:
        return VOCABULARY[column]
    device, dot, quantity = column.rpartition(".")
    return SENSORS.get(quantity) if dot and device else None


#: Accepted names of the time column of a CSV/JSON forecast file.
TIME_COLUMNS = ("time", "timestamp")
#: Calendar year onto which typical-year files are laid (not a leap year).
TYPICAL_YEAR = 1990
DEFAULTS = {"temp_air_c": DEFAULT_TEMP_AIR_C, "wind_speed_ms": DEFAULT_WIND_SPEED_MS}
_OFFSET = re.compile(r"(?:Z|[+-]\d{2}(?::?\d{2})?)$")


class WeatherError(ValueError):
    """A weather file or response that cannot be used; the message names the problem."""


class WeatherServiceError(ConnectionError):
    """A weather service that cannot be reached or answers with an error."""


def parse_times(raw: pd.Series, source: str) -> pd.DatetimeIndex:
    text = raw.astype(str).str.strip()
    naive = ~text.str.contains(_OFFSET)
    if naive.any():
        row = int(np.flatnonzero(naive.to_numpy())[0])
        raise WeatherError(
            f"{source}: row {row + 1}: timestamp {text.iloc[row]!r} has no UTC offset; "
            f"naive times are refused — write e.g. 2026-06-21T12:00+08:00 or 2026-06-21T04:00Z"
        )
    try:
        times = pd.to_datetime(text, format="ISO8601", utc=True)
    except (ValueError, TypeError) as exc:
        raise WeatherError(f"{source}: timestamps must be ISO 8601 with an offset: {exc}") from None
    index = pd.DatetimeIndex(times, name="time")
    if index.has_duplicates:
        raise WeatherError(f"{source}: repeated timestamp {index[index.duplicated()][0]}")
    return index


def from_records(table: pd.DataFrame, source: str = "<weather>") -> tuple[pd.DataFrame, dict]:
    """Check a table with a time column and vocabulary columns; fill defaults; build meta."""
    time_col = next((c for c in TIME_COLUMNS if c in table.columns), None)
    if time_col is None:
        raise WeatherError(
            f"{source}: missing time column; expected one of {list(TIME_COLUMNS)}, "
            f"got columns {list(table.columns)}"
        )
    unknown = [c for c in table.columns if c != time_col and column_spec(c) is None]
    if unknown:
        raise WeatherError(
            f"{source}: unknown column(s) {unknown}; expected any of {list(VOCABULARY)} or "
            f"<array>.<sensor> with a sensor of {list(SENSORS)}"
        )
    index = parse_times(table[time_col], source)
    data = pd.DataFrame(index=index)
    for col in (c for c in table.columns if c != time_col):
        values = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=float)
        given = table[col].notna().to_numpy()
        unit, low, high = column_spec(col)  # type: ignore[misc]
        bad = (given & np.isnan(values)) | (values < low) | (values > high)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            value = table[col].iloc[row]
            value = value.item() if isinstance(value, np.generic) else value
            raise WeatherError(
                f"{source}: row {row + 1}: {col} must be a number in [{low:g}, {high:g}] "
                f"{unit}, got {value!r}"
            )
        if given.any():
            data[col] = values
    has_poa = any(c.endswith(".poa_global_wm2") for c in data.columns)
    if "ghi_wm2" not in data and "cloud_cover_pct" not in data and not has_poa:
        raise WeatherError(
            f"{source}: missing column: weather needs ghi_wm2, cloud_cover_pct or an "
            f"<array>.poa_global_wm2 (got {list(data.columns) or 'no data columns'})"
        )
    return _finish(data.sort_index(), {"source": source, "timestamps": "instantaneous"})


def _finish(data: pd.DataFrame, meta: dict) -> tuple[pd.DataFrame, dict]:
    """Fill temperature and wind defaults and record what later steps derive."""
    columns = [c for c in VOCABULARY if c in data] + [c for c in data if c not in VOCABULARY]
    meta = {**meta, "columns": columns, "defaulted": {}}
    for col, value in DEFAULTS.items():
        if col not in data:
            data[col] = value
            meta["defaulted"][col] = value
    derived = []
    if "ghi_wm2" not in data:
        derived.append("ghi_wm2 from cloud_cover_pct (Kasten & Czeplak 1980)")
    if "dni_wm2" not in data or "dhi_wm2" not in data:
        derived.append("dni_wm2/dhi_wm2 by decomposition (DISC) or closure from given ones")
    meta["derived"] = derived
    meta["rows"] = len(data)
    if len(data):
        meta["start"], meta["end"] = data.index[0].isoformat(), data.index[-1].isoformat()
    return data, meta


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
    return _finish(data, meta)


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
    from forecasting.openmeteo import parse_open_meteo

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
    from forecasting.openmeteo import get_weather as fetch

    return fetch(latitude_deg, longitude_deg, start, end, **kw)
