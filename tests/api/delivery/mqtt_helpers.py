"""Real MQTT for the tests: the machine's broker at 127.0.0.1:1883, brokers of our own
(``mosquitto`` started on a free port with a config written to tmp_path, stopped by PID),
and a subscriber that records what arrives."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
SHARED_HOST, SHARED_PORT = "127.0.0.1", 1883
WAIT_S = 20.0


def need(problem: str | None) -> None:
    """Skip with ``problem`` locally; fail with it under CI=true."""
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{problem} (CI=true: the MQTT tests must run)")
    pytest.skip(problem)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def shared_broker() -> tuple[str, int]:
    need(None if port_open(SHARED_HOST, SHARED_PORT)
         else f"no MQTT broker answers at {SHARED_HOST}:{SHARED_PORT}")
    return SHARED_HOST, SHARED_PORT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], Any], what: str, timeout_s: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")


def unique_topics() -> dict[str, str]:
    """Settings that keep this test's topics apart from every other user of the broker."""
    tag = uuid.uuid4().hex[:10]
    return {"mqtt_base_topic": f"vgtest-{tag}", "mqtt_discovery_prefix": f"hatest-{tag}"}


class Broker:
    """A mosquitto of the test's own on a free port; ``users`` turns on passwords and
    ``acl`` writes that ACL file."""

    def __init__(self, tmp_path: Path, users: dict[str, str] | None = None,
                 acl: str | None = None):
        if not os.path.exists(MOSQUITTO):
            need(f"no mosquitto binary at {MOSQUITTO}")
        self.port = free_port()
        self.dir = tmp_path / f"broker-{self.port}"
        self.dir.mkdir()
        # as root, mosquitto drops to the user "mosquitto", which cannot read tmp_path
        lines = [f"user {getpass.getuser()}", f"listener {self.port} 127.0.0.1",
                 "persistence false",
                 f"log_dest file {self.dir / 'mosquitto.log'}"]
        if users:
            passwd = self.dir / "passwd"
            passwd.write_text("")
            for user, password in users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, password],
                               check=True, capture_output=True)
            lines += ["allow_anonymous false", f"password_file {passwd}"]
        else:
            lines.append("allow_anonymous true")
        if acl is not None:
            (self.dir / "acl").write_text(acl)
            lines.append(f"acl_file {self.dir / 'acl'}")
        self.config = self.dir / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        process = self.process

        def listening() -> bool:
            if process.poll() is not None:
                log = self.dir / "mosquitto.log"
                raise AssertionError(f"mosquitto exited with {process.returncode}: "
                                     f"{log.read_text() if log.exists() else ''}")
            return port_open("127.0.0.1", self.port)

        wait_until(listening, "mosquitto to listen")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    properties: Any


@dataclass
class Subscriber:
    """An MQTT 5 client that records every message of its subscriptions."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    messages: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self._lock = threading.Lock()
        self.acks: dict[int, Any] = {}
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id=f"test-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5)
        if self.username:
            self.client.username_pw_set(self.username, self.password)
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish
        self.client.connect(self.host, self.port)
        self.client.loop_start()

    def _on_message(self, _c: Any, _u: Any, m: Any) -> None:
        with self._lock:
            self.messages.append(Received(m.topic, bytes(m.payload), bool(m.retain),
                                          getattr(m, "properties", None)))

    def _on_publish(self, _c: Any, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        self.acks[mid] = reason

    def subscribe(self, topic: str) -> None:
        """Subscribe and wait until the broker has sent the retained messages it holds
        (a marker published after the subscription comes back behind them)."""
        marker = f"{topic.rstrip('#').rstrip('/')}/__marker__/{uuid.uuid4().hex[:6]}"
        self.client.subscribe([(topic, 1), (marker, 1)])
        time.sleep(0.05)
        self.client.publish(marker, b"m", qos=1)
        wait_until(lambda: self.on(marker), f"the marker on {marker}")

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> int:
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        return int(info.mid)

    def on(self, topic: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if m.topic == topic]

    def last(self, topic: str) -> Received | None:
        found = self.on(topic)
        return found[-1] if found else None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
