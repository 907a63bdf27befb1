"""The Modbus bridge against a pymodbus server that simulates the inverter (its own process,
stopped by PID), and the real app over HTTP."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.bridge.modbus import Bridge
from api.bridge.sunspec import point_offsets
from sites.load import site_from_data
from tests.api.conftest import SITE, SITE_YAML, Api, Clock
from tests.api.delivery.mqtt_helpers import free_port, port_open, wait_until

SIM = Path(__file__).with_name("inverter_sim.py")
#: 18:00 local (UTC+8): the demo village's battery discharges in the evening
SIX_PM = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
MODEL_AT = 40000 + 2 + 2 + 66  # after "SunS" and model 1


def map_yaml(port: int) -> str:
    return f"""
modbus:
  poll_s: 10
  telemetry_s: 60
  devices:
    - device: village-battery
      port: {port}
      sunspec_model: 124
      safe: {{charge_kw: 0, discharge_kw: 0}}
    - device: biogas-genset
      port: {port}
      setpoints:
        - {{quantity: power_kw, address: 100, scale: 0.1, unit: kW}}
      measures:
        - {{field: genset_kw, address: 200, scale: 0.1, unit: kW}}
      safe: {{power_kw: 0}}
"""


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'villagegrid.db'}"


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    errors = tmp_path / "simulator.log"
    with errors.open("wb") as err:
        process = subprocess.Popen([sys.executable, str(SIM), str(port)],
                                   stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_until(lambda: process.poll() is not None or port_open("127.0.0.1", port),
                   "the simulator to listen")
        assert process.poll() is None, errors.read_text()
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def as_controller(api: Api) -> TestClient:
    """An HTTP client on the running app with the site's controller key (the app's lifespan
    is already running: this client does not start it again)."""
    return TestClient(api.app, headers=api.auth("controller"))


def registers(port: int, address: int, count: int) -> list[int]:
    from pymodbus.client import ModbusTcpClient

    client = ModbusTcpClient("127.0.0.1", port=port)
    try:
        client.connect()
        return list(client.read_holding_registers(address, count=count, device_id=1).registers)
    finally:
        client.close()


def storage(port: int) -> dict[str, int]:
    raw = registers(port, MODEL_AT, 26)
    return {name: raw[offset] for name, (offset, _) in point_offsets(124).items()}


def test_the_bridge_writes_the_plan_reads_back_and_falls_back_to_safe_mode(
    make_api: Callable[..., Api], simulator: int, caplog: pytest.LogCaptureFixture
) -> None:
    import yaml

    text = SITE_YAML + map_yaml(simulator)
    api = make_api(Clock(SIX_PM))
    api.put_site(text)
    api.plan({"date": "2026-07-01"})
    planned = api.dispatch().json()
    battery = planned["setpoints"]["village-battery"]
    genset = planned["setpoints"]["biogas-genset"]["power_kw"]
    assert battery["discharge_kw"] > 1  # the evening peak is served from the battery

    site = site_from_data(yaml.safe_load(text), "test")
    controller = as_controller(api)
    bridge = Bridge(site, controller)
    try:
        caplog.set_level(logging.INFO, logger="villagegrid.bridge")
        bridge.step(SIX_PM)
        regs = storage(simulator)
        assert regs["StorCtl_Mod"] == 2  # discharge
        # OutWRte in 0.1 % of WChaMax (100 kW): discharge_kw / 100 kW × 1000
        assert regs["OutWRte"] == round(battery["discharge_kw"] / 100 * 1000)
        assert regs["InWRte"] == 0
        end = datetime.fromisoformat(planned["intervals"][-1]["end"])
        assert regs["InOutWRte_RvrtTms"] == int((end - SIX_PM).total_seconds())
        assert registers(simulator, 100, 1) == [round(genset / 0.1)]
        # read back: SoC 55.0 % of 200 kWh, genset 12.3 kW, posted as telemetry
        report = bridge.last_report
        assert report is not None and report["site"] == SITE
        rows = api.client.get(f"/v1/sites/{SITE}/dispatch", headers=api.auth("controller"))
        assert rows.status_code == 200

        # the service goes away: the bridge keeps the plan until its last interval ends ...
        bridge.http = httpx.Client(base_url=f"http://127.0.0.1:{free_port()}", timeout=2)
        later = SIX_PM + timedelta(minutes=20)
        bridge.step(later)
        assert "unreachable" in caplog.text and bridge.mode == "plan"
        # (the plan it holds is the one fetched before its telemetry made the service re-plan)
        held = bridge.doc["intervals"][1]  # type: ignore[index]
        assert held["start"] == "2026-07-01T18:15:00+08:00"
        second = held["setpoints"]["village-battery"]
        assert storage(simulator)["OutWRte"] == round(second["discharge_kw"] / 100 * 1000)
        # ... then applies the safe mode within one interval of it: battery idle, genset off
        bridge.step(end + timedelta(seconds=1))
        regs = storage(simulator)
        assert bridge.mode == "safe" and "safe mode" in caplog.text
        assert (regs["StorCtl_Mod"], regs["InWRte"], regs["OutWRte"]) == (3, 0, 0)
        assert registers(simulator, 100, 1) == [0]

        # the service is back: the plan is followed again
        bridge.http = controller
        api.clock.now = SIX_PM + timedelta(minutes=5)
        bridge.step(SIX_PM + timedelta(minutes=5))
        assert bridge.mode == "plan" and storage(simulator)["StorCtl_Mod"] == 2
    finally:
        bridge.close()


def test_telemetry_from_the_registers(make_api: Callable[..., Api], simulator: int) -> None:
    import yaml
    from sqlalchemy import select

    from api.store import Store, TelemetryRow

    text = SITE_YAML + map_yaml(simulator)
    api = make_api(Clock(SIX_PM))
    api.put_site(text)
    site = site_from_data(yaml.safe_load(text), "test")
    controller = as_controller(api)
    bridge = Bridge(site, controller)
    try:
        assert bridge.report(SIX_PM) is not None
        assert bridge.report(SIX_PM + timedelta(seconds=30)) is None  # every telemetry_s
        store = Store(api.settings.database_url)
        try:
            with store.reader() as s:
                (body,) = s.scalars(select(TelemetryRow.body_json)).all()
        finally:
            store.dispose()
        import json

        data = json.loads(body)
        assert data["battery_soc_kwh"] == {"village-battery": pytest.approx(110.0)}
        assert data["genset_kw"] == {"biogas-genset": pytest.approx(12.3)}
    finally:
        bridge.close()


def test_the_command_applies_the_safe_mode_when_no_plan_was_ever_received(
    simulator: int, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from api.cli import main

    site_file = tmp_path / "site.yaml"
    site_file.write_text(SITE_YAML + map_yaml(simulator))
    dead = f"http://127.0.0.1:{free_port()}"
    base = ["bridge", "modbus", "--site", SITE, "--site-file", str(site_file), "--url", dead,
            "--key", "k"]
    assert main([*base, "--once"]) == 0
    assert "safe mode" in caplog.text and "no plan was ever received" in caplog.text
    regs = storage(simulator)
    assert (regs["StorCtl_Mod"], regs["InWRte"], regs["OutWRte"]) == (3, 0, 0)


@pytest.mark.parametrize("change,message", [
    (["--url", "ftp://x"], "--url"),
    (["--site", "other-village"], "--site-file"),
])
def test_the_command_refuses_bad_arguments_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: list[str], message: str
) -> None:
    from api.cli import main

    site_file = tmp_path / "site.yaml"
    site_file.write_text(SITE_YAML + map_yaml(1502))
    args = {"--site": SITE, "--site-file": str(site_file), "--url": "http://127.0.0.1:1",
            "--key": "k"}
    args.update(dict(zip(change[::2], change[1::2], strict=True)))
    assert main(["bridge", "modbus", *[x for kv in args.items() for x in kv], "--once"]) == 2
    assert message in capsys.readouterr().err


def test_a_register_map_that_does_not_fit_is_refused() -> None:
    import yaml

    from sites.load import SiteError

    bad = map_yaml(1502).replace("unit: kW}\n      measures", "unit: W}\n      measures")
    with pytest.raises(SiteError) as exc:
        site_from_data(yaml.safe_load(SITE_YAML + bad), "test")
    assert any("unit" in e and "power_kw is in kW" in e for e in exc.value.errors)
    bad = map_yaml(1502).replace("device: biogas-genset", "device: no-genset")
    with pytest.raises(SiteError) as exc:
        site_from_data(yaml.safe_load(SITE_YAML + bad), "test")
    assert any("no device named 'no-genset'" in e for e in exc.value.errors)
