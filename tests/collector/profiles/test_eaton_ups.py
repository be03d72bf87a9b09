"""eaton-ups replayed on the simulator's Eaton 9PX walk (sim/data/eaton-9px.snmprec).

The walk is synthetic, written from the XUPS-MIB definitions, not captured from a UPS;
every expected value below is worked out by hand from that file and the MIB's units.
"""

from __future__ import annotations

import pytest

from tests.helpers.recorded import poll_model
from tests.helpers.samples import component, matching, sample_value

MODEL = "eaton-9px"
OUTPUT_SOURCE = "1.3.6.1.4.1.534.1.4.5.0"


async def test_readings_in_base_units():
    result = await poll_model(MODEL, ["eaton-ups"])
    s = result.samples
    assert sample_value(s, "ups_battery_runtime_seconds") == 1980  # seconds already
    assert sample_value(s, "ups_battery_volts") == 72
    assert sample_value(s, "ups_battery_current_amperes") == 0
    assert sample_value(s, "ups_battery_charge_ratio") == 1.0
    assert sample_value(s, "ups_input_frequency_hertz") == 50.0  # 500 tenths of Hz
    assert sample_value(s, "ups_output_frequency_hertz") == 50.0
    assert sample_value(s, "ups_input_line_bads_total") == 3
    assert sample_value(s, "ups_output_load_ratio") == 0.38  # 38 %
    assert sample_value(s, "ups_input_volts", {"line": "1"}) == 228
    assert sample_value(s, "ups_input_current_amperes", {"line": "1"}) == 5
    assert sample_value(s, "ups_input_power_watts", {"line": "1"}) == 1050
    assert sample_value(s, "ups_output_volts", {"line": "1"}) == 230
    assert sample_value(s, "ups_output_current_amperes", {"line": "1"}) == 4
    assert sample_value(s, "ups_output_power_watts", {"line": "1"}) == 980
    assert sample_value(s, "ups_ambient_temperature_celsius") == 29
    assert sample_value(s, "ups_alarms_present") == 0
    assert sample_value(s, "ups_battery_abm_status", {"state": "resting"}) == 1
    assert sum(x.value for x in matching(s, "ups_battery_abm_status")) == 1
    assert len(matching(s, "ups_battery_abm_status")) == 8
    assert sample_value(s, "ups_output_source", {"state": "normal"}) == 1
    info = next(x for x in s if x.name == "ups_info")
    assert (info.labels["manufacturer"], info.labels["model"], info.labels["serial"]) == (
        "EATON",
        "Eaton 9PX 3000i RT2U",
        "G122K18045",
    )
    assert component(result, "ups").status == "ok"


async def test_on_battery_readings():
    result = await poll_model(MODEL, ["eaton-ups"], faults=["on-battery"])
    s = result.samples
    assert sample_value(s, "ups_battery_runtime_seconds") == 1560
    assert sample_value(s, "ups_battery_current_amperes") == 14
    assert sample_value(s, "ups_battery_charge_ratio") == 0.91
    assert sample_value(s, "ups_input_volts", {"line": "1"}) == 0
    assert sample_value(s, "ups_battery_abm_status", {"state": "discharging"}) == 1
    assert sample_value(s, "ups_output_source", {"state": "battery"}) == 1


@pytest.mark.parametrize(
    ("raw", "state", "status"),
    [
        (6, "boost", "ok"),
        (7, "trim", "ok"),
        (8, "normal", "ok"),
        (9, "normal", "ok"),
        (10, "eco", "ok"),
        (12, "eco", "ok"),
        (11, "bypass", "failed"),
        (4, "bypass", "failed"),
        (5, "battery", "degraded"),
        (2, "none", "failed"),
    ],
)
async def test_xups_output_sources_map_to_the_shared_states(raw, state, status):
    result = await poll_model(MODEL, ["eaton-ups"], overlay={OUTPUT_SOURCE: raw})
    assert sample_value(result.samples, "ups_output_source", {"state": state}) == 1
    assert component(result, "ups").status == status


async def test_a_failed_battery_test_is_a_battery_fault():
    result = await poll_model(
        MODEL, ["eaton-ups"], overlay={"1.3.6.1.4.1.534.1.2.5.0": 8}
    )  # checkBattery
    assert component(result, "ups").status == "degraded"
    assert component(result, "ups").conditions == {"battery_fault"}
