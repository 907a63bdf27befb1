"""The MQTT publisher of a service process.

Two threads of its own beside paho's network thread, so that a slow or absent broker never
blocks planning or HTTP:

- the *publish* thread wakes when a plan becomes current (:meth:`MqttPublisher.notify`, a
  set insertion) and every ``TICK_S``; for each site it takes the dispatch answer of the
  moment, the same document HTTP polls get, and publishes the plan summary, the setpoints and
  the discovery config when the answer changed (a new plan, or a new interval);
- the *inbound* thread runs what arrives on ``<base>/<site>/state`` and ``.../limits``
  through the handlers it was given (the same validation and re-plan path as HTTP) and
  answers on ``<base>/<site>/replies``.

paho reconnects with a doubling back-off up to ``mqtt_reconnect_max_s``; on each (re)connect
every site is published again from the database, so a broker restart loses no plan.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from api.delivery.client import make_client, publish
from api.delivery.discovery import discovery_message
from api.delivery.messages import (
    Message,
    clearing_messages,
    epoch_s,
    plan_message,
    reply_message,
    setpoint_messages,
)
from api.delivery.topics import Topics
from api.services.dispatch import CacheMiss, Dispatcher
from api.services.errors import ServiceError, validation_lines
from api.services.sites import SiteBook
from api.settings import Settings
from api.store import PlanRow, Store

log = logging.getLogger("villagegrid.mqtt")

#: How often the publish thread looks for a new interval or a plan made elsewhere [s].
TICK_S = 1.0
#: How often the list of sites is read again [s].
SITES_EVERY_S = 30.0
#: Handler of one inbound topic: (site, payload, now) -> outcome for the reply.
Handler = Callable[[str, bytes, datetime], dict[str, Any]]


class MqttPublisher:
    def __init__(self, settings: Settings, store: Store, sites: SiteBook,
                 dispatcher: Dispatcher, handlers: dict[str, Handler],
                 clock: Callable[[], datetime]):
        self._settings = settings
        self.topics = Topics(settings.mqtt_base_topic, settings.mqtt_discovery_prefix)
        self._store = store
        self._sites = sites
        self._dispatcher = dispatcher
        self._handlers = handlers
        self._clock = clock
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._dirty: set[str] = set()
        self._sent: dict[str, str] = {}  # site -> ETag of the answer last published
        self._discovery: dict[str, bytes] = {}  # site -> discovery payload last published
        self._devices: dict[str, list[str]] = {}  # site -> devices with setpoint topics
        self._kpis: dict[str, dict[str, Any]] = {}
        self._known: list[str] = []
        self._sites_read_at = -SITES_EVERY_S
        self._inbound: queue.Queue[tuple[str, str, bytes] | None] = queue.Queue(maxsize=10_000)
        self.connected = threading.Event()
        self.published = 0  #: messages handed to the broker connection (for tests and bench)
        self._client: Any = None
        self._threads = [
            threading.Thread(target=self._publish_loop, name="mqtt-publish", daemon=True),
            threading.Thread(target=self._inbound_loop, name="mqtt-inbound", daemon=True),
        ]

    # --- life -----------------------------------------------------------------------------
    def start(self) -> None:
        will = Message(self.topics.status(), b"offline")
        client = make_client(self._settings, will=will)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client
        client.connect_async(self._settings.mqtt_host, self._settings.mqtt_port, keepalive=30)
        client.loop_start()
        for thread in self._threads:
            thread.start()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._inbound.put(None)
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=10)
        if self._client is not None:
            if self.connected.is_set():
                publish(self._client, Message(self.topics.status(), b"offline"))
            self._client.disconnect()
            self._client.loop_stop()

    def notify(self, site: str) -> None:
        """A plan of ``site`` became current: publish it soon (never blocks)."""
        with self._lock:
            self._dirty.add(site)
        self._wake.set()

    def forget(self, site: str) -> None:
        """``site`` is gone: clear its retained discovery, plan and setpoints on the broker."""
        for message in clearing_messages(self.topics, site, self._devices.pop(site, [])):
            self._send(message)
        self._sent.pop(site, None)
        self._discovery.pop(site, None)

    # --- paho callbacks (network thread) --------------------------------------------------
    def _on_connect(self, client: Any, _userdata: Any, _flags: Any, reason: Any,
                    _properties: Any = None) -> None:
        if reason.is_failure:
            log.warning("the MQTT broker refused the connection: %s", reason)
            return
        log.info("connected to the MQTT broker at %s:%s", self._settings.mqtt_host,
                 self._settings.mqtt_port)
        client.subscribe([(topic, 1) for topic in self.topics.subscriptions()])
        self.connected.set()
        publish(client, Message(self.topics.status(), b"online"))
        self._resend_all()

    def _on_disconnect(self, _client: Any, _userdata: Any, _flags: Any, reason: Any,
                       _properties: Any = None) -> None:
        self.connected.clear()
        if not self._stop.is_set():
            log.warning("lost the MQTT broker (%s); reconnecting with back-off", reason)

    def _on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        if message.topic == self.topics.ha_status():
            if message.payload == b"online":
                log.info("Home Assistant came online: discovery is sent again")
                self._resend_all()
            return
        found = self.topics.parse_inbound(message.topic)
        if found is None:
            return
        try:
            self._inbound.put_nowait((found[0], found[1], bytes(message.payload)))
        except queue.Full:
            log.warning("inbound MQTT queue full: a message on %s was dropped", message.topic)

    def _resend_all(self) -> None:
        with self._lock:
            self._sent.clear()
            self._discovery.clear()
            self._sites_read_at = -SITES_EVERY_S
        self._wake.set()

    # --- publishing (publish thread) ------------------------------------------------------
    def _publish_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(TICK_S)
            self._wake.clear()
            if self._stop.is_set() or not self.connected.is_set():
                continue
            try:
                self.publish_due(self._clock())
            except Exception:  # noqa: BLE001 - a database hiccup must not end the loop
                log.exception("publishing plans to MQTT failed; retrying")

    def _site_list(self) -> list[str]:
        if time.monotonic() - self._sites_read_at >= SITES_EVERY_S:
            names = [row.site for row in self._sites.list_latest()]
            for gone in set(self._known) - set(names):
                self.forget(gone)
            self._known = names
            self._sites_read_at = time.monotonic()
        return self._known

    def publish_due(self, now: datetime) -> int:
        """Publish every site whose answer changed since last sent; returns how many."""
        with self._lock:
            dirty, self._dirty = self._dirty, set()
        names = self._site_list()
        if dirty - set(names):
            self._sites_read_at = -SITES_EVERY_S
            names = self._site_list()
        count = 0
        for name in names:
            try:
                count += self.publish_site(name, now, force=name in dirty)
            except ServiceError as exc:
                log.warning("no dispatch to publish for %s: %s", name, exc.message)
        return count

    def _answer(self, name: str, now: datetime) -> Any:
        try:
            return self._dispatcher.cached_answer(name, now, now)
        except CacheMiss:
            return self._dispatcher.answer(name, now, now)

    def publish_site(self, name: str, now: datetime, force: bool = False) -> bool:
        """Publish ``name``'s summary, setpoints and (when changed) discovery config if its
        dispatch answer is not the one last sent (or ``force``); True if it published."""
        found = self._answer(name, now)
        if not force and self._sent.get(name) == found.etag:
            return False
        doc = json.loads(found.body)
        interval_s = found.valid_until_s - epoch_s(doc["interval_start"])
        grace = self._settings.mqtt_expiry_grace_s
        messages = setpoint_messages(self.topics, doc, now.timestamp(), grace)
        messages.append(plan_message(self.topics, doc, self._plan_kpis(doc["plan_id"])))
        discovery = discovery_message(self.topics, doc, interval_s + grace)
        if self._discovery.get(name) != discovery.payload:
            messages.insert(0, discovery)
        if all([self._send(message) for message in messages]):
            self._sent[name] = found.etag
            self._discovery[name] = discovery.payload
            self._devices[name] = sorted(doc["setpoints"])
            return True
        return False

    def _send(self, message: Message) -> bool:
        sent = self._client is not None and publish(self._client, message)
        self.published += sent
        return sent

    def _plan_kpis(self, plan_id: str) -> dict[str, Any]:
        hit = self._kpis.get(plan_id)
        if hit is None:
            with self._store.reader() as s:
                text = s.scalar(select(PlanRow.summary_json).where(PlanRow.plan_id == plan_id))
            hit = (json.loads(text).get("kpis") or {}) if text else {}
            if len(self._kpis) > 4096:
                self._kpis.clear()
            self._kpis[plan_id] = hit
        return hit

    # --- inbound (inbound thread) ---------------------------------------------------------
    def _inbound_loop(self) -> None:
        while True:
            item = self._inbound.get()
            if item is None:
                return
            site, what, payload = item
            outcome = self.take(site, what, payload, self._clock())
            self._send(reply_message(self.topics, site, what, outcome))

    def take(self, site: str, what: str, payload: bytes, now: datetime) -> dict[str, Any]:
        """Run an inbound message through its handler; the outcome names what was wrong."""
        try:
            return {"ok": True, **self._handlers[what](site, payload, now)}
        except ValidationError as exc:
            return {"ok": False, "detail": f"the {what} message does not validate",
                    "errors": validation_lines(exc.errors())}
        except ServiceError as exc:
            return {"ok": False, "detail": exc.message, "errors": exc.errors}
        except Exception as exc:  # noqa: BLE001 - one bad message must not end the loop
            log.exception("handling an MQTT %s message of %s failed", what, site)
            return {"ok": False, "detail": f"{type(exc).__name__}: {exc}", "errors": []}
