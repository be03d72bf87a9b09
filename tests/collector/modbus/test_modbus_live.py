"""The Modbus collector against real pymodbus servers on loopback, one per shipped map.

Each server is the simulator's (sim/modbus.py): it encodes the values the test gives into
registers in the map's word order and serves them over TCP; the collector reads them back
through pymodbus's client, its own checks and the profile.
"""

from __future__ import annotations

import logging

import pytest

from collector.modbus.component import ModbusPolling
from collector.modbus.profile import ModbusProfile, ModbusProfileDef, load_profiles
from tests.helpers.modbus import config, modbus_device, model
from tests.helpers.samples import component, sample_value
from tierwatch.core.model import Status

pytestmark = pytest.mark.integration


async def _poll(address: str, device_id: str, profile: str, **extra: object):
    polling = ModbusPolling(config([{"id": device_id, "address": address,
                                     "profile": profile, **extra}]))
    try:
        return await polling.poll(device_id), polling
    finally:
        await polling.stop()


async def test_generator_controller_map() -> None:
    async with modbus_device("gen-1", model("genset")) as (_, address):
        polling = ModbusPolling(config([{"id": "gen-1", "address": address,
                                         "profile": "genset-controller"}]))
        first = await polling.poll("gen-1")
        result = await polling.poll("gen-1")
        await polling.stop()
    # the map's holding registers 1000..1023 have holes the device does not map: the first
    # read across them is refused (exception 2, counted once), then read without the holes
    assert first.ok and first.message == "", first.message
    assert polling.counters.refused == {("gen-1", "exception"): 1}
    assert result.ok, result.message
    assert result.message == ""
    s = result.samples
    assert sample_value(s, "generator_engine_running") == 0
    assert sample_value(s, "generator_control_mode") == 1  # auto
    assert sample_value(s, "generator_fuel_level_ratio") == 0.9
    assert sample_value(s, "generator_fuel_tank_liters") == 1000
    assert sample_value(s, "generator_rated_power_watts") == 100_000
    assert sample_value(s, "generator_battery_volts") == 27.4
    assert sample_value(s, "generator_run_seconds_total") == 1_245_600
    assert sample_value(s, "generator_alarm", {"alarm": "fail_to_start"}) == 0
    assert sample_value(s, "generator_active_power_watts") == 0
    assert component(result, "generator").status is Status.OK
    # 14 holding registers (1000-1002, 1010-1016, 1020-1023) and 6 discrete inputs
    assert result.varbinds == 20
    assert [(b.function, b.start, b.count) for b in polling.devices["gen-1"].plan.blocks] == [
        ("holding", 1000, 3), ("holding", 1010, 7), ("holding", 1020, 4), ("discrete", 0, 6)]
    assert result.metadata["generator_run_seconds_total"].type == "counter"


async def test_generator_start_failure_and_running() -> None:
    async with modbus_device("gen-1", model("genset")) as (device, address):
        device.faults = [("start-failure", {})]
        failed, _ = await _poll(address, "gen-1", "genset-controller")
        device.faults = [("running", {})]
        running, _ = await _poll(address, "gen-1", "genset-controller")
    gen = component(failed, "generator")
    assert gen.status is Status.FAILED
    assert "fail_to_start" in gen.conditions and "shutdown" in gen.conditions
    assert sample_value(failed.samples, "generator_alarm", {"alarm": "fail_to_start"}) == 1
    assert sample_value(running.samples, "generator_active_power_watts") == 40_000
    assert sample_value(running.samples, "generator_fuel_rate_liters_per_hour") == 12.5
    assert component(running, "generator").status is Status.OK


async def test_power_meter_map() -> None:
    async with modbus_device("meter-1", model("meter")) as (_, address):
        result, _ = await _poll(address, "meter-1", "power-meter")
    assert result.ok and result.message == "", result.message
    s = result.samples
    # float32 values: the nearest single-precision number to what the meter holds
    assert sample_value(s, "meter_power_watts") == 52_000
    assert sample_value(s, "meter_power_factor_ratio") == pytest.approx(0.96, abs=1e-7)
    assert sample_value(s, "meter_frequency_hertz") == 50.0
    assert sample_value(s, "meter_energy_joules_total") == 500_000 * 3.6e6
    assert sample_value(s, "meter_phase_volts", {"phase": "1"}) == pytest.approx(231.2, abs=1e-4)
    assert sample_value(s, "meter_phase_volts", {"phase": "3"}) == 230.5
    assert sample_value(s, "meter_phase_current_amperes", {"phase": "2"}) == pytest.approx(
        76.4, abs=1e-4)
    assert component(result, "meter").status is Status.OK


async def test_crac_gateway_map_behind_a_unit_id() -> None:
    async with modbus_device("crac-1", model("crac"), unit=3) as (device, address):
        result, _ = await _poll(address, "crac-1", "crac-gateway", unit=3)
        device.faults = [("compressor", {})]
        alarm, _ = await _poll(address, "crac-1", "crac-gateway", unit=3)
    assert result.ok, result.message
    assert sample_value(result.samples, "crac_return_air_celsius") == 26.5
    assert sample_value(result.samples, "crac_supply_air_celsius") == 18.2
    assert sample_value(result.samples, "crac_humidity_ratio") == 0.45
    assert sample_value(result.samples, "crac_cooling_power_watts") == 21_000
    assert component(result, "crac").status is Status.OK
    crac = component(alarm, "crac")
    assert crac.status is Status.FAILED and "unit_alarm" in crac.conditions
    assert sample_value(alarm.samples, "crac_alarm", {"alarm": "compressor"}) == 1


def _meter_sending(word_order: str, byte_order: str = "big") -> ModbusProfile:
    """The meter map as a device that sends its floats in another order would serve it."""
    base = load_profiles(["power-meter"])[0].definition
    registers = [r.model_copy(update={"word_order": word_order, "byte_order": byte_order})
                 if r.type == "float32" else r for r in base.registers]
    return ModbusProfile(ModbusProfileDef.model_validate(
        {**base.model_dump(), "registers": [r.model_dump() for r in registers]}))


@pytest.mark.parametrize(("word_order", "byte_order"), [("big", "big"), ("little", "little")])
async def test_a_float_in_another_order_is_refused_and_named(
        word_order: str, byte_order: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sending = model("meter", _meter_sending(word_order, byte_order))
    async with modbus_device("meter-x", sending) as (_, address):
        result, polling = await _poll(address, "meter-x", "power-meter")
    # 50 Hz sent high word first (42 48 00 00) and read low word first is 0x00004248, a
    # subnormal; sent with each register's bytes swapped (00 00 48 42) it is 0x48420000 =
    # 198656: neither is a frequency
    assert result.ok
    assert sample_value(result.samples, "meter_frequency_hertz") is None
    assert ("device meter-x, input register 3006 (meter_frequency_hertz, profile "
            "power-meter): ") in result.message
    assert "check word_order/byte_order" in result.message
    assert polling.counters.refused[("meter-x", "out_of_range")] >= 1
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


async def test_a_register_the_device_does_not_have_is_named(
        tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    (tmp_path / "meter-plus.yaml").write_text(
        "name: meter-plus\ninclude: [power-meter]\nregisters:\n"
        "  - {name: meter_thd_ratio, function: input, address: 3026, type: uint16}\n",
        encoding="utf-8")
    async with modbus_device("meter-x", model("meter")) as (_, address):
        polling = ModbusPolling(config([{"id": "meter-x", "address": address,
                                         "profile": "meter-plus"}],
                                       ).model_copy(update={"profile_dirs": [tmp_path]}))
        result = await polling.poll("meter-x")
        await polling.stop()
    # 3026 sits inside the block 3020..3035 the poller reads at once: the device refuses the
    # block, the poller asks register by register and names the one that is missing
    assert result.ok
    assert ("device meter-x, input register 3026 (meter_thd_ratio, profile meter-plus): "
            "the device answered exception 2 (illegal data address)") in result.message
    assert sample_value(result.samples, "meter_phase_volts", {"phase": "2"}) == pytest.approx(
        229.8, abs=1e-4)
    # refused three times: the block 3020..3035, its run 3020..3026, then 3026 alone
    assert polling.counters.refused[("meter-x", "exception")] == 3
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


async def test_a_silent_meter_times_out_and_a_closed_port_refuses() -> None:
    async with modbus_device("meter-x", model("meter")) as (device, address):
        device.faults = [("silent", {})]
        result, polling = await _poll(address, "meter-x", "power-meter")
        device.faults = []
    assert result.error == "timeout", result
    assert "meter-x" in result.message
    assert polling.counters.refused[("meter-x", "timeout")] == 1
    # the server is gone: nobody listens on that port any more
    closed, polling = await _poll(address, "meter-x", "power-meter")
    assert closed.error == "connection"
    assert polling.counters.refused[("meter-x", "connection")] == 1


async def test_tierwatch_poll_names_a_refused_register(tmp_path) -> None:
    """`tierwatch poll -c FILE meter-x` against a meter that sends its floats high word
    first: the frequency is refused, and the line says where; no traceback."""
    import asyncio
    import sys

    from tests.helpers.procs import env_with_repo

    sending = model("meter", _meter_sending("big"))
    async with modbus_device("meter-x", sending) as (_, address):
        path = tmp_path / "tierwatch.yaml"
        path.write_text("site: {name: T}\nmodbus:\n  defaults: {timeout: 1s, retries: 0}\n"
                        f"  devices:\n    - {{id: meter-x, address: '{address}', "
                        "profile: power-meter}\n", encoding="utf-8")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tierwatch", "poll", "-c", str(path), "meter-x",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=env_with_repo(), cwd=tmp_path)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode()
    assert proc.returncode == 0, err.decode()
    assert ("  refused: device meter-x, input register 3006 (meter_frequency_hertz, profile "
            "power-meter): float32 ") in text
    assert 'meter_energy_joules_total{} 1.8e+12' in text  # an integer register is fine
    assert "Traceback" not in text + err.decode()
