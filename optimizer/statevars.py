"""A device's state as data: one row per quantity a plan starts from.

Each device module declares a tuple of :class:`StateVar` (``STATE`` after its imports); the
device model returns it, resolved against its own spec, from ``DeviceModel.state_table``.
``optimizer.state.State`` checks values against these rows, fills defaults from them and
carries them from one plan to the next through the declared column; the HTTP state and
telemetry bodies are generated from them (``api/schemas.py``). See docs/formulation.md,
*The device contract: state*.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

#: A number, the name of a spec field holding it, or a function of the spec [the row's unit].
FromSpec = float | str | Callable[[Any], float]


def spec_value(spec: Any, value: FromSpec) -> float:
    """The number ``value`` stands for on ``spec`` [the row's unit]."""
    if isinstance(value, str):
        return float(getattr(spec, value))
    if callable(value):
        return float(value(spec))
    return float(value)


@dataclass(frozen=True)
class StateVar:
    """One state quantity of a device kind.

    Attributes
    ----------
    quantity : str
        Name with its unit suffix (``soc_kwh``), the key in ``State.values[device]``.
    unit : str
        Unit of the value (``kWh``).
    description : str
        What the value means, for people and the OpenAPI document.
    upper : float, str or callable
        Largest allowed value [unit]: a number, a spec field name or a function of the spec.
    default : float, str or callable
        Value when none is given (the site file's) [unit].
    lower : float, str or callable
        Smallest allowed value [unit].
    column : str or None
        Plan column quantity that carries the value to the next plan: ``<device>.<column>``
        (its value at the end of the last interval, unless the model's ``carried`` says
        otherwise). None: not carried, the next plan starts from the default.
    usable : tuple or None
        ``(lower, upper)`` of the range the level is operated in [unit]: telemetry compares
        measured and planned levels as a share of it. None: not compared.
    legacy : str or None
        Name of the field that held this quantity, ``{device: value}``, in state and
        telemetry bodies and state files before states were per device
        (e.g. ``battery_soc_kwh``); still accepted.
    """

    quantity: str
    unit: str
    description: str
    upper: FromSpec
    default: FromSpec = 0.0
    lower: FromSpec = 0.0
    column: str | None = None
    usable: tuple[FromSpec, FromSpec] | None = None
    legacy: str | None = None

    def resolved(self, spec: Any) -> StateVar:
        """This row with every bound, default and usable range as a number for ``spec``."""
        usable = self.usable
        return replace(
            self,
            upper=spec_value(spec, self.upper),
            default=spec_value(spec, self.default),
            lower=spec_value(spec, self.lower),
            usable=None if usable is None else (spec_value(spec, usable[0]),
                                                spec_value(spec, usable[1])),
        )


class StateView(Protocol):
    """What a device model reads of the state a solve starts from."""

    def value(self, device: str, quantity: str) -> float:
        """The value of ``quantity`` of ``device`` [its unit]."""
        ...
