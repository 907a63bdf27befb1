"""AC power of every PV array of a site, from weather or clear sky, with pvlib.

The chain, per site and then per array (Holmgren, Hansen & Mikofski 2018, pvlib python):

1. solar position, once per site, on sub-steps of each interval, with pvlib's ``ephemeris``
   method: seven times faster than NREL SPA in numpy and within 0.011° of it in apparent
   zenith over a year of 5-minute steps (checked at the demo village);
2. clear sky: Ineichen & Perez (2002) with pvlib's monthly Linke turbidity climatology
   (Remund et al. 2003);
3. global horizontal irradiance: measured/forecast GHI if given, else from cloud cover
   (Kasten & Czeplak 1980, see :mod:`forecasting.cloud`), else clear sky;
4. beam/diffuse split: given DNI/DHI if present, else DISC (Maxwell 1987);
5. plane of array: Perez et al. (1990) transposition with the array's albedo;
6. incidence-angle losses: Martin & Ruiz (2001) for beam, sky- and ground-diffuse;
7. cell temperature: the array's ``temperature_model`` — SAPM (King et al. 2004) or PVsyst
   (Faiman 2008 form) parameters for the mounting; building-integrated arrays run hotter;
8. DC power: PVWatts (Dobos 2014) with the array's ``gamma_pdc_per_c``;
9. system losses ``losses_pct`` (soiling, wiring, mismatch);
10. inverter: PVWatts inverter model (part-load efficiency curve around the array's
    ``inverter_efficiency_pu``) with clipping at ``inverter_ac_kw``.

Each interval's value is the **mean over the interval**: the chain runs on sub-steps of
:data:`SUB_STEP_MINUTES` evaluated at their mid-points, and the sub-step AC powers are averaged.
The sun's position is computed once for all arrays. Night is exactly zero.

References
----------
Ineichen, P. and Perez, R. (2002). A new airmass independent formulation for the Linke
turbidity coefficient. Solar Energy 73(3), 151-157.
Maxwell, E. L. (1987). A quasi-physical model for converting hourly global horizontal to
direct normal insolation. SERI/TR-215-3087.
Perez, R. et al. (1990). Modeling daylight availability and irradiance components from direct
and global irradiance. Solar Energy 44(5), 271-289.
Martin, N. and Ruiz, J. M. (2001). Calculation of the PV modules angular losses under field
conditions by means of an analytical model. Sol. Energy Mater. Sol. Cells 70, 25-38.
King, D. L., Boyson, W. E. and Kratochvil, J. A. (2004). Photovoltaic array performance model.
SAND2004-3535.
Dobos, A. P. (2014). PVWatts version 5 manual. NREL/TP-6A20-62641.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pvlib

from forecasting.cloud import CloudModel, ghi_from_cloud_cover
from forecasting.records import DEFAULT_TEMP_AIR_C, DEFAULT_WIND_SPEED_MS, WeatherError
from forecasting.thermal import cell_model, module_to_cell_delta_c
from sites.schema import PvArray, Site

#: Length of the sub-steps whose mid-points are averaged into an interval mean [min].
SUB_STEP_MINUTES = 5
#: Angular-loss coefficient a_r of Martin & Ruiz (2001) for glass-faced modules.
MARTIN_RUIZ_A_R = 0.16
#: Clear-sky GHI under which a weather sample's clear-sky index is not trusted [W/m²].
MIN_CLEAR_GHI_WM2 = 20.0
#: Upper bound of the interpolated clear-sky index (cloud enhancement) [-].
MAX_CLEAR_SKY_INDEX = 1.5
#: AC powers below this are set to exactly zero [kW].
ZERO_BELOW_KW = 1e-6

@dataclass(frozen=True)
class Sky:
    """Sun and clear sky at a set of instants (arrays aligned with ``times``)."""

    times: pd.DatetimeIndex
    apparent_zenith: np.ndarray
    zenith: np.ndarray
    azimuth: np.ndarray
    dni_extra: np.ndarray
    airmass_relative: np.ndarray
    pressure_pa: float
    ghi_clear: np.ndarray
    dni_clear: np.ndarray
    dhi_clear: np.ndarray


def sky(site: Site, times: pd.DatetimeIndex) -> Sky:
    """Solar position and Ineichen clear sky at ``times`` (computed once per site)."""
    loc = site.location
    pressure = float(pvlib.atmosphere.alt2pres(loc.altitude_m))
    sun = pvlib.solarposition.get_solarposition(
        times,
        loc.latitude_deg,
        loc.longitude_deg,
        loc.altitude_m,
        pressure=pressure,
        method="ephemeris",
    )
    am_rel = pvlib.atmosphere.get_relative_airmass(sun["apparent_zenith"].to_numpy())
    am_abs = pvlib.atmosphere.get_absolute_airmass(am_rel, pressure)
    linke = pvlib.clearsky.lookup_linke_turbidity(times, loc.latitude_deg, loc.longitude_deg)
    dni_extra = np.asarray(pvlib.irradiance.get_extra_radiation(times), dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):  # night: cos(zenith) = 0, by design
        clear = pvlib.clearsky.ineichen(
            sun["apparent_zenith"].to_numpy(),
            am_abs,
            linke.to_numpy(),
            loc.altitude_m,
            dni_extra,
        )
    return Sky(
        times=times,
        apparent_zenith=sun["apparent_zenith"].to_numpy(),
        zenith=sun["zenith"].to_numpy(),
        azimuth=sun["azimuth"].to_numpy(),
        dni_extra=dni_extra,
        airmass_relative=np.nan_to_num(am_rel, nan=0.0),
        pressure_pa=pressure,
        ghi_clear=np.nan_to_num(np.asarray(clear["ghi"], dtype=float)),
        dni_clear=np.nan_to_num(np.asarray(clear["dni"], dtype=float)),
        dhi_clear=np.nan_to_num(np.asarray(clear["dhi"], dtype=float)),
    )


def substep_times(site: Site, index: pd.DatetimeIndex) -> tuple[pd.DatetimeIndex, int]:
    """Mid-points of the sub-steps of every interval (interval-major order) and their count."""
    n = max(1, round(site.step_minutes / SUB_STEP_MINUTES))
    step_ns = site.step_minutes * 60 * 10**9
    offsets = ((np.arange(n) + 0.5) * step_ns / n).astype("int64")
    starts = index.tz_convert("UTC").as_unit("ns").asi8
    flat = (starts[:, None] + offsets[None, :]).ravel()
    return pd.DatetimeIndex(pd.to_datetime(flat, utc=True)), n


@dataclass(frozen=True)
class Irradiance:
    """Weather on the sub-steps, in the vocabulary's units, and how it was obtained."""

    ghi: np.ndarray
    dni: np.ndarray
    dhi: np.ndarray
    temp_air_c: np.ndarray
    wind_speed_ms: np.ndarray
    derived: tuple[str, ...]
    sensors: Mapping[str, np.ndarray] = field(default_factory=dict)


def _ns(index: pd.Index) -> np.ndarray:
    return pd.DatetimeIndex(index).as_unit("ns").asi8


def _interp(source: pd.Series, times: pd.DatetimeIndex) -> np.ndarray:
    """Linear interpolation in time; NaNs are bridged; ends are held."""
    s = source.astype(float).dropna()
    if s.empty:
        return np.full(len(times), np.nan)
    return np.interp(_ns(times), _ns(s.index), s.to_numpy())


def _check_weather(site: Site, weather: pd.DataFrame, times: pd.DatetimeIndex) -> pd.DataFrame:
    if not isinstance(weather.index, pd.DatetimeIndex) or weather.index.tz is None:
        raise WeatherError(
            "weather index must be a tz-aware DatetimeIndex (naive times are refused)"
        )
    if weather.empty:
        raise WeatherError("weather has no rows")
    w = weather.sort_index()
    w.index = w.index.tz_convert("UTC")
    spacing = w.index.to_series().diff().median() if len(w) > 1 else site.step
    slack = max(pd.Timedelta(spacing), pd.Timedelta(site.step))
    if w.index[0] > times[0] + slack or w.index[-1] < times[-1] - slack:
        first = times[0].floor(site.step).tz_convert(site.tz)  # the intervals, not sub-steps
        last = (times[-1].floor(site.step) + site.step).tz_convert(site.tz)
        raise WeatherError(
            f"weather covers {w.index[0].tz_convert(site.tz).isoformat()} to "
            f"{w.index[-1].tz_convert(site.tz).isoformat()} but the forecast needs "
            f"{first.isoformat()} to {last.isoformat()} ({site.location.timezone})"
        )
    return w.loc[times[0] - 2 * slack : times[-1] + 2 * slack]


def _clear_index(site: Site, w: pd.DataFrame, times: pd.DatetimeIndex) -> np.ndarray:
    """Clear-sky index GHI/GHI_clear of the weather, interpolated to ``times``."""
    at = sky(site, pd.DatetimeIndex(w.index))
    ratio = w["ghi_wm2"].to_numpy(dtype=float) / np.where(at.ghi_clear > 0, at.ghi_clear, np.nan)
    ratio[at.ghi_clear < MIN_CLEAR_GHI_WM2] = np.nan
    kt = _interp(pd.Series(ratio, index=w.index), times)
    return np.clip(np.nan_to_num(kt, nan=1.0), 0.0, MAX_CLEAR_SKY_INDEX)


def irradiance(
    site: Site,
    s: Sky,
    weather: pd.DataFrame | None,
    cloud_cover_pct: float | None,
    cloud: CloudModel | None,
) -> Irradiance:
    """GHI, DNI, DHI, air temperature and wind on the sub-steps ``s.times``.

    Weather values are taken as instantaneous at their timestamps (hourly means should be
    labelled at the middle of their hour) and interpolated: GHI through its clear-sky index,
    the diffuse fraction DHI/GHI linearly, cloud cover, temperature and wind linearly.
    Priority for GHI: weather ``ghi_wm2`` → weather ``cloud_cover_pct`` → the
    ``cloud_cover_pct`` argument → clear sky.
    """
    w = _check_weather(site, weather, s.times) if weather is not None else pd.DataFrame()
    derived: list[str] = []
    up = s.apparent_zenith < 90
    if "ghi_wm2" in w:
        ghi = _clear_index(site, w, s.times) * s.ghi_clear
    elif "cloud_cover_pct" in w or cloud_cover_pct is not None:
        cover = _interp(w["cloud_cover_pct"], s.times) if "cloud_cover_pct" in w else None
        cover = np.full(len(s.times), cloud_cover_pct) if cover is None else cover
        ghi = ghi_from_cloud_cover(np.nan_to_num(cover), s.ghi_clear, cloud)
        derived.append("ghi_wm2 from cloud cover (Kasten & Czeplak 1980)")
    else:
        ghi = s.ghi_clear
        derived.append("ghi_wm2, dni_wm2, dhi_wm2 from clear sky (Ineichen)")
    ghi = np.where(up, ghi, 0.0)
    if "ghi_wm2" not in w and "cloud_cover_pct" not in w and cloud_cover_pct is None:
        dni, dhi = s.dni_clear, s.dhi_clear
    elif "ghi_wm2" in w and ("dhi_wm2" in w or "dni_wm2" in w):
        dhi_w = w["dhi_wm2"] if "dhi_wm2" in w else _dhi_from_dni(site, w)
        share = (dhi_w / w["ghi_wm2"].where(w["ghi_wm2"] > 10)).clip(0, 1)
        frac = np.clip(np.nan_to_num(_interp(share, s.times), nan=1.0), 0, 1)
        dhi = frac * ghi
        dni = pvlib.irradiance.dni(  # closure DNI = (GHI − DHI)/cos z, limited near the horizon
            pd.Series(ghi), pd.Series(dhi), pd.Series(s.zenith), pd.Series(s.dni_clear)
        ).to_numpy(dtype=float)
    else:
        dni = np.asarray(
            pvlib.irradiance.disc(ghi, s.zenith, s.times, pressure=s.pressure_pa)["dni"]
        )
        dhi = ghi - dni * np.cos(np.radians(s.zenith))
        derived.append("dni_wm2, dhi_wm2 from ghi_wm2 (DISC, Maxwell 1987)")
    temp, wind = (
        _interp(w[col], s.times) if col in w else np.full(len(s.times), default)
        for col, default in (
            ("temp_air_c", DEFAULT_TEMP_AIR_C),
            ("wind_speed_ms", DEFAULT_WIND_SPEED_MS),
        )
    )
    derived += [
        f"{c} defaulted to {d:g}"
        for c, d in (("temp_air_c", DEFAULT_TEMP_AIR_C), ("wind_speed_ms", DEFAULT_WIND_SPEED_MS))
        if c not in w
    ]
    return Irradiance(
        ghi=ghi,
        dni=np.where(up, np.nan_to_num(dni), 0.0).clip(0),
        dhi=np.where(up, np.nan_to_num(dhi), 0.0).clip(0),
        temp_air_c=temp,
        wind_speed_ms=np.clip(wind, 0, None),
        derived=tuple(derived),
        sensors={c: _interp(w[c], s.times) for c in w.columns if "." in str(c)},
    )


def _dhi_from_dni(site: Site, w: pd.DataFrame) -> pd.Series:
    at = sky(site, pd.DatetimeIndex(w.index))
    cos_z = np.clip(np.cos(np.radians(at.zenith)), 0, None)
    return (w["ghi_wm2"] - w["dni_wm2"] * cos_z).clip(lower=0)


def plane_of_array(array: PvArray, s: Sky, irr: Irradiance) -> tuple[np.ndarray, np.ndarray]:
    """Effective (after incidence-angle losses) and total plane-of-array irradiance [W/m²]
    (steps 5-6 of the module's chain)."""
    tilt, azimuth = array.tilt_deg, array.azimuth_deg
    poa = pvlib.irradiance.get_total_irradiance(
        tilt,
        azimuth,
        s.apparent_zenith,
        s.azimuth,
        irr.dni,
        irr.ghi,
        irr.dhi,
        dni_extra=s.dni_extra,
        airmass=s.airmass_relative,
        albedo=array.albedo_pu,
        model="perez",
    )
    aoi = pvlib.irradiance.aoi(tilt, azimuth, s.apparent_zenith, s.azimuth)
    iam_beam = pvlib.iam.martin_ruiz(aoi, a_r=MARTIN_RUIZ_A_R)
    iam_diffuse = pvlib.iam.martin_ruiz_diffuse(tilt, a_r=MARTIN_RUIZ_A_R)
    if isinstance(iam_diffuse, Mapping):  # pvlib ≥ 0.13 returns a dict, older a tuple
        iam_diffuse = (iam_diffuse["sky"], iam_diffuse["ground"])
    iam_sky, iam_ground = (float(v) for v in iam_diffuse)
    beam = np.nan_to_num(np.asarray(poa["poa_direct"], dtype=float))
    sky_diffuse = np.nan_to_num(np.asarray(poa["poa_sky_diffuse"], dtype=float))
    ground = np.nan_to_num(np.asarray(poa["poa_ground_diffuse"], dtype=float))
    effective = beam * iam_beam + sky_diffuse * iam_sky + ground * iam_ground
    return effective, beam + sky_diffuse + ground


def array_ac_kw(array: PvArray, s: Sky, irr: Irradiance) -> np.ndarray:
    """AC power of one array at each sub-step [kW] (steps 5-10 of the module's chain).

    A measured ``<array>.poa_global_wm2`` is taken as the effective irradiance (a reference
    cell in the array's plane, IEC 61724-1), so transposition and incidence-angle losses are
    skipped; a measured ``<array>.module_temp_c`` (back of module) gives the cell temperature
    by ``T_cell = T_module + E/1000 · ΔT`` (King et al. 2004, eq. 12) instead of the thermal
    model.
    """
    measured_poa = irr.sensors.get(f"{array.name}.poa_global_wm2")
    if measured_poa is not None:
        up = s.apparent_zenith < 90  # night stays exactly zero
        effective = total = np.where(up, np.clip(np.nan_to_num(measured_poa), 0, None), 0.0)
    else:
        effective, total = plane_of_array(array, s, irr)
    module_c = irr.sensors.get(f"{array.name}.module_temp_c")
    if module_c is not None:
        t_cell = pvlib.temperature.sapm_cell_from_module(
            module_c, total, module_to_cell_delta_c(array.temperature_model))
    else:
        t_cell = cell_model(array.temperature_model)(total, irr.temp_air_c, irr.wind_speed_ms)
    dc = pvlib.pvsystem.pvwatts_dc(
        effective, t_cell, array.dc_capacity_kwp, array.gamma_pdc_per_c
    ) * (1 - array.losses_pct / 100)
    dc = np.clip(np.nan_to_num(np.asarray(dc, dtype=float)), 0, None)
    eta = array.inverter_efficiency_pu
    ac = pvlib.inverter.pvwatts(dc, array.inverter_ac_kw / eta, eta_inv_nom=eta)
    return np.where(dc > 0, np.clip(np.nan_to_num(np.asarray(ac, dtype=float)), 0, None), 0.0)


def _check_sensors(site: Site, weather: pd.DataFrame | None) -> None:
    names = {a.name for a in site.of_type(PvArray)}
    if weather is None:
        return
    unknown = [c for c in weather.columns if "." in str(c) and c.rpartition(".")[0] not in names]
    if unknown:
        raise WeatherError(f"weather: sensor column(s) {unknown} name no pv_array of site "
                           f"{site.name!r}; expected <array>.<sensor> with one of {sorted(names)}")


def _check_corrections(site: Site, corrections: Mapping[str, float] | None) -> dict[str, float]:
    names = {a.name for a in site.of_type(PvArray)}
    out = dict(corrections or {})
    for name, factor in out.items():
        if name not in names:
            raise ValueError(f"corrections: {name!r} is not a pv_array of site {site.name!r}")
        if not np.isfinite(factor) or factor < 0:
            raise ValueError(f"corrections[{name!r}] must be a finite factor ≥ 0, got {factor}")
    return out


def forecast_pv(
    site: Site,
    index: pd.DatetimeIndex,
    weather: pd.DataFrame | None = None,
    *,
    cloud_cover_pct: float | None = None,
    corrections: dict[str, float] | None = None,
    cloud: CloudModel | None = None,
) -> pd.DataFrame:
    """Interval-mean AC power of every PV array of a site.

    Parameters
    ----------
    site : Site
    index : pandas.DatetimeIndex
        Interval starts, tz-aware; each interval lasts ``site.step_minutes``.
    weather : pandas.DataFrame, optional
        tz-aware index; any of ``ghi_wm2, dni_wm2, dhi_wm2, cloud_cover_pct, temp_air_c,
        wind_speed_ms``; values instantaneous at their timestamps. ``None``: clear sky.
    cloud_cover_pct : float, optional
        Uniform cloud cover [%] applied to the clear sky when the weather has no GHI or cloud.
    corrections : dict, optional
        Per-array multiplicative bias corrections [-] (see :mod:`forecasting.bias`); the
        corrected power stays within the inverter's AC rating.
    cloud : CloudModel, optional
        Site-calibrated cloud-cover model: ``CloudCoefficients`` or a ``CloudCurve``
        (:mod:`forecasting.cloud`).

    Returns
    -------
    pandas.DataFrame
        Columns ``<array>.available_kw`` [kW], the mean of the AC power at the mid-points of
        :data:`SUB_STEP_MINUTES` sub-steps of each interval; ≥ 0, exactly 0 at night. The
        ``attrs["derived"]`` entry lists what was derived or defaulted.
    """
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise ValueError("index must be a tz-aware DatetimeIndex of interval starts")
    if cloud_cover_pct is not None and not 0 <= cloud_cover_pct <= 100:
        raise ValueError(f"cloud_cover_pct must lie in [0, 100], got {cloud_cover_pct}")
    factors = _check_corrections(site, corrections)
    arrays = site.of_type(PvArray)
    _check_sensors(site, weather)
    out = pd.DataFrame(index=index)
    if len(index) == 0:
        return out.assign(**{f"{a.name}.available_kw": 0.0 for a in arrays})
    times, n_sub = substep_times(site, index)
    s = sky(site, times)
    irr = irradiance(site, s, weather, cloud_cover_pct, cloud)
    for a in arrays:
        mean_kw = array_ac_kw(a, s, irr).reshape(len(index), n_sub).mean(axis=1)
        mean_kw = np.minimum(mean_kw * factors.get(a.name, 1.0), a.inverter_ac_kw)
        out[f"{a.name}.available_kw"] = np.where(mean_kw < ZERO_BELOW_KW, 0.0, mean_kw)
    out.attrs["derived"] = list(irr.derived)
    return out
