"""A typical-year weather file placed on a site and a calendar year.

A typical meteorological year (TMY3, EPW, PVGIS TMY) strings together months of different
years, at the station's own longitude and latitude. A study needs it on one calendar year, at
the site. Two steps:

1. **Calendar.** Every record keeps its month, day and *solar* time of day: its instant is
   moved by the longitude difference :math:`(\\lambda_{station} - \\lambda_{site}) / 15`
   hours, so that solar noon stays solar noon at the site, and its year is set to the study's
   year. A 29 February of the file is dropped; in a leap study year 29 February repeats the
   28th. The first days of the next year repeat the file's first days, so that the last day
   of the year can still be planned with a look-ahead.
2. **Sky.** When the station is away from the site, global irradiance is moved by its
   clear-sky index :math:`k_t = GHI / GHI_{clear}` (computed at the station, applied to the
   site's clear sky), and diffuse irradiance by its diffuse fraction :math:`DHI / GHI`; this
   is the usual way of transposing a measured irradiance series to a nearby place (Perez et
   al., *Solar Energy* 73 (2002) 307, for the clear-sky-index approach). Air temperature and
   wind are carried over unchanged. For a design study, use a typical year of the site's own
   location (e.g. PVGIS TMY for its coordinates); the transfer is an approximation for trying
   things out with the files pvlib ships.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from forecasting.pv import sky
from sites.schema import Location, Site

#: Distance below which a weather station counts as being at the site [deg of lat/lon].
SAME_PLACE_DEG = 0.25
#: Clear-sky GHI under which the clear-sky index is not trusted and is bridged [W/m²].
MIN_CLEAR_GHI_WM2 = 20.0
#: Upper bound of the clear-sky index carried over (cloud enhancement) [-].
MAX_CLEAR_SKY_INDEX = 1.5
#: Days of the next year appended after 31 December for the look-ahead [day].
LOOK_AHEAD_DAYS = 3

_LAT_KEYS = ("latitude", "latitude_deg", "lat")
_LON_KEYS = ("longitude", "longitude_deg", "lon")
_ALT_KEYS = ("altitude", "altitude_m", "elevation")


def station_location(meta: dict[str, Any], site: Site) -> Location:
    """The weather station's location from a reader's ``meta``; the site's when it has none."""

    def first(keys: tuple[str, ...]) -> float | None:
        for key in keys:
            if meta.get(key) is not None:
                return float(meta[key])
        return None

    lat, lon = first(_LAT_KEYS), first(_LON_KEYS)
    if lat is None or lon is None:
        return site.location
    alt = first(_ALT_KEYS)
    return Location(
        latitude_deg=lat,
        longitude_deg=lon,
        altitude_m=alt if alt is not None else 0.0,
        timezone="UTC",
    )


def _hours(hours: float) -> pd.Timedelta:
    """A time offset rounded to the second (solar-time shifts are not exact in binary)."""
    return pd.Timedelta(seconds=round(hours * 3600))


def _solar_clock(index: pd.DatetimeIndex, longitude_deg: float) -> pd.DatetimeIndex:
    """Naive mean solar time of each instant: UTC + longitude / 15 h."""
    utc = index.tz_convert("UTC").tz_localize(None)
    return utc + _hours(longitude_deg / 15.0)


def _on_year(solar: pd.DatetimeIndex, year: int) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Move solar-clock instants onto ``year``; returns the instants and the rows kept."""
    keep = ~((solar.month == 2) & (solar.day == 29))
    kept = solar[keep]
    offsets = kept - pd.DatetimeIndex(kept.normalize())
    days = [date(year, m, d) for m, d in zip(kept.month, kept.day, strict=True)]
    moved = pd.DatetimeIndex(pd.to_datetime(days)) + offsets
    return moved, np.flatnonzero(keep)


def place_on_year(weather: pd.DataFrame, site: Site, year: int, station: Location) -> pd.DataFrame:
    """Step 1: the records on the study year at the site's solar time (UTC index, sorted)."""
    if not isinstance(weather.index, pd.DatetimeIndex) or weather.index.tz is None:
        raise ValueError("weather must have a tz-aware DatetimeIndex (naive times are refused)")
    solar = _solar_clock(weather.index, station.longitude_deg)
    moved, rows = _on_year(solar, year)
    body = weather.iloc[rows].set_axis(moved)
    body = body[~body.index.duplicated()].sort_index()
    parts = [body]
    if (date(year, 3, 1) - timedelta(days=1)).day == 29:
        feb28 = body[(body.index.month == 2) & (body.index.day == 28)]
        parts.append(feb28.set_axis(feb28.index + pd.Timedelta(days=1)))
    start = body.index[0].normalize()
    head = body[body.index < start + pd.Timedelta(days=LOOK_AHEAD_DAYS)]
    year_after = pd.Timestamp(year + 1, 1, 1) - pd.Timestamp(year, 1, 1)
    parts.append(head.set_axis(head.index + year_after))
    tail = body[body.index >= pd.Timestamp(year, 12, 31)]
    year_before = pd.Timestamp(year, 1, 1) - pd.Timestamp(year - 1, 1, 1)
    parts.insert(0, tail.set_axis(tail.index - year_before))
    out = pd.concat(parts).sort_index()
    out = out[~out.index.duplicated()]
    out.index = (out.index - _hours(site.location.longitude_deg / 15.0)).tz_localize("UTC")
    out.index.name = "time"
    return out


def _clear_ghi(location: Location, index: pd.DatetimeIndex, site: Site) -> np.ndarray:
    there = site.model_copy(update={"location": location})
    return np.asarray(sky(there, index).ghi_clear, dtype=float)


def _clear_sky_index(ghi: np.ndarray, clear: np.ndarray, index: pd.DatetimeIndex) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        kt = np.where(clear >= MIN_CLEAR_GHI_WM2, ghi / clear, np.nan)
    series = pd.Series(kt, index=index).interpolate(limit_direction="both")
    return np.clip(series.fillna(1.0).to_numpy(), 0.0, MAX_CLEAR_SKY_INDEX)


def typical_year(
    weather: pd.DataFrame, meta: dict[str, Any], site: Site, year: int
) -> pd.DataFrame:
    """A typical-year file on ``year`` at ``site`` (see the module notes).

    Parameters
    ----------
    weather : DataFrame
        From :func:`forecasting.weather.read_weather`: tz-aware index, columns among
        ``ghi_wm2, dni_wm2, dhi_wm2, temp_air_c, wind_speed_ms, cloud_cover_pct`` [W/m², °C,
        m/s, %].
    meta : dict
        The reader's metadata; ``latitude``/``longitude`` [deg] locate the station.
    site : Site
    year : int
        Calendar year of the study.

    Returns
    -------
    DataFrame
        UTC index covering the year (plus a few days either side), same vocabulary.
    """
    station = station_location(meta, site)
    placed = place_on_year(weather, site, year, station)
    near = (
        abs(station.latitude_deg - site.location.latitude_deg) <= SAME_PLACE_DEG
        and abs(station.longitude_deg - site.location.longitude_deg) <= SAME_PLACE_DEG
    )
    if near or "ghi_wm2" not in placed:
        return placed
    # the instants at the station that each placed record came from
    shift = _hours((site.location.longitude_deg - station.longitude_deg) / 15.0)
    at_station = pd.DatetimeIndex(placed.index + shift)
    ghi = placed["ghi_wm2"].to_numpy(dtype=float)
    kt = _clear_sky_index(ghi, _clear_ghi(station, at_station, site), at_station)
    moved_ghi = kt * _clear_ghi(site.location, pd.DatetimeIndex(placed.index), site)
    out = placed.drop(columns=[c for c in ("dni_wm2",) if c in placed])
    if "dhi_wm2" in placed:
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(ghi > 1.0, placed["dhi_wm2"].to_numpy(dtype=float) / ghi, 1.0)
        out["dhi_wm2"] = np.clip(share, 0.0, 1.0) * moved_ghi
    out["ghi_wm2"] = moved_ghi
    return out
