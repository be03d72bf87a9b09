"""Every fault of sim/models.yaml, replayed through its model's profiles: the components it
must put out of `ok`, with their status and conditions, and nothing else.

The walks are the simulator's synthetic data (written from the MIB definitions, not
captured from hardware); a fault is the set of OIDs the simulator lays over them.
"""

from __future__ import annotations

import pytest

from collector.profiles import load_profiles
from collector.snmp.poller import PollPlan, device_status, poll
from sim import agent
from tests.helpers.recorded import client_for_model

PROFILES = {
    "apc-smart-ups": ["apc-ups"],
    "eaton-9px": ["eaton-ups"],
    "apc-rpdu2": ["apc-pdu"],
    "apc-rpdu-legacy": ["apc-pdu"],
    "apc-ats": ["apc-ats"],
    "geist-watchdog": ["geist-env"],
    "cisco-isr4431": ["if-mib", "entity-sensor"],
    "cisco-c9300": ["if-mib"],
    "net-snmp-linux": ["if-mib", "host-resources"],
}

ROOM = "sensor Watchdog phòng máy 1"
R01 = "sensor Tủ R01 mặt trước"
R02 = "sensor Tủ R02 mặt trước"

# (model, fault) -> {component: (status, conditions)} for every rolled-up component that is
# not ok while the fault is on
EXPECTED: dict[tuple[str, str], dict[str, tuple[str, set[str]]]] = {
    ("apc-smart-ups", "on-battery"): {"ups": ("degraded", {"on_battery"})},
    ("apc-smart-ups", "on-bypass"): {"ups": ("failed", {"bypass"})},
    ("apc-smart-ups", "battery-low"): {"ups": ("degraded", {"battery_low"})},
    ("apc-smart-ups", "off"): {"ups": ("failed", {"off"})},
    ("eaton-9px", "on-battery"): {"ups": ("degraded", {"on_battery"})},
    ("eaton-9px", "on-bypass"): {"ups": ("failed", {"bypass"})},
    ("eaton-9px", "battery-low"): {"ups": ("degraded", {"battery_low"})},
    ("eaton-9px", "off"): {"ups": ("failed", {"off"})},
    ("apc-rpdu2", "phase-near-overload"): {"phase 1": ("degraded", {"near_overload"})},
    ("apc-rpdu2", "phase-overload"): {
        "phase 1": ("failed", {"overload"}),
        "pdu 1": ("failed", {"overload"}),
    },
    ("apc-rpdu-legacy", "bank-near-overload"): {"load 2": ("degraded", {"near_overload"})},
    ("apc-rpdu-legacy", "phase-overload"): {"load 1": ("failed", {"overload"})},
    ("apc-ats", "redundancy-lost"): {"ats": ("degraded", {"redundancy_lost", "source_b_lost"})},
    ("apc-ats", "source-b"): {
        "ats": ("degraded", {"redundancy_lost", "on_alternate_source", "source_a_lost"})
    },
    ("geist-watchdog", "overtemp"): {
        ROOM: ("failed", {"temp_out_of_recommended", "temp_out_of_allowable"}),
        R01: ("failed", {"temp_out_of_recommended", "temp_out_of_allowable"}),
        R02: ("failed", {"temp_out_of_recommended", "temp_out_of_allowable"}),
    },
    ("geist-watchdog", "warm"): {
        ROOM: ("degraded", {"temp_out_of_recommended"}),
        R01: ("degraded", {"temp_out_of_recommended"}),
    },
    ("geist-watchdog", "humidity-high"): {ROOM: ("failed", {"humidity_out_of_allowable"})},
    ("cisco-isr4431", "psu-fail"): {"sensor PEM 1 Vout": ("degraded", {"sensor_nonoperational"})},
}

ALL_FAULTS = sorted(
    (model.name, fault) for model in agent.load_models().values() for fault in model.faults
)


def test_every_simulated_fault_has_an_expectation():
    assert sorted(EXPECTED) == ALL_FAULTS
    assert set(PROFILES) == set(agent.load_models())


async def poll_model(model: str, faults: tuple[str, ...] = ()):
    client = client_for_model(model, faults)
    plan = PollPlan(load_profiles(PROFILES[model]))
    result = await poll(model, client, plan, {"device": model}, now=0.0)
    assert result.error is None, result.message
    return result


def not_ok(result) -> dict[str, tuple[str, set[str]]]:
    return {
        c.component: (str(c.status), set(c.conditions))
        for c in result.components
        if c.rollup and c.status != "ok"
    }


@pytest.mark.parametrize("model", sorted(PROFILES))
async def test_model_is_healthy_without_faults(model):
    result = await poll_model(model)
    assert not_ok(result) == {}
    assert device_status(result) == "ok"


@pytest.mark.parametrize(("model", "fault"), sorted(EXPECTED))
async def test_fault_gives_its_status_and_conditions(model, fault):
    result = await poll_model(model, (fault,))
    expected = EXPECTED[(model, fault)]
    assert not_ok(result) == expected
    worst = "failed" if any(s == "failed" for s, _ in expected.values()) else "degraded"
    assert device_status(result) == worst


async def test_faults_combine_worst_wins():
    result = await poll_model("apc-smart-ups", ("on-battery", "battery-low"))
    assert not_ok(result) == {"ups": ("degraded", {"on_battery", "battery_low"})}
    result = await poll_model("geist-watchdog", ("warm", "humidity-high"))
    assert not_ok(result)[ROOM] == (
        "failed",
        {"temp_out_of_recommended", "humidity_out_of_allowable"},
    )
