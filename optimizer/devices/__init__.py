"""Device models, one module per device kind, and the registry that maps site specs to them.

Adding a device kind: its spec in ``sites/schema.py``, one module here with a
``DeviceModel`` subclass (and, for the rule-based dispatch, a ``DeviceRule`` it returns from
``rule``), and one line in ``REGISTRY``.
"""

from __future__ import annotations

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
from optimizer.devices.water_tank import WaterTankModel
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
    schema.WaterTank: WaterTankModel,
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


__all__ = ["REGISTRY", "DeviceModel", "device_models"]
