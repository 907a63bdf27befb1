"""What the service publishes, made from the same dispatch document that HTTP polls get.

Pure functions: a dispatch document (and the plan's KPIs) in, :class:`Message` values out.
The publisher only sends them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.delivery.topics import Topics

#: QoS of setpoints and the plan summary: at least once.
QOS_SETPOINTS = 1


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    qos: int = QOS_SETPOINTS
    retain: bool = True
    #: MQTT 5 message expiry interval [s]; None: the message does not expire
    expiry_s: int | None = None


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()


def epoch_s(iso: str) -> int:
    """Epoch seconds of an ISO 8601 time with its offset."""
    return int(datetime.fromisoformat(iso).timestamp())


def plan_message(topics: Topics, doc: dict[str, Any], kpis: dict[str, Any]) -> Message:
    """The retained plan summary of a site: status, stale flag, valid until, KPIs."""
    body = {key: doc.get(key) for key in ("site", "plan_id", "status", "stale", "fallback",
                                          "interval_start", "valid_until")}
    body["limits"] = doc.get("limits", [])
    body["kpis"] = kpis
    return Message(topics.plan(doc["site"]), dumps(body))


def setpoint_messages(topics: Topics, doc: dict[str, Any], now_s: float, grace_s: int
                      ) -> list[Message]:
    """One retained message per device with the current interval's setpoints.

    Each expires ``grace_s`` after its interval ends, so a setpoint nobody renews dies on
    the broker instead of being read as current.
    """
    valid_until_s = epoch_s(doc["valid_until"])
    expiry_s = max(1, int(valid_until_s - now_s) + grace_s)
    head = {"plan_id": doc["plan_id"], "interval_start": doc["interval_start"],
            "valid_until": doc["valid_until"], "stale": doc["stale"]}
    return [
        Message(topics.setpoints(doc["site"], device), dumps({**head, **quantities}),
                expiry_s=expiry_s)
        for device, quantities in sorted(doc["setpoints"].items())
    ]


def clearing_messages(topics: Topics, site: str, devices: list[str]) -> list[Message]:
    """Empty retained payloads: the broker forgets the site's discovery, plan and setpoints."""
    topics_ = [topics.discovery(site), topics.plan(site)]
    topics_ += [topics.setpoints(site, device) for device in devices]
    return [Message(topic, b"") for topic in topics_]


def reply_message(topics: Topics, site: str, what: str, outcome: dict[str, Any]) -> Message:
    """The outcome of a message taken in from ``<base>/<site>/<what>`` (not retained)."""
    return Message(topics.replies(site), dumps({"topic": what, **outcome}), retain=False)
