"""Device models, one module per device kind, and the registry that maps site specs to them.

Adding a device kind: its spec in ``sites/schema.py``, one module here with a
``DeviceModel`` subclass (and, for the rule-based dispatch, a ``DeviceRule`` it returns from
``rule``), and one line in ``REGISTRY``. A kind defined outside the code base (a plug-in,
a test) joins for a while through ``registered(spec_cls, model_cls)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from optimizer.devices.base import DeviceModel
from optimizer.devices.battery import BatteryModel
from optimizer.devices.digester import DigesterModel
from optimizer.devices.fixed_load import FixedLoadModel
from optimizer.devices.genset import GensetModel
from optimizer.devices.grid import GridModel
from optimizer.devices.heat_load import HeatLoadModel
from optimizer.devices.pv_array import PvArrayModel
from optimizer.devices.shiftable_load import ShiftableLoadModel
from optimizer.devices.unserved import UnservedModel
from sites import schema
from sites.schema import Site

#: site spec class -> its device model
REGISTRY: dict[type, type[DeviceModel]] = {
    schema.PvArray: PvArrayModel,
    schema.Battery: BatteryModel,
    schema.Digester: DigesterModel,
    schema.Genset: GensetModel,
    schema.FixedLoad: FixedLoadModel,
    schema.ShiftableLoad: ShiftableLoadModel,
    schema.HeatLoad: HeatLoadModel,
    schema.Grid: GridModel,
}

#: models every site gets besides its own devices (the bus's unserved-load slack)
SITE_WIDE: tuple[type[DeviceModel], ...] = (UnservedModel,)


def device_models(site: Site) -> list[DeviceModel]:
    """One model per device of the site, in file order, then the site-wide ones."""
    models = []
    for spec in site.devices:
        try:
            cls = REGISTRY[type(spec)]
        except KeyError:
            raise TypeError(f"no device model for {type(spec).__name__} ({spec.name})") from None
        models.append(cls(spec, site))
    return models + [cls(None, site) for cls in SITE_WIDE]


@contextmanager
def registered(spec_cls: type, model_cls: type[DeviceModel]) -> Iterator[None]:
    """While inside, site files may hold devices of ``spec_cls`` (``sites.schema.register_kind``)
    and ``model_cls`` models them; both are taken back on leaving."""
    if spec_cls in REGISTRY:
        raise ValueError(f"{spec_cls.__name__} is already a registered device kind")
    schema.register_kind(spec_cls)
    REGISTRY[spec_cls] = model_cls
    try:
        yield
    finally:
        del REGISTRY[spec_cls]
        schema.unregister_kind(spec_cls)


__all__ = ["REGISTRY", "DeviceModel", "device_models", "registered"]
