"""What a weather table lacks for a horizon, and irradiance in the wrong unit.

The PV chain (``forecasting.pv``) bridges missing values and holes between records by
interpolation. ``weather_gaps`` says what it will bridge over a horizon, so a plan can record
and print it instead of filling silently; ``check_irradiance`` refuses irradiance that cannot
be in W/m².
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forecasting.weather import WeatherError

#: Irradiance columns of the weather vocabulary [W/m²].
IRRADIANCE = ("ghi_wm2", "dni_wm2", "dhi_wm2")

#: A record span of at least this many hours holds daylight at any inhabited latitude [h].
DAYLIGHT_SPAN_H = 12.0

#: The highest irradiance a span with daylight must exceed [W/m²]: even a heavily overcast
#: noon gives some 50–100 W/m² of diffuse light; a peak below 20 means kW/m² or a wrong column.
PLAUSIBLE_PEAK_WM2 = 20.0

#: Records further apart than this are a hole the interpolation bridges [h].
HOLE_H = 1.5

#: How the PV chain fills what is missing (``forecasting.pv``).
FILL_METHOD = "linear interpolation between the neighbouring records"


def check_irradiance(weather: pd.DataFrame) -> None:
    """Refuse irradiance that peaks too low to be W/m² over a span that holds daylight.

    Raises
    ------
    WeatherError
        Naming the column and its peak.
    """
    if len(weather) < 2:
        return
    span_h = (weather.index[-1] - weather.index[0]) / pd.Timedelta(hours=1)
    if span_h < DAYLIGHT_SPAN_H:
        return
    for name in IRRADIANCE:
        if name not in weather:
            continue
        values = weather[name].to_numpy(dtype=float)
        if not np.isfinite(values).any():
            continue
        peak = float(np.nanmax(values))
        if 0 < peak < PLAUSIBLE_PEAK_WM2:
            raise WeatherError(
                f"{name} peaks at {peak:g} over {span_h:g} h of records: irradiance must be in "
                f"W/m² (a clear noon gives 600–1000 W/m²); values in kW/m² need × 1000"
            )


def weather_gaps(
    weather: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, tz: Any = None
) -> dict[str, Any]:
    """What the PV chain will fill between ``start`` and ``end``: missing values per column
    and holes between records longer than ``HOLE_H`` (times in ``tz``, default UTC).

    Returns
    -------
    dict
        ``{}`` when nothing is filled; else ``missing_values`` (column → count),
        ``holes`` (list of ``[from, to]`` ISO times), ``method``.
    """
    window = weather[(weather.index >= start - pd.Timedelta(hours=HOLE_H))
                     & (weather.index < end + pd.Timedelta(hours=HOLE_H))]  # fmt: skip
    missing = {
        str(c): int(n) for c, n in window.isna().sum().items() if n > 0
    }
    times = window.index if tz is None else window.index.tz_convert(tz)
    holes = []
    if len(times) > 1:
        step_h = np.asarray(np.diff(times) / pd.Timedelta(hours=1), dtype=float)
        for i in np.flatnonzero(step_h > HOLE_H).tolist():
            holes.append([times[i].isoformat(), times[i + 1].isoformat()])
    if not missing and not holes:
        return {}
    return {"missing_values": missing, "holes": holes, "method": FILL_METHOD}


def describe_gaps(gaps: dict[str, Any]) -> list[str]:
    """Lines a person reads about ``weather_gaps``."""
    if not gaps:
        return []
    lines = []
    for column, count in gaps["missing_values"].items():
        lines.append(f"weather: {count} missing {column} value(s) filled by {gaps['method']}")
    for start, end in gaps["holes"]:
        lines.append(f"weather: no records from {start} to {end}; bridged by {gaps['method']}")
    return lines
