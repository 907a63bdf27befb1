"""Drivers of Modbus TCP devices: plain holding registers, and SunSpec storage (model 124).

A driver writes one site device's setpoints and reads its measured values; it owns its
pymodbus client. Errors of the link raise :class:`DeviceError` naming the device.
"""

from __future__ import annotations

from typing import Any

from api.bridge.sunspec import find_model, point_offsets, signed, storage_writes
from sites.bridge import ModbusDevice, Register

#: register type -> (pymodbus data type name, registers it spans)
TYPES = {"uint16": ("UINT16", 1), "int16": ("INT16", 1), "uint32": ("UINT32", 2),
         "int32": ("INT32", 2), "float32": ("FLOAT32", 2)}


class DeviceError(Exception):
    """A Modbus device did not answer or refused a request."""


class PlainDriver:
    """Setpoints and measures in plain registers: ``value = raw × scale``."""

    def __init__(self, spec: ModbusDevice, capacity_kwh: float | None = None,
                 client: Any = None):
        from pymodbus.client import ModbusTcpClient

        self.spec = spec
        self.capacity_kwh = capacity_kwh
        self.client = client or ModbusTcpClient(spec.host, port=spec.port, timeout=3,
                                                retries=1)

    def close(self) -> None:
        self.client.close()

    def _check(self, response: Any, what: str) -> Any:
        if response.isError():
            raise DeviceError(f"{self.spec.device} ({self.spec.host}:{self.spec.port} unit "
                              f"{self.spec.unit_id}): {what} failed: {response}")
        return response

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from pymodbus.exceptions import ModbusException

        if not self.client.connected and not self.client.connect():
            raise DeviceError(f"{self.spec.device}: cannot connect to {self.spec.host}:"
                              f"{self.spec.port}")
        try:
            return self._check(fn(*args, device_id=self.spec.unit_id, **kwargs), what)
        except ModbusException as exc:
            raise DeviceError(f"{self.spec.device}: {what} failed: {exc}") from None

    def read_raw(self, address: int, count: int, table: str = "holding") -> list[int]:
        fn = (self.client.read_holding_registers if table == "holding"
              else self.client.read_input_registers)
        response = self._call(f"reading {count} register(s) at {address}", fn, address,
                              count=count)
        return list(response.registers)

    def write_raw(self, address: int, values: list[int]) -> None:
        self._call(f"writing register(s) at {address}", self.client.write_registers, address,
                   values)

    def read_value(self, reg: Register) -> float:
        kind, count = TYPES[reg.type]
        dtype = getattr(self.client.DATATYPE, kind)
        raw = self.client.convert_from_registers(self.read_raw(reg.address, count, reg.table),
                                                 dtype)
        return float(raw) * reg.scale  # type: ignore[arg-type]  # a number for these types

    def write(self, setpoints: dict[str, float], revert_s: int) -> dict[str, float]:
        """Write the setpoints this device has registers for; returns what was written."""
        written = {}
        for reg in self.spec.setpoints:
            if reg.quantity not in setpoints:
                continue
            kind, _ = TYPES[reg.type]
            raw = setpoints[reg.quantity] / reg.scale
            value = raw if kind == "FLOAT32" else int(round(raw))
            dtype = getattr(self.client.DATATYPE, kind)
            self.write_raw(reg.address, self.client.convert_to_registers(value, dtype))
            written[reg.quantity] = setpoints[reg.quantity]
        return written

    def read(self) -> dict[str, float]:
        """Measured values: telemetry field -> value."""
        return {m.field: self.read_value(m) for m in self.spec.measures}


class SunSpecStorage(PlainDriver):
    """A battery inverter with SunSpec model 124; plain registers of the map work too."""

    def __init__(self, spec: ModbusDevice, capacity_kwh: float | None = None,
                 client: Any = None):
        super().__init__(spec, capacity_kwh, client)
        self._start: int | None = None

    def _model(self) -> int:
        if self._start is None:
            self._start = find_model(self.read_raw, self.spec.sunspec_base, 124)
        return self._start

    def _points(self, *names: str) -> dict[str, int]:
        start, offsets = self._model(), point_offsets(124)
        block = self.read_raw(start, max(offsets[n][0] for n in names) + 1)
        return {n: block[offsets[n][0]] for n in names}

    def write(self, setpoints: dict[str, float], revert_s: int) -> dict[str, float]:
        written = super().write(setpoints, revert_s)
        if "charge_kw" not in setpoints and "discharge_kw" not in setpoints:
            return written
        now = self._points("WChaMax", "WChaMax_SF", "InOutWRte_SF")
        w_cha_max = now["WChaMax"] * 10.0 ** signed(now["WChaMax_SF"])
        raw = storage_writes(setpoints.get("charge_kw", 0.0), setpoints.get("discharge_kw", 0.0),
                             w_cha_max, signed(now["InOutWRte_SF"]), revert_s)
        start, offsets = self._model(), point_offsets(124)
        for name, value in raw.items():
            self.write_raw(start + offsets[name][0], [value])
        return {**written, "charge_kw": setpoints.get("charge_kw", 0.0),
                "discharge_kw": setpoints.get("discharge_kw", 0.0)}

    def read(self) -> dict[str, float]:
        out = super().read()
        if self.capacity_kwh is not None:
            now = self._points("ChaState", "ChaState_SF")
            pct = now["ChaState"] * 10.0 ** signed(now["ChaState_SF"])
            out["battery_soc_kwh"] = pct / 100.0 * self.capacity_kwh
        return out


def driver_for(spec: ModbusDevice, capacity_kwh: float | None = None) -> PlainDriver:
    """The driver of a mapped device: SunSpec storage when it declares the model."""
    cls = SunSpecStorage if spec.sunspec_model is not None else PlainDriver
    return cls(spec, capacity_kwh)
