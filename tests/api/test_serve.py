"""``villagegrid serve``: the real server on a loopback port, over TCP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_on_loopback_and_stops_cleanly(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "VILLAGEGRID_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "VILLAGEGRID_SCHEDULER_ENABLED": "false",
        "VILLAGEGRID_PLAN_POOL": "thread",
        "PYTHONPATH": str(ROOT),
    }
    cmd = [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen(cmd, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                ready = httpx.get(f"{base}/readyz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert ready.status_code == 200 and ready.json()["database"] == "sqlite"
        assert httpx.get(f"{base}/v1/sites").status_code == 401
        assert httpx.get(f"{base}/openapi.json").json()["info"]["title"] == "villagegrid"
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    # uvicorn shuts down gracefully on SIGTERM, then ends by that signal as process managers expect
    assert server.returncode in (0, -15), err
    assert "Traceback" not in err, err
    assert (tmp_path / "serve.db").exists()


@pytest.mark.parametrize("port", ["99999", "0", "http"])
def test_serve_refuses_a_port_out_of_range(port: str, capsys: pytest.CaptureFixture) -> None:
    from api.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--port", port])
    assert exit_.value.code == 2
    assert "--port: must" in capsys.readouterr().err
