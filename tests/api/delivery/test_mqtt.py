"""MQTT push against a real Mosquitto: the shared broker at 127.0.0.1:1883, and brokers the
tests start themselves for a restart."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from api.delivery.topics import Topics
from tests.api.conftest import SITE, Api, Clock
from tests.api.delivery.mqtt_helpers import (
    Broker,
    Received,
    Subscriber,
    shared_broker,
    unique_topics,
    wait_until,
)

BATTERY = "village-battery"


@pytest.fixture
def db_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    """SQLite only: what is tested here is the broker side."""
    return f"sqlite:///{tmp_path / 'villagegrid.db'}"


@pytest.fixture
def subscribers() -> Iterator[Callable[..., Subscriber]]:
    made: list[Subscriber] = []

    def make(host: str, port: int, **kw: str) -> Subscriber:
        made.append(Subscriber(host, port, **kw))
        return made[-1]

    yield make
    for sub in made:
        sub.close()


def mqtt_api(make_api: Callable[..., Api], host: str, port: int, clock: Clock | None = None,
             **overrides: object) -> tuple[Api, Topics]:
    names = unique_topics()
    api = make_api(clock, mqtt_enabled=True, mqtt_host=host, mqtt_port=port,
                   mqtt_reconnect_max_s=1, **names, **overrides)
    return api, Topics(names["mqtt_base_topic"], names["mqtt_discovery_prefix"])


def delete_site(api: Api, site: str) -> None:
    from sqlalchemy import delete

    from api.store import CurrentPlan, PlanRow, SiteVersion, Store

    store = Store(api.settings.database_url)
    try:
        with store.writer() as s:
            for table in (CurrentPlan, PlanRow, SiteVersion):
                s.execute(delete(table).where(table.site == site))
    finally:
        store.dispose()


def plan_of(sub: Subscriber, topic: str, plan_id: str) -> dict | None:
    msg = sub.last(topic)
    if msg is None or not msg.payload:
        return None
    body = json.loads(msg.payload)
    return body if body.get("plan_id") == plan_id else None


def planned(make_api: Callable[..., Api], subscribers: Callable[..., Subscriber]
            ) -> tuple[Api, Topics, Subscriber]:
    """An app on the shared broker, a subscriber to all its topics, and the day planned
    (its summary seen by the subscriber)."""
    host, port = shared_broker()
    api, topics = mqtt_api(make_api, host, port)
    sub = subscribers(host, port)
    sub.subscribe(f"{topics.base}/#")
    api.put_site()
    first = api.plan({"date": "2026-07-01"})
    wait_until(lambda: plan_of(sub, topics.plan(SITE), first["plan_id"]), "the first plan")
    return api, topics, sub


def test_a_plan_reaches_a_subscriber_with_discovery_and_expiry(
    make_api: Callable[..., Api], subscribers: Callable[..., Subscriber]
) -> None:
    host, port = shared_broker()
    api, topics = mqtt_api(make_api, host, port, mqtt_expiry_grace_s=60)
    sub = subscribers(host, port)
    sub.subscribe(f"{topics.base}/#")
    sub.subscribe(topics.discovery(SITE))
    api.put_site()
    plan = api.plan({"date": "2026-07-01"})
    setpoints = wait_until(lambda: plan_of(sub, topics.setpoints(SITE, BATTERY), plan["plan_id"]),
                           "the battery's setpoints of the new plan")
    doc = api.dispatch().json()  # the same document HTTP controllers poll
    assert {k: setpoints[k] for k in doc["setpoints"][BATTERY]} == doc["setpoints"][BATTERY]
    assert setpoints["valid_until"] == doc["valid_until"] == "2026-07-01T10:15:00+08:00"
    expiry = sub.last(topics.setpoints(SITE, BATTERY)).properties.MessageExpiryInterval
    # 10:07 -> 10:15 is 480 s, plus the 60 s grace (the broker may have counted a second off)
    assert 530 <= expiry <= 540
    summary = wait_until(lambda: plan_of(sub, topics.plan(SITE), plan["plan_id"]), "summary")
    assert summary["status"] == "optimal" and summary["stale"] is False
    assert summary["kpis"] == plan["kpis"]
    config = json.loads(wait_until(lambda: sub.last(topics.discovery(SITE)), "discovery").payload)
    charge = config["cmps"][f"{BATTERY}_charge_kw"]
    assert (charge["unit_of_measurement"], charge["device_class"]) == ("kW", "power")
    assert charge["state_topic"] == topics.setpoints(SITE, BATTERY)
    assert config["cmps"][f"{BATTERY}_soc_kwh"]["device_class"] == "energy_storage"
    assert config["cmps"]["plan_stale"]["p"] == "binary_sensor"
    wanted = {f"{d}_{q}" for d, qs in doc["setpoints"].items() for q in qs}
    assert wanted <= set(config["cmps"])

    # Home Assistant's birth message makes the service send discovery again
    before = len(sub.on(topics.discovery(SITE)))
    sub.publish(topics.ha_status(), b"online")
    wait_until(lambda: len(sub.on(topics.discovery(SITE))) > before, "discovery sent again")

    # a site that is gone from the database has its retained discovery, plan and setpoints
    # cleared (the API has no delete yet: the rows are removed by hand)
    delete_site(api, SITE)
    api.app.state.services.mqtt._resend_all()  # read the site list now, not in 30 s
    wait_until(lambda: (sub.last(topics.discovery(SITE)) or Received("", b"x", True, None)
                        ).payload == b"", "the discovery config cleared")
    late = subscribers(host, port)
    late.subscribe(f"{topics.base}/{SITE}/#")
    late.subscribe(topics.discovery(SITE))
    retained = [m for m in late.messages if m.retain and m.payload]
    assert retained == []


def test_a_setpoint_expires_on_the_broker(
    make_api: Callable[..., Api], subscribers: Callable[..., Subscriber]
) -> None:
    host, port = shared_broker()
    clock = Clock(datetime(2026, 7, 1, 2, 14, 58, tzinfo=UTC))  # 2 s before 10:15 local
    api, topics = mqtt_api(make_api, host, port, clock, mqtt_expiry_grace_s=0)
    sub = subscribers(host, port)
    sub.subscribe(f"{topics.base}/#")
    api.put_site()
    plan = api.plan({"date": "2026-07-01"})
    wait_until(lambda: plan_of(sub, topics.setpoints(SITE, BATTERY), plan["plan_id"]),
               "the setpoints")
    assert sub.last(topics.setpoints(SITE, BATTERY)).properties.MessageExpiryInterval <= 2
    time.sleep(3.5)
    late = subscribers(host, port)
    late.subscribe(f"{topics.base}/{SITE}/#")
    assert late.on(topics.setpoints(SITE, BATTERY)) == []  # expired on the broker
    assert plan_of(late, topics.plan(SITE), plan["plan_id"])  # the summary stays


def test_telemetry_over_mqtt_takes_the_http_path(
    make_api: Callable[..., Api], subscribers: Callable[..., Subscriber]
) -> None:
    api, topics, sub = planned(make_api, subscribers)
    state = topics.inbound(SITE, "state")
    sub.publish(state, json.dumps({"at": "2026-07-01T10:07:00", "battery_soc_kwh": {}}).encode())
    bad = json.loads(wait_until(lambda: sub.last(topics.replies(SITE)), "a reply").payload)
    assert bad["ok"] is False and bad["topic"] == "state"
    assert any(e.startswith("at:") for e in bad["errors"])  # naive time: named
    body = {"at": "2026-07-01T10:07:00+08:00", "battery_soc_kwh": {BATTERY: 120.0},
            "replan": True}
    sub.publish(state, json.dumps(body).encode())
    reply = json.loads(wait_until(lambda: len(sub.on(topics.replies(SITE))) > 1 and sub.last(
        topics.replies(SITE)), "the second reply").payload)
    assert reply["ok"] and reply["replanned"] and reply["plan"]["kind"] == "replan"
    new_id = reply["plan"]["plan_id"]
    wait_until(lambda: plan_of(sub, topics.setpoints(SITE, BATTERY), new_id),
               "setpoints of the re-plan")
    assert api.dispatch().json()["plan_id"] == new_id


def test_a_broker_restart_loses_no_plan(
    tmp_path, make_api: Callable[..., Api], subscribers: Callable[..., Subscriber]  # type: ignore[no-untyped-def]
) -> None:
    broker = Broker(tmp_path)
    try:
        api, topics = mqtt_api(make_api, "127.0.0.1", broker.port)
        sub = subscribers("127.0.0.1", broker.port)
        sub.subscribe(f"{topics.base}/#")
        api.put_site()
        first = api.plan({"date": "2026-07-01"})
        wait_until(lambda: plan_of(sub, topics.plan(SITE), first["plan_id"]), "the first plan")
        sub.close()
        broker.stop()  # no persistence: the broker forgets every retained message
        wait_until(lambda: not api.app.state.services.mqtt.connected.is_set(), "disconnect")
        # planning and HTTP go on without the broker
        second = api.plan({"date": "2026-07-01", "mode": "carbon"})
        assert api.dispatch().json()["plan_id"] == second["plan_id"]
        broker.start()
        late = subscribers("127.0.0.1", broker.port)
        wait_until(lambda: api.app.state.services.mqtt.connected.is_set(), "reconnect")
        late.subscribe(f"{topics.base}/#")
        wait_until(lambda: plan_of(late, topics.setpoints(SITE, BATTERY), second["plan_id"]),
                   "the plan made while the broker was down")
        assert plan_of(late, topics.plan(SITE), second["plan_id"])
    finally:
        broker.stop()


def test_a_limit_over_mqtt_replans_and_is_pushed(
    make_api: Callable[..., Api], subscribers: Callable[..., Subscriber]
) -> None:
    api, topics, sub = planned(make_api, subscribers)
    limit = {"kind": "import_cap", "cap_kw": 0, "start": "2026-07-01T10:00:00+08:00",
             "end": "2026-07-01T12:00:00+08:00", "source": "county dispatch"}
    sub.publish(topics.inbound(SITE, "limits"), json.dumps(limit).encode())
    reply = json.loads(wait_until(lambda: sub.last(topics.replies(SITE)), "a reply").payload)
    assert reply["ok"] and reply["topic"] == "limits" and reply["via"] == "mqtt"
    new_id = reply["plans"][0]["plan_id"]
    summary = wait_until(lambda: plan_of(sub, topics.plan(SITE), new_id), "the re-plan")
    assert [x["kind"] for x in summary["limits"]] == ["import_cap"]
    grid = wait_until(lambda: plan_of(sub, topics.setpoints(SITE, "grid"), new_id), "grid")
    assert grid["import_kw"] == 0
