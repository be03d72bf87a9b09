"""A broken topology is refused with a message naming the node and the key."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.tier.build import FIXTURES, manual, node, topology
from tests.tier.test_examples import run_cli
from tier.graph import TopologyError, compile_topology
from tier.score import score
from tier.status import NodeStatus
from tier.topology import (
    TopologyConfig,
    demand_bindings,
    node_bindings,
    node_status,
    validate_topology,
)
from tierwatch.core.model import Status

GOOD = [
    node("G1", "generator", capacity=100),
    node("SWB", "switchboard", "G1"),
    node("UPS", "ups", "SWB", capacity=50, device="ups-1"),
    node("R", "rack", "UPS", demand=10),
]


def with_changes(*extra: dict[str, Any], drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    nodes = [n for n in GOOD if n["id"] not in drop]
    return [*nodes, *extra]


@pytest.mark.parametrize(
    ("nodes", "expected"),
    [
        (
            with_changes(node("R2", "rack", "SWB", "X", demand=1)),
            ["topology.power.nodes[4].fed_from[1]: unknown node 'X'"],
        ),
        (
            with_changes(node("UPS", "ups", "SWB", capacity=10)),
            ["topology.power.nodes[4].id: duplicate id 'UPS' (first at topology.power.nodes[2])"],
        ),
        (
            with_changes(node("R2", "rack", "SWB", "SWB", demand=1)),
            ["topology.power.nodes[4].fed_from[1]: node 'R2' lists feeder 'SWB' twice"],
        ),
        (
            with_changes(node("R2", "rack", "R2", demand=1)),
            [
                "topology.power.nodes[4].fed_from[0]: node 'R2' is fed from itself",
                "topology.power.nodes[4].fed_from: load 'R2' has no path from any source",
            ],
        ),
        (
            with_changes(node("R2", "rack", demand=1)),
            [
                "topology.power.nodes[4].fed_from: load 'R2' is fed from nothing and is not a "
                "source (sources in power: generator, utility)"
            ],
        ),
        (
            with_changes(node("PDU", "pdu"), node("R2", "rack", "PDU", demand=1)),
            [
                "topology.power.nodes[4].fed_from: pdu 'PDU' is fed from nothing and is not a "
                "source (sources in power: generator, utility)",
                "topology.power.nodes[5].fed_from: load 'R2' has no path from any source",
            ],
        ),
        (
            with_changes(node("STS", "sts", "G1", capacity=5, group="ups")),
            ["topology.power.nodes: group 'ups' mixes kinds sts, ups"],
        ),
        (
            with_changes(node("PDU", "pdu", "UPS", group="pdus")),
            ["topology.power.nodes[4].group: node 'PDU' names group 'pdus' but has no capacity"],
        ),
    ],
    ids=[
        "unknown-node",
        "duplicate",
        "twice",
        "self",
        "no-feed-load",
        "no-feed-node",
        "mixed-group",
        "group-no-capacity",
    ],
)
def test_problems_name_node_and_key(nodes: list[dict[str, Any]], expected: list[str]) -> None:
    assert validate_topology(topology(power=nodes)) == expected


def test_a_cycle_names_its_nodes() -> None:
    nodes = with_changes(
        node("A", "switchboard", "G1", "C"),
        node("B", "switchboard", "A"),
        node("C", "switchboard", "B"),
    )
    # Named from its smallest id along the feeds (A feeds B feeds C feeds A), at the entry
    # that closes it: A's fed_from[1], which names C.
    assert validate_topology(topology(power=nodes)) == [
        "topology.power.nodes[4].fed_from[1]: cycle A -> B -> C -> A: feeds in a loop must "
        "include a manual one (`mode: manual`, a normally open tie)"
    ]


def test_unknown_device_is_named_when_devices_are_known() -> None:
    topo = topology(
        power=with_changes(
            node("R2", "rack", "SWB", demand=1, demand_metric={"device": "pdu-9", "metric": "w"})
        )
    )
    assert validate_topology(topo) == []  # device ids not given: not checked
    assert validate_topology(topo, {"ups-1"}) == [
        "topology.power.nodes[4].demand_metric.device: node 'R2': unknown device 'pdu-9'"
    ]
    assert validate_topology(topo, set()) == [
        "topology.power.nodes[2].device: node 'UPS': unknown device 'ups-1'",
        "topology.power.nodes[4].demand_metric.device: node 'R2': unknown device 'pdu-9'",
    ]


def test_group_declarations_are_checked() -> None:
    topo = topology(
        power=GOOD,
        groups={"power": [{"id": "fuel", "demand": 5}, {"id": "ups", "demand": 5, "kind": "pdu"}]},
    )
    assert validate_topology(topo) == [
        "topology.power.groups[0].id: unknown group 'fuel' (no node with a capacity forms it)",
        "topology.power.groups[1].kind: group 'ups' is declared pdu but holds ups",
    ]


def test_ids_are_unique_across_subsystems() -> None:
    topo = topology(
        power=GOOD, cooling=[node("G1", "chiller", capacity=5), node("Z", "zone", "G1", demand=1)]
    )
    assert validate_topology(topo) == [
        "topology.cooling.nodes[0].id: duplicate id 'G1' (first at topology.power.nodes[0])"
    ]


def test_feeds_stay_within_a_subsystem() -> None:
    topo = topology(power=GOOD, cooling=[node("Z", "zone", "SWB", demand=1)])
    assert validate_topology(topo) == [
        "topology.cooling.nodes[0].fed_from[0]: unknown node 'SWB' (it is "
        "topology.power.nodes[1]; feeds stay within one subsystem)",
        "topology.cooling.nodes[0].fed_from: load 'Z' has no path from any source",
    ]


@pytest.mark.parametrize("field", ["capacity", "demand"])
def test_negative_numbers_are_refused_by_the_schema(field: str) -> None:
    bad = node("UPS", "ups", "SWB", **{field: -5})
    with pytest.raises(ValidationError) as info:
        topology(power=[*GOOD[:2], bad])
    (error,) = info.value.errors()
    assert error["loc"] == ("power", "nodes", 2, field)
    assert f"node 'UPS': {field} must be >= 0, got -5" in error["msg"]


def test_schema_refuses_unknown_keys_kinds_and_modes() -> None:
    for bad in (
        {"id": "X", "kind": "rack", "demand": 1, "fed_from": ["G1"], "colour": "red"},
        {"id": "X", "kind": "toaster"},
        {"id": "X", "kind": "rack", "fed_from": [{"id": "G1", "mode": "sometimes"}]},
        {"id": "X", "kind": "rack", "component": "out1"},
    ):
        with pytest.raises(ValidationError):
            TopologyConfig.model_validate({"power": {"nodes": [bad]}})


def test_score_refuses_an_invalid_topology() -> None:
    topo = topology(power=with_changes(node("R2", "rack", "X", demand=1)))
    with pytest.raises(TopologyError) as info:
        score(topo)
    assert info.value.problems == [
        "topology.power.nodes[4].fed_from[0]: unknown node 'X'",
        "topology.power.nodes[4].fed_from: load 'R2' has no path from any source",
    ]
    with pytest.raises(ValueError):
        compile_topology(topo)


# --------------------------------------------------------------------- through the loader


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "tierwatch.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_check_reports_topology_problems_with_line_and_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        site: {name: t}
        credentials:
          lab: {version: 2c, community: public}
        devices:
          - {id: ups-1, address: 127.0.0.1, credentials: lab}
        topology:
          power:
            nodes:
              - {id: G1, kind: generator, capacity: 100}
              - {id: UPS, kind: ups, capacity: 50, fed_from: [G1], device: ups-2}
              - {id: R, kind: rack, demand: 10, fed_from: [UPS, PDU-X]}
        """,
    )
    done = run_cli("check", "-c", str(path))
    assert done.returncode == 1
    assert (
        f"{path}:10: topology.power.nodes[1].device: node 'UPS': unknown device 'ups-2'"
        in done.stderr
    )
    assert f"{path}:11: topology.power.nodes[2].fed_from[1]: unknown node 'PDU-X'" in done.stderr


def test_check_reports_a_negative_capacity_with_its_node(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        site: {name: t}
        topology:
          power:
            nodes:
              - {id: G1, kind: generator, capacity: -100}
        """,
    )
    done = run_cli("check", "-c", str(path))
    assert done.returncode == 1
    assert "topology.power.nodes[0].capacity: node 'G1': capacity must be >= 0" in done.stderr


def test_score_exits_1_on_a_broken_topology(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        site: {name: t}
        topology:
          power:
            nodes:
              - {id: A, kind: switchboard, fed_from: [B]}
              - {id: B, kind: switchboard, fed_from: [A]}
        """,
    )
    done = run_cli("score", "-c", str(path))
    assert done.returncode == 1
    assert "topology.power.nodes[" in done.stderr
    assert "cycle A -> B -> A" in done.stderr or "cycle B -> A -> B" in done.stderr


@pytest.mark.parametrize(
    ("assume", "message"),
    [
        ("NOPE=off", "unknown node 'NOPE'"),
        ("UPS-A=sideways", "unknown status 'sideways'"),
        ("UPS-A", "expected NODE=STATUS"),
    ],
)
def test_assume_must_name_a_known_node_and_status(assume: str, message: str) -> None:
    done = run_cli("score", "-c", str(FIXTURES / "example2.yaml"), "--assume", assume)
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""


def test_an_empty_devices_list_and_manual_feed_are_valid() -> None:
    topo = topology(
        power=[
            node("G1", "generator", capacity=1),
            node("P", "pdu", manual("G1")),
            node("R", "rack", "P", demand=1),
        ]
    )
    assert validate_topology(topo, set()) == []


def test_bindings_and_node_status() -> None:
    topo = topology(
        power=with_changes(
            node(
                "R2",
                "rack",
                "SWB",
                demand=1,
                device="pdu-9",
                component="outlet-1",
                demand_metric={"device": "pdu-9", "metric": "pdu_power_watts", "scale": 0.001},
            )
        )
    )
    assert node_bindings(topo) == {"UPS": ("ups-1", None), "R2": ("pdu-9", "outlet-1")}
    metric = demand_bindings(topo)["R2"]
    assert (metric.device, metric.metric, metric.scale) == ("pdu-9", "pdu_power_watts", 0.001)
    assert node_status(Status.FAILED, frozenset({"bypass"})) is NodeStatus.BYPASS
    assert node_status(Status.FAILED, frozenset({"off", "overload"})) is NodeStatus.OFF
    assert node_status(Status.DEGRADED, frozenset({"on_battery"})) is NodeStatus.DEGRADED
    assert node_status(Status.UNKNOWN) is NodeStatus.UNKNOWN
