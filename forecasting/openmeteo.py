"""Forecast weather from the Open-Meteo forecast API (https://open-meteo.com), free, no key.

Open-Meteo returns hourly series in the requested time zone (UTC here). Its radiation values
(``shortwave_radiation`` = GHI, ``direct_normal_irradiance``, ``diffuse_radiation``) are means
of the *preceding* hour, while ``cloud_cover``, ``temperature_2m`` and ``wind_speed_10m`` are
instantaneous. Rows are therefore re-labelled at the middle of each radiation hour
(``time − 30 min``) and the instantaneous variables are averaged over the hour's two ends.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from forecasting.records import WeatherError, WeatherServiceError, from_records

URL = "https://api.open-meteo.com/v1/forecast"
#: Open-Meteo variable → vocabulary column, and whether it is a mean of the preceding hour.
VARIABLES: dict[str, tuple[str, bool]] = {
    "shortwave_radiation": ("ghi_wm2", True),
    "direct_normal_irradiance": ("dni_wm2", True),
    "diffuse_radiation": ("dhi_wm2", True),
    "cloud_cover": ("cloud_cover_pct", False),
    "temperature_2m": ("temp_air_c", False),
    "wind_speed_10m": ("wind_speed_ms", False),
}


def parse_open_meteo(
    payload: dict[str, Any], source: str = "open-meteo"
) -> tuple[pd.DataFrame, dict]:
    """Turn an Open-Meteo forecast response (JSON, ``timezone=GMT``) into the vocabulary.

    Raises
    ------
    WeatherError
        An error response, a non-UTC response, or missing hourly data.
    """
    if payload.get("error"):
        raise WeatherError(f"{source}: the service answered with an error: {payload.get('reason')}")
    if payload.get("utc_offset_seconds", 0) != 0:
        raise WeatherError(
            f"{source}: expected times in UTC (utc_offset_seconds 0), got "
            f"{payload.get('utc_offset_seconds')}"
        )
    hourly = payload.get("hourly")
    if not isinstance(hourly, dict) or "time" not in hourly:
        raise WeatherError(f"{source}: response has no 'hourly' block with a 'time' list")
    missing = [v for v in VARIABLES if v not in hourly]
    if missing:
        raise WeatherError(f"{source}: response lacks hourly variable(s) {missing}")
    ends = pd.to_datetime(pd.Series(hourly["time"]), format="ISO8601").dt.tz_localize("UTC")
    table = pd.DataFrame({"time": (ends - pd.Timedelta(minutes=30)).dt.strftime("%Y-%m-%dT%H:%MZ")})
    for name, (column, mean_of_hour) in VARIABLES.items():
        values = pd.Series(hourly[name], dtype=float)
        if not mean_of_hour:  # instantaneous: average the hour's start and end
            values = (values + values.shift(1).fillna(values)) / 2
        table[column] = values.to_numpy()
    data, meta = from_records(table, source)
    meta.update(
        timestamps="hourly radiation means labelled at mid-hour; other variables averaged",
        latitude_deg=payload.get("latitude"),
        longitude_deg=payload.get("longitude"),
        altitude_m=payload.get("elevation"),
    )
    return data, meta


def get_weather(
    latitude_deg: float,
    longitude_deg: float,
    start: str,
    end: str,
    *,
    timeout_s: float = 10.0,
    url: str | None = None,
    transport: Any = None,
) -> tuple[pd.DataFrame, dict]:
    """Fetch hourly forecast weather for a point from Open-Meteo.

    Parameters
    ----------
    latitude_deg, longitude_deg : float
        Location [°].
    start, end : str
        First and last day, ``YYYY-MM-DD`` (UTC days).
    timeout_s : float
        Connect and read timeout [s].
    url : str, optional
        The forecast endpoint (a mirror or a self-hosted Open-Meteo); default :data:`URL`.
    transport : httpx.BaseTransport, optional
        For replaying a recorded response.

    Raises
    ------
    WeatherServiceError
        The service cannot be reached in ``timeout_s`` (offline) or answers with an HTTP error.
    """
    import httpx

    url = url or URL
    if not (-90 <= latitude_deg <= 90 and -180 <= longitude_deg <= 180):
        raise ValueError(f"latitude/longitude out of range: {latitude_deg}, {longitude_deg}")
    params: dict[str, str | float] = {
        "latitude": latitude_deg,
        "longitude": longitude_deg,
        "hourly": ",".join(VARIABLES),
        "wind_speed_unit": "ms",
        "timezone": "GMT",
        "start_date": start,
        "end_date": end,
    }
    try:
        with httpx.Client(timeout=timeout_s, transport=transport) as client:
            response = client.get(url, params=params)
    except httpx.TimeoutException:
        raise WeatherServiceError(
            f"{url}: no answer within {timeout_s:g} s; use a weather file or the clear-sky default"
        ) from None
    except httpx.TransportError as exc:
        raise WeatherServiceError(
            f"cannot reach {url} ({exc.__class__.__name__}: {exc}); offline? use a weather file "
            f"or the clear-sky default"
        ) from None
    if response.status_code != 200:
        raise WeatherServiceError(f"{url}: HTTP {response.status_code}: {response.text[:200]}")
    try:
        payload = response.json()
    except ValueError:
        raise WeatherServiceError(f"{url}: the answer is not JSON") from None
    data, meta = parse_open_meteo(payload, source=url)
    meta["request"] = {k: v for k, v in params.items() if k != "hourly"}
    return data, meta
