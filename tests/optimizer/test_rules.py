"""The rule protocol: the dispatch loop names no device kind; its shared parts by hand."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import numpy as np
import pytest

import optimizer.baseline
from optimizer import rules
from optimizer.baseline import device_rules, spare_supply_kw
from optimizer.devices import REGISTRY
from optimizer.inputs import build_inputs
from optimizer.rules import DeviceRule, RuleContext, Source, Table
from optimizer.state import State
from sites.load import load_site
from sites.schema import BiogasFuel, ColdStore, FixedLoad, Genset, Grid, PvArray
from sites.timeindex import day_index

SPEC_NAMES = {spec.__name__ for spec in REGISTRY}
MODEL_MODULES = {model.__module__ for model in REGISTRY.values()}


def _imports(module: object) -> list[tuple[str, str]]:
    tree = ast.parse(Path(module.__file__).read_text())  # type: ignore[attr-defined]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            out += [(node.module or "", a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            out += [(a.name, "") for a in node.names]
    return out


def test_the_baseline_imports_no_device_spec_nor_device_module():
    imports = _imports(optimizer.baseline)
    assert imports, "the parse found the baseline's imports"
    names = {name for _, name in imports}
    modules = {module for module, _ in imports}
    assert not names & SPEC_NAMES, names & SPEC_NAMES
    assert not modules & MODEL_MODULES, modules & MODEL_MODULES
    source = Path(optimizer.baseline.__file__).read_text()
    assert "of_type(" not in source and "isinstance(" not in source


@pytest.mark.parametrize("path", sorted(Path("sites").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_device_of_the_example_sites_has_a_rule_and_adds_to_the_spare_supply(path):
    site = load_site(path)
    index = day_index(site, date(2026, 7, 1))
    inputs = build_inputs(site, index)
    columns = {c: inputs[c].to_numpy(dtype=float) for c in inputs.columns}
    ctx = RuleContext(site, index, columns, State().resolved(site), Table(len(index)))
    made = device_rules(site, ctx)
    assert [r.name for r in made] == [d.name for d in site.devices]
    assert all(isinstance(r, DeviceRule) for r in made)
    # the look-ahead's supply: PV available, grid import where up, diesel at its rating,
    # biogas as far as the interval's net gas fuels it, less the fixed loads' forecast
    n, dt = len(index), site.step_h
    expected = np.zeros(n)
    for a in site.of_type(PvArray):
        expected += columns[f"{a.name}.available_kw"]
    for g in site.of_type(Grid):
        expected += columns[f"{g.name}.import_limit_kw"] * columns[f"{g.name}.available_pu"]
    for gen in site.of_type(Genset):
        if isinstance(gen.fuel, BiogasFuel):
            d = gen.fuel.digester
            net = columns[f"{d}.production_m3"] - columns[f"{d}.cooking_m3"]
            expected += np.clip(net / (gen.fuel.m3_per_kwh * dt), 0.0, gen.rated_kw)
        else:
            expected += gen.rated_kw
    for ld in site.of_type(FixedLoad):
        expected -= columns[f"{ld.name}.forecast_kw"]
    for c in site.of_type(ColdStore):  # the chiller holding max_c with no absorption cold
        gain = c.ua_kw_per_k * (columns[f"{c.name}.ambient_c"] - c.max_c)
        gain = gain + columns[f"{c.name}.produce_kw"]
        expected -= np.clip(gain / c.cop_pu, 0.0, c.chiller_kw)
    np.testing.assert_allclose(spare_supply_kw(made, n), expected, atol=1e-12)


def test_merit_order_keeps_classes_and_sorts_bought_supply_by_price():
    dear = Source(5.0, 2.0, rank=rules.BOUGHT)
    cheap = Source(5.0, 1.0, rank=rules.BOUGHT)
    battery_b = Source(5.0, 0.5, rank=rules.STORED)
    battery_a = Source(5.0, 0.9, rank=rules.STORED)  # stored energy keeps file order, not price
    pv = Source(5.0, 0.0, rank=rules.FREE)
    must = Source(5.0, 0.0, rank=rules.MUST_RUN)
    order = rules.merit_order([dear, battery_a, cheap, pv, battery_b, must])
    assert order == [must, pv, battery_a, battery_b, cheap, dear]
    assert [s.marginal_per_kwh for s in order] == [0.0, 0.0, 0.9, 0.5, 1.0, 2.0]


def test_draw_takes_in_order_skips_a_unit_below_its_start_and_reports_the_last_price():
    taken: list[float] = []
    sources = [
        Source(3.0, 0.0, taken.append),
        Source(10.0, 0.4, taken.append, min_take_kw=5.0),  # would start at 2 kW < 5: skipped
        Source(4.0, 1.0, taken.append),
    ]
    served, marginal = rules.draw(sources, 5.0)
    assert served == pytest.approx(5.0)
    assert taken == [3.0, 2.0]
    assert marginal == 1.0
    assert [s.left_kw for s in sources] == [0.0, 10.0, 2.0]
    assert rules.draw([Source(0.0, 3.0)], 1.0) == (0.0, None)


def test_reach_floor_by_hand():
    # target 50, floor 10, +20 per interval, no self-discharge: 10, 30, 50 from the end
    np.testing.assert_allclose(rules.reach_floor(50.0, 10.0, 20.0, 1.0, 3), [10.0, 30.0, 50.0])
    # keeping half per interval: f2 = 40; f1 = max(10/0.5, (40 − 0)/0.5) = 80; rise 0
    np.testing.assert_allclose(rules.reach_floor(40.0, 10.0, 0.0, 0.5, 2), [80.0, 40.0])
