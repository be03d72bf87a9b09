"""entity-sensor (with if-mib) replayed on the simulator's Cisco ISR 4431 walk
(sim/data/cisco-isr4431.snmprec).

The walk is synthetic, written from the ENTITY-SENSOR-MIB (RFC 3433) and IF-MIB
definitions, not captured from a router; every expected value below is worked out by hand:
value x 10^(3 x (entPhySensorScale - 9)) / 10^entPhySensorPrecision.
"""

from __future__ import annotations

import pytest

from tests.helpers.recorded import poll_model
from tests.helpers.samples import component, matching, sample_value

MODEL = "cisco-isr4431"
PROFILES = ["if-mib", "entity-sensor"]
SENSOR = "1.3.6.1.2.1.99.1.1.1"  # entPhySensorEntry


@pytest.mark.parametrize(
    ("name", "sensor", "value"),
    [
        ("entity_sensor_celsius", "Temp: Inlet 1", 26.5),  # 265, units, precision 1
        ("entity_sensor_celsius", "Temp: Outlet 1", 34.8),
        ("entity_sensor_celsius", "Temp: CPU 0", 52),  # precision 0
        ("entity_sensor_dc_volts", "PEM 0 Vout", 12.05),  # 12050 milli
        ("entity_sensor_dc_volts", "PEM 1 Vout", 12.01),
        ("entity_sensor_dc_volts", "V: 0.6v DDR4 VTT", 0.6015),  # 6015, milli, precision 1
        ("entity_sensor_amperes", "PEM 0 Iout", 8.45),  # 8450 milli
        ("entity_sensor_ac_volts", "PEM 0 Vin", 229),
        ("entity_sensor_watts", "PEM 1 Pin", 114),
        ("entity_sensor_fan_rpm", "Fan 0", 7440),
    ],
)
async def test_sensor_values(name, sensor, value):
    result = await poll_model(MODEL, PROFILES)
    assert sample_value(result.samples, name, {"sensor": sensor}) == value


async def test_each_sensor_has_one_reading_except_the_unavailable_one():
    result = await poll_model(MODEL, PROFILES)
    readings = [
        s
        for s in result.samples
        if s.name.startswith("entity_sensor_") and s.name != "entity_sensor_status"
    ]
    assert len(readings) == 14
    nim = "Temp: NIM slot 1"
    assert [s.name for s in result.samples if s.labels.get("sensor") == nim] == [
        "entity_sensor_status"
    ]
    assert sample_value(result.samples, "entity_sensor_status", {"sensor": nim}) == 2
    # a sensor without entPhysicalName is labelled with its entPhysicalDescr
    assert sample_value(result.samples, "entity_sensor_status", {"ent_physical_index": "1030"}) == 1
    assert all(c.status == "ok" for c in result.components if c.rollup)


@pytest.mark.parametrize(
    ("scale", "precision", "raw"),
    [(9, 0, 118), (10, 3, 118), (8, 0, 118000), (7, 0, 118000000), (8, 2, 11800000), (9, -2, 118)],
)
async def test_one_reading_in_every_encoding(scale, precision, raw):
    overlay = {f"{SENSOR}.2.1016": scale, f"{SENSOR}.3.1016": precision, f"{SENSOR}.4.1016": raw}
    result = await poll_model(MODEL, PROFILES, overlay=overlay)
    assert sample_value(result.samples, "entity_sensor_watts", {"sensor": "PEM 0 Pin"}) == 118


async def test_psu_fail_readings():
    result = await poll_model(MODEL, PROFILES, faults=["psu-fail"])
    s = result.samples
    assert matching(s, "entity_sensor_dc_volts", {"sensor": "PEM 1 Vout"}) == []
    assert sample_value(s, "entity_sensor_amperes", {"sensor": "PEM 1 Iout"}) == 0
    assert sample_value(s, "entity_sensor_amperes", {"sensor": "PEM 0 Iout"}) == 16.6
    assert "PEM 1 Vout" in component(result, "sensor PEM 1 Vout").reason


async def test_interfaces_alongside():
    result = await poll_model(MODEL, PROFILES)
    wan = {"if_name": "Gi0/0/0"}
    assert sample_value(result.samples, "if_hc_in_octets_total", wan) == 9_000_000_000
    assert sample_value(result.samples, "if_speed_bytes", wan) == 125_000_000  # 1000 Mbit/s
    alias = next(
        x for x in result.samples if x.name == "if_oper_status" and x.labels["if_name"] == "Gi0/0/1"
    ).labels["if_alias"]
    assert alias == "WAN: Viettel (kênh dự phòng)"
