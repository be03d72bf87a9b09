"""The LLDP port of a feed is checked on the feeder's device, against a neighbour to expect
there (tier/topology.py `_port_problems`): each rule on a two-node network, by hand."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tier.build import topology
from tier.topology import port_bindings, validate_topology

KEY = "topology.network.nodes[1].fed_from[0]"


def problems(feed: dict[str, Any], core: dict[str, Any], edge: dict[str, Any]) -> list[str]:
    topo = topology(network=[
        {"id": "CORE", "kind": "carrier", "capacity": 10, **core},
        {"id": "EDGE", "kind": "site", "demand": 1, "fed_from": [{"id": "CORE", **feed}], **edge},
    ])
    return validate_topology(topo)


@pytest.mark.parametrize(
    ("feed", "core", "edge", "expected"),
    [
        # no port, no neighbour: nothing to check
        ({}, {}, {}, []),
        ({}, {"device": "core1"}, {"device": "edge1"}, []),
        # a neighbour needs a port
        ({"neighbour": "edge1"}, {"device": "core1"}, {},
         [f"{KEY}.neighbour: a neighbour is checked on a port: give `port` too"]),
        # a port needs a device on the feeder to read LLDP from
        ({"port": "ge-0/0/1"}, {}, {"device": "edge1"},
         [f"{KEY}.port: feeder 'CORE' has no device to read LLDP from"]),
        # a port and the node's own device: that device is the neighbour expected
        ({"port": "ge-0/0/1"}, {"device": "core1"}, {"device": "edge1"}, []),
        # a port and a neighbour named: fine with or without the node's device
        ({"port": "ge-0/0/1", "neighbour": "edge1"}, {"device": "core1"}, {}, []),
        ({"port": "ge-0/0/1", "neighbour": "x"}, {"device": "core1"}, {"device": "core1"}, []),
        # a port, no neighbour, and the node has no device of its own, or the feeder's
        ({"port": "ge-0/0/1"}, {"device": "core1"}, {},
         [f"{KEY}.neighbour: what should LLDP see on core1 port ge-0/0/1? give `neighbour` "
          "(its sysName), or bind node 'EDGE' to its own device"]),
        ({"port": "ge-0/0/1"}, {"device": "core1"}, {"device": "core1"},
         [f"{KEY}.neighbour: what should LLDP see on core1 port ge-0/0/1? give `neighbour` "
          "(its sysName), or bind node 'EDGE' to its own device"]),
    ],
)
def test_port_and_neighbour_rules(feed: dict[str, Any], core: dict[str, Any],
                                  edge: dict[str, Any], expected: list[str]) -> None:
    assert problems(feed, core, edge) == expected


def test_port_bindings_name_what_lldp_should_see() -> None:
    # CORE (device core1) feeds A (its own device a1) on ge-1, B (no device, neighbour
    # named "b-sw") on ge-2, C (on core1 itself, neighbour "c") on ge-3, D with no port.
    topo = topology(network=[
        {"id": "CORE", "kind": "carrier", "capacity": 10, "device": "core1"},
        {"id": "A", "kind": "site", "demand": 1, "device": "a1",
         "fed_from": [{"id": "CORE", "port": "ge-1"}]},
        {"id": "B", "kind": "site", "demand": 1,
         "fed_from": [{"id": "CORE", "port": "ge-2", "neighbour": "b-sw"}]},
        {"id": "C", "kind": "site", "demand": 1, "device": "core1",
         "fed_from": [{"id": "CORE", "port": "ge-3", "neighbour": "c"}]},
        {"id": "D", "kind": "site", "demand": 1, "device": "d1", "fed_from": ["CORE"]},
    ])
    assert validate_topology(topo) == []
    got = [(b.subsystem, b.feeder, b.node, b.device, b.port, b.neighbour, b.neighbour_device)
           for b in port_bindings(topo)]
    assert got == [
        ("network", "CORE", "A", "core1", "ge-1", None, "a1"),
        ("network", "CORE", "B", "core1", "ge-2", "b-sw", None),
        ("network", "CORE", "C", "core1", "ge-3", "c", None),
    ]


def test_port_bindings_after_a_feed_without_a_port_and_beside_a_named_neighbour() -> None:
    # E (device e1) is fed from CORE with no port, then from CORE2 (device core2) on ge-5:
    # the feed without a port is skipped, the next one is bound, and on ge-5 LLDP should
    # see E's own device e1. F (device f1) is fed from CORE on ge-6 with the neighbour
    # named "f-name": the name is what LLDP should see, so no device is expected there.
    topo = topology(network=[
        {"id": "CORE", "kind": "carrier", "capacity": 10, "device": "core1"},
        {"id": "CORE2", "kind": "carrier", "capacity": 10, "device": "core2"},
        {"id": "E", "kind": "site", "demand": 1, "device": "e1",
         "fed_from": ["CORE", {"id": "CORE2", "port": "ge-5"}]},
        {"id": "F", "kind": "site", "demand": 1, "device": "f1",
         "fed_from": [{"id": "CORE", "port": "ge-6", "neighbour": "f-name"}]},
    ])
    assert validate_topology(topo) == []
    got = [(b.subsystem, b.feeder, b.node, b.device, b.port, b.neighbour, b.neighbour_device)
           for b in port_bindings(topo)]
    assert got == [
        ("network", "CORE2", "E", "core2", "ge-5", None, "e1"),
        ("network", "CORE", "F", "core1", "ge-6", "f-name", None),
    ]


def test_a_load_in_a_group_and_a_group_declared_twice() -> None:
    topo = topology(
        power=[
            {"id": "G1", "kind": "generator", "capacity": 100, "group": "gen"},
            {"id": "R", "kind": "rack", "demand": 1, "group": "gen", "fed_from": ["G1"]},
        ],
        groups={"power": [{"id": "gen", "demand": 1}, {"id": "gen", "demand": 2}]},
    )
    assert validate_topology(topo) == [
        "topology.power.nodes[1].group: load 'R' cannot join a capacity group",
        "topology.power.groups[1].id: group 'gen' declared twice",
    ]


def test_a_group_of_two_kinds_declared_as_one() -> None:
    topo = topology(
        power=[
            {"id": "G1", "kind": "generator", "capacity": 100, "group": "gen"},
            {"id": "U1", "kind": "ups", "capacity": 50, "group": "gen", "fed_from": ["G1"]},
            {"id": "R", "kind": "rack", "demand": 1, "fed_from": ["U1"]},
        ],
        groups={"power": [{"id": "gen", "demand": 1, "kind": "generator"}]},
    )
    assert validate_topology(topo) == [
        "topology.power.nodes: group 'gen' mixes kinds generator, ups",
        "topology.power.groups[0].kind: group 'gen' is declared generator but holds generator, ups",
    ]
