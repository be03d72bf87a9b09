"""Modbus devices inside the running service: polled on their schedule into the same state,
the same /metrics conventions as SNMP (the profile's names with a `device` label, HELP and
TYPE from the map, the per-device self series), a silent meter unreachable after N polls,
and `poll_once` (what `tierwatch poll` and confirming polls use) routed to the collector."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from tests.helpers.modbus import modbus_device, model
from tierwatch.config import ConfigError, parse
from tierwatch.core.model import Status
from tierwatch.service import Service

pytestmark = pytest.mark.integration


async def test_modbus_devices_in_the_service(tmp_path: Path) -> None:
    async with contextlib.AsyncExitStack() as stack:
        gen, gen_addr = await stack.enter_async_context(modbus_device("gen-1", model("genset")))
        meter, meter_addr = await stack.enter_async_context(
            modbus_device("meter-1", model("meter")))
        config = parse(
            "site: {name: T}\n"
            f"store: {{url: 'sqlite:///{tmp_path}/store.sqlite'}}\n"
            "snmp: {unreachable_after: 2}\n"
            "modbus:\n  defaults: {interval: 1s, timeout: 0.3s, retries: 0}\n  devices:\n"
            f"    - {{id: gen-1, address: '{gen_addr}', profile: genset-controller,"
            " labels: {room: gen}}\n"
            f"    - {{id: meter-1, address: 'modbus://{meter_addr}', profile: power-meter}}\n"
        ).config
        service = Service(config)
        await service.start()
        try:
            async def until(check, limit: float = 20.0) -> None:
                deadline = asyncio.get_running_loop().time() + limit
                while not check() and asyncio.get_running_loop().time() < deadline:
                    await asyncio.sleep(0.05)

            devices = service.state.devices
            await until(lambda: devices["gen-1"].polls_total >= 1
                        and devices["meter-1"].polls_total >= 1)
            text = service.exporter.render().decode()
            assert 'generator_fuel_level_ratio{device="gen-1",room="gen"} 0.9' in text
            assert "# TYPE generator_run_seconds_total counter" in text
            assert 'meter_phase_volts{device="meter-1",phase="3"} 230.5' in text
            assert 'tierwatch_device_up{device="meter-1"} 1' in text
            assert devices["gen-1"].status is Status.OK

            gen.faults = [("start-failure", {})]
            result = await service.poll_once("gen-1")  # routed to the Modbus collector
            assert result.ok
            assert devices["gen-1"].status is Status.FAILED
            assert "fail_to_start" in devices["gen-1"].components["generator"].conditions

            meter.faults = [("silent", {})]
            await until(lambda: devices["meter-1"].reachable is False)
            assert devices["meter-1"].reachable is False
            assert devices["meter-1"].status is Status.UNKNOWN
            text = service.exporter.render().decode()
            assert 'tierwatch_modbus_refused_total{device="meter-1",reason="timeout"}' in text
            meter.faults = []
        finally:
            await service.stop()


@pytest.mark.parametrize(("section", "message"), [
    ("  devices:\n    - {id: g, address: '127.0.0.1:1', profile: nope}\n",
     "tierwatch.yaml:7: modbus.devices[0].profile: unknown Modbus profile 'nope'"),
    ("  devices:\n    - {id: g, address: '127.0.0.1:1', profile: power-meter, community: x}\n",
     "tierwatch.yaml:7: modbus.devices[0].community: unknown key"),
    ("  devices:\n    - {id: ups-a, address: '127.0.0.1:1', profile: power-meter}\n",
     "modbus.devices[0].id: duplicate device id 'ups-a' (first at devices[0])"),
    ("  devices:\n    - {id: g, address: '127.0.0.1:1', unit: 300, profile: power-meter}\n",
     "modbus.devices[0].unit"),
])
def test_modbus_config_errors_name_the_key(section: str, message: str) -> None:
    text = ("site: {name: T}\ncredentials: {c: {version: 2c, community: public}}\n"
            "devices:\n  - {id: ups-a, address: 127.0.0.1, credentials: c, profile: apc-ups}\n"
            "modbus:\n" + section)
    with pytest.raises(ConfigError) as err:
        parse(text)
    assert message in str(err.value)
