"""Paths, SPOFs and maintainability on small sites worked out by hand (formulas 3-5), one
table row per shortcut of tier/paths.py that could go wrong (issue 21's survivors)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.tier.build import node, topology
from tier.score import score
from tier.topology import TopologyConfig


@dataclass
class Case:
    name: str
    topo: TopologyConfig
    paths: dict[str, int]  # load -> paths_all (no manual edge here: paths_active equal)
    spofs: list[str]
    maintainability: dict[str, dict[str, str]]  # node -> {load: reason}


def _dominator_case(name: str, l1_demand: int) -> Case:
    return Case(
        name,
        topology(
            power=[
                node("G1", "generator", capacity=100),
                node("G2", "generator", capacity=30),
                node("D", "switchboard", "G1"),
                node("L1", "rack", "D", demand=l1_demand),
                node("X", "switchboard", "D", "G2"),
                node("L2", "rack", "X", demand=50),
            ]
        ),
        paths={"L1": 1, "L2": 1},
        spofs=["D", "G1", "X"],
        maintainability={
            "D": {"L1": "no path", "L2": "capacity short"},
            "G1": {"L1": "no path", "L2": "capacity short"},
            "X": {"L2": "no path"},
        },
    )


CASES = [
    # Three feeders, two of them behind one switchboard X: no single node is on every path,
    # yet only two node-disjoint paths exist (S-G1-F1-R and S-G2-X-F2-R; F3 needs X again).
    Case(
        "three-feeders-two-paths",
        topology(
            power=[
                node("G1", "generator"),
                node("G2", "generator"),
                node("X", "switchboard", "G2"),
                node("F1", "pdu", "G1"),
                node("F2", "pdu", "X"),
                node("F3", "pdu", "X"),
                node("R", "rack", "F1", "F2", "F3", demand=1),
            ]
        ),
        paths={"R": 2},
        spofs=[],
        maintainability={},
    ),
    # The same with a third independent branch: three paths.
    Case(
        "three-feeders-three-paths",
        topology(
            power=[
                node("G1", "generator"),
                node("G2", "generator"),
                node("G3", "generator"),
                node("F1", "pdu", "G1"),
                node("F2", "pdu", "G2"),
                node("F3", "pdu", "G3"),
                node("R", "rack", "F1", "F2", "F3", demand=1),
            ]
        ),
        paths={"R": 3},
        spofs=[],
        maintainability={},
    ),
    # D alone feeds L1 and also sends 20 kW on to X, which G2 (30 kW) feeds too, for L2
    # (50 kW). Without D: L1 has no path and L2 gets 30 < 50. G1 is D's only feed: the same.
    # Without X: L2 has no path. Without G2: G1 carries all 60 kW (100 kW): nothing lost.
    _dominator_case("dominator-with-flow-leaving-its-region", l1_demand=10),
    # The same with L1 drawing nothing: no flow runs inside D's region (D -> L1 carries 0),
    # but 20 kW still leave it for L2: the figures are the same.
    _dominator_case("dominator-with-no-flow-inside-its-region", l1_demand=0),
    # Parallel UPS modules of different sizes (30 declared first, then 100) for 90 kW: the
    # 100 kW module cannot go (30 < 90), the 30 kW one can (100 >= 90). Modules alike in
    # their feeds but not their capacity must be judged apart.
    Case(
        "parallel-modules-of-two-sizes",
        topology(
            power=[
                node("G1", "generator"),
                node("SWB", "switchboard", "G1"),
                node("UPS-S", "ups", "SWB", capacity=30),
                node("UPS-L", "ups", "SWB", capacity=100),
                node("UOB", "switchboard", "UPS-S", "UPS-L"),
                node("R", "rack", "UOB", demand=90),
            ]
        ),
        paths={"R": 1},
        spofs=["G1", "SWB", "UOB", "UPS-L"],
        maintainability={
            "G1": {"R": "no path"},
            "SWB": {"R": "no path"},
            "UPS-L": {"R": "capacity short"},
            "UOB": {"R": "no path"},
        },
    ),
    # A district (a load that feeds others) alone feeds site S1; site S2 has a second way
    # in. Taking the district out drops its own demand with it and leaves S1 without a path.
    Case(
        "pass-through-load",
        topology(
            network=[
                node("C1", "carrier", capacity=100),
                node("C2", "carrier", capacity=100),
                node("CORE", "core", "C1", "C2"),
                node("DIST", "district", "CORE", demand=5),
                node("S1", "site", "DIST", demand=10),
                node("S2", "site", "DIST", "CORE", demand=10),
            ]
        ),
        paths={"DIST": 1, "S1": 1, "S2": 1},
        spofs=["CORE", "DIST"],
        maintainability={"CORE": {"DIST": "no path", "S1": "no path", "S2": "no path"},
                         "DIST": {"S1": "no path"}},
    ),
    # Two districts with the same feeds, successors and capacity (50), but their own demands
    # differ: X 5, Y 40; site S (45) hangs on both. Now X carries 5 + 45 = 50, Y 40.
    # Without X, Y would carry 40 + 45 = 85 > 50: S and Y (which shares that bottleneck) are
    # short. Without Y, X carries 5 + 45 = 50 <= 50: nothing lost. So they are no twins:
    # each is checked on its own. C1 and CORE are on every path.
    Case(
        "pass-through-loads-alike-but-for-their-demand",
        topology(
            network=[
                node("C1", "carrier", capacity=100),
                node("CORE", "core", "C1"),
                node("X", "district", "CORE", demand=5, capacity=50),
                node("Y", "district", "CORE", demand=40, capacity=50),
                node("S", "site", "X", "Y", demand=45),
            ]
        ),
        paths={"X": 1, "Y": 1, "S": 1},
        spofs=["C1", "CORE", "X"],
        maintainability={
            "C1": {"X": "no path", "Y": "no path", "S": "no path"},
            "CORE": {"X": "no path", "Y": "no path", "S": "no path"},
            "X": {"Y": "capacity short", "S": "capacity short"},
        },
    ),
    # Three 40 kW twins (same feeds, same size) for 75 kW: any one can go (80 >= 75).
    Case(
        "twins",
        topology(
            power=[
                node("G1", "generator"),
                node("SWB", "switchboard", "G1"),
                *(node(f"UPS{i}", "ups", "SWB", capacity=40) for i in (1, 2, 3)),
                node("UOB", "switchboard", "UPS1", "UPS2", "UPS3"),
                node("R", "rack", "UOB", demand=75),
            ]
        ),
        paths={"R": 1},
        spofs=["G1", "SWB", "UOB"],
        maintainability={"G1": {"R": "no path"}, "SWB": {"R": "no path"},
                         "UOB": {"R": "no path"}},
    ),
    # A pass-through load (HUB, 5) listed before other elements, in a state already short:
    # P (capacity 5) cannot carry S3's 10, so S3 is not served and no removal is judged on
    # it. C1 is on every path; HUB alone feeds S1, SW alone S2, P alone S3. Taking HUB out
    # drops S1 only (S3 was lost already); SW, checked after HUB, drops S2; P drops no
    # load that is served. SPOFs: the dominators of the reachable loads, S3 among them.
    Case(
        "pass-through-load-first-in-a-short-state",
        topology(
            network=[
                node("C1", "carrier", capacity=100),
                node("HUB", "district", "C1", demand=5),
                node("S1", "site", "HUB", demand=10),
                node("P", "core", "C1", capacity=5),
                node("S3", "site", "P", demand=10),
                node("SW", "core", "C1"),
                node("S2", "site", "SW", demand=10),
            ]
        ),
        paths={"HUB": 1, "S1": 1, "S3": 1, "S2": 1},
        spofs=["C1", "HUB", "P", "SW"],
        maintainability={
            "C1": {"HUB": "no path", "S1": "no path", "S2": "no path"},
            "HUB": {"S1": "no path"},
            "SW": {"S2": "no path"},
        },
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_paths_spofs_maintainability(case: Case) -> None:
    snap = score(case.topo)
    (sub,) = snap.subsystems
    state = sub.live
    assert {ld.id: ld.paths_all for ld in state.loads} == case.paths
    assert {ld.id: ld.paths_active for ld in state.loads} == case.paths
    assert list(state.spofs) == case.spofs
    got: dict[str, dict[str, Any]] = {
        drop.node: {lost.load: lost.reason for lost in drop.lost} for drop in state.maintainability
    }
    assert got == case.maintainability


def test_a_load_with_no_demand_is_served_when_reached() -> None:
    # A 10 kW generator for R1 (20 kW) and R2 (0 kW, a spare rack) on the same PDU: R1 is
    # short; R2 needs nothing and is served (it once shared R1's "capacity short", being
    # merged with it). Taking G1 or the PDU out would cut R2 off: those two fail.
    topo = topology(
        power=[
            node("G1", "generator", capacity=10),
            node("PDU", "pdu", "G1"),
            node("R1", "rack", "PDU", demand=20),
            node("R2", "rack", "PDU", demand=0),
        ]
    )
    state = score(topo).subsystem("power").live
    assert [(ld.id, ld.served, ld.reason) for ld in state.loads] == [
        ("R1", False, "capacity short"),
        ("R2", True, None),
    ]
    got = {d.node: [(x.load, x.reason) for x in d.lost] for d in state.maintainability}
    assert got == {"G1": [("R2", "no path")], "PDU": [("R2", "no path")]}
    assert state.maintainability_note == "load R1 is not served"
