"""A rated node's capacity holds however many feeders it has: hand-computed cases.

The flow network gives a rated node with one feeder its rating on that edge, and splits a
node with several feeders into an in-node and an out-node joined by its rating (tier/flow.py).
These cases have a rated node with two and with three feeders as the bottleneck: rating
below the load, feeders together well above it.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.tier.build import manual, node, topology
from tier.score import score


def ups_fed_by(feeders: int, rating: int, load: int) -> dict[str, Any]:
    # G1..Gk (100 kW each) -> SWB1..SWBk -> UPS (rating) -> R (load)
    nodes = []
    for i in range(1, feeders + 1):
        nodes += [node(f"G{i}", "generator", capacity=100), node(f"SWB{i}", "switchboard", f"G{i}")]
    nodes += [
        node("UPS", "ups", *(f"SWB{i}" for i in range(1, feeders + 1)), capacity=rating),
        node("R", "rack", "UPS", demand=load),
    ]
    return score(topology(power=nodes)).to_json()["subsystems"]["power"]


@pytest.mark.parametrize("feeders", [2, 3])
def test_a_ups_with_several_feeders_carries_no_more_than_its_rating(feeders: int) -> None:
    # UPS 50 kW, rack 80 kW: short, whatever the 100 kW on each of its feeders.
    sub = ups_fed_by(feeders, rating=50, load=80)
    assert [(ld["id"], ld["served"], ld["reason"]) for ld in sub["loads"]] == [
        ("R", False, "capacity short")
    ]


@pytest.mark.parametrize("feeders", [2, 3])
def test_a_ups_with_several_feeders_carries_its_full_rating(feeders: int) -> None:
    # UPS 80 kW, rack 80 kW: exactly enough; one generator alone (100 kW) covers it, so
    # every generator and switchboard can be lost, the UPS alone cannot.
    sub = ups_fed_by(feeders, rating=80, load=80)
    assert [(ld["id"], ld["served"]) for ld in sub["loads"]] == [("R", True)]
    assert sub["spofs"] == ["UPS"]


def test_a_generator_rated_zero_serves_not_even_the_smallest_demand() -> None:
    # 1 kW on a 0 kW generator: the whole demand is one flow unit (every quantity is whole),
    # and none of it can flow.
    topo = topology(power=[node("G1", "generator", capacity=0), node("R", "rack", "G1", demand=1)])
    sub = score(topo).to_json()["subsystems"]["power"]
    assert [(ld["id"], ld["served"], ld["reason"]) for ld in sub["loads"]] == [
        ("R", False, "capacity short")
    ]


def test_a_load_cut_off_beside_one_short_of_capacity() -> None:
    # G1 (10 kW) -> UPS (failed) -> R1 (5 kW); G1 -> R2 (20 kW). R1 has no path left, R2 has
    # one that carries 10 of its 20 kW: each is not served, for its own reason.
    topo = topology(power=[
        node("G1", "generator", capacity=10),
        node("UPS", "ups", "G1", capacity=50),
        node("R1", "rack", "UPS", demand=5),
        node("R2", "rack", "G1", demand=20),
    ])
    sub = score(topo, {"UPS": "failed"}).to_json()["subsystems"]["power"]
    assert [(ld["id"], ld["served"], ld["reason"]) for ld in sub["loads"]] == [
        ("R1", False, "no path"), ("R2", False, "capacity short")
    ]
    assert sub["live_tier"] == 0


def test_a_hub_with_a_rating_of_its_own_joins_no_capacity_group() -> None:
    # C1 (1000) -> H (a district hub: a load of 50, rated 100) -> S3 (20). Loads never join
    # a group: the only group is the carrier, 70 of 1000 (one unit, no spare).
    topo = topology(network=[
        node("C1", "carrier", capacity=1000),
        node("H", "district", "C1", demand=50, capacity=100),
        node("S3", "site", "H", demand=20),
    ])
    groups = score(topo).to_json()["subsystems"]["network"]["groups"]
    assert [(g["id"], g["required"], g["installed"], g["spare"], g["label"], g["demand"])
            for g in groups] == [("carrier", 1, 1, 0, "N", 70.0)]


def test_two_ups_with_two_feeders_each_are_both_needed_for_capacity() -> None:
    # G1, G2 (100 kW) -> SWB1, SWB2; UPS-A and UPS-B (50 kW each) on both switchboards;
    # R (80 kW) on both UPSs. Two paths, but one UPS alone gives 50 of 80: each UPS is a
    # SPOF by capacity and cannot be maintained; a generator or switchboard can.
    topo = topology(power=[
        node("G1", "generator", capacity=100),
        node("G2", "generator", capacity=100),
        node("SWB1", "switchboard", "G1"),
        node("SWB2", "switchboard", "G2"),
        node("UPS-A", "ups", "SWB1", "SWB2", capacity=50),
        node("UPS-B", "ups", "SWB1", "SWB2", capacity=50),
        node("R", "rack", "UPS-A", "UPS-B", demand=80),
    ])
    sub = score(topo).to_json()["subsystems"]["power"]
    assert [(ld["id"], ld["paths_all"], ld["served"]) for ld in sub["loads"]] == [("R", 2, True)]
    assert sub["spofs"] == ["UPS-A", "UPS-B"]
    assert {d["node"]: d["lost"] for d in sub["maintainability_details"]} == {
        "UPS-A": [{"load": "R", "reason": "capacity short"}],
        "UPS-B": [{"load": "R", "reason": "capacity short"}],
    }
    assert sub["design_tier"] == 1


def test_a_pdu_that_carries_part_of_a_rack_while_another_rack_is_short() -> None:
    # G1 (1000 kW) -> SWB -> PDU-D -> PDU-P -> R1 (50 kW), which also hangs on UPS-X
    # (30 kW, on SWB); R2 (1 kW) on PDU-D alone. Elsewhere GS (1 kW) -> RS (5 kW): short
    # from the start. Without PDU-D, R2 has no path and R1 gets 30 of its 50 kW.
    topo = topology(power=[
        node("G1", "generator", capacity=1000),
        node("SWB", "switchboard", "G1"),
        node("PDU-D", "pdu", "SWB"),
        node("PDU-P", "pdu", "PDU-D"),
        node("UPS-X", "ups", "SWB", capacity=30),
        node("R1", "rack", "PDU-P", "UPS-X", demand=50),
        node("R2", "rack", "PDU-D", demand=1),
        node("GS", "generator", capacity=1),
        node("RS", "rack", "GS", demand=5),
    ])
    sub = score(topo).to_json()["subsystems"]["power"]
    assert [(ld["id"], ld["served"]) for ld in sub["loads"]] == [
        ("R1", True), ("R2", True), ("RS", False)
    ]
    details = {d["node"]: d["lost"] for d in sub["maintainability_details"]}
    assert details["PDU-D"] == [
        {"load": "R1", "reason": "capacity short"}, {"load": "R2", "reason": "no path"}
    ]


def test_a_rack_that_needs_nothing_is_served_without_closing_the_tie() -> None:
    # G1 (100 kW) -> SWB, and G2 (100 kW) -> SWB through a manual tie; R1 (150 kW) and
    # R0 (0 kW) on SWB. With the tie open G1 gives 100 of R1's 150: R1 is served only with
    # the tie closed; R0 needs nothing and is served either way.
    topo = topology(power=[
        node("G1", "generator", capacity=100),
        node("G2", "generator", capacity=100),
        node("SWB", "switchboard", "G1", manual("G2")),
        node("R1", "rack", "SWB", demand=150),
        node("R0", "rack", "SWB", demand=0),
    ])
    loads = score(topo).to_json()["subsystems"]["power"]["loads"]
    assert [(ld["id"], ld["served"], ld["served_active"]) for ld in loads] == [
        ("R1", True, False), ("R0", True, True)
    ]


def three_ups_behind_ties(tie_to_b: bool) -> dict[str, Any]:
    # G1, G2 (200 kW) on SWB-A and SWB-B; UPS-A (50) on SWB-A, UPS-B (50) on SWB-B, UPS-C
    # (50) on both; PDU-A on UPS-A and, by a manual tie, UPS-C; PDU-B on UPS-B (and, when
    # `tie_to_b`, by a manual tie on UPS-C); R (80 kW) on PDU-A and PDU-B.
    return score(topology(power=[
        node("G1", "generator", capacity=200),
        node("G2", "generator", capacity=200),
        node("SWB-A", "switchboard", "G1", "G2"),
        node("SWB-B", "switchboard", "G1", "G2"),
        node("UPS-A", "ups", "SWB-A", capacity=50),
        node("UPS-B", "ups", "SWB-B", capacity=50),
        node("UPS-C", "ups", "SWB-A", "SWB-B", capacity=50),
        node("PDU-A", "pdu", "UPS-A", manual("UPS-C")),
        node("PDU-B", "pdu", "UPS-B", *([manual("UPS-C")] if tie_to_b else [])),
        node("R", "rack", "PDU-A", "PDU-B", demand=80),
    ])).to_json()["subsystems"]["power"]


def test_two_paths_and_spares_but_one_element_not_maintainable_is_tier_ii() -> None:
    # Both groups have a spare (generators 200 of 80; UPSs 2 of 3 needed), R has two paths
    # with the ties open and with them closed. Without PDU-A, R has PDU-B on UPS-B alone:
    # 50 of 80. So PDU-A cannot be maintained: Tier II, not III.
    power = three_ups_behind_ties(tie_to_b=False)
    assert [(g["id"], g["spare"]) for g in power["groups"]] == [("generator", 1), ("ups", 1)]
    assert [(ld["paths_all"], ld["paths_active"]) for ld in power["loads"]] == [(2, 2)]
    assert power["maintainability_failures"] == ["PDU-A"]
    assert power["design_tier"] == 2


def test_every_element_maintainable_but_spofs_with_the_ties_open_is_tier_iii() -> None:
    # With a tie from UPS-C to each PDU, any one element can go: the other side and UPS-C
    # give 100 of 80. With the ties open each side gives 50: every element on a side (its
    # switchboard, UPS and PDU) is a SPOF by capacity. Tier III, not IV.
    power = three_ups_behind_ties(tie_to_b=True)
    assert power["maintainability_failures"] == []
    assert power["spofs"] == ["PDU-A", "PDU-B", "SWB-A", "SWB-B", "UPS-A", "UPS-B"]
    assert [(ld["paths_all"], ld["paths_active"]) for ld in power["loads"]] == [(2, 2)]
    assert power["design_tier"] == 3
