"""Main-tie-main boards, stable cycle errors and loads behind a manual tie (issue 15,
items 4 and 5). Expected values worked out by hand from TIER-MODEL formulas 1-6."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.helpers.procs import ROOT
from tests.tier.build import (
    cli,
    cli_json,
    fixture_config_topology,
    fixture_path,
    manual,
    node,
    topology,
)
from tier.graph import TopologyError, compile_topology
from tier.score import score, whatif
from tier.topology import validate_topology

# --------------------------------------------------------------------------- item 4


def test_a_tie_written_both_ways_as_manual_is_accepted() -> None:
    # G1 -> SWB-A -> UPS-A -> PDU-A -> R and G2 -> SWB-B -> UPS-B -> PDU-B -> R, with the
    # tie SWB-A <-> SWB-B normally open. Design: two independent active paths; generators
    # 100 each for 80 (N+1; one side, as the tie joins them), UPS 100 a side (2N); no node
    # whose loss drops R: tier IV.
    doc = cli_json("score", "-c", fixture_path("main-tie-main.yaml"))
    power = doc["subsystems"]["power"]
    assert power["design_tier"] == 4
    labels = {g["id"]: (g["required"], g["spare"], g["label"]) for g in power["groups"]}
    assert labels == {"generator": (1, 1, "N+1"), "ups": (1, 1, "2N")}
    rack = power["loads"][0]
    assert (rack["paths_all"], rack["paths_active"], rack["served"]) == (2, 2, True)
    assert power["spofs"] == [] and power["maintainability_failures"] == []
    assert power["manual_transfer"] == []


def test_the_tie_carries_the_load_when_each_side_has_lost_something() -> None:
    # G1 failed and UPS-B on bypass: R is reached only by G2 -> SWB-B -> (tie) -> SWB-A ->
    # UPS-A -> PDU-A. Served through a manual transfer; one path with the tie, none without;
    # each node of that path (and G2) would drop R: live tier I (generator and UPS "N").
    path = fixture_path("main-tie-main.yaml")
    doc = cli_json("score", "-c", path, "--assume", "G1=failed", "--assume", "UPS-B=bypass")
    power = doc["subsystems"]["power"]
    assert (power["design_tier"], power["live_tier"]) == (4, 1)
    rack = power["loads"][0]
    assert (rack["paths_all"], rack["paths_active"]) == (1, 0)
    assert (rack["served"], rack["served_active"]) == (True, False)
    assert power["maintainability_failures"] == ["G2", "PDU-A", "SWB-A", "SWB-B", "UPS-A"]
    assert power["manual_transfer"] == [
        {"load": "R", "ties": [{"from": "SWB-B", "to": "SWB-A"}]}
    ]
    # through whatif: taking G2 out as well drops R
    answer = cli_json("whatif", "-c", path, "--assume", "G1=failed", "--assume",
                      "UPS-B=bypass", "--remove", "G2", code=3)
    assert answer["lost"] == [{"load": "R", "reason": "no path"}]
    # the library agrees
    topo = fixture_config_topology("main-tie-main.yaml")
    live = score(topo, {"G1": "failed", "UPS-B": "bypass"}).subsystem("power").live
    assert [(m.load, m.ties) for m in live.manual_transfer] == [("R", (("SWB-B", "SWB-A"),))]
    assert not whatif(topo, {"G1": "failed", "UPS-B": "bypass"}, ["G2"]).ok


AUTO_LOOP_PROBLEM = (
    "topology.power.nodes[3].fed_from[1]: cycle SWB-A -> SWB-B -> SWB-A: feeds in a loop "
    "must include a manual one (`mode: manual`, a normally open tie)"
)


def test_a_loop_of_auto_feeds_is_refused_from_its_smallest_id() -> None:
    # SWB-B (declared first) is fed from SWB-A, SWB-A from SWB-B: the loop is named from
    # SWB-A, the smaller id, and reported at SWB-A's entry that names SWB-B: nodes[3],
    # fed_from[1], on line 11 of the file.
    topo = fixture_config_topology("main-tie-main.yaml")  # a valid file, for the builders
    assert validate_topology(topo) == []
    code, out, err = cli("score", "-c", fixture_path("auto-loop.yaml"), "--offline")
    assert (code, out) == (1, "")
    assert err.splitlines() == [f"error: {fixture_path('auto-loop.yaml')}:11: {AUTO_LOOP_PROBLEM}"]


def test_one_manual_edge_in_the_loop_is_enough() -> None:
    nodes = [
        node("G1", "generator"),
        node("A", "switchboard", "G1", manual("C")),
        node("B", "switchboard", "A"),
        node("C", "switchboard", "B"),
        node("R", "rack", "C", demand=1),
    ]
    assert validate_topology(topology(power=nodes)) == []
    compile_topology(topology(power=nodes))  # no TopologyError
    nodes[1] = node("A", "switchboard", "G1", "C")
    try:
        compile_topology(topology(power=nodes))
    except TopologyError as exc:
        assert exc.problems == [
            "topology.power.nodes[1].fed_from[1]: cycle A -> B -> C -> A: feeds in a loop "
            "must include a manual one (`mode: manual`, a normally open tie)"
        ]
    else:
        raise AssertionError("a loop of auto feeds was accepted")


def test_the_cycle_error_is_the_same_whatever_the_hash_seed() -> None:
    # Set iteration order follows the hash seed; the message must not.
    seen = set()
    for seed in ("0", "1", "2", "3", "17", "123", "4242", "99999"):
        done = subprocess.run(
            [sys.executable, "-m", "tierwatch", "score", "-c", fixture_path("auto-loop.yaml"),
             "--offline"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": seed},
            timeout=120,
            check=False,
        )
        assert done.returncode == 1
        seen.add(done.stderr)
    assert seen == {f"error: {fixture_path('auto-loop.yaml')}:11: {AUTO_LOOP_PROBLEM}\n"}


# --------------------------------------------------------------------------- item 5


def test_a_load_behind_one_manual_tie_is_named() -> None:
    # G1, G2 -> SWB -> UPS -> (manual) PDU -> R. With the ties open R is not reached at all,
    # so the auto view has no dominator for it (SPOFs stay "none", formula 4); R depends on
    # closing UPS -> PDU. With the tie closed one path: SWB, UPS and PDU each drop R.
    path = fixture_path("manual-only.yaml")
    doc = cli_json("score", "-c", path)
    power = doc["subsystems"]["power"]
    assert power["spofs"] == []
    assert power["manual_transfer"] == [{"load": "R", "ties": [{"from": "UPS", "to": "PDU"}]}]
    assert power["maintainability_failures"] == ["PDU", "SWB", "UPS"]
    rack = power["loads"][0]
    assert (rack["paths_all"], rack["paths_active"], rack["served"], rack["served_active"]) == (
        1, 0, True, False
    )
    # generators N+1 (100 each for 50), UPS N (60 for 50): tier I
    assert power["design_tier"] == 1
    code, out, _ = cli("score", "-c", path, "--offline")
    assert code == 0
    lines = out.splitlines()
    assert "  Single points of failure: none" in lines
    assert "  Depends on a manual transfer: R (tie UPS -> PDU)" in lines
    # whatif shows the same line for the state afterwards
    answer = cli_json("whatif", "-c", path, "--remove", "G1")
    assert answer["subsystems"]["power"]["manual_transfer"] == power["manual_transfer"]


def test_a_load_with_a_choice_of_ties_needs_none_alone() -> None:
    # Two manual feeds into R's only PDU: either tie carries it, so neither is needed alone.
    topo = topology(
        power=[
            node("G1", "generator"),
            node("UPS-1", "ups", "G1", capacity=10),
            node("UPS-2", "ups", "G1", capacity=10),
            node("PDU", "pdu", manual("UPS-1"), manual("UPS-2")),
            node("R", "rack", "PDU", demand=5),
        ]
    )
    live = score(topo).subsystem("power").live
    assert [(m.load, m.ties, m.describe()) for m in live.manual_transfer] == [
        ("R", (), "R (any of several manual ties)")
    ]
    # 5 more kW: each tie alone (10) is short of 15, both are needed
    topo = topology(
        power=[
            node("G1", "generator"),
            node("UPS-1", "ups", "G1", capacity=10),
            node("UPS-2", "ups", "G1", capacity=10),
            node("PDU", "pdu", manual("UPS-1"), manual("UPS-2")),
            node("R", "rack", "PDU", demand=15),
        ]
    )
    live = score(topo).subsystem("power").live
    assert [(m.load, m.ties) for m in live.manual_transfer] == [
        ("R", (("UPS-1", "PDU"), ("UPS-2", "PDU")))
    ]


def test_example_2_depends_on_its_tie_only_when_path_a_is_out() -> None:
    path = fixture_path("example2.yaml")
    assert cli_json("score", "-c", path)["subsystems"]["power"]["manual_transfer"] == []
    doc = cli_json("score", "-c", path, "--assume", "PDU-A=failed")
    assert doc["subsystems"]["power"]["manual_transfer"] == [
        {"load": "R", "ties": [{"from": "UPS-B", "to": "PDU-B"}]}
    ]


def test_each_load_behind_its_own_manual_cord_names_its_cord() -> None:
    # R1 and R2 each hang on one manual cord (PDU-1 -> R1, PDU-2 -> R2): with the ties open
    # neither is reached, so each needs its own cord, and only that one. R0 is served by
    # PDU-2 and has a manual cord from PDU-1 too: that tie (first in id order, PDU-1 -> R0)
    # is upstream of neither R1 nor R2 and needed by neither.
    topo = topology(
        power=[
            node("G1", "generator"),
            node("SWB", "switchboard", "G1"),
            node("PDU-1", "pdu", "SWB"),
            node("PDU-2", "pdu", "SWB"),
            node("R0", "rack", "PDU-2", manual("PDU-1"), demand=1),
            node("R1", "rack", manual("PDU-1"), demand=1),
            node("R2", "rack", manual("PDU-2"), demand=1),
        ]
    )
    live = score(topo).subsystem("power").live
    assert [(m.load, m.ties) for m in live.manual_transfer] == [
        ("R1", (("PDU-1", "R1"),)),
        ("R2", (("PDU-2", "R2"),)),
    ]
