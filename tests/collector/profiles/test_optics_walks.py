"""Optics profiles against walks of real devices (tests/fixtures/walks, from snmpsim-data).
Expected values worked out by hand from the walk and the MIB's units: JUNIPER-DOM-MIB
power in 0.01 dBm, bias in 0.001 mA, voltage in 0.001 V; CISCO-ENTITY-SENSOR-MIB value x
10^(3 x (scale - 9)) / 10^precision, the thresholds at their sensor's scale;
HUAWEI-ENTITY-EXTENT-MIB power in uW (10 log10(uW / 1000) dBm, checked against the dBm the
same device writes as text in its per-lane columns), thresholds in 0.01 dBm, bias in uA,
voltage in mV."""

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


def _lane_dbm(walk: str, column: int, index: str) -> float:
    """The dBm a Huawei device writes itself, as text in hundredths, in its per-lane power
    columns (32 receive, 33 transmit): an independent reading of the same power."""
    oid = f"1.3.6.1.4.1.2011.5.25.31.1.1.3.1.{column}.{index}"
    for line in (WALKS / walk).read_text().splitlines():
        if line.startswith(oid + "|"):
            return float(bytes.fromhex(line.split("|")[2]).decode()) / 100
    raise AssertionError(f"{oid} not in {walk}")


async def test_huawei_s12704_optics_in_dbm_with_the_module_thresholds() -> None:
    walk = "huawei-s12704-optics.snmprec"
    result = await _poll(walk, "huawei-optics")
    port = {"entity_index": "67747854", "if_name": "XGigabitEthernet2/0/0"}
    # hwEntityOpticalRxPower 331 uW: 10 log10(0.331) = -4.8017 dBm (the device: "-480.00");
    # TxPower 578 uW: -2.3807 dBm ("-238.00"); 24 C; 3312 mV; 30120 uA
    rx = sample_value(result.samples, "optic_rx_power_dbm", port)
    tx = sample_value(result.samples, "optic_tx_power_dbm", port)
    assert rx == pytest.approx(-4.8017, abs=1e-4)
    assert tx == pytest.approx(-2.3807, abs=1e-4)
    assert rx == pytest.approx(_lane_dbm(walk, 32, "67747854"), abs=0.005)
    assert tx == pytest.approx(_lane_dbm(walk, 33, "67747854"), abs=0.005)
    for name, want in (("optic_temperature_celsius", 24), ("optic_supply_volts", 3.312),
                       ("optic_bias_current_amperes", 0.03012)):
        assert sample_value(result.samples, name, port) == pytest.approx(want, abs=1e-12)
    # thresholds 13, 14, 20, 21 (receive) and 15, 16, 22, 23 (transmit), 0.01 dBm
    for name, level, want in (
            ("optic_rx_power_threshold_dbm", "low_alarm", -16.39),
            ("optic_rx_power_threshold_dbm", "high_alarm", 2.50),
            ("optic_rx_power_threshold_dbm", "low_warning", -14.39),
            ("optic_rx_power_threshold_dbm", "high_warning", 0.50),
            ("optic_tx_power_threshold_dbm", "low_alarm", -11.25),
            ("optic_tx_power_threshold_dbm", "high_alarm", 1.00),
            ("optic_tx_power_threshold_dbm", "low_warning", -8.19),
            ("optic_tx_power_threshold_dbm", "high_warning", 0.50)):
        got = sample_value(result.samples, name, {**port, "level": level})
        assert got == pytest.approx(want, abs=1e-12)
    status = {c.component: c for c in result.components}
    assert status["optic XGigabitEthernet2/0/0"].status == Status.OK
    # 2/0/2 receives 46 uW, -13.37 dBm: weak, above its low warning (-14.39)
    weak = {"entity_index": "67747982", "if_name": "XGigabitEthernet2/0/2"}
    assert sample_value(result.samples, "optic_rx_power_dbm", weak) == pytest.approx(
        -13.3724, abs=1e-4)
    assert status["optic XGigabitEthernet2/0/2"].status == Status.OK
    # 2/0/9 receives nothing (0 uW): the floor, -40 dBm, as the device writes it too;
    # below the low alarm, so the optic has failed (the switch does not: no rollup)
    dark = {"entity_index": "67748430", "if_name": "XGigabitEthernet2/0/9"}
    assert sample_value(result.samples, "optic_rx_power_dbm", dark) == -40.0
    assert _lane_dbm(walk, 32, "67748430") == -40.0
    assert status["optic XGigabitEthernet2/0/9"].status == Status.FAILED
    assert status["optic XGigabitEthernet2/0/9"].conditions == {
        "rx_power_low_alarm", "rx_power_low_warning"}
    assert not status["optic XGigabitEthernet2/0/9"].rollup
    # 13 modules report; the two empty 40GE cages (-1, -255) give no number at all
    assert len([s for s in result.samples if s.name == "optic_rx_power_dbm"]) == 13
    empty = [s for s in result.samples if s.labels.get("if_name", "").startswith("40GE")]
    assert empty == []
    assert status["optic 40GE1/0/0"].status == Status.UNKNOWN


async def test_huawei_s5720_modules_without_diagnostics_give_no_numbers() -> None:
    result = await _poll("huawei-s5720-optics.snmprec", "huawei-optics")
    # 33 ports, every reading -1 (temperature -255): not a single optic sample
    assert [s for s in result.samples if s.name.startswith("optic_")] == []
    optics = [c for c in result.components if c.component.startswith("optic ")]
    assert len(optics) == 33
    assert {c.status for c in optics} == {Status.UNKNOWN}
