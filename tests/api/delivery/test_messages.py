"""What is published, from a dispatch document: topics, expiry, discovery components."""

from __future__ import annotations

import json

from api.delivery.discovery import discovery_message
from api.delivery.messages import clearing_messages, setpoint_messages
from api.delivery.topics import Topics

TOPICS = Topics("vg", "ha")
DOC = {"site": "s", "plan_id": "p", "status": "optimal", "stale": False, "fallback": False,
       "interval_start": "2026-07-01T10:00:00+08:00",
       "valid_until": "2026-07-01T10:15:00+08:00",
       "setpoints": {"bat": {"charge_kw": 1.5, "soc_kwh": 40.0},
                     "gen": {"power_kw": 3.0, "on_pu": 1.0}, "dig": {"gas_m3": 12.0}}}
TEN_OH_FIVE = 1782871500.0  # 2026-07-01T10:05:00+08:00


def test_setpoints_expire_at_the_end_of_their_interval_plus_the_grace() -> None:
    messages = {m.topic: m for m in setpoint_messages(TOPICS, DOC, TEN_OH_FIVE, 30)}
    assert set(messages) == {"vg/s/setpoints/bat", "vg/s/setpoints/gen", "vg/s/setpoints/dig"}
    bat = messages["vg/s/setpoints/bat"]
    assert bat.expiry_s == 10 * 60 + 30 and bat.retain and bat.qos == 1
    assert json.loads(bat.payload) == {"plan_id": "p", "interval_start": DOC["interval_start"],
                                       "valid_until": DOC["valid_until"], "stale": False,
                                       "charge_kw": 1.5, "soc_kwh": 40.0}
    late = setpoint_messages(TOPICS, DOC, TEN_OH_FIVE + 3600, 0)
    assert {m.expiry_s for m in late} == {1}  # never 0 (no expiry) or negative


def test_discovery_has_a_sensor_per_setpoint_with_its_unit_and_class() -> None:
    config = json.loads(discovery_message(TOPICS, DOC, 960).payload)
    cmps = config["cmps"]
    assert (cmps["bat_charge_kw"]["unit_of_measurement"], cmps["bat_charge_kw"]["device_class"]
            ) == ("kW", "power")
    assert cmps["bat_soc_kwh"]["device_class"] == "energy_storage"
    assert cmps["dig_gas_m3"]["unit_of_measurement"] == "m³"
    assert "unit_of_measurement" not in cmps["gen_on_pu"]
    assert cmps["gen_power_kw"]["state_topic"] == "vg/s/setpoints/gen"
    assert cmps["gen_power_kw"]["expire_after"] == 960
    assert len({c["unique_id"] for c in cmps.values()}) == len(cmps) == 7
    assert config["dev"]["ids"] == ["villagegrid_s"]


def test_inbound_topics_and_clearing() -> None:
    assert TOPICS.parse_inbound("vg/s/state") == ("s", "state")
    assert TOPICS.parse_inbound("vg/s/limits") == ("s", "limits")
    assert TOPICS.parse_inbound("vg/s/plan") is None
    assert TOPICS.parse_inbound("other/s/state") is None
    assert TOPICS.parse_inbound("vg/s/x/state") is None
    cleared = clearing_messages(TOPICS, "s", ["bat"])
    assert [m.topic for m in cleared] == ["ha/device/villagegrid_s/config", "vg/s/plan",
                                          "vg/s/setpoints/bat"]
    assert all(m.payload == b"" and m.retain for m in cleared)
