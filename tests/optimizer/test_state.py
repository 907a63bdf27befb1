"""Initial state: defaults from the site file, entries checked against the site."""

from __future__ import annotations

import pytest

from optimizer.errors import PlanningError
from optimizer.state import State
from sites.load import load_site

DEMO = load_site("sites/demo_village.yaml")


def test_defaults_come_from_the_site_file():
    state = State.from_site(DEMO)
    assert state.battery_soc_kwh == {"village-battery": 100.0}
    assert state.holder_m3 == {"pig-digester": 30.0}
    assert state.served_kwh == {"irrigation-pump": 0.0, "grain-dryer": 0.0}
    assert state.genset_kw == {"biogas-genset": 0.0}


def test_given_entries_are_kept():
    state = State(battery_soc_kwh={"village-battery": 42.0}).resolved(DEMO)
    assert state.battery_soc_kwh["village-battery"] == 42.0
    assert state.holder_m3 == {"pig-digester": 30.0}


def test_unknown_device_is_named():
    with pytest.raises(PlanningError, match="state.holder_m3: 'tank' is not a digester"):
        State(holder_m3={"tank": 1.0}).resolved(DEMO)


def test_out_of_range_value_is_named():
    with pytest.raises(PlanningError, match=r"battery_soc_kwh\['village-battery'\] must lie in"):
        State(battery_soc_kwh={"village-battery": 250.0}).resolved(DEMO)


def test_state_is_frozen():
    with pytest.raises(Exception, match="frozen"):
        State().battery_soc_kwh = {}  # type: ignore[misc]
