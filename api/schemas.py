"""Request and response bodies of the HTTP API (separate input and output models)."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, create_model, model_validator

from optimizer.state import declared_rows

Finite = Annotated[float, Field(allow_inf_nan=False)]
NonNegFinite = Annotated[float, Field(ge=0, allow_inf_nan=False, le=1e9)]
DeviceName = Annotated[str, Field(min_length=1, max_length=64)]
SiteName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_\-]*$")]
Role = Literal["admin", "manager", "controller"]
MAX_POINTS = 10_000


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WeatherIn(In):
    """Weather series in the forecasting vocabulary; ``time`` holds aware interval starts."""

    time: list[AwareDatetime] = Field(min_length=1, max_length=MAX_POINTS)
    ghi_wm2: list[NonNegFinite] | None = None
    dni_wm2: list[NonNegFinite] | None = None
    dhi_wm2: list[NonNegFinite] | None = None
    cloud_cover_pct: list[Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]] | None = None
    temp_air_c: list[Annotated[float, Field(ge=-90, le=70, allow_inf_nan=False)]] | None = None
    wind_speed_ms: list[Annotated[float, Field(ge=0, le=120, allow_inf_nan=False)]] | None = None
    poa_global_wm2: dict[DeviceName, list[Annotated[float, Field(
        ge=0, le=1600, allow_inf_nan=False)]]] | None = Field(
        default=None, max_length=256,
        description="per PV array: measured plane-of-array irradiance (a reference cell) [W/m²]")
    module_temp_c: dict[DeviceName, list[Annotated[float, Field(
        ge=-70, le=100, allow_inf_nan=False)]]] | None = Field(
        default=None, max_length=256,
        description="per PV array: measured back-of-module temperature [°C]")

    @model_validator(mode="after")
    def _same_length(self) -> WeatherIn:
        n = len(self.time)
        for name, values in self:
            series = ({f"{name}.{k}": v for k, v in values.items()} if isinstance(values, dict)
                      else {name: values})
            for label, v in series.items():
                if name != "time" and v is not None and len(v) != n:
                    raise ValueError(f"{label} has {len(v)} values; time has {n}")
        return self


class _DeviceState(In):
    """Quantities beyond the generated fields (those of a kind registered after this module
    was imported, ``optimizer.devices.registered``) are accepted when a registered kind
    declares them now, as finite numbers; any other name is refused."""

    model_config = ConfigDict(extra="allow")

    @model_validator(mode="before")
    @classmethod
    def _declared(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        known = declared_rows()
        for name, value in data.items():
            if name in cls.model_fields:
                continue
            if name not in known:
                raise ValueError(f"{name!r} is no state quantity; declared: "
                                 + ", ".join(sorted(known)))
            if value is not None and (isinstance(value, bool) or not isinstance(
                    value, int | float) or not math.isfinite(value) or abs(value) > 1e9):
                raise ValueError(f"{name}: must be a finite number, got {value!r}")
        return data


def _device_state_model() -> type[In]:
    """State quantities of one device: one optional field per quantity the kinds declare
    (``optimizer.statevars``)."""
    fields: dict[str, Any] = {
        q: (Finite | None, Field(default=None, le=1e9, description=f"{var.description} "
                                 f"[{var.unit}]")) for q, var in declared_rows().items()}
    return create_model(
        "DeviceStateIn", __base__=_DeviceState, __doc__="State quantities of one device; which "
        "ones a device has depends on its kind (docs/formulation.md, *The device contract: "
        "state*).", **fields,
    )


if TYPE_CHECKING:  # the generated bodies, as type checkers see them
    DeviceStateIn = In
else:
    DeviceStateIn = _device_state_model()


def _state_fields(optional: bool) -> dict[str, Any]:
    """The state fields of a body, made from the quantities the device kinds declare:
    ``values`` per device, and each quantity's former per-kind field
    (``battery_soc_kwh: {device: value}``). ``optional``: a former field left out is None
    rather than empty."""
    fields: dict[str, Any] = {"values": (dict[DeviceName, DeviceStateIn], Field(
        default_factory=dict, max_length=256,
        description="per device: its state quantities, e.g. {\"village-battery\": "
        "{\"soc_kwh\": 120.0}}"))}
    for q, var in declared_rows().items():
        if var.legacy is None:
            continue
        text = f"{{device: {q}}}: {var.description} [{var.unit}] (the same as values)"
        if optional:
            fields[var.legacy] = (dict[DeviceName, NonNegFinite] | None, Field(
                default=None, max_length=256, description=text))
        else:
            fields[var.legacy] = (dict[DeviceName, NonNegFinite], Field(
                default_factory=dict, max_length=256, description=text))
    return fields


if TYPE_CHECKING:
    StateIn = In
else:
    StateIn = create_model(
        "StateIn", __base__=In, __doc__="Measured or assumed state at the start of the "
        "horizon; missing entries: site defaults.", **_state_fields(optional=False),
    )


class PlanRequest(In):
    """A plan for local day(s) (``date``, ``days``) or for ``horizon_hours`` from ``start``."""

    date: dt.date | None = Field(default=None, description="first local day to plan")
    days: int = Field(default=1, ge=1, le=7)
    start: AwareDatetime | None = Field(default=None, description="horizon start; default now")
    horizon_hours: float | None = Field(default=None, gt=0, le=168, allow_inf_nan=False)
    mode: Literal["cost", "carbon"] = Field(
        default="cost", description="least cost (with the carbon price), or least emissions first"
    )
    emission_budget_kgco2: NonNegFinite | None = None
    carbon_guard: bool | None = Field(
        default=None,
        description="cost mode emits no more than the rule-based dispatch; default: the site's",
    )
    time_limit_s: float | None = Field(default=None, gt=0, le=3600, allow_inf_nan=False)
    scenarios: Literal[1, 3] = Field(
        default=1,
        description="1: the deterministic plan; 3: hedged over P10/P50/P90 scenarios of PV and "
        "load, sharing the first interval (docs/formulation.md, Scenario plans)",
    )
    weather: WeatherIn | None = None
    overrides: dict[Annotated[str, Field(max_length=128)], list[Finite]] | None = Field(
        default=None, max_length=256, description="input columns replaced, one value per interval"
    )
    state: StateIn | None = None

    @model_validator(mode="after")
    def _one_horizon(self) -> PlanRequest:
        if (self.date is None) == (self.horizon_hours is None):
            raise ValueError("give exactly one of date (a local day) or horizon_hours (from start)")
        if self.date is not None and self.start is not None:
            raise ValueError("start goes with horizon_hours, not with date")
        return self


class PlanSummary(BaseModel):
    plan_id: str
    site: str
    site_version: int
    local_day: dt.date
    kind: str
    status: str
    start: dt.datetime
    end: dt.datetime
    step_minutes: int
    created_at: dt.datetime
    current: bool
    kpis: dict[str, Any] = Field(default_factory=dict)
    baseline: dict[str, Any] = Field(default_factory=dict)
    request: dict[str, Any] = Field(
        default_factory=dict, description="what the plan was made for: its goal and inputs"
    )
    solver: str | None = None
    solve_time_s: float | None = None


class SiteOut(BaseModel):
    name: str
    version: int
    content_sha256: str
    created_at: dt.datetime
    summary: str
    changed: bool | None = Field(default=None, description="on writes: a new version was made")


class SiteDetail(SiteOut):
    site: dict[str, Any]


class _Measured(In):
    """Measurements of one moment on site besides the state; levels are those at ``at``."""

    at: AwareDatetime
    pv_kw: dict[DeviceName, NonNegFinite] = Field(default_factory=dict, max_length=256)
    load_kw: dict[DeviceName, NonNegFinite] = Field(default_factory=dict, max_length=256)
    curtailed: list[DeviceName] = Field(
        default_factory=list, max_length=256,
        description="PV arrays held below their potential at `at` (left out of the forecast fit)",
    )
    inverter_off: list[DeviceName] = Field(
        default_factory=list, max_length=256,
        description="PV arrays whose inverter was off at `at` (left out of the forecast fit)",
    )
    replan: bool = False


if TYPE_CHECKING:
    TelemetryIn = _Measured
else:
    TelemetryIn = create_model(
        "TelemetryIn", __base__=_Measured, __doc__="Measurements of one moment on site; levels "
        "are those at ``at``; state quantities not measured: site defaults (energy served: "
        "what the current plan served so far).", **_state_fields(optional=True),
    )


class TelemetryOut(BaseModel):
    telemetry_id: int
    site: str
    at: dt.datetime
    deviation_pu: float | None
    replanned: bool
    plan: PlanSummary | None = None
    replan_error: str | None = None
    duplicate: bool = Field(default=False, description="an equal report was stored before")
    replan_plan_id: str | None = Field(default=None, description="on a duplicate: the "
                                       "re-plan the first report made, if any")


class KeyIn(In):
    role: Role
    site: SiteName | None = None
    label: str = Field(default="", max_length=200)


class KeyOut(BaseModel):
    key_id: str
    role: str
    site: str | None
    label: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None


class KeyCreated(KeyOut):
    token: str = Field(description="the bearer token; shown once, only its hash is stored")


class ErrorOut(BaseModel):
    detail: str
    errors: list[str] = Field(default_factory=list)


class JobOut(BaseModel):
    site: str
    next_run_time: dt.datetime | None


class LimitIn(In):
    """A limit from the grid operator for a period (docs/api.md, "Limits from the grid
    operator"): a cap on export or import at the connection, a curtailment of PV output, or a
    critical-peak period of the tariff."""

    kind: Literal["export_cap", "import_cap", "curtailment", "critical_peak"]
    start: AwareDatetime
    end: AwareDatetime
    cap_kw: NonNegFinite | None = Field(
        default=None, description="the cap [kW]; required for every kind but critical_peak")
    device: DeviceName | None = Field(
        default=None, description="the grid or PV array it applies to; default: all of them")
    source: str = Field(default="", max_length=200, description="who sent it")
    reference: str = Field(default="", max_length=200, description="the operator's order id")

    @model_validator(mode="after")
    def _period_and_cap(self) -> LimitIn:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end.isoformat()}) must be after start "
                             f"({self.start.isoformat()})")
        if (self.cap_kw is None) != (self.kind == "critical_peak"):
            raise ValueError("cap_kw is required for export_cap, import_cap and curtailment, "
                             "and not taken for critical_peak")
        return self


class LimitOut(BaseModel):
    limit_id: int
    site: str
    kind: str
    device: str | None
    cap_kw: float | None
    start: dt.datetime
    end: dt.datetime
    source: str
    reference: str
    via: str
    received_at: dt.datetime


class LimitPosted(LimitOut):
    replanned: bool = False
    plans: list[PlanSummary] = Field(default_factory=list, description="the re-plans made")
    replan_error: str | None = None
