"""The state a plan starts from: per device, the quantities its model declares.

Which quantities a device has, their units, bounds, defaults and the plan column that carries
them to the next plan are declared by the device modules (``STATE``, rows of
``optimizer.statevars.StateVar``); this module only checks, fills and carries them.
See docs/formulation.md, *The device contract: state*.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Annotated, Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from optimizer.devices import REGISTRY, SITE_WIDE, DeviceModel, device_models
from optimizer.errors import PlanningError
from optimizer.statevars import StateVar
from sites.schema import Site

FiniteValue = Annotated[float, Field(allow_inf_nan=False)]

#: Relative slack on an upper bound, so that a level read back from a plan passes [-].
BOUND_SLACK_PU = 1e-9


def declared_rows() -> dict[str, StateVar]:
    """Every state row the registered kinds declare, by quantity (rows sharing a quantity
    share its unit)."""
    out: dict[str, StateVar] = {}
    for cls in (*REGISTRY.values(), *SITE_WIDE):
        for var in cls.state_vars:
            first = out.setdefault(var.quantity, var)
            if first.unit != var.unit:
                raise TypeError(f"state quantity {var.quantity!r} is declared in {first.unit} "
                                f"and in {var.unit}")
    return out


def legacy_names() -> dict[str, str]:
    """Former per-kind field (``battery_soc_kwh``) -> the quantity it holds (``soc_kwh``)."""
    return {var.legacy: var.quantity for var in declared_rows().values() if var.legacy}


def site_rows(site: Site) -> Iterator[tuple[DeviceModel, StateVar]]:
    """Each device model of ``site`` with each of its state rows (numbers from its spec)."""
    for model in device_models(site):
        for var in model.state_table():
            yield model, var


class State(BaseModel):
    """Measured or assumed state at the start of a horizon.

    ``values[device][quantity]``, e.g. ``{"village-battery": {"soc_kwh": 120.0}}``; the
    quantities of each device are those its model declares. Missing entries default from
    the site file (``State.from_site``; ``resolved``). The former per-kind fields
    (``battery_soc_kwh={device: value}`` ...; a row's ``legacy`` name) are accepted too.

    Attributes
    ----------
    values : dict
        Device name -> quantity -> value [the quantity's unit].
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    values: dict[str, dict[str, FiniteValue]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_legacy(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        names = legacy_names()
        if not names.keys() & data.keys():
            return data
        values = {device: dict(q) for device, q in (data.get("values") or {}).items()}
        rest = {}
        for key, entries in data.items():
            if key not in names:
                rest[key] = entries
                continue
            if not isinstance(entries, dict):
                raise ValueError(f"{key}: expected {{device: value}}, got {entries!r}")
            for device, value in entries.items():
                values.setdefault(device, {})[names[key]] = value
        return {**rest, "values": values}

    # --- reading ----------------------------------------------------------------------
    def value(self, device: str, quantity: str) -> float:
        """The value of ``quantity`` of ``device`` [its unit] (of a resolved state: every
        declared quantity is there)."""
        try:
            return self.values[device][quantity]
        except KeyError:
            raise KeyError(f"state has no {quantity} for {device!r}; a state resolved "
                           f"against its site (State.resolved) has every one") from None

    def get(self, device: str, quantity: str, default: float | None = None) -> float | None:
        """The value of ``quantity`` of ``device`` if given, else ``default``."""
        return self.values.get(device, {}).get(quantity, default)

    # --- checking against a site ------------------------------------------------------
    def errors(self, site: Site, prefix: str = "state") -> list[str]:
        """What in this state does not fit ``site``: unknown devices or quantities, values
        out of their declared bounds; each message names the device, quantity, bound and
        value."""
        rows: dict[str, dict[str, StateVar]] = {}
        for model, var in site_rows(site):
            rows.setdefault(model.name, {})[var.quantity] = var
        out = []
        for device, given in self.values.items():
            if device not in rows:
                known = ", ".join(sorted(rows)) or "none"
                out.append(f"{prefix}.{device}: no device with state named {device!r} in site "
                           f"{site.name!r} (known: {known})")
                continue
            for quantity, value in given.items():
                row = rows[device].get(quantity)
                if row is None:
                    out.append(f"{prefix}.{device}.{quantity}: {device!r} has no state "
                               f"quantity {quantity!r} (it has: {', '.join(rows[device])})")
                    continue
                low, top = float(row.lower), float(row.upper)  # type: ignore[arg-type]
                if not low <= value <= top * (1 + BOUND_SLACK_PU):
                    out.append(f"{prefix}.{device}.{quantity}: must lie in [{low:g}, {top:g}] "
                               f"{row.unit}, got {value:g}")
        return out

    def resolved(self, site: Site) -> State:
        """Every declared quantity of every device filled from the site file where missing,
        and checked against the site.

        Raises
        ------
        PlanningError
            An entry names no device or quantity of the site, or its value is out of range.
        """
        errors = self.errors(site)
        if errors:
            raise PlanningError("; ".join(errors))
        values: dict[str, dict[str, float]] = {}
        for model, var in site_rows(site):
            given = self.get(model.name, var.quantity)
            values.setdefault(model.name, {})[var.quantity] = float(
                var.default if given is None else given  # type: ignore[arg-type]
            )
        return State(values=values)

    @classmethod
    def from_site(cls, site: Site) -> State:
        """The state the site file describes (its initial levels, nothing served)."""
        return cls().resolved(site)

    @classmethod
    def from_plan(cls, site: Site, table: pd.DataFrame, at: pd.Timestamp) -> State:
        """The state at ``at`` after the operation ``table`` (a plan table's rows, or the
        kept rows of several; those before ``at`` count).

        Each declared quantity is read from its carrying column (``StateVar.column``, as the
        device model's ``carried`` reads it) and kept within its bounds; a quantity without
        one, or whose last row holds no number (a rule-based plan has no column a heated
        digester's warmth is kept in), starts from its default.
        """
        values: dict[str, dict[str, float]] = {}
        for model, var in site_rows(site):
            carried = model.carried(var, table, at)
            if carried is not None and math.isfinite(carried):
                low, top = float(var.lower), float(var.upper)  # type: ignore[arg-type]
                values.setdefault(model.name, {})[var.quantity] = min(max(carried, low), top)
        return cls(values=values).resolved(site)

    def legacy(self) -> dict[str, dict[str, float]]:
        """This state in the former per-kind fields (``{"battery_soc_kwh": {device: value}}``),
        for quantities that had one."""
        names = {q: key for key, q in legacy_names().items()}
        out: dict[str, dict[str, float]] = {}
        for device, given in self.values.items():
            for quantity, value in given.items():
                if quantity in names:
                    out.setdefault(names[quantity], {})[device] = value
        return out
