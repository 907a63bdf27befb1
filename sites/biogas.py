"""Site-file models of the biogas chain: feedstocks, digester temperature, ledger settings.

Kept apart from ``sites/schema.py`` (which imports them) so the digester's feedstock and the
waste ledger's settings stay in one small module. Sourced defaults come from
``sites.factors``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sites.factors import MANURE_SYSTEMS, SUBSTRATES, Factor

NonNeg = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]


class Strict(BaseModel):
    """Frozen, unknown keys rejected (as every site model)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Feedstock(Strict):
    """One substrate fed to a digester every day.

    Either a realised biogas yield per kg of fresh mass (``biogas_yield_m3_per_kg``), or a
    substrate described by its solids and methane potential: ``substrate`` names an entry of
    ``sites.factors.SUBSTRATES`` whose sourced values apply where ``ts_pu``, ``vs_pu`` or
    ``b0_m3_per_kg_vs`` are not given; measured values come with ``source``.
    """

    name: str = Field(min_length=1)
    kg_per_day: NonNeg
    biogas_yield_m3_per_kg: float | None = Field(
        default=None, gt=0, le=1.5, description="m³ biogas per kg fresh mass (realised)"
    )
    substrate: str | None = Field(default=None, description="a key of sites.factors.SUBSTRATES")
    ts_pu: float | None = Field(default=None, gt=0, le=1, description="total solids / fresh mass")
    vs_pu: float | None = Field(default=None, gt=0, le=1, description="volatile solids / TS")
    b0_m3_per_kg_vs: float | None = Field(
        default=None, gt=0, le=1.0, description="methane potential [m³ CH4 per kg VS]"
    )
    source: str | None = Field(default=None, description="where measured TS, VS or B0 come from")

    @field_validator("substrate")
    @classmethod
    def _known_substrate(cls, value: str | None) -> str | None:
        if value is not None and value not in SUBSTRATES:
            raise ValueError(f"must be one of {', '.join(SUBSTRATES)}, got {value!r}")
        return value

    @model_validator(mode="after")
    def _one_form(self) -> Feedstock:
        described = [self.ts_pu, self.vs_pu, self.b0_m3_per_kg_vs]
        if self.biogas_yield_m3_per_kg is not None:
            if self.substrate is not None or any(v is not None for v in described):
                raise ValueError("give biogas_yield_m3_per_kg or the substrate form "
                                 "(substrate, ts_pu, vs_pu, b0_m3_per_kg_vs), not both")
        elif self.substrate is None and any(v is None for v in described):
            raise ValueError("give biogas_yield_m3_per_kg, a substrate, or all of ts_pu, "
                             "vs_pu and b0_m3_per_kg_vs")
        if self.substrate is None and self.ts_pu is not None and self.source is None:
            raise ValueError("source: measured ts_pu, vs_pu and b0_m3_per_kg_vs need a source")
        return self

    def _value(self, field: str) -> float:
        given = getattr(self, field)
        if given is not None:
            return float(given)
        factor: Factor = getattr(SUBSTRATES[self.substrate or ""], field)
        return factor.value

    def composition(self) -> tuple[float, float, float] | None:
        """``(TS share, VS share of TS, B0 [m³ CH4/kg VS])``; None in the realised-yield form."""
        if self.biogas_yield_m3_per_kg is not None:
            return None
        return self._value("ts_pu"), self._value("vs_pu"), self._value("b0_m3_per_kg_vs")

    @property
    def vs_kg_per_day(self) -> float | None:
        """Volatile solids fed [kg VS/day]; None in the realised-yield form."""
        if self.biogas_yield_m3_per_kg is not None:
            return None
        return self.kg_per_day * self._value("ts_pu") * self._value("vs_pu")

    @property
    def b0(self) -> float | None:
        """Methane potential [m³ CH4/kg VS]; None in the realised-yield form."""
        return None if self.biogas_yield_m3_per_kg is not None else self._value("b0_m3_per_kg_vs")


class DigesterTemperature(Strict):
    """How the digester's temperature follows the weather (docs/formulation.md)."""

    insulation: Literal["none", "buried", "insulated"] = Field(
        description="envelope class; its heat-transfer coefficient is in sites.factors"
    )
    ambient: Literal["air", "soil"] = Field(
        default="air", description="air temperature, or its 30-day running mean for soil"
    )
    initial_c: float | None = Field(
        default=None, ge=0, le=60, description="temperature at the start; default: ambient"
    )
    max_c: float = Field(default=38.0, ge=10, le=60, description="heating stops here")
    annual_mean_air_c: float = Field(
        ge=-30, le=35, description="for the default weather and the ledger's climate"
    )
    warmth_gas_value_per_m3: NonNeg = Field(
        default=0.0, description="value of the gas that warmth left at the end of a horizon "
        "still yields after it [currency/m³]; 0: not valued"
    )
    annual_air_swing_c: float = Field(
        default=12.0, ge=0, le=40, description="amplitude of the seasonal air temperature"
    )


class LedgerSettings(Strict):
    """What the waste ledger needs to know beyond the devices (docs/ledger.md)."""

    baseline_system: str = Field(
        default="liquid_slurry", description="how the manure was kept before the digester"
    )
    annual_mean_air_c: float = Field(ge=-30, le=35, description="for MCF and applicability")
    manure_claim: bool = Field(default=True, description="claim avoided manure methane")
    previous_cooking_fuel: Literal["lpg", "coal", "firewood"] = "lpg"
    non_renewable_fraction_pu: Fraction | None = Field(
        default=None, description="fNRB of firewood; needed when the previous fuel is firewood"
    )
    non_renewable_fraction_source: str | None = None
    meter_tolerance_pu: float = Field(
        default=0.05, ge=0, le=0.5, description="gas balance closes within this share"
    )

    @field_validator("baseline_system")
    @classmethod
    def _system(cls, value: str) -> str:
        if value not in MANURE_SYSTEMS:
            raise ValueError(f"must be one of {', '.join(MANURE_SYSTEMS)}, got {value!r}")
        return value

    @model_validator(mode="after")
    def _firewood(self) -> LedgerSettings:
        if self.previous_cooking_fuel == "firewood" and (
            self.non_renewable_fraction_pu is None or not self.non_renewable_fraction_source
        ):
            raise ValueError("a firewood baseline needs non_renewable_fraction_pu and "
                             "non_renewable_fraction_source (the fNRB of the region)")
        return self
