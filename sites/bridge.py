"""The Modbus register map of a site: which setpoints the bridge writes to which registers,
what it reads back as telemetry, and the safe mode it falls back to when the plan expires
(docs/api.md, "Modbus bridge").

Plain registers carry a value as ``value = register × scale`` in the quantity's own unit;
a battery inverter may instead speak SunSpec model 124 (basic storage controls), whose
points the bridge reads from pysunspec2's model definition.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_serializer,
    field_validator,
    model_validator,
)

DeviceName = Annotated[str, Field(min_length=1, max_length=64,
                                  pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")]
Quantity = Annotated[str, Field(pattern=r"^[a-z0-9_]+_(kw|kwh|m3|pu)$")]
#: The unit each quantity suffix is in; a register map names it to be read back by people.
SUFFIX_UNITS = {"_kwh": "kWh", "_kw": "kW", "_m3": "m3", "_pu": "pu"}
#: Telemetry fields the bridge may fill from registers (see ``TelemetryIn``).
TELEMETRY_FIELDS = ("battery_soc_kwh", "holder_m3", "pv_kw", "load_kw", "genset_kw")
RegisterType = Literal["uint16", "int16", "uint32", "int32", "float32"]


def unit_of(quantity: str) -> str:
    return next(u for suffix, u in SUFFIX_UNITS.items() if quantity.endswith(suffix))


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Register(_Frozen):
    """One value in holding (or input) registers: ``value = raw × scale`` [unit]."""

    address: int = Field(ge=0, le=65535, description="0-based register address")
    type: RegisterType = "uint16"
    scale: float = Field(default=1.0, gt=0, description="quantity units per register count")
    unit: str = Field(description="the quantity's unit: kW, kWh, m3 or pu")
    table: Literal["holding", "input"] = "holding"


class Setpoint(Register):
    quantity: Quantity = Field(description="the dispatch quantity written, e.g. power_kw")

    @model_validator(mode="after")
    def _unit(self) -> Setpoint:
        if self.unit != unit_of(self.quantity):
            raise ValueError(f"unit: {self.quantity} is in {unit_of(self.quantity)}, "
                             f"got {self.unit!r}")
        if self.table != "holding":
            raise ValueError("table: setpoints are written to holding registers")
        return self


class Measure(Register):
    field: Literal["battery_soc_kwh", "holder_m3", "pv_kw", "load_kw", "genset_kw"] = Field(
        description="the telemetry field the value is posted as")

    @model_validator(mode="after")
    def _unit(self) -> Measure:
        if self.unit != unit_of(self.field):
            raise ValueError(f"unit: {self.field} is in {unit_of(self.field)}, "
                             f"got {self.unit!r}")
        return self


class ModbusDevice(_Frozen):
    """A Modbus TCP device that carries one site device's setpoints."""

    device: DeviceName = Field(description="the site device it drives")
    host: str = Field(default="127.0.0.1", min_length=1, max_length=255)
    port: int = Field(default=502, ge=1, le=65535)
    unit_id: int = Field(default=1, ge=0, le=255)
    sunspec_model: Literal[124] | None = Field(
        default=None, description="a battery inverter's SunSpec storage model")
    sunspec_base: int = Field(default=40000, ge=0, le=65535,
                              description="address of the 'SunS' marker")
    setpoints: tuple[Setpoint, ...] = ()
    measures: tuple[Measure, ...] = ()
    #: given as a mapping ``{quantity: value}``; kept as sorted pairs so a Site stays hashable
    safe: tuple[tuple[Quantity, float], ...] = Field(
        min_length=1, description="setpoints applied when the plan has expired")

    @field_validator("safe", mode="before")
    @classmethod
    def _pairs(cls, value: object) -> object:
        return tuple(sorted(value.items())) if isinstance(value, dict) else value

    @field_serializer("safe")
    def _mapping(self, value: tuple[tuple[str, float], ...]) -> dict[str, float]:
        return dict(value)

    @property
    def safe_values(self) -> dict[str, float]:
        return dict(self.safe)

    @model_validator(mode="after")
    def _something(self) -> ModbusDevice:
        if self.sunspec_model is None and not self.setpoints:
            raise ValueError("setpoints: give the registers to write, or a sunspec_model")
        written = {s.quantity for s in self.setpoints}
        if self.sunspec_model is not None:
            written |= {"charge_kw", "discharge_kw"}
        stray = sorted(set(self.safe_values) - written)
        if stray:
            raise ValueError(f"safe: {', '.join(stray)} is not written to this device "
                             f"(written: {', '.join(sorted(written))})")
        return self


class ModbusMap(_Frozen):
    """The bridge section of a site file."""

    devices: tuple[ModbusDevice, ...] = Field(min_length=1)
    poll_s: float = Field(default=10.0, ge=1, le=3600, description="dispatch poll period")
    telemetry_s: float = Field(default=60.0, ge=1, le=3600,
                               description="how often measured values are posted")
