"""Money, emissions and key figures of a plan, recomputed from the plan's own columns.

Everything here is a pure function of a site and a plan table (one row per interval, columns
``<device>.<quantity>_<unit>``), so a plan from the LP, from the rule-based baseline or from a
file can be re-checked the same way. The definitions of the key figures are in
``docs/kpis.md``.

Energy in an interval is power times the step: ``E [kWh] = P [kW] × step_h [h]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from optimizer.devices import device_models
from optimizer.methane import (
    METHANE_DENSITY_KG_PER_M3,
    METHANE_GWP100_NON_FOSSIL,
    vented_kgco2e_per_m3,
)
from optimizer.site_columns import SiteColumn, site_columns
from sites.schema import Site

if TYPE_CHECKING:
    from optimizer.devices.base import DeviceModel

__all__ = [
    "METHANE_DENSITY_KG_PER_M3",
    "METHANE_GWP100_NON_FOSSIL",
    "comparison",
    "interval_accounts",
    "kpis",
    "lost_load_value",
    "objective_terms",
    "vented_kgco2e_per_m3",
]

#: Differences below this count as none when plans are compared [kWh or m³].
EQUAL_TERMS_KWH = 1e-3

#: A device counts as running in an interval when its output exceeds this [kW].
RUNNING_THRESHOLD_KW = 1e-6


def column(table: pd.DataFrame, name: str) -> np.ndarray:
    """A column of the plan table as floats; a missing column is an error naming it."""
    if name not in table.columns:
        raise KeyError(f"the plan table has no column {name!r}")
    return table[name].to_numpy(dtype=float)


class _Read:
    """One column of a plan table read as floats (what ``_ReadOnce`` hands out)."""

    __slots__ = ("values",)

    def __init__(self, values: np.ndarray):
        self.values = values

    def to_numpy(self, dtype: Any = float) -> np.ndarray:
        return self.values


class _ReadOnce:
    """A plan table whose columns are read as float arrays once, however often the devices'
    formulas ask for them: ``table[name].to_numpy(dtype=float)`` of a pandas column costs
    tens of µs, and the accounts and key figures of one plan ask for each column several
    times, so the first request reads the whole table as one float array (column by column
    where it holds other than numbers). It offers what ``optimizer.columns.PlanColumns``
    reads of a table (``columns``, ``index``, ``len`` and ``[name].to_numpy(dtype=float)``);
    the arrays are read-only. ``of_arrays`` stands for a table not yet made, given as its
    columns."""

    def __init__(self, table: pd.DataFrame):
        self.table, self.columns, self.index = table, table.columns, table.index
        self._read: dict[str, _Read] = {}

    @classmethod
    def of_arrays(cls, columns: Mapping[str, np.ndarray], index: pd.Index) -> pd.DataFrame:
        """The table of ``columns`` (float arrays by name, read as they are) on ``index``."""
        self = cls.__new__(cls)
        self.table, self.columns, self.index = None, columns, index
        self._read = {name: _Read(values) for name, values in columns.items()}
        return cast(pd.DataFrame, self)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, name: str) -> _Read:
        read = self._read.get(name)
        if read is None:
            if self.table is None:
                raise KeyError(name)
            if not self._read:
                self._read_all()
                if name in self._read:
                    return self._read[name]
            values = self.table[name].to_numpy(dtype=float)
            values.setflags(write=False)
            read = self._read[name] = _Read(values)
        return read

    def _read_all(self) -> None:
        """Every column at once, when the table converts to one float array."""
        if self.table is None or not self.table.columns.is_unique:
            return
        try:
            rows = np.ascontiguousarray(self.table.to_numpy(dtype=float).T)
        except (TypeError, ValueError):  # a column of text, say: read column by column
            return
        rows.setflags(write=False)
        self._read = {name: _Read(row) for name, row in zip(self.columns, rows, strict=True)}


def _read_once(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` behind a ``_ReadOnce`` (typed as the frame it stands for)."""
    return table if isinstance(table, _ReadOnce) else cast(pd.DataFrame, _ReadOnce(table))


def step_hours(site: Site, table: pd.DataFrame) -> float:
    """Length of one interval [h]: the site's step (checked against the index when it can)."""
    index = table.index
    if isinstance(index, pd.DatetimeIndex) and len(index) > 1:
        per_hour = pd.Timedelta(hours=1) // pd.Timedelta(1, unit=index.unit)
        spacing = np.diff(index.asi8) / per_hour  # ``asi8`` counts the index's unit
        # ``np.allclose(spacing, step_h)``, written out: it is called for every account
        if not np.all(np.abs(spacing - site.step_h) <= 1e-8 + 1e-5 * site.step_h):
            raise ValueError(
                f"the plan's intervals must be {site.step_minutes} min apart (site step), got "
                f"spacings between {spacing.min() * 60:g} and {spacing.max() * 60:g} min"
            )
    return site.step_h


# --- money and emissions ----------------------------------------------------------------


def interval_accounts(
    site: Site,
    table: pd.DataFrame,
    *,
    accounting: str | None = None,
    devices: list[DeviceModel] | None = None,
) -> pd.DataFrame:
    """Cost and emissions of each interval of a plan, by each device's own formulas.

    Every device model's ``cost`` and ``emissions`` (the formulas the LP objective is built
    from) are evaluated on its columns of the plan table, so an optimised plan, a rule-based
    plan and a plan read from a file are accounted the same way.

    Parameters
    ----------
    site : Site
    table : pandas.DataFrame
        Plan table with the decision and input columns of every device.
    accounting : {"location", "net"}, optional
        Carbon-accounting convention of grid emissions; None: the site's.
    devices : list of DeviceModel, optional
        The site's device models, when the caller has them.

    Returns
    -------
    pandas.DataFrame
        Same index; ``cost`` [site currency] and ``emissions_kgco2`` [kgCO2e].

    Notes
    -----
    ``cost_t = Σ_d c_d(x_{d,t}, Δt)`` and ``emissions_t = Σ_d e_d(x_{d,t}, Δt)`` over the
    device models ``d`` (docs/formulation.md, *Objective*; docs/kpis.md). Penalties that are
    not money paid (unserved load, the carbon price) and horizon-wide charges (the
    peak-import charge) are not interval costs.
    """
    models = device_models(site) if devices is None else devices
    step_h = step_hours(site, table)
    cost, emissions = _accounts(_read_once(table), step_h, accounting, models)
    return pd.DataFrame({"cost": cost, "emissions_kgco2": emissions}, index=table.index)


def column_accounts(
    site: Site,
    columns: Mapping[str, np.ndarray],
    index: pd.DatetimeIndex,
    *,
    accounting: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``interval_accounts`` of a plan table given as its columns, before a DataFrame is
    made of them (the rule-based dispatch makes its table once, accounts included).

    Parameters
    ----------
    site : Site
    columns : mapping of str to numpy.ndarray
        The plan table's columns (``<device>.<quantity>_<unit>``) as float arrays on ``index``.
    index : pandas.DatetimeIndex
    accounting : {"location", "net"}, optional
        As in ``interval_accounts``.

    Returns
    -------
    tuple of numpy.ndarray
        ``cost`` [site currency] and ``emissions_kgco2`` [kgCO2e] of each interval.
    """
    table = _ReadOnce.of_arrays(columns, index)
    return _accounts(table, step_hours(site, table), accounting, device_models(site))


def _accounts(
    table: pd.DataFrame, step_h: float, accounting: str | None, devices: list[DeviceModel]
) -> tuple[np.ndarray, np.ndarray]:
    """``interval_accounts`` as two arrays: cost [currency] and emissions [kgCO2e]."""
    cost = np.zeros(len(table))
    emissions = np.zeros(len(table))
    for dev in devices:
        x = dev.plan_columns(table)
        cost = cost + dev.cost(x, step_h)
        emissions = emissions + dev.emissions(x, step_h, accounting)
    return cost, emissions


# --- key figures -------------------------------------------------------------------------


#: Key figures that device columns add to through their ``kpis`` (docs/kpis.md), in the
#: order reported; a site without such columns reports 0.
COLUMN_KPIS = (
    "pv_kwh", "genset_kwh", "biogas_produced_m3", "biogas_used_m3", "biogas_flared_m3",
    "biogas_vented_m3", "diesel_l", "genset_hours",
)  # fmt: skip


def _values(table: pd.DataFrame, c: SiteColumn) -> np.ndarray:
    return np.asarray(c.device.plan_columns(table)[c.column.quantity], dtype=float)


def _total(table: pd.DataFrame, columns: list[SiteColumn], category: str) -> float:
    """Σ over the columns of a category and over the intervals [column unit × interval]."""
    return float(sum((_values(table, c).sum() for c in columns if c.column.category == category),
                     0.0))


def column_kpis(table: pd.DataFrame, columns: list[SiteColumn], step_h: float) -> dict:
    """The key figures columns declare through ``Column.kpis``.

    A kW column adds its energy ``Σ P Δt`` to a ``_kwh`` figure and its running time
    ``Σ [P > 1e-6 kW] Δt`` to a ``_hours`` figure; any other column adds its sum.
    """
    sums: dict[str, float] = {}
    running: dict[str, np.ndarray] = {}
    for c in columns:
        for name in c.column.kpis:
            values = _values(table, c)
            if c.column.unit == "kW" and name.endswith("_hours"):
                running[name] = running.get(name, 0) + (values > RUNNING_THRESHOLD_KW)
            else:
                sums[name] = sums.get(name, 0.0) + values.sum()
    out = {}
    for name in dict.fromkeys(COLUMN_KPIS + tuple(sums) + tuple(running)):
        if name in running:
            out[name] = float(np.sum(running[name]) * step_h)
        else:
            scale = step_h if name.endswith("_kwh") else 1.0
            out[name] = float(sums.get(name, 0.0) * scale)
    return out


def _complement_share(part: float, whole: float) -> float:
    """``1 − part / whole`` clipped to [0, 1]; 0 when nothing is served (``whole`` ≈ 0)."""
    if whole <= RUNNING_THRESHOLD_KW:
        return 0.0
    return float(min(1.0, max(0.0, 1.0 - part / whole)))


def kpis(site: Site, table: pd.DataFrame) -> dict[str, float]:
    """Key figures of a plan over its horizon; definitions and sources in ``docs/kpis.md``.

    Every figure is read from the columns the site's devices declare (their balance
    categories, ``Column.kpis`` and ``storage_kwh``), never from device kinds.

    Returns
    -------
    dict
        ``cost`` [currency], ``emissions_kgco2`` [kgCO2e], ``renewable_fraction_pu``,
        ``self_sufficiency_pu`` [-], energies ``curtailed_kwh``, ``unserved_kwh``,
        ``import_kwh``, ``export_kwh``, ``pv_kwh``, ``genset_kwh``, ``load_kwh`` [kWh],
        ``peak_import_kw`` [kW], ``battery_cycles`` [-], biogas volumes ``biogas_produced_m3``,
        ``biogas_used_m3``, ``biogas_flared_m3``, ``biogas_vented_m3`` [m³], ``diesel_l`` [L]
        and ``genset_hours`` [h].
    """
    table = _read_once(table)
    dt = step_hours(site, table)
    models = device_models(site)
    cols = site_columns(site, models)
    cost, emissions = _accounts(table, dt, None, models)

    import_kwh = _total(table, cols, "import") * dt
    export_kwh = _total(table, cols, "export") * dt
    fossil_kwh = _total(table, cols, "fossil") * dt
    unserved_kwh = _total(table, cols, "unserved") * dt
    demand_kwh = _total(table, cols, "demand") * dt
    tagged = column_kpis(table, cols, dt)
    served_kwh = tagged.pop("served_kwh", 0.0)
    _, location = _accounts(table, dt, "location", models)
    _, net = _accounts(table, dt, "net", models)
    usable_kwh = sum(dev.storage_kwh() for dev in models)
    import_kw = sum(
        (_values(table, c) for c in cols if c.column.category == "import"), np.zeros(len(table))
    )
    out = {
        "cost": float(cost.sum()),
        "emissions_kgco2": float(emissions.sum()),
        "emissions_location_kgco2": float(location.sum()),
        "emissions_net_kgco2": float(net.sum()),
        "renewable_fraction_pu": _complement_share(
            import_kwh + fossil_kwh + unserved_kwh, demand_kwh + export_kwh
        ),
        "self_sufficiency_pu": _complement_share(import_kwh + unserved_kwh, demand_kwh),
        "served_fraction_pu": _complement_share(unserved_kwh, demand_kwh)
        if demand_kwh > RUNNING_THRESHOLD_KW
        else 1.0,
        "curtailed_kwh": _total(table, cols, "curtailed") * dt,
        "unserved_kwh": unserved_kwh,
        "demand_kwh": demand_kwh,
        "served_kwh": served_kwh,
        "peak_import_kw": float(import_kw.max(initial=0.0)),
        "import_kwh": import_kwh,
        "export_kwh": export_kwh,
        "pv_kwh": tagged.pop("pv_kwh"),
        "genset_kwh": tagged.pop("genset_kwh"),
        "load_kwh": demand_kwh,
        "battery_cycles": _total(table, cols, "storage_out") * dt / usable_kwh
        if usable_kwh > 0
        else 0.0,
        **tagged,
    }
    for c in cols:
        if c.column.category == "shed":
            out[f"{c.device.prefix}unserved_kwh"] = float(_values(table, c).sum() * dt)
    return out


def lost_load_value(site: Site, table: pd.DataFrame) -> float:
    """Value of the load a plan leaves unserved [currency]: each device's
    ``lost_load_value`` (shed electricity at the load's own value of lost load, unserved heat
    at the site's)."""
    table = _read_once(table)
    dt = step_hours(site, table)
    values = (dev.lost_load_value(dev.plan_columns(table), dt) for dev in device_models(site))
    return float(sum((np.sum(v) for v in values), 0.0))


def comparison(
    site: Site,
    plan: pd.DataFrame,
    rules: pd.DataFrame,
    stored_value: dict[str, float],
) -> dict[str, float | bool]:
    """What a plan saves against the rule-based dispatch, on equal terms.

    Money and emissions saved are stated as they are, and beside them the two differences
    that make plans unequal (docs/baseline.md, *Comparing on equal terms*): energy served
    (shed energy at each load's value of lost load) and energy left in store at the end
    (each store's end level at its value of stored energy, ``stored_value``: plan-table
    level column → value per unit). ``equal_terms`` says whether both differences vanish;
    ``valued_saving`` adds their value to the money saved.
    """
    dt = step_hours(site, plan)
    mine, theirs = kpis(site, plan), kpis(site, rules)
    served = lost_load_value(site, rules) - lost_load_value(site, plan)
    stored = sum(
        value * (column(plan, name)[-1] - column(rules, name)[-1])
        for name, value in stored_value.items()
    )
    stored_units = {
        name: float(column(plan, name)[-1] - column(rules, name)[-1]) for name in stored_value
    }
    unserved_gap = theirs["unserved_kwh"] - mine["unserved_kwh"]
    equal = abs(unserved_gap) <= EQUAL_TERMS_KWH * max(dt, 1.0) and all(
        abs(v) <= EQUAL_TERMS_KWH for v in stored_units.values()
    )
    out: dict[str, float | bool] = {
        "cost_saving": theirs["cost"] - mine["cost"],
        "emissions_saving_kgco2": theirs["emissions_kgco2"] - mine["emissions_kgco2"],
        "emissions_location_saving_kgco2": theirs["emissions_location_kgco2"]
        - mine["emissions_location_kgco2"],
        "emissions_net_saving_kgco2": theirs["emissions_net_kgco2"] - mine["emissions_net_kgco2"],
        "served_more_kwh": unserved_gap,
        "served_more_value": served,
        "stored_more_value": float(stored),
        "equal_terms": bool(equal),
    }
    out["valued_saving"] = out["cost_saving"] + served + float(stored)
    for name, units in stored_units.items():
        out[f"stored_more.{name}"] = units
    return out


def objective_terms(site: Site, table: pd.DataFrame) -> dict[str, float]:
    """The planning objective of docs/formulation.md (mode ``cost``) evaluated on a plan table.

    So the baseline and an optimised plan can be compared on the same footing.

    Returns
    -------
    dict
        ``cost`` (Σ interval cost), ``horizon_cost`` (peak-import charge × the horizon's
        peak import), ``penalty`` (value of lost load × unserved electricity and heat, less the
        value of warmth left in heated digesters, docs/formulation.md *digester temperature*),
        ``emissions_kgco2``, ``carbon_cost`` (carbon price × emissions) and ``objective``,
        their sum less the emissions [currency, kgCO2e].

    Notes
    -----
    The LP's tie-break costs on flared and vented gas (at most 2e-4 per m³) are not included.
    """
    table = _read_once(table)
    dt = step_hours(site, table)
    models = device_models(site)
    cost, per_interval = _accounts(table, dt, None, models)
    horizon = sum(dev.plan_horizon_cost(dev.plan_columns(table)) for dev in models)
    warmth = sum(dev.plan_end_credit(dev.plan_columns(table), dt) for dev in models)
    emissions = float(per_interval.sum())
    terms = {
        "cost": float(cost.sum()),
        "horizon_cost": float(horizon),
        "penalty": lost_load_value(site, table) - float(warmth),
        "emissions_kgco2": emissions,
        "carbon_cost": site.carbon_price_per_kgco2 * emissions,
    }
    terms["objective"] = (
        terms["cost"] + terms["horizon_cost"] + terms["penalty"] + terms["carbon_cost"]
    )
    return terms
