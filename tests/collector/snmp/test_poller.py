"""Profile + client -> samples and statuses, with the fake client (one room, no network)."""

from __future__ import annotations

import pytest

from collector.profile import Profile, parse_profile
from collector.profiles import load_profiles
from collector.snmp.client import (
    NO_SUCH_OBJECT,
    FakeSnmpClient,
    SnmpAuthError,
    SnmpError,
    SnmpTimeout,
    SnmpWalkError,
)
from collector.snmp.poller import PollPlan, device_status, poll
from tierwatch.core.model import Status

UPS = "1.3.6.1.4.1.318.1.1.1"
IF = "1.3.6.1.2.1.2.2.1"
IFX = "1.3.6.1.2.1.31.1.1.1"


def apc_values(output_status: int = 2, battery_status: int = 2) -> dict[str, object]:
    return {
        "1.3.6.1.2.1.1.3.0": 123456,  # sysUpTime, 1234.56 s
        f"{UPS}.2.1.1.0": battery_status,
        f"{UPS}.2.2.1.0": 87,  # capacity %
        f"{UPS}.2.2.3.0": 234000,  # runtime, TimeTicks
        f"{UPS}.4.1.1.0": output_status,
        f"{UPS}.4.2.3.0": 46,  # load %
        f"{UPS}.1.1.1.0": b"Smart-UPS SRT 10000",
    }


def sample(result, name: str, **labels: str) -> float | None:  # type: ignore[no-untyped-def]
    for s in result.samples:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return None


async def test_apc_ups_values_are_scaled_to_base_units() -> None:
    plan = PollPlan(load_profiles(["apc-ups"]))
    client = FakeSnmpClient(apc_values())
    result = await poll("ups-a", client, plan, {"device": "ups-a"})
    assert result.ok
    assert sample(result, "ups_battery_charge_ratio") == pytest.approx(0.87)
    assert sample(result, "ups_battery_runtime_seconds") == pytest.approx(2340)
    assert sample(result, "ups_output_load_ratio") == pytest.approx(0.46)
    assert sample(result, "snmp_uptime_seconds") == pytest.approx(1234.56)
    assert sample(result, "ups_output_source", state="normal") == 1
    assert sample(result, "ups_output_source", state="battery") == 0
    assert sample(result, "ups_info", model="Smart-UPS SRT 10000") == 1
    assert result.roles == {"uptime": pytest.approx(1234.56)}
    assert device_status(result) == Status.OK


@pytest.mark.parametrize(
    ("output", "battery", "status", "conditions"),
    [
        (2, 2, Status.OK, set()),
        (3, 2, Status.DEGRADED, {"on_battery"}),
        (9, 2, Status.FAILED, {"bypass"}),  # switchedBypass
        (6, 2, Status.FAILED, {"bypass"}),  # softwareBypass
        (7, 2, Status.FAILED, {"off"}),
        (2, 3, Status.DEGRADED, {"battery_low"}),
        (3, 3, Status.DEGRADED, {"on_battery", "battery_low"}),
    ],
)
async def test_ups_status_rules(output: int, battery: int, status: Status,
                                conditions: set[str]) -> None:
    plan = PollPlan(load_profiles(["apc-ups"]))
    result = await poll("ups-a", FakeSnmpClient(apc_values(output, battery)), plan,
                        {"device": "ups-a"})
    (ups,) = [c for c in result.components if c.component == "ups"]
    assert ups.status == status
    assert set(ups.conditions) == conditions


async def test_missing_status_values_make_the_component_unknown() -> None:
    plan = PollPlan(load_profiles(["apc-ups"]))
    values = apc_values()
    values[f"{UPS}.4.1.1.0"] = NO_SUCH_OBJECT
    values[f"{UPS}.2.1.1.0"] = NO_SUCH_OBJECT
    result = await poll("ups-a", FakeSnmpClient(values), plan, {"device": "ups-a"})
    assert result.ok
    (ups,) = result.components
    assert ups.status == Status.UNKNOWN
    assert sample(result, "ups_output_source", state="normal") is None


def if_values() -> dict[str, object]:
    values: dict[str, object] = {}
    for idx, name, admin, oper in [(1, "Gi1/0/1", 1, 1), (2, "Gi1/0/2", 1, 2),
                                   (3, "Gi1/0/3", 2, 2)]:
        values[f"{IF}.7.{idx}"] = admin
        values[f"{IF}.8.{idx}"] = oper
        values[f"{IFX}.1.{idx}"] = name.encode()
        values[f"{IFX}.6.{idx}"] = 10**12 + idx
        values[f"{IFX}.15.{idx}"] = 1000
    return values


async def test_if_mib_rows_labels_and_port_status() -> None:
    plan = PollPlan(load_profiles(["if-mib"]))
    result = await poll("core-1", FakeSnmpClient(if_values()), plan, {"device": "core-1"})
    assert sample(result, "if_hc_in_octets_total", if_name="Gi1/0/2", if_index="2") == 10**12 + 2
    assert sample(result, "if_speed_bytes", if_name="Gi1/0/1") == 125_000_000
    statuses = {c.component: c.status for c in result.components}
    assert statuses == {"port Gi1/0/1": Status.OK, "port Gi1/0/2": Status.FAILED,
                        "port Gi1/0/3": Status.OK}  # admin down is not a failure
    # a port down does not make the switch down
    assert device_status(result) == Status.OK


async def test_rows_share_one_labels_object() -> None:
    plan = PollPlan(load_profiles(["if-mib"]))
    result = await poll("core-1", FakeSnmpClient(if_values()), plan, {"device": "core-1"})
    row2 = [s for s in result.samples if s.labels.get("if_index") == "2"]
    assert len(row2) >= 3
    assert len({id(s.labels) for s in row2}) == 1


UNAVAILABLE = parse_profile({
    "name": "t",
    "tables": [{
        "name": "phases", "index": [{"label": "phase"}],
        "metrics": [{"name": "pdu_phase_volts", "oid": "1.3.6.1.9.1", "unavailable": [-1]}],
    }],
})


async def test_a_value_marked_unavailable_gives_no_sample() -> None:
    plan = PollPlan([Profile(UNAVAILABLE)])
    client = FakeSnmpClient({"1.3.6.1.9.1.1": 230, "1.3.6.1.9.1.2": -1})
    result = await poll("pdu", client, plan, {"device": "pdu"})
    assert [(s.labels["phase"], s.value) for s in result.samples] == [("1", 230.0)]


@pytest.mark.parametrize("error", [SnmpTimeout("t"), SnmpAuthError("a"), SnmpWalkError("w")])
async def test_errors_are_returned_with_their_reason(error: SnmpError) -> None:
    plan = PollPlan(load_profiles(["apc-ups"]))
    result = await poll("ups-a", FakeSnmpClient({}, error=error), plan, {"device": "ups-a"})
    assert not result.ok
    assert result.error == error.reason
    assert result.samples == []


async def test_an_agent_with_none_of_the_profile_is_an_error() -> None:
    plan = PollPlan(load_profiles(["apc-ups"]))
    result = await poll("x", FakeSnmpClient({}), plan, {"device": "x"})
    assert result.error == "no_data"


def test_plan_asks_each_oid_once() -> None:
    plan = PollPlan(load_profiles(["apc-ups", "ups-mib", "if-mib"]))  # system included twice
    assert len(plan.get_oids) == len(set(plan.get_oids))
    assert len(plan.walk_roots) == len(set(plan.walk_roots))


async def test_an_unexpected_exception_is_a_poll_error_with_its_type() -> None:
    """A defect in an engine (here an OverflowError, as a poisoned clock once raised) is
    this poll's error, reason internal: poll() never raises."""
    plan = PollPlan(load_profiles(["apc-ups"]))
    broken = FakeSnmpClient({}, error=OverflowError("int too big to convert"))
    result = await poll("ups-a", broken, plan, {"device": "ups-a"})
    assert (result.error, result.samples) == ("internal", [])
    assert "OverflowError" in result.message
