"""The documented Mosquitto ACL, enforced by a broker the test starts with it: a site's
topics are written only by that site's controller."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from api.delivery.acl import mosquitto_acl
from api.store import Store, TelemetryRow
from tests.api.conftest import SITE, Api
from tests.api.delivery.mqtt_helpers import Broker, Subscriber, unique_topics, wait_until
from tests.api.delivery.test_mqtt import db_url, plan_of, subscribers  # noqa: F401 - fixtures

USERS = {"villagegrid": "service-secret", SITE: "site-secret", "other-village": "other-secret"}


def _telemetry_rows(api: Api) -> int:
    store = Store(api.settings.database_url)
    try:
        with store.reader() as s:
            return int(s.scalar(select(func.count()).select_from(TelemetryRow)) or 0)
    finally:
        store.dispose()


def test_only_the_sites_controller_writes_its_topics(
    tmp_path: Path, make_api: Callable[..., Api], subscribers: Callable[..., Subscriber]  # noqa: F811
) -> None:
    from api.delivery.topics import Topics

    names = unique_topics()
    topics = Topics(names["mqtt_base_topic"], names["mqtt_discovery_prefix"])
    broker = Broker(tmp_path, users=USERS, acl=mosquitto_acl(topics))
    try:
        api = make_api(mqtt_enabled=True, mqtt_host="127.0.0.1", mqtt_port=broker.port,
                       mqtt_username="villagegrid", mqtt_password=USERS["villagegrid"], **names)
        api.put_site()
        plan = api.plan({"date": "2026-07-01"})
        own = subscribers("127.0.0.1", broker.port, username=SITE, password=USERS[SITE])
        other = subscribers("127.0.0.1", broker.port, username="other-village",
                            password=USERS["other-village"])
        own.client.subscribe(f"{topics.base}/{SITE}/#", qos=1)
        other.client.subscribe(f"{topics.base}/{SITE}/#", qos=1)
        wait_until(lambda: plan_of(own, topics.plan(SITE), plan["plan_id"]),
                   "the plan at the site's own controller")
        body = {"at": "2026-07-01T10:07:00+08:00", "battery_soc_kwh": {"village-battery": 90.0}}
        state = topics.inbound(SITE, "state")

        mid = other.publish(state, json.dumps(body).encode())
        reason = wait_until(lambda: other.acks.get(mid), "the broker's answer to the intruder")
        assert reason.is_failure and "authori" in str(reason).lower()
        mid = own.publish(state, json.dumps(body).encode())
        assert not wait_until(lambda: own.acks.get(mid), "the broker's answer").is_failure
        reply = wait_until(lambda: own.last(topics.replies(SITE)), "the service's reply")
        assert json.loads(reply.payload)["ok"] is True
        assert _telemetry_rows(api) == 1  # only the site's own controller got through
        # nor does another site's controller read this site's plan
        assert other.on(topics.plan(SITE)) == [] and other.on(topics.replies(SITE)) == []
        # a wrong password is refused outright
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        intruder = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        intruder.username_pw_set(SITE, "wrong")
        try:
            intruder.connect("127.0.0.1", broker.port)
            rc = intruder.loop(timeout=5)
            assert rc != mqtt.MQTT_ERR_SUCCESS or not intruder.is_connected()
        except ConnectionRefusedError:
            pass
        finally:
            intruder.disconnect()
    finally:
        broker.stop()
