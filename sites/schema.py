"""The site model: a village's location, settings and devices.

Every quantity carries its unit in its name (``_kw``, ``_kwh``, ``_m3``, ``_pu`` for a
dimensionless ratio, ``_per_kwh`` for a price in the site's currency per kWh ...) and has
bounds. Models are frozen and reject unknown keys. Devices form a list discriminated on
``kind``; loads are further discriminated on ``type``.

Angles follow pvlib: tilt 0° is horizontal and 90° vertical; azimuth is measured clockwise
from north (90° east, 180° south, 270° west). Hours are local clock hours in [0, 24].
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal, Union, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sites.biogas import DigesterTemperature, Feedstock, LedgerSettings
from sites.bridge import ModbusMap
from sites.grid_factors import GRID_FACTORS, GridFactor, GridRegion
from sites.references import reference_errors

#: Temperature models for the cell-temperature step, named ``<family>_<mounting>``.
#: Building-integrated arrays run hotter than open racks; see forecasting/pv.py.
TemperatureModel = Literal[
    "sapm_open_rack_glass_glass",
    "sapm_open_rack_glass_polymer",
    "sapm_close_mount_glass_glass",
    "sapm_insulated_back_glass_polymer",
    "pvsyst_freestanding",
    "pvsyst_semi_integrated",
    "pvsyst_insulated",
]

#: Shapes of a typical rural day used to spread a fixed load's daily energy.
LoadShape = Literal["rural_household", "school", "farm_daytime", "flat"]

#: How an end-of-horizon storage target is kept (docs/formulation.md, *End-of-horizon targets*).
EndTarget = Literal["soft", "hard"]

#: Load priorities, least critical first; each scales the site's value of lost load.
Priority = Literal["low", "normal", "high", "critical"]

#: Factor on the site's value of lost load per priority [-]: shedding falls on ``low`` loads
#: first and on ``critical`` ones last (docs/formulation.md, *Loads and shedding*). Policy
#: values of this project, chosen so that each tier is at least twice the one below it.
PRIORITY_FACTOR: dict[str, float] = {"low": 0.5, "normal": 1.0, "high": 2.0, "critical": 5.0}

#: How grid emissions are counted (docs/kpis.md, *Carbon accounting*).
CarbonAccounting = Literal["location", "net"]

NonNeg = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Hour = Annotated[float, Field(ge=0, le=24)]


class Strict(BaseModel):
    """Base of every site model: frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _hourly(values: tuple[float, ...] | None, field: str) -> tuple[float, ...] | None:
    if values is not None and len(values) != 24:
        raise ValueError(f"{field} must have 24 hourly values, got {len(values)}")
    return values


class Location(Strict):
    """Where the site is: position for the sun, time zone for local days and tariffs."""

    latitude_deg: float = Field(ge=-90, le=90)
    longitude_deg: float = Field(ge=-180, le=180)
    altitude_m: float = Field(default=0.0, ge=-500, le=9000)
    timezone: str = Field(description="IANA time zone, e.g. Asia/Shanghai")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"must be an IANA time zone such as 'Asia/Shanghai', got {value!r}"
            ) from None
        return value


class Economics(Strict):
    """Cost of building and keeping a device, for sizing studies [site currency]."""

    capital_cost_per_unit: NonNeg = Field(description="per kWp, kWh, kW or m3 of the device")
    lifetime_years: float = Field(default=20, gt=0, le=60)
    fixed_om_per_unit_year: NonNeg = 0.0
    variable_om_per_kwh: NonNeg = 0.0
    replacement_cost_pu: Fraction = Field(
        default=1.0, description="replacement cost as a share of the capital cost"
    )
    max_units: float | None = Field(
        default=None, ge=0, description="upper bound on the sized capacity, in the cost's unit"
    )


class Device(Strict):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")
    economics: Economics | None = None


class PvArray(Device):
    """A BIPV or rooftop array with its own inverter."""

    kind: Literal["pv_array"]
    surface: Literal["roof", "facade"]
    tilt_deg: float = Field(ge=0, le=90)
    azimuth_deg: float = Field(ge=0, lt=360)
    dc_capacity_kwp: float = Field(gt=0, le=100_000)
    inverter_ac_kw: float = Field(gt=0, le=100_000)
    inverter_efficiency_pu: float = Field(default=0.96, gt=0.5, le=1)
    temperature_model: TemperatureModel = "sapm_close_mount_glass_glass"
    gamma_pdc_per_c: float = Field(
        default=-0.0037, ge=-0.01, le=0, description="DC power temperature coefficient [1/°C]"
    )
    losses_pct: float = Field(default=14.0, ge=0, lt=100, description="soiling, wiring, mismatch")
    albedo_pu: Fraction = 0.2
    usable_area_m2: float | None = Field(default=None, gt=0, description="bounds kWp in sizing")
    kwp_per_m2: float = Field(default=0.18, gt=0, le=0.3, description="module density for sizing")

    @model_validator(mode="after")
    def _fits_area(self) -> PvArray:
        if self.usable_area_m2 is not None:
            limit = self.usable_area_m2 * self.kwp_per_m2
            if self.dc_capacity_kwp > limit * (1 + 1e-9):
                raise ValueError(
                    f"dc_capacity_kwp ({self.dc_capacity_kwp}) exceeds usable_area_m2 × "
                    f"kwp_per_m2 ({limit:g})"
                )
        return self


class Battery(Device):
    """An electrochemical battery on the village bus; SoC in kWh = capacity × pu."""

    kind: Literal["battery"]
    capacity_kwh: float = Field(gt=0, le=1_000_000)
    max_charge_kw: Positive
    max_discharge_kw: Positive
    charge_efficiency_pu: float = Field(default=0.95, gt=0, le=1)
    discharge_efficiency_pu: float = Field(default=0.95, gt=0, le=1)
    soc_min_pu: Fraction = 0.1
    soc_max_pu: Fraction = 0.95
    initial_soc_pu: Fraction = 0.5
    end_soc_pu: Fraction | None = Field(
        default=None, description="end-of-horizon target; default: at least the initial SoC"
    )
    end_target: EndTarget = Field(
        default="soft", description="soft: energy left below the target is valued; hard: a bound"
    )
    stored_energy_value_per_kwh: float | None = Field(
        default=None,
        gt=0,
        description="value of a kWh left below the end target; default: from the horizon's prices",
    )
    self_discharge_pu_per_day: float = Field(default=0.0, ge=0, le=0.5)
    wear_cost_per_kwh: NonNeg = Field(default=0.0, description="per kWh of throughput")

    @model_validator(mode="after")
    def _window(self) -> Battery:
        if self.soc_min_pu >= self.soc_max_pu:
            raise ValueError(
                f"soc_min_pu ({self.soc_min_pu}) must be < soc_max_pu ({self.soc_max_pu})"
            )
        for field in ("initial_soc_pu", "end_soc_pu"):
            value = getattr(self, field)
            if value is not None and not self.soc_min_pu <= value <= self.soc_max_pu:
                raise ValueError(
                    f"{field} must lie in [soc_min_pu, soc_max_pu] = "
                    f"[{self.soc_min_pu}, {self.soc_max_pu}], got {value}"
                )
        return self


class Digester(Device):
    """An anaerobic digester with a gas holder; production is steady over the day."""

    kind: Literal["digester"]
    feedstocks: tuple[Feedstock, ...] = Field(min_length=1)
    methane_fraction_pu: float = Field(default=0.6, ge=0.3, le=0.85)
    efficiency_pu: float = Field(
        default=1.0, gt=0, le=1,
        description="realised / laboratory methane potential (substrate-form feedstocks)",
    )
    retention_days: float = Field(
        default=30.0, gt=0, le=200, description="hydraulic retention time; sets the volume"
    )
    leakage_pu: float | None = Field(
        default=None, ge=0, le=0.5,
        description="share of the gas made that escapes as methane; None: not modelled in "
        "plans, and the ledger takes the AMS-III.D default (sites.factors.DEFAULT_LEAKAGE_PU)",
    )
    temperature: DigesterTemperature | None = Field(
        default=None, description="None: production does not depend on temperature"
    )
    heated_by: tuple[str, ...] = Field(
        default=(), description="CHP gensets whose recovered heat may warm the digester"
    )
    holder_min_m3: NonNeg = 0.0
    holder_max_m3: Positive
    holder_initial_m3: NonNeg
    has_flare: bool = Field(default=True, description="without a flare, surplus gas is vented")
    end_target: EndTarget = Field(
        default="soft",
        description="soft: gas left below the initial level is valued; hard: a bound",
    )
    stored_gas_value_per_m3: float | None = Field(
        default=None,
        gt=0,
        description="value of a m3 left below the end target; default: from the horizon's prices",
    )
    cooking_gas_m3_per_day: NonNeg = 0.0
    cooking_profile_pu: tuple[float, ...] | None = Field(
        default=None, description="24 hourly weights of cooking use; default: three meals"
    )

    @field_validator("cooking_profile_pu")
    @classmethod
    def _cooking_hours(cls, v: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if v is not None and (min(v, default=0) < 0 or sum(v) <= 0):
            raise ValueError("weights must be ≥ 0 with a positive sum")
        return _hourly(v, "cooking_profile_pu")

    @property
    def biogas_m3_per_day(self) -> float:
        """Biogas made per day at the reference temperature [m³/day]: realised yields, and
        ``VS · B0 · efficiency / x_CH4`` of the substrate-form feedstocks."""
        total = 0.0
        for f in self.feedstocks:
            if f.biogas_yield_m3_per_kg is not None:
                total += f.kg_per_day * f.biogas_yield_m3_per_kg
            else:
                methane = (f.vs_kg_per_day or 0.0) * (f.b0 or 0.0) * self.efficiency_pu
                total += methane / self.methane_fraction_pu
        return total

    @property
    def volume_m3(self) -> float:
        """Liquid volume: daily feed (taken at 1000 kg/m³) × retention time [m³]."""
        return sum(f.kg_per_day for f in self.feedstocks) / 1000.0 * self.retention_days

    @model_validator(mode="after")
    def _holder(self) -> Digester:
        if self.holder_min_m3 >= self.holder_max_m3:
            raise ValueError(
                f"holder_min_m3 ({self.holder_min_m3}) must be < holder_max_m3 "
                f"({self.holder_max_m3})"
            )
        if not self.holder_min_m3 <= self.holder_initial_m3 <= self.holder_max_m3:
            raise ValueError(
                f"holder_initial_m3 must lie in [holder_min_m3, holder_max_m3] = "
                f"[{self.holder_min_m3}, {self.holder_max_m3}], got {self.holder_initial_m3}"
            )
        return self


class BiogasFuel(Strict):
    """Biogas from a digester's holder; fuel = m3_per_kwh × output + no-load term."""

    type: Literal["biogas"]
    digester: str = Field(description="name of the digester whose holder feeds this genset")
    m3_per_kwh: float = Field(gt=0, le=5, description="slope of the fuel line")
    no_load_m3_per_h: NonNeg = Field(default=0.0, description="fuel per hour while running")


class DieselFuel(Strict):
    """Bought diesel; fuel = l_per_kwh × output + no-load term."""

    type: Literal["diesel"]
    l_per_kwh: float = Field(gt=0, le=2, description="slope of the fuel line")
    no_load_l_per_h: NonNeg = Field(default=0.0, description="fuel per hour while running")
    price_per_l: NonNeg
    emission_kgco2_per_l: float = Field(default=2.68, ge=0, le=5)


FuelSpec = Annotated[BiogasFuel | DieselFuel, Field(discriminator="type")]


class Genset(Device):
    """An engine generator, optionally with heat recovery (CHP)."""

    kind: Literal["genset"]
    fuel: FuelSpec
    rated_kw: float = Field(gt=0, le=100_000)
    min_load_pu: Fraction = Field(default=0.0, description="enforced only with commitment")
    commitment: bool = Field(default=False, description="on/off variables: makes the model a MILP")
    max_ramp_kw_per_h: float | None = Field(default=None, gt=0)
    heat_recovery_pu: float = Field(default=0.0, ge=0, le=3, description="kWh heat per kWh")
    variable_om_per_kwh: NonNeg = 0.0


class FixedLoad(Device):
    """A load that must be served as forecast: a 24-value profile or a daily energy."""

    kind: Literal["load"]
    type: Literal["fixed"]
    priority: Priority = Field(default="normal", description="who is shed last: critical")
    value_of_lost_load_per_kwh: float | None = Field(
        default=None, gt=0, description="default: the site's value × the priority's factor"
    )
    profile_kw: tuple[NonNeg, ...] | None = Field(default=None, description="24 hourly values")
    daily_energy_kwh: float | None = Field(default=None, gt=0)
    shape: LoadShape = "rural_household"

    @field_validator("profile_kw")
    @classmethod
    def _hours(cls, v: tuple[float, ...] | None) -> tuple[float, ...] | None:
        return _hourly(v, "profile_kw")

    @model_validator(mode="after")
    def _one_source(self) -> FixedLoad:
        if (self.profile_kw is None) == (self.daily_energy_kwh is None):
            raise ValueError("give exactly one of profile_kw or daily_energy_kwh")
        return self


def window_hours(start_h: float, end_h: float) -> float:
    """Length of a daily window [h]; an end before the start wraps past midnight."""
    return (end_h - start_h) % 24 or 24.0


class ShiftableLoad(Device):
    """A movable load: an energy amount served inside a daily window."""

    kind: Literal["load"]
    type: Literal["shiftable"]
    priority: Priority = Field(default="low", description="who is shed last: critical")
    value_of_lost_load_per_kwh: float | None = Field(
        default=None, gt=0, description="default: the site's value × the priority's factor"
    )
    energy_kwh: Positive = Field(description="energy due in each period")
    period_days: int = Field(default=1, ge=1, le=7, description="days over which energy_kwh is due")
    min_power_kw: NonNeg = Field(default=0.0, description="lower bound inside the window")
    max_power_kw: Positive
    window_start_h: Hour
    window_end_h: Hour

    @model_validator(mode="after")
    def _feasible(self) -> ShiftableLoad:
        if self.window_start_h % 24 == self.window_end_h % 24:
            raise ValueError(
                f"window_start_h and window_end_h must differ, got {self.window_start_h} for both"
            )
        if self.min_power_kw > self.max_power_kw:
            raise ValueError(
                f"min_power_kw ({self.min_power_kw}) must be ≤ max_power_kw ({self.max_power_kw})"
            )
        capacity = self.max_power_kw * window_hours(self.window_start_h, self.window_end_h)
        if self.energy_kwh > capacity * self.period_days:
            raise ValueError(
                f"energy_kwh ({self.energy_kwh}) exceeds max_power_kw × window × period_days "
                f"({capacity * self.period_days:g})"
            )
        return self


class HeatLoad(Device):
    """A thermal demand (heat, or cold from an absorption chiller) served by CHP heat."""

    kind: Literal["heat_load"]
    profile_kw: tuple[NonNeg, ...] = Field(description="24 hourly values of useful heat or cold")
    chp_units: tuple[str, ...] = Field(min_length=1, description="gensets whose heat serves it")
    heat_to_demand_cop_pu: float = Field(
        default=1.0, gt=0, le=2, description="1 for heat; ~0.7 for an absorption chiller"
    )
    electric_backup_cop_pu: float | None = Field(
        default=None, gt=0, le=8, description="backup drawing power from the bus; None: no backup"
    )

    @field_validator("profile_kw")
    @classmethod
    def _hours(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        return _hourly(v, "profile_kw") or ()


class TariffBand(Strict):
    """An import price from start_h to end_h local time (an end before the start wraps)."""

    start_h: Hour
    end_h: Hour
    price_per_kwh: NonNeg


class Outage(Strict):
    """A scheduled grid outage: import and export limits are zero from start to end."""

    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _aware(self) -> Outage:
        for field in ("start", "end"):
            if getattr(self, field).tzinfo is None:
                raise ValueError(f"{field} must carry a UTC offset, e.g. 2026-07-01T14:00+08:00")
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        return self


class Grid(Device):
    """The connection to the distribution grid, with its tariff and carbon intensity."""

    kind: Literal["grid"]
    max_import_kw: NonNeg
    max_export_kw: NonNeg = 0.0
    import_tariff: tuple[TariffBand, ...] = Field(
        min_length=1, description="bands covering the 24 hours of a day"
    )
    export_price_per_kwh: NonNeg = 0.0
    carbon_kgco2_per_kwh: float | None = Field(
        default=None, ge=0, le=2, description="flat factor; default: the grid_region's factor"
    )
    grid_region: GridRegion = Field(
        default="national", description="names a published factor (sites/grid_factors.py)"
    )
    hourly_carbon_kgco2_per_kwh: tuple[NonNeg, ...] | None = None
    peak_import_charge_per_kw: NonNeg = Field(default=0.0, description="on the horizon's peak")
    outages: tuple[Outage, ...] = ()
    critical_peak_bands: tuple[TariffBand, ...] = Field(
        default=(), description="import prices that replace the tariff's in these hours on a "
        "critical-peak day the grid operator declares (docs/api.md, limits)",
    )

    @field_validator("hourly_carbon_kgco2_per_kwh")
    @classmethod
    def _hours(cls, v: tuple[float, ...] | None) -> tuple[float, ...] | None:
        return _hourly(v, "hourly_carbon_kgco2_per_kwh")

    @model_validator(mode="after")
    def _covers_day(self) -> Grid:
        covered = [0] * 96
        for band in self.import_tariff:
            start = round(band.start_h * 4)
            length = round(window_hours(band.start_h, band.end_h) * 4)
            for q in range(start, start + length):
                covered[q % 96] += 1
        if any(c != 1 for c in covered):
            hole = next(q for q, c in enumerate(covered) if c != 1) / 4
            what = "uncovered" if covered[int(hole * 4)] == 0 else "covered twice"
            raise ValueError(
                f"import_tariff bands must cover each hour of the day exactly once; "
                f"hour {hole:g} is {what}"
            )
        return self

    @property
    def carbon_factor(self) -> GridFactor:
        """The flat carbon factor in force, with its source: the file's value, or the region's."""
        if self.carbon_kgco2_per_kwh is not None:
            return GridFactor(self.carbon_kgco2_per_kwh, None, "the site file")
        return GRID_FACTORS[self.grid_region]

    def import_price_at(self, hour: float) -> float:
        """Import price at a local clock hour [currency/kWh]."""
        for band in self.import_tariff:
            if (hour - band.start_h) % 24 < window_hours(band.start_h, band.end_h):
                return band.price_per_kwh
        raise AssertionError("tariff bands cover the day")  # guaranteed by _covers_day


Load = Annotated[FixedLoad | ShiftableLoad, Field(discriminator="type")]


def lost_load_value_per_kwh(load: FixedLoad | ShiftableLoad, site_value_per_kwh: float) -> float:
    """A load's value of lost load [currency/kWh]: its own, or the site's × its priority's
    factor (``PRIORITY_FACTOR``)."""
    if load.value_of_lost_load_per_kwh is not None:
        return float(load.value_of_lost_load_per_kwh)
    return site_value_per_kwh * PRIORITY_FACTOR[load.priority]
AnyDevice = Annotated[
    PvArray | Battery | Digester | Genset | Load | HeatLoad | Grid, Field(discriminator="kind")
]


class Site(Strict):
    """A village site: location, planning settings, prices and devices."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    description: str = ""
    county: str | None = Field(
        default=None, min_length=1, max_length=64, description="county the village belongs to"
    )
    township: str | None = Field(
        default=None, min_length=1, max_length=64, description="township within the county"
    )
    location: Location
    step_minutes: Literal[15, 30, 60] = Field(default=60, description="planning time step")
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$", description="ISO 4217 code")
    carbon_price_per_kgco2: NonNeg = Field(default=0.0, description="added to cost per kgCO2")
    value_of_lost_load_per_kwh: float = Field(
        default=20.0, gt=0, description="penalty per kWh of unserved load"
    )
    carbon_accounting: CarbonAccounting = Field(
        default="location", description="location: gross import; net: exports credited"
    )
    carbon_guard: bool = Field(
        default=True, description="cost mode may not emit more than the rule-based dispatch"
    )
    carbon_guard_pu: float = Field(
        default=1.0, gt=0, le=1, description="share of the rules' emissions the guard allows"
    )
    discount_rate_pu: float = Field(default=0.06, ge=0, le=0.5, description="for sizing")
    project_life_years: int = Field(default=20, ge=1, le=60, description="for sizing")
    capital_budget: float | None = Field(
        default=None, ge=0, description="for sizing: capital allowed for new capacity [currency]"
    )
    devices: tuple[AnyDevice, ...] = Field(min_length=1)
    ledger: LedgerSettings | None = Field(default=None, description="the waste ledger")
    modbus: ModbusMap | None = Field(
        default=None, description="register map of the Modbus bridge (docs/api.md)")

    @model_validator(mode="after")
    def _references(self) -> Site:
        errors = reference_errors([d.model_dump() for d in self.devices])
        by_name = {d.name: d for d in self.devices}
        for i, m in enumerate(self.modbus.devices if self.modbus else ()):
            if m.device not in by_name:
                errors.append(f"modbus.devices[{i}].device: no device named {m.device!r}")
            elif m.sunspec_model is not None and not isinstance(by_name[m.device], Battery):
                errors.append(f"modbus.devices[{i}].sunspec_model: {m.device!r} is not a battery")
        if errors:
            raise ValueError("\n".join(errors))
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.location.timezone)

    @property
    def step(self) -> timedelta:
        return timedelta(minutes=self.step_minutes)

    @property
    def step_h(self) -> float:
        return self.step_minutes / 60

    def device(self, name: str) -> AnyDevice:
        for d in self.devices:
            if d.name == name:
                return d
        raise KeyError(f"site {self.name!r} has no device named {name!r}")

    def of_type(self, cls: type) -> list:
        """The devices that are instances of ``cls``, in file order."""
        return [d for d in self.devices if isinstance(d, cls)]


#: Device kinds added at run time by ``register_kind`` (beyond ``AnyDevice``), in order.
_EXTRA_KINDS: list[type[Device]] = []


def _rebuild_devices() -> None:
    """Make ``Site.devices`` accept ``AnyDevice`` and the registered extra kinds."""
    members, info = get_args(AnyDevice)
    union = Union[(*get_args(members), *_EXTRA_KINDS)] if _EXTRA_KINDS else members  # noqa: UP007
    Site.model_fields["devices"].annotation = tuple[Annotated[union, info], ...]
    Site.model_rebuild(force=True)


def register_kind(spec_cls: type[Device]) -> None:
    """Let site files hold devices of ``spec_cls`` (a ``Device`` with its own ``kind``
    literal) besides the kinds of ``AnyDevice``; ``unregister_kind`` takes it back. Kinds of
    the code base belong in ``AnyDevice``; this is for kinds defined outside it (a plug-in,
    a test)."""
    tags = get_args(spec_cls.model_fields["kind"].annotation)
    if not tags or not issubclass(spec_cls, Device):
        raise TypeError(f"{spec_cls.__name__}: a device kind is a Device with a kind literal")
    if spec_cls not in _EXTRA_KINDS:
        _EXTRA_KINDS.append(spec_cls)
        _rebuild_devices()


def unregister_kind(spec_cls: type[Device]) -> None:
    """Undo ``register_kind(spec_cls)``; unknown classes are ignored."""
    if spec_cls in _EXTRA_KINDS:
        _EXTRA_KINDS.remove(spec_cls)
        _rebuild_devices()
