"""Initial state: quantities declared by the device modules, defaults from the site file,
entries checked against the site, carried from a plan to the next."""

from __future__ import annotations

import pandas as pd
import pytest

from optimizer.devices import REGISTRY, device_models
from optimizer.errors import PlanningError
from optimizer.state import State, declared_rows, legacy_names
from optimizer.statevars import StateVar
from sites.load import load_site

DEMO = load_site("sites/demo_village.yaml")


def test_defaults_come_from_the_site_file():
    state = State.from_site(DEMO)
    assert state.values["village-battery"] == {"soc_kwh": 100.0}  # 0.5 × 200 kWh
    assert state.values["pig-digester"] == {"gas_m3": 30.0, "rise_k": 0.0}
    assert state.value("irrigation", "level_m3") == 150.0  # the tank's initial_level_m3
    assert state.value("grain-dryer", "served_kwh") == 0.0
    assert state.value("biogas-genset", "power_kw") == 0.0
    # devices that declare no state have no entry
    assert set(state.values) == {"village-battery", "pig-digester", "irrigation",
                                 "grain-dryer", "biogas-genset"}


def test_given_entries_are_kept():
    state = State(values={"village-battery": {"soc_kwh": 42.0}}).resolved(DEMO)
    assert state.value("village-battery", "soc_kwh") == 42.0
    assert state.value("pig-digester", "gas_m3") == 30.0


def test_former_per_kind_fields_mean_the_same():
    old = State(battery_soc_kwh={"village-battery": 42.0}, holder_m3={"pig-digester": 7.0},
                served_kwh={"grain-dryer": 3.0}, genset_kw={"biogas-genset": 5.0},
                digester_rise_k={"pig-digester": 2.0})
    new = State(values={"village-battery": {"soc_kwh": 42.0},
                        "pig-digester": {"gas_m3": 7.0, "rise_k": 2.0},
                        "grain-dryer": {"served_kwh": 3.0},
                        "biogas-genset": {"power_kw": 5.0}})
    assert old == new
    assert old.legacy() == {"battery_soc_kwh": {"village-battery": 42.0},
                            "holder_m3": {"pig-digester": 7.0},
                            "digester_rise_k": {"pig-digester": 2.0},
                            "served_kwh": {"grain-dryer": 3.0},
                            "genset_kw": {"biogas-genset": 5.0}}


def test_round_trip_through_json():
    state = State.from_site(DEMO)
    again = State.model_validate_json(state.model_dump_json())
    assert again == state and again.resolved(DEMO) == state
    assert State.model_validate(state.legacy()).resolved(DEMO) == state


def test_unknown_device_is_named():
    with pytest.raises(PlanningError, match=r"state.tank: no device with state named 'tank' "
                                            r"in site 'demo-village'"):
        State(holder_m3={"tank": 1.0}).resolved(DEMO)


def test_unknown_quantity_is_named_with_those_the_device_has():
    with pytest.raises(PlanningError, match=r"state.village-battery.gas_m3: 'village-battery' "
                                            r"has no state quantity 'gas_m3' \(it has: soc_kwh\)"):
        State(values={"village-battery": {"gas_m3": 1.0}}).resolved(DEMO)


@pytest.mark.parametrize(
    ("device", "quantity", "value", "bound"),
    [("village-battery", "soc_kwh", 250.0, r"\[0, 200\] kWh, got 250"),
     ("village-battery", "soc_kwh", -1.0, r"\[0, 200\] kWh, got -1"),
     ("pig-digester", "gas_m3", 1e4, r"\[0, 60\] m3, got 10000"),
     ("biogas-genset", "power_kw", 31.0, r"\[0, 30\] kW, got 31"),
     ("pig-digester", "rise_k", 61.0, r"\[0, 60\] K, got 61")],
)
def test_out_of_range_value_names_device_quantity_bound_and_value(device, quantity, value, bound):
    with pytest.raises(PlanningError, match=rf"state.{device}.{quantity}: must lie in {bound}"):
        State(values={device: {quantity: value}}).resolved(DEMO)


def test_every_error_is_reported_at_once():
    errors = State(values={"tank": {"soc_kwh": 1.0}, "village-battery": {"soc_kwh": 1e3}}
                   ).errors(DEMO, "telemetry")
    assert len(errors) == 2 and all(e.startswith("telemetry.") for e in errors)


def test_non_finite_values_are_refused():
    with pytest.raises(ValueError, match="finite"):
        State(values={"village-battery": {"soc_kwh": float("nan")}})


def test_state_is_frozen():
    with pytest.raises(Exception, match="frozen"):
        State().values = {}  # type: ignore[misc]


def test_reading_a_missing_quantity_says_to_resolve():
    with pytest.raises(KeyError, match="State.resolved"):
        State().value("village-battery", "soc_kwh")


def test_rows_are_resolved_from_each_spec():
    battery = next(m for m in device_models(DEMO) if m.name == "village-battery")
    (row,) = battery.state_table()
    assert (row.quantity, row.unit, row.column) == ("soc_kwh", "kWh", "soc_kwh")
    assert (row.lower, row.upper, row.default) == (0.0, 200.0, 100.0)
    assert row.usable == pytest.approx((20.0, 190.0))  # soc_min_pu 0.1, soc_max_pu 0.95


def test_declared_rows_have_units_descriptions_and_unique_former_names():
    rows = declared_rows()
    assert {"soc_kwh", "gas_m3", "rise_k", "served_kwh", "power_kw"} <= set(rows)
    assert all(r.unit and r.description for r in rows.values())
    units = ("_kwh", "_m3", "_k", "_kw", "_pu", "_c")
    assert all(r.quantity.endswith(units) for r in rows.values())
    former = [v.legacy for cls in REGISTRY.values() for v in cls.state_vars if v.legacy]
    assert len(former) == len(set(former)) == len(legacy_names())


def test_from_plan_reads_the_carrying_columns_at_the_end_of_the_last_row_before_at():
    index = pd.date_range("2026-07-01 00:00", periods=3, freq="1h", tz="UTC")
    table = pd.DataFrame({"village-battery.soc_kwh": [110.0, 120.0, 130.0],
                          "pig-digester.gas_m3": [61.0, 70.0, 10.0],  # clipped to 60
                          "biogas-genset.power_kw": [4.0, 5.0, 6.0]}, index=index)
    state = State.from_plan(DEMO, table, index[2])
    assert state.value("village-battery", "soc_kwh") == 120.0
    assert state.value("pig-digester", "gas_m3") == 60.0
    assert state.value("biogas-genset", "power_kw") == 5.0
    assert state.value("pig-digester", "rise_k") == 0.0  # no column: the default
    assert State.from_plan(DEMO, table, index[0]) == State.from_site(DEMO)  # no row before


def test_a_row_may_take_its_bounds_from_numbers_fields_or_functions():
    class Spec:
        size_m3 = 8.0

    row = StateVar("x_m3", "m3", "a level", upper="size_m3", default=lambda s: s.size_m3 / 2,
                   lower=1.0, usable=(1.0, "size_m3"))
    resolved = row.resolved(Spec())
    assert (resolved.lower, resolved.upper, resolved.default, resolved.usable) == (
        1.0, 8.0, 4.0, (1.0, 8.0))


def test_a_carrying_column_without_a_number_starts_from_the_default():
    # a rule-based plan of a heated digester has no warmth column: its rows hold NaN there
    site = load_site("sites/dairy_cooperative.yaml")
    digester = next(d for d in site.devices if d.kind == "digester")
    index = pd.date_range("2026-01-15", periods=3, freq="h", tz="UTC")
    table = pd.DataFrame({f"{digester.name}.rise_k": [1.0, 2.0, float("nan")]}, index=index)
    state = State.from_plan(site, table, index[-1] + pd.Timedelta(hours=1))
    assert state.value(digester.name, "rise_k") == 0.0
    state = State.from_plan(site, table.iloc[:2], index[1] + pd.Timedelta(hours=1))
    assert state.value(digester.name, "rise_k") == 2.0
