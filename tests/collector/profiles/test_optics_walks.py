"""Optics profiles against walks of real devices (tests/fixtures/walks, from snmpsim-data).
Expected values worked out by hand from the walk and the MIB's units: JUNIPER-DOM-MIB
power in 0.01 dBm, bias in 0.001 mA, voltage in 0.001 V; CISCO-ENTITY-SENSOR-MIB value x
10^(3 x (scale - 9)) / 10^precision, the thresholds at their sensor's scale."""

from __future__ import annotations

import pytest

from collector.profiles import load_profiles
from collector.snmp.poller import PollPlan, poll
from tests.helpers import FIXTURES_DIR
from tests.helpers.recorded import client_from_snmprec
from tests.helpers.samples import sample_value
from tierwatch.core.model import PollResult, Status

WALKS = FIXTURES_DIR / "walks"


async def _poll(walk: str, profile: str) -> PollResult:
    plan = PollPlan(load_profiles([profile]))
    return await poll("dev", client_from_snmprec(WALKS / walk), plan, {"device": "dev"}, now=0.0)


async def test_juniper_dom_fading_fibre() -> None:
    result = await _poll("juniper-mx960-dom.snmprec", "juniper-dom")
    port = {"if_index": "557", "if_name": "ge-0/0/6"}
    # jnxDomCurrentRxLaserPower.557 = -2327 -> -23.27 dBm; TxLaserOutputPower -694; bias
    # 3630 uA = 0.00363 A; temperature 27; voltage 3263 mV
    for name, want in (("optic_rx_power_dbm", -23.27), ("optic_tx_power_dbm", -6.94),
                       ("optic_bias_current_amperes", 0.00363),
                       ("optic_temperature_celsius", 27), ("optic_supply_volts", 3.263)):
        assert sample_value(result.samples, name, port) == pytest.approx(want, abs=1e-12)
    # the module's own thresholds: columns 9-12 = -199, -2148, -299, -2045
    for level, want in (("high_alarm", -1.99), ("low_alarm", -21.48),
                        ("high_warning", -2.99), ("low_warning", -20.45)):
        got = sample_value(result.samples, "optic_rx_power_threshold_dbm",
                           {**port, "level": level})
        assert got == pytest.approx(want, abs=1e-12)
    # -23.27 is below both the low alarm (-21.48) and the low warning (-20.45)
    optic = next(c for c in result.components if c.component == "optic ge-0/0/6")
    assert optic.status == Status.FAILED and not optic.rollup
    assert optic.conditions == {"rx_power_low_alarm", "rx_power_low_warning"}
    # ge-0/0/1 receives -8.65 dBm, inside its thresholds
    healthy = next(c for c in result.components if c.component == "optic ge-0/0/1")
    assert healthy.status == Status.OK


async def test_cisco_nexus_optics_and_thresholds() -> None:
    result = await _poll("cisco-n5000-sensors.snmprec", "cisco-entity-sensor")
    sensor = {"ent_physical_index": "25827"}
    # entSensorType 14 (dBm), scale 8 (milli), precision 0, value -1931 -> -1.931 dBm
    assert sample_value(result.samples, "cisco_entity_sensor_dbm", sensor) == -1.931
    # thresholds 25827.1-4 = 1997, -1001, -13979, -9913, at the sensor's scale (milli)
    for level, want in (("high_alarm", 1.997), ("high_warning", -1.001),
                        ("low_alarm", -13.979), ("low_warning", -9.913)):
        got = sample_value(result.samples, "cisco_entity_sensor_threshold",
                           {**sensor, "level": level})
        assert got == want
    # 30 dBm sensors in the walk (15 transceivers, receive and transmit)
    assert len([s for s in result.samples if s.name == "cisco_entity_sensor_dbm"]) == 30
