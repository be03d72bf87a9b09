"""The simulated models and the demo data center against the profiles.

`profile: auto` picks the right profiles from each model's sysObjectID; those profiles find
data in the model's walk; and the demo's devices (sim/datacenter.yaml with its overrides,
polled as sim/demo.yaml says) all start healthy, with samples from every profile they use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from collector.profiles import load_profiles, select_auto
from collector.snmp.poller import PollPlan, device_status, poll
from sim import agent
from tests.helpers.recorded import client_from_snmprec, model_data_path, values_from_snmprec

SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
MODELS: dict[str, Any] = yaml.safe_load(agent.MODELS_FILE.read_text(encoding="utf-8"))["models"]

# model -> the profiles `auto` must choose for it
AUTO = {
    "apc-smart-ups": ["apc-ups"],
    "cisco-c9300": ["cisco", "entity-sensor", "if-mib"],
    "cisco-isr4431": ["cisco", "entity-sensor", "if-mib"],
    "eaton-9px": ["eaton-ups"],
    "apc-rpdu2": ["apc-pdu"],
    "apc-rpdu-legacy": ["apc-pdu"],
    "apc-ats": ["apc-ats"],
    "geist-watchdog": ["geist-env"],
    "net-snmp-linux": ["host-resources", "if-mib"],
}


def sys_object_id(model: str) -> str:
    value = values_from_snmprec(model_data_path(model))[SYS_OBJECT_ID]
    assert isinstance(value, str)
    return value


def test_every_model_has_an_expected_auto_choice():
    assert set(MODELS) == set(AUTO)


@pytest.mark.parametrize("model", sorted(AUTO))
def test_auto_picks_the_profiles_for_the_sys_object_id(model):
    assert select_auto(sys_object_id(model)) == AUTO[model]


@pytest.mark.parametrize("model", sorted(AUTO))
async def test_auto_profiles_find_data_in_the_model(model):
    profiles = load_profiles(select_auto(sys_object_id(model)))
    client = client_from_snmprec(model_data_path(model))
    result = await poll(model, client, PollPlan(profiles), {"device": model}, now=0.0)
    assert result.error is None, result.message
    system_names = {m.name for m in load_profiles(["system"])[0].definition.scalars}
    own = {s.name for s in result.samples} - system_names - {"snmp_system_info"}
    assert own, f"{model}: only system samples"


def test_unknown_sys_object_id_falls_back_to_system():
    assert select_auto("1.3.6.1.4.1.99999.1") == ["system"]


# ------------------------------------------------------------------ the demo data center

INVENTORY = {spec.id: spec for spec in agent.load_inventory()}
DEMO = yaml.safe_load((agent.SIM_DIR / "demo.yaml").read_text(encoding="utf-8"))
DEMO_DEVICES = {d["id"]: d for d in DEMO["devices"]}


def test_demo_polls_every_simulated_device_on_its_own_port():
    assert set(DEMO_DEVICES) == set(INVENTORY)
    ports = [int(d["address"].rsplit(":", 1)[1]) for d in DEMO["devices"]]
    assert len(set(ports)) == len(ports)
    assert all(16100 <= p < 16200 for p in ports)


def test_demo_has_the_city_data_center_devices():
    by_model: dict[str, list[str]] = {}
    for spec in INVENTORY.values():
        by_model.setdefault(spec.model, []).append(spec.id)
    assert sorted(by_model["apc-rpdu2"]) == ["pdu-r01-a", "pdu-r01-b", "pdu-r02-a", "pdu-r02-b"]
    assert sorted(by_model["apc-ats"]) == ["ats-1", "ats-2"]
    assert sorted(by_model["geist-watchdog"]) == ["env-1", "env-2"]
    assert sorted(by_model["apc-smart-ups"] + by_model["eaton-9px"]) == [
        "ups-a",
        "ups-b",
        "ups-net",
    ]
    assert by_model["cisco-isr4431"] == ["edge-1", "edge-2"]  # one per carrier


def demo_client(device_id: str, extra: dict[str, Any] | None = None):
    spec = INVENTORY[device_id]
    overlay = {**spec.set, **(extra or {})}
    return client_from_snmprec(Path(model_data_path(spec.model)), overlay)


def demo_profiles(device_id: str, client) -> list[str]:
    wanted = DEMO_DEVICES[device_id].get("profile", "auto")
    wanted = [wanted] if isinstance(wanted, str) else wanted
    if wanted == ["auto"]:
        return select_auto(client.values[SYS_OBJECT_ID])
    return wanted


@pytest.mark.parametrize("device_id", sorted(INVENTORY))
async def test_demo_device_starts_healthy(device_id):
    client = demo_client(device_id)
    names = demo_profiles(device_id, client)
    profiles = load_profiles(names)
    result = await poll(device_id, client, PollPlan(profiles), {"device": device_id}, now=0.0)
    assert result.error is None, result.message
    assert device_status(result) == "ok", [
        (c.component, c.status, c.reason) for c in result.components if c.rollup
    ]
    # the name a person gave the device reaches the samples
    info = next(s for s in result.samples if s.name == "snmp_system_info")
    assert info.labels["sys_name"] == INVENTORY[device_id].set.get(
        "1.3.6.1.2.1.1.5.0", info.labels["sys_name"]
    )
    assert {"system", *names} <= {p.name for p in profiles}


async def test_demo_pdu_r02_b_cannot_measure_phase_3_voltage():
    client = demo_client("pdu-r02-b")
    result = await poll(
        "pdu-r02-b", client, PollPlan(load_profiles(["apc-pdu"])), {"device": "pdu-r02-b"}, now=0.0
    )
    volts = {s.labels["phase"]: s.value for s in result.samples if s.name == "pdu_phase_volts"}
    amps = {
        s.labels["phase"]: s.value for s in result.samples if s.name == "pdu_phase_current_amperes"
    }
    assert volts == {"1": 230.0, "2": 229.0}
    assert amps == {"1": 4.8, "2": 4.1, "3": 4.6}
