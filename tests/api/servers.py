"""Real server processes for tests: ``villagegrid serve`` on a free loopback port, started
and stopped by the test (by PID)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One ``villagegrid serve`` process with ``VILLAGEGRID_*`` settings from ``settings``."""

    def __init__(self, db_url: str, cwd: Path, **settings: object):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "VILLAGEGRID_DATABASE_URL": db_url,
               "VILLAGEGRID_SCHEDULER_ENABLED": "false", "VILLAGEGRID_PLAN_POOL": "thread"}
        env.update({f"VILLAGEGRID_{k.upper()}": str(v) for k, v in settings.items()})
        cmd = [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port),
               "--log-level", "warning"]
        self.log = cwd / f"server-{self.port}.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=out)
        self.client = httpx.Client(base_url=self.base, timeout=120)

    def wait_ready(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server ended: {self.log.read_text()}")
            try:
                if self.client.get("/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server did not become ready: {self.log.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        self.client.close()
        if self.process.poll() is None:
            os.kill(self.process.pid, sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)


def start_servers(db_url: str, cwd: Path, count: int, **settings: object) -> list[Server]:
    servers = [Server(db_url, cwd, **settings) for _ in range(count)]
    try:
        for server in servers:
            server.wait_ready()
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers
