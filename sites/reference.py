"""The site-file reference (docs/sites.md), generated from the schema so it cannot drift.

Run ``python -m sites.reference > docs/sites.md`` after changing ``sites/schema.py``; a test
checks that the committed file matches.
"""

from __future__ import annotations

import typing

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sites import schema

SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("Site", schema.Site),
    ("location", schema.Location),
    ("pv_array", schema.PvArray),
    ("battery", schema.Battery),
    ("digester", schema.Digester),
    ("digester feedstock", schema.Feedstock),
    ("digester temperature", schema.DigesterTemperature),
    ("genset", schema.Genset),
    ("genset fuel: biogas", schema.BiogasFuel),
    ("genset fuel: diesel", schema.DieselFuel),
    ("load, type fixed", schema.FixedLoad),
    ("load, type shiftable", schema.ShiftableLoad),
    ("heat_load", schema.HeatLoad),
    ("grid", schema.Grid),
    ("ledger", schema.LedgerSettings),
    ("grid import_tariff band", schema.TariffBand),
    ("grid outage", schema.Outage),
    ("economics (any device, for sizing)", schema.Economics),
]

_SYMBOLS = ((Ge, "ge", "≥"), (Gt, "gt", ">"), (Le, "le", "≤"), (Lt, "lt", "<"))


def _models_in(annotation: object, base: type[BaseModel]) -> list[type[BaseModel]]:
    """The subclasses of ``base`` named anywhere in a type annotation, in order."""
    if isinstance(annotation, type) and issubclass(annotation, base):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg, base)]


def sections() -> list[tuple[str, type[BaseModel]]]:
    """``SECTIONS``, with a section for each device kind of ``schema.AnyDevice`` they lack
    (titled by its ``kind``) and for each site-file model in its fields (``<kind> <field>``),
    placed before the last section (economics)."""
    known = {model for _, model in SECTIONS}
    extra: list[tuple[str, type[BaseModel]]] = []
    for kind in _models_in(schema.AnyDevice, schema.Device):
        if kind in known:
            continue
        title = typing.get_args(kind.model_fields["kind"].annotation)[0]
        extra.append((title, kind))
        for name, info in kind.model_fields.items():
            for model in _models_in(info.annotation, BaseModel):
                if model not in known and model is not schema.Economics:
                    extra.append((f"{title} {name}", model))
    return SECTIONS[:-1] + extra + SECTIONS[-1:]


def _bounds(info: FieldInfo) -> str:
    parts = []
    for meta in info.metadata:
        for cls, attr, symbol in _SYMBOLS:
            if isinstance(meta, cls):
                parts.append(f"{symbol} {getattr(meta, attr)}")
        if isinstance(meta, MinLen):
            unit = "character" if info.annotation is str else "item"
            parts.append(f"at least {meta.min_length} {unit}(s)")
        if isinstance(meta, MaxLen):
            parts.append(f"at most {meta.max_length}")
    for arg in typing.get_args(info.annotation):  # bounds of Annotated members of a union
        for meta in getattr(arg, "__metadata__", ()):
            for cls, attr, symbol in _SYMBOLS:
                if isinstance(meta, cls):
                    parts.append(f"{symbol} {getattr(meta, attr)}")
    return ", ".join(parts)


def _type(info: FieldInfo) -> str:
    if "discriminator=" in repr(info.annotation):
        return "list of devices, each one of the kinds below"
    text = (
        repr(info.annotation) if not isinstance(info.annotation, type) else info.annotation.__name__
    )
    for noise in ("typing.", "sites.schema.", "datetime.", "Annotated[", ", FieldInfo"):
        text = text.replace(noise, "")
    return text.split(", Field")[0].replace("|", "or")


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    return repr(info.default)


def section(title: str, model: type[BaseModel]) -> str:
    lines = [f"## {title}", "", (model.__doc__ or "").strip().split("\n\n")[0]]
    lines += ["", "| field | type | default | bounds | meaning |", "|---|---|---|---|---|"]
    for name, info in model.model_fields.items():
        if name == "kind" or (name == "type" and "Literal" in _type(info)):
            lines.insert(3, f"\n`{name}: {typing.get_args(info.annotation)[0]}`")
            continue
        row = [f"`{name}`", _type(info).replace("\n", " "), _default(info), _bounds(info)]
        row.append(info.description or "")
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return "\n".join(lines) + "\n"


def reference() -> str:
    head = (
        "# Site file reference\n\n"
        "Generated from `sites/schema.py` by `python -m sites.reference`; do not edit by hand.\n"
        "Units are in the names: `_kw`, `_kwh`, `_m3`, `_kg`, `_l`, `_h` (local clock hours),\n"
        "`_deg`, `_pu` (a ratio), `_pct`, `_per_kwh` (site currency per kWh). Azimuths follow\n"
        "pvlib: 180 is south. Examples: `sites/*.yaml`.\n"
    )
    return head + "\n" + "\n".join(section(t, m) for t, m in sections())


if __name__ == "__main__":
    print(reference(), end="")
