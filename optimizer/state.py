"""The state a plan starts from: battery SoC, gas-holder levels, energy already served."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from optimizer.errors import PlanningError
from sites.schema import Battery, Digester, Genset, ShiftableLoad, Site


class State(BaseModel):
    """Measured or assumed state at the start of a horizon.

    Missing entries default from the site file (``State.from_site``; ``resolved``).

    Attributes
    ----------
    battery_soc_kwh : dict
        Stored energy per battery [kWh].
    holder_m3 : dict
        Biogas in each digester's holder [m³].
    served_kwh : dict
        Energy each shiftable load has already received in its current period [kWh]: the
        period of the window that opened last at or before the horizon's start.
    genset_kw : dict
        Output of each genset just before the horizon [kW] (for ramp limits).
    digester_rise_k : dict
        Temperature of each temperature-aware digester above its unheated temperature, from
        heat routed to it before the horizon [K] (docs/formulation.md, *digester temperature*).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    battery_soc_kwh: dict[str, float] = Field(default_factory=dict)
    holder_m3: dict[str, float] = Field(default_factory=dict)
    served_kwh: dict[str, float] = Field(default_factory=dict)
    genset_kw: dict[str, float] = Field(default_factory=dict)
    digester_rise_k: dict[str, float] = Field(default_factory=dict)

    @classmethod
    def from_site(cls, site: Site) -> State:
        """The state the site file describes (initial SoC and holder levels, nothing served)."""
        return cls().resolved(site)

    def resolved(self, site: Site) -> State:
        """Every entry filled from the site file where missing, and checked against the site.

        Raises
        ------
        PlanningError
            An entry names no device of the right kind, or its value is out of range.
        """
        fields: dict[str, tuple[type, object]] = {
            "battery_soc_kwh": (Battery, lambda d: d.initial_soc_pu * d.capacity_kwh),
            "holder_m3": (Digester, lambda d: d.holder_initial_m3),
            "served_kwh": (ShiftableLoad, lambda d: 0.0),
            "genset_kw": (Genset, lambda d: 0.0),
            "digester_rise_k": (Digester, lambda d: 0.0),
        }
        limits = {
            "battery_soc_kwh": lambda d: d.capacity_kwh,
            "holder_m3": lambda d: d.holder_max_m3,
            "served_kwh": lambda d: d.energy_kwh,
            "genset_kw": lambda d: d.rated_kw,
            "digester_rise_k": lambda d: 60.0,
        }
        out: dict[str, dict[str, float]] = {}
        for field, (cls, default) in fields.items():
            given = getattr(self, field)
            devices = {d.name: d for d in site.of_type(cls)}
            unknown = sorted(set(given) - set(devices))
            if unknown:
                raise PlanningError(
                    f"state.{field}: {', '.join(map(repr, unknown))} is not a "
                    f"{cls.__name__.lower()} of site {site.name!r} "
                    f"(known: {', '.join(devices) or 'none'})"
                )
            values = {}
            for name, device in devices.items():
                value = float(given.get(name, default(device)))  # type: ignore[operator]
                top = limits[field](device)
                if not 0 <= value <= top * (1 + 1e-9):
                    raise PlanningError(
                        f"state.{field}[{name!r}] must lie in [0, {top:g}], got {value:g}"
                    )
                values[name] = value
            out[field] = values
        return State(**out)
