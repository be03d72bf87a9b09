"""apc-pdu replayed on the simulator's APC rack PDU walks: a Rack PDU 2G (rPDU2 group,
sim/data/apc-rpdu2.snmprec) and an older rack PDU (rPDU group, apc-rpdu-legacy.snmprec).

The walks are synthetic, written from the PowerNet-MIB definitions, not captured from PDUs;
every expected value below is worked out by hand from those files and the MIB's units
(currents in tenths of A, power in hundredths of kW, energy in tenths of kWh).
"""

from __future__ import annotations

from tests.helpers.recorded import poll_model
from tests.helpers.samples import component, matching, sample_value

PHASE_VOLTAGE = "1.3.6.1.4.1.318.1.1.26.6.3.1.6"
DEVICE_POWER = "1.3.6.1.4.1.318.1.1.26.4.3.1.5.1"


async def test_rpdu2_phases():
    result = await poll_model("apc-rpdu2", ["apc-pdu"])
    s = result.samples

    def phase(name: str) -> dict[str, float]:
        return {x.labels["phase"]: x.value for x in matching(s, name)}

    assert phase("pdu_phase_current_amperes") == {"1": 4.8, "2": 4.1, "3": 4.6}
    assert phase("pdu_phase_volts") == {"1": 230, "2": 229, "3": 231}
    assert phase("pdu_phase_power_watts") == {"1": 1050, "2": 890, "3": 1010}
    assert phase("pdu_phase_apparent_power_volt_amperes") == {"1": 1100, "2": 940, "3": 1060}
    assert phase("pdu_phase_power_factor_ratio") == {"1": 0.95, "2": 0.95, "3": 0.95}
    assert phase("pdu_phase_peak_current_amperes") == {"1": 7.1, "2": 5.8, "3": 6.6}
    assert sample_value(s, "pdu_phase_load_state", {"phase": "1", "state": "normal"}) == 1
    assert sample_value(s, "pdu_phase_load_state", {"phase": "1", "state": "overload"}) == 0
    assert {c.component for c in result.components} == {"pdu 1", "phase 1", "phase 2", "phase 3"}
    assert all(c.status == "ok" for c in result.components)


async def test_rpdu2_device_totals():
    result = await poll_model("apc-rpdu2", ["apc-pdu"])
    s = result.samples
    assert sample_value(s, "pdu_power_watts", {"unit": "1"}) == 2950  # 295 x 0.01 kW
    assert sample_value(s, "pdu_peak_power_watts") == 4120
    assert sample_value(s, "pdu_energy_joules_total") == 66_427_200_000  # 18452.0 kWh
    assert sample_value(s, "pdu_apparent_power_volt_amperes") == 3100
    assert sample_value(s, "pdu_power_factor_ratio") == 0.95
    assert sample_value(s, "pdu_device_load_state", {"state": "normal"}) == 1
    assert sample_value(s, "pdu_power_supply_alarm") == 1  # normal
    info = next(x for x in s if x.name == "pdu_info")
    assert (info.labels["model"], info.labels["serial"], info.labels["firmware"]) == (
        "AP8886",
        "5A1812E04321",
        "v6.8.2",
    )


async def test_voltage_the_pdu_cannot_measure_gives_no_sample():
    result = await poll_model(
        "apc-rpdu2", ["apc-pdu"], overlay={f"{PHASE_VOLTAGE}.2": -1, DEVICE_POWER: -1}
    )
    s = result.samples
    assert {x.labels["phase"] for x in matching(s, "pdu_phase_volts")} == {"1", "3"}
    assert sample_value(s, "pdu_phase_current_amperes", {"phase": "2"}) == 4.1
    assert matching(s, "pdu_power_watts") == []
    assert component(result, "phase 2").status == "ok"  # its load state still reads


async def test_phase_overload_reason_names_the_phase():
    result = await poll_model("apc-rpdu2", ["apc-pdu"], faults=["phase-overload"])
    assert sample_value(result.samples, "pdu_phase_current_amperes", {"phase": "1"}) == 16.5
    assert "phase 1 overloaded" in component(result, "phase 1").reason


async def test_legacy_load_table():
    result = await poll_model("apc-rpdu-legacy", ["apc-pdu"])
    s = result.samples
    rows = {
        (x.labels["load"], x.labels["phase"], x.labels["bank"]): x.value
        for x in matching(s, "pdu_load_current_amperes")
    }
    assert rows == {("1", "1", "0"): 8.7, ("2", "1", "1"): 5.2, ("3", "1", "2"): 3.5}
    assert matching(s, "pdu_phase_current_amperes") == []
    assert matching(s, "pdu_info") == []
    assert {c.component for c in result.components} == {"load 1", "load 2", "load 3"}


async def test_legacy_load_state_numbering_differs_from_rpdu2():
    # rPDULoadStatusLoadState: phaseLoadNormal(1), phaseLoadLow(2); rPDU2: lowLoad(1), normal(2)
    result = await poll_model(
        "apc-rpdu-legacy", ["apc-pdu"], overlay={"1.3.6.1.4.1.318.1.1.12.2.3.1.1.3.3": 2}
    )
    assert sample_value(result.samples, "pdu_load_state", {"load": "3", "state": "lowLoad"}) == 1
    assert sample_value(result.samples, "pdu_load_state", {"load": "1", "state": "normal"}) == 1
    assert component(result, "load 3").status == "ok"
