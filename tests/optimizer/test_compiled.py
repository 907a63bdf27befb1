"""Re-plans update bounds and objective rows without walking the model: check they agree."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest

from optimizer.compiled import Compiled
from optimizer.devices import REGISTRY
from optimizer.devices.fixed_load import FixedLoadModel
from optimizer.model import build_model
from optimizer.state import State
from sites.schema import FixedLoad
from tests.optimizer.devices.test_battery import battery
from tests.optimizer.devices.test_digester import biogas_genset, digester
from tests.optimizer.devices.test_genset import diesel
from tests.optimizer.toy import grid, index, inputs, load, pv, toy_site


def _site():
    return toy_site(
        grid(carbon_kgco2_per_kwh=0.6, max_export_kw=20, export_price_per_kwh=0.2,
             outages=[{"start": "2026-07-01T03:00+08:00", "end": "2026-07-01T04:00+08:00"}]),
        load(), pv(), battery(wear_cost_per_kwh=0.02), diesel(name="backup"),
        digester(has_flare=False, holder_max_m3=10), biogas_genset(variable_om_per_kwh=0.05),
        carbon_price_per_kgco2=0.1,
    )  # fmt: skip


def test_refreshed_rows_and_bounds_equal_a_fresh_compile():
    site = _site()
    idx = index(site, 6)
    rng = np.random.default_rng(1)
    first = inputs(site, idx, load__forecast_kw=5, pv__available_kw=3)
    second = inputs(
        site, idx, load__forecast_kw=rng.uniform(0, 9, 6), pv__available_kw=rng.uniform(0, 9, 6),
        grid__import_price_per_kwh=rng.uniform(0.1, 2, 6),
        grid__carbon_kgco2_per_kwh=rng.uniform(0.2, 0.9, 6),
        # limit × availability: bounds that are a product of two Params
        grid__available_pu=[1, 1, 0, 0, 1, 1], grid__import_limit_kw=rng.uniform(20, 90, 6),
        grid__export_limit_kw=rng.uniform(0, 30, 6),
    )  # fmt: skip
    state = State(battery_soc_kwh={"bat": 7.0}, holder_m3={"dig": 4.0}).resolved(site)

    kept = build_model(site, idx, first)
    compiled = Compiled(kept, kept.set_data(idx, first, State().resolved(site)))
    datas = kept.set_data(idx, second, state)
    compiled.refresh(datas)

    # the reference states the whole objective in Pyomo and compiles it
    fresh = build_model(site, idx, second, pyomo_objective=True)
    fresh.set_data(idx, second, state)
    reference = Compiled(fresh)

    # the same columns, maybe in another order: compare by name
    where = {v.name: j for j, v in enumerate(reference.columns)}
    order = np.array([where[v.name] for v in compiled.columns])
    assert sorted(where) == sorted(v.name for v in compiled.columns)
    assert np.allclose(compiled.low, reference.low[order])
    assert np.allclose(compiled.high, reference.high[order])
    grid_import = [j for j, v in enumerate(compiled.columns) if ".import_kw[" in v.name]
    assert compiled.high[grid_import][2:4].tolist() == [0.0, 0.0]  # the outage
    for name in ("objective", "emissions_objective", "penalty_objective", "horizon_objective"):
        assert np.allclose(compiled.rows[name], reference.rows[name][order]), name
        assert np.isclose(compiled.offsets[name], reference.offsets[name]), name
    assert len(compiled.day_rows) == len(reference.day_rows) == 1
    for (c1, v1), (c2, v2) in zip(compiled.day_rows, reference.day_rows, strict=True):
        dense1, dense2 = np.zeros(compiled.n_cols), np.zeros(compiled.n_cols)
        dense1[c1], dense2[c2] = v1, v2
        assert np.allclose(dense1, dense2[order])


class _ForecastCapModel(FixedLoadModel):
    """A load whose forecast also caps its own shed power inside a constraint: the forecast
    as a right-hand side (``rhs``) or as a coefficient (``coefficient``). Test-only."""

    where = "rhs"

    def build(self, blk, ctx):
        super().build(blk, ctx)
        if self.where == "rhs":
            rule = lambda b, t: b.shed_kw[t] <= 0.5 * b.forecast_kw[t]  # noqa: E731
        else:
            rule = lambda b, t: b.forecast_kw[t] * b.shed_kw[t] <= 10.0  # noqa: E731
        blk.shed_cap = pyo.Constraint(ctx.T, rule=rule)


class _ForecastCapLoad(FixedLoad):
    """The site spec of ``_ForecastCapModel`` (same fields as a fixed load)."""


@pytest.mark.parametrize("where", ["rhs", "coefficient"])
def test_a_mutable_param_inside_a_constraint_is_refused_when_compiling(monkeypatch, where):
    site = toy_site(grid(), load(name="plain"), load(name="capped"))
    capped = _ForecastCapLoad(**site.device("capped").model_dump())
    site = site.model_copy(update={"devices": (*site.devices[:2], capped)})
    monkeypatch.setitem(REGISTRY, _ForecastCapLoad, _ForecastCapModel)
    monkeypatch.setattr(_ForecastCapModel, "where", where)
    idx = index(site, 3)
    data = inputs(site, idx, plain__forecast_kw=2, capped__forecast_kw=4)
    vm = build_model(site, idx, data)
    datas = vm.set_data(idx, data, State().resolved(site))
    with pytest.raises(TypeError) as caught:
        Compiled(vm, datas)
    message = str(caught.value)
    assert "device 'capped'" in message
    assert "devices[capped].shed_cap[" in message
    assert "devices[capped].forecast_kw[" in message


def test_the_site_devices_keep_mutable_params_out_of_constraints():
    """Every device kind of the registry passes the check (the refusal is not a false alarm)."""
    site = _site()
    idx = index(site, 4)
    data = inputs(site, idx, load__forecast_kw=5, pv__available_kw=3)
    vm = build_model(site, idx, data)
    compiled = Compiled(vm, vm.set_data(idx, data, State().resolved(site)))
    assert compiled.n_rows > 0
