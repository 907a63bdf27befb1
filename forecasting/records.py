"""The weather vocabulary: its columns and their plausible ranges, the errors of weather
input, and the check every reader ends with (:func:`from_records`, :func:`finish`).

Used by the file readers (``forecasting.weather``) and the Open-Meteo client
(``forecasting.openmeteo``).
"""

from __future__ import annotations

import re

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
    return finish(data.sort_index(), {"source": source, "timestamps": "instantaneous"})


def finish(data: pd.DataFrame, meta: dict) -> tuple[pd.DataFrame, dict]:
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
