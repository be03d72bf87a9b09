"""apc-ups replayed on the simulator's APC Smart-UPS walk (sim/data/apc-smart-ups.snmprec).

The walk is synthetic, written from the PowerNet-MIB definitions, not captured from a UPS;
every expected value below is worked out by hand from that file and the MIB's units.
"""

from __future__ import annotations

from tests.helpers.recorded import poll_model
from tests.helpers.samples import component, sample_value

MODEL = "apc-smart-ups"


async def test_readings_in_base_units():
    result = await poll_model(MODEL, ["apc-ups"])
    s = result.samples
    assert sample_value(s, "ups_battery_runtime_seconds") == 2340  # 234000 TimeTicks
    assert sample_value(s, "ups_time_on_battery_seconds") == 0
    assert sample_value(s, "ups_battery_charge_ratio") == 1.0  # 100 %
    assert sample_value(s, "ups_battery_temperature_celsius") == 26
    assert sample_value(s, "ups_battery_volts") == 218
    assert sample_value(s, "ups_input_volts") == 229
    assert sample_value(s, "ups_output_load_ratio") == 0.46  # 46 %
    assert sample_value(s, "ups_output_current_amperes") == 20
    assert sample_value(s, "ups_output_source", {"state": "normal"}) == 1
    assert sample_value(s, "ups_output_source", {"state": "battery"}) == 0
    assert sample_value(s, "snmp_uptime_seconds") == 1854321.0  # 185432100 TimeTicks
    info = next(x for x in s if x.name == "ups_info")
    assert info.labels["model"] == "Smart-UPS SRT 10000"
    assert component(result, "ups").status == "ok"


async def test_on_battery_readings():
    result = await poll_model(MODEL, ["apc-ups"], faults=["on-battery"])
    s = result.samples
    assert sample_value(s, "ups_time_on_battery_seconds") == 60  # 6000 TimeTicks
    assert sample_value(s, "ups_battery_runtime_seconds") == 1800  # 180000 TimeTicks
    assert sample_value(s, "ups_battery_charge_ratio") == 0.87
    assert sample_value(s, "ups_output_source", {"state": "battery"}) == 1
    assert component(result, "ups").reason == "on battery"


async def test_emergency_static_bypass_reads_bypass():
    result = await poll_model(MODEL, ["apc-ups"], overlay={"1.3.6.1.4.1.318.1.1.1.4.1.1.0": 16})
    assert sample_value(result.samples, "ups_output_source", {"state": "bypass"}) == 1
    assert component(result, "ups").status == "failed"
