"""MQTT delivery: how soon setpoints reach a subscriber, and how many sites one process
can publish for.

Runs the real app in this process (SQLite in a temporary folder, solves in threads) with
MQTT publishing on, against a broker (default the machine's Mosquitto at 127.0.0.1:1883;
topics are namespaced per run so nothing else on the broker is touched), and a subscriber
on the same broker.

1. Latency: the demo village is re-planned ``--runs`` times; for each plan, the time from
   the moment it became current (the pointer moved in the database) to the moment the
   subscriber holds the battery's setpoints of that plan.
2. Capacity: ``--sites`` copies of the demo village, each with a plan; every site's summary,
   setpoints and discovery are published ``--rounds`` times (forced, as at an interval
   boundary), timed until the subscriber has received every message of the round. From the
   time per site follows how many sites one process could publish for at one-minute
   intervals (a round of all sites every 60 s).

    python bench/mqtt_delivery.py [--broker 127.0.0.1:1883] [--runs 10] [--sites 50]
                                  [--rounds 5]

Measured on the two-core development machine (shared with other jobs), Mosquitto 2.0.11:
see the figures printed by a run; docs/api.md ("MQTT") quotes one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import yaml
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.app import create_app  # noqa: E402
from api.services.keys import create_key  # noqa: E402
from api.settings import Settings  # noqa: E402
from api.store import Store  # noqa: E402

SITE_YAML = (ROOT / "sites" / "demo_village.yaml").read_text()
NOW = datetime(2026, 7, 1, 2, 7, tzinfo=UTC)


class Counter:
    """A subscriber that notes when each (topic, plan_id) first arrives."""

    def __init__(self, host: str, port: int, topic: str):
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.seen: dict[tuple[str, str], float] = {}
        self.count = 0
        self.lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5,
                                  client_id=f"bench-{uuid.uuid4().hex[:8]}")
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.subscribe(topic, qos=1)
        self.client.loop_start()

    def _on_message(self, _c: object, _u: object, m: object) -> None:
        at = time.perf_counter()
        try:
            plan_id = json.loads(m.payload).get("plan_id", "")  # type: ignore[attr-defined]
        except ValueError:
            plan_id = ""
        with self.lock:
            self.count += 1
            self.seen.setdefault((m.topic, plan_id), at)  # type: ignore[attr-defined]

    def wait(self, check: object, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not check():  # type: ignore[operator]
            if time.monotonic() > deadline:
                raise SystemExit("timed out waiting for the subscriber")
            time.sleep(0.001)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", default="127.0.0.1:1883")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    host, _, port_text = args.broker.partition(":")
    port = int(port_text or 1883)
    base = f"vgbench-{uuid.uuid4().hex[:8]}"
    folder = tempfile.mkdtemp()
    settings = Settings(database_url=f"sqlite:///{folder}/bench.db", scheduler_enabled=False,
                        plan_pool="thread", mqtt_enabled=True, mqtt_host=host, mqtt_port=port,
                        mqtt_base_topic=base, mqtt_discovery_prefix=f"{base}-ha")
    app = create_app(settings, clock=lambda: NOW)
    store = Store(settings.database_url)
    token = create_key(store, "admin", None, NOW)[1]
    store.dispose()
    auth = {"Authorization": f"Bearer {token}"}
    sub = Counter(host, port, f"{base}/#")
    with TestClient(app) as client:
        services = app.state.services
        moved_at: dict[str, float] = {}
        plan_service, notify = services.plan_service, services.plan_service._on_moved

        def mark(site: str) -> None:  # the plan has just become current
            moved_at["last"] = time.perf_counter()
            notify(site)

        plan_service._on_moved = mark
        client.post("/v1/sites", content=SITE_YAML,
                    headers={**auth, "Content-Type": "application/yaml"}).raise_for_status()
        latencies = []
        topic = f"{base}/demo-village/setpoints/village-battery"
        for run in range(args.runs):
            body = {"date": "2026-07-01", "mode": "cost" if run % 2 else "carbon"}
            r = client.post("/v1/sites/demo-village/plans", json=body, headers=auth)
            r.raise_for_status()
            key = (topic, r.json()["plan_id"])
            sub.wait(lambda key=key: key in sub.seen)
            latencies.append((sub.seen[key] - moved_at["last"]) * 1000)
        print(f"plan current -> setpoints at a subscriber, {args.runs} plans: "
              f"median {statistics.median(latencies):.1f} ms, max {max(latencies):.1f} ms")

        names = [f"bench-{i:04d}" for i in range(args.sites)]
        for name in names:
            text = yaml.safe_dump({**yaml.safe_load(SITE_YAML), "name": name})
            client.post("/v1/sites", content=text,
                        headers={**auth, "Content-Type": "application/yaml"}).raise_for_status()
            client.post(f"/v1/sites/{name}/plans", json={"horizon_hours": 2},
                        headers=auth).raise_for_status()
        publisher = services.mqtt
        publisher.publish_due(NOW)  # every site known and sent once
        time.sleep(1.0)
        per_site = []
        for _ in range(args.rounds):
            before_sent, before_seen = publisher.published, sub.count
            t0 = time.perf_counter()
            for name in names:
                publisher.publish_site(name, NOW, force=True)
            sent = publisher.published - before_sent
            sub.wait(lambda before=before_seen, sent=sent: sub.count - before >= sent)
            per_site.append((time.perf_counter() - t0) / len(names))
        best = statistics.median(per_site)
        print(f"publishing {args.sites} sites ({sent // args.sites} messages each): "
              f"{best * 1000:.2f} ms per site, delivered -> about {int(60 / best):,} sites "
              f"per process at one-minute intervals (one core's worth)")
    sub.close()


if __name__ == "__main__":
    main()
