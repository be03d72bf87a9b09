"""Hand-computed topologies, table-driven: each case states what an engineer works out on
paper (groups, paths, SPOFs, maintainability set, tiers) and the engine must agree."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.tier.build import manual, node, topology
from tier.graph import compile_topology
from tier.score import score
from tier.topology import TopologyConfig


@dataclass
class Case:
    name: str
    topo: TopologyConfig
    subsystem: str
    statuses: dict[str, str]
    design_tier: int
    live_tier: int
    groups: dict[str, tuple[int, int, int, int, str]]  # required, installed, available, spare
    paths: dict[str, tuple[int, int, bool]]  # load -> paths_all, paths_active, served
    spofs: list[str]
    maintainability: dict[str, dict[str, str]]  # node -> {load: reason}
    reasons: dict[str, str] = field(default_factory=dict)  # load -> why not served


# G1 -> SWB -> UPS1..3 (40 kW) -> PDU -> R (100 kW): three units just cover the load.
N_MINUS_ONE = topology(
    power=[
        node("G1", "generator", capacity=200),
        node("SWB", "switchboard", "G1"),
        *(node(f"UPS{i}", "ups", "SWB", capacity=40) for i in (1, 2, 3)),
        node("PDU", "pdu", "UPS1", "UPS2", "UPS3"),
        node("R", "rack", "PDU", demand=100),
    ]
)

# Two generators on both switchboards, two fully independent active paths to a dual-corded
# rack: nothing is single, nothing needs a hand on a switch.
TWO_N_ACTIVE = topology(
    power=[
        node("G1", "generator", capacity=150),
        node("G2", "generator", capacity=150),
        node("SWB-A", "switchboard", "G1", "G2"),
        node("SWB-B", "switchboard", "G1", "G2"),
        node("UPS-A", "ups", "SWB-A", capacity=100),
        node("UPS-B", "ups", "SWB-B", capacity=100),
        node("PDU-A", "pdu", "UPS-A"),
        node("PDU-B", "pdu", "UPS-B"),
        node("R", "rack", "PDU-A", "PDU-B", demand=80),
    ]
)

# One UPS with a manual maintenance bypass from the switchboard to the PDU: the UPS is a
# SPOF in operation but can be maintained; the switchboard and the PDU cannot.
BYPASSED_UPS = topology(
    power=[
        node("G1", "generator", capacity=100),
        node("G2", "generator", capacity=100),
        node("SWB", "switchboard", "G1", "G2"),
        node("UPS", "ups", "SWB", capacity=100),
        node("PDU", "pdu", "UPS", manual("SWB")),
        node("R", "rack", "PDU", demand=50),
    ]
)

# Three 50 kW DX CRACs (sources: no fed_from) cooling two 40 kW zones, each zone reached by
# all three: N+1 for 80 kW.
CRACS_N_PLUS_ONE = topology(
    cooling=[
        *(node(f"CRAC{i}", "crac", capacity=50) for i in (1, 2, 3)),
        node("Z1", "zone", "CRAC1", "CRAC2", "CRAC3", demand=40),
        node("Z2", "zone", "CRAC1", "CRAC2", "CRAC3", demand=40),
    ]
)

# Two carriers, two edge routers, two cores, two access switches; site S is dual-homed,
# site S2 hangs off one access switch, and hub H (itself a load) feeds site S3.
NETWORK = topology(
    network=[
        node("C1", "carrier", capacity=1000),
        node("C2", "carrier", capacity=1000),
        node("E1", "router", "C1"),
        node("E2", "router", "C2"),
        node("CORE1", "core", "E1", "E2"),
        node("CORE2", "core", "E1", "E2"),
        node("ACC1", "access", "CORE1"),
        node("ACC2", "access", "CORE2"),
        node("S", "site", "ACC1", "ACC2", demand=600),
        node("S2", "site", "ACC1", demand=100),
        node("H", "district", "CORE1", "CORE2", demand=50),
        node("S3", "site", "H", demand=20),
    ]
)

# Two 100 kW generators for a 150 kW dual-corded rack: every path is doubled, yet losing
# either generator leaves the rack short: both are SPOFs by capacity.
CAPACITY_BOUND = topology(
    power=[
        node("G1", "generator", capacity=100),
        node("G2", "generator", capacity=100),
        node("SWB-A", "switchboard", "G1", "G2"),
        node("SWB-B", "switchboard", "G1", "G2"),
        node("R", "rack", "SWB-A", "SWB-B", demand=150),
    ]
)

CASES = [
    Case(
        name="N-1 UPS group when one of three is out",
        topo=N_MINUS_ONE,
        subsystem="power",
        statuses={"UPS3": "failed"},
        design_tier=1,
        live_tier=0,
        groups={"generator": (1, 1, 1, 0, "N"), "ups": (3, 3, 2, -1, "N-1")},
        paths={"R": (1, 1, False)},
        # Removals are judged on the loads still served; none is, so only the dominators
        # are SPOFs and nothing can be dropped by maintenance.
        spofs=["PDU", "SWB", "G1"],
        maintainability={},
        reasons={"R": "capacity short"},
    ),
    Case(
        name="N-1 design: three units exactly cover the load",
        topo=N_MINUS_ONE,
        subsystem="power",
        statuses={},
        design_tier=1,
        live_tier=1,
        groups={"generator": (1, 1, 1, 0, "N"), "ups": (3, 3, 3, 0, "N")},
        paths={"R": (1, 1, True)},
        spofs=["G1", "PDU", "SWB", "UPS1", "UPS2", "UPS3"],
        maintainability={n: {"R": "no path"} for n in ("G1", "PDU", "SWB")}
        | {n: {"R": "capacity short"} for n in ("UPS1", "UPS2", "UPS3")},
    ),
    Case(
        name="2N with both paths active is Tier IV",
        topo=TWO_N_ACTIVE,
        subsystem="power",
        statuses={},
        design_tier=4,
        live_tier=4,
        groups={"generator": (1, 2, 2, 1, "N+1"), "ups": (1, 2, 2, 1, "2N")},
        paths={"R": (2, 2, True)},
        spofs=[],
        maintainability={},
    ),
    Case(
        name="2N with side B off drops to Tier I",
        topo=TWO_N_ACTIVE,
        subsystem="power",
        statuses={"SWB-B": "off"},
        design_tier=4,
        live_tier=1,
        groups={"generator": (1, 2, 2, 1, "N+1"), "ups": (1, 2, 1, 0, "N")},
        paths={"R": (1, 1, True)},
        spofs=["PDU-A", "SWB-A", "UPS-A"],
        maintainability={n: {"R": "no path"} for n in ("PDU-A", "SWB-A", "UPS-A")},
    ),
    Case(
        name="a manual bypass makes a SPOF maintainable",
        topo=BYPASSED_UPS,
        subsystem="power",
        statuses={},
        design_tier=1,
        live_tier=1,
        groups={"generator": (1, 2, 2, 1, "N+1"), "ups": (1, 1, 1, 0, "N")},
        paths={"R": (1, 1, True)},
        spofs=["PDU", "SWB", "UPS"],
        maintainability={n: {"R": "no path"} for n in ("PDU", "SWB")},
    ),
    Case(
        name="cooling: N+1 CRACs serving two zones",
        topo=CRACS_N_PLUS_ONE,
        subsystem="cooling",
        statuses={},
        design_tier=4,
        live_tier=4,
        groups={"crac": (2, 3, 3, 1, "N+1")},
        paths={"Z1": (3, 3, True), "Z2": (3, 3, True)},
        spofs=[],
        maintainability={},
    ),
    Case(
        name="cooling: one CRAC failed leaves N",
        topo=CRACS_N_PLUS_ONE,
        subsystem="cooling",
        statuses={"CRAC1": "failed"},
        design_tier=4,
        live_tier=1,
        groups={"crac": (2, 3, 2, 0, "N")},
        paths={"Z1": (2, 2, True), "Z2": (2, 2, True)},
        spofs=["CRAC2", "CRAC3"],
        maintainability={
            n: {"Z1": "capacity short", "Z2": "capacity short"} for n in ("CRAC2", "CRAC3")
        },
    ),
    Case(
        name="network: a dual-homed site beside single-homed ones",
        topo=NETWORK,
        subsystem="network",
        statuses={},
        design_tier=2,
        live_tier=2,
        groups={"carrier": (1, 2, 2, 1, "N+1")},
        paths={"S": (2, 2, True), "S2": (1, 1, True), "H": (2, 2, True), "S3": (1, 1, True)},
        spofs=["ACC1", "CORE1", "H"],  # CORE1 is ACC1's only feed, so S2's too
        maintainability={n: {"S2": "no path"} for n in ("ACC1", "CORE1")}
        | {"H": {"S3": "no path"}},
    ),
    Case(
        name="network: a carrier down leaves the dual-homed site one path",
        topo=NETWORK,
        subsystem="network",
        statuses={"C1": "failed"},
        design_tier=2,
        live_tier=1,
        groups={"carrier": (1, 2, 1, 0, "N")},
        paths={"S": (1, 1, True), "S2": (1, 1, True), "H": (1, 1, True), "S3": (1, 1, True)},
        spofs=["ACC1", "C2", "CORE1", "E2", "H"],
        maintainability={
            **{
                n: {"S": "no path", "S2": "no path", "H": "no path", "S3": "no path"}
                for n in ("C2", "E2")
            },
            **{n: {"S2": "no path"} for n in ("ACC1", "CORE1")},
            "H": {"S3": "no path"},
        },
    ),
    Case(
        name="doubled paths but capacity for one generator short",
        topo=CAPACITY_BOUND,
        subsystem="power",
        statuses={},
        design_tier=1,
        live_tier=1,
        groups={"generator": (2, 2, 2, 0, "N")},
        paths={"R": (2, 2, True)},
        spofs=["G1", "G2"],
        maintainability={n: {"R": "capacity short"} for n in ("G1", "G2")},
    ),
]


def groups_of(sub: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    keys = ("required", "installed", "available", "spare", "label")
    return {g["id"]: tuple(g[k] for k in keys) for g in sub["groups"]}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hand_computed(case: Case) -> None:
    doc = score(case.topo, case.statuses).to_json()
    sub = doc["subsystems"][case.subsystem]
    assert (sub["design_tier"], sub["live_tier"]) == (case.design_tier, case.live_tier)
    assert groups_of(sub) == case.groups
    paths = {ld["id"]: (ld["paths_all"], ld["paths_active"], ld["served"]) for ld in sub["loads"]}
    assert paths == case.paths
    assert sub["spofs"] == sorted(case.spofs)
    details = {
        d["node"]: {x["load"]: x["reason"] for x in d["lost"]}
        for d in sub["maintainability_details"]
    }
    assert details == case.maintainability
    assert sub["maintainability_failures"] == sorted(case.maintainability)
    reasons = {ld["id"]: ld["reason"] for ld in sub["loads"] if not ld["served"]}
    assert reasons == case.reasons


def test_site_tier_is_the_lowest_subsystem() -> None:
    both = TopologyConfig.model_validate(
        {
            "power": TWO_N_ACTIVE.power.model_dump(),
            "cooling": CRACS_N_PLUS_ONE.cooling.model_dump(),
            "network": NETWORK.network.model_dump(),
        }
    )
    snap = score(both, {"CRAC1": "failed"})
    tiers = {s.name: (s.design.tier, s.live.tier) for s in snap.subsystems}
    assert tiers == {"power": (4, 4), "cooling": (4, 1), "network": (2, 2)}
    assert (snap.design_tier, snap.live_tier) == (2, 1)


def test_no_topology_scores_zero() -> None:
    snap = score(TopologyConfig())
    assert snap.to_json() == {
        "site": {
            "design_tier": 0,
            "live_tier": 0,
            "score": 0.0,
            "score_parts": snap.to_json()["site"]["score_parts"],
        },
        "subsystems": {},
    }


def test_a_load_fed_only_by_the_utility_is_not_served() -> None:
    topo = topology(
        power=[
            node("U", "utility"),
            node("G1", "generator", capacity=100),
            node("ATS", "ats", "U"),
            node("R1", "rack", "ATS", demand=10),
            node("R2", "rack", "G1", demand=10),
        ]
    )
    sub = score(topo).to_json()["subsystems"]["power"]
    served = {ld["id"]: (ld["served"], ld["reason"]) for ld in sub["loads"]}
    assert served == {"R1": (False, "no path"), "R2": (True, None)}
    assert sub["design_tier"] == 0


def test_measured_demand_overrides_the_declared_one() -> None:
    # 100 kW on three 40 kW UPSs is N; measured 75 kW makes it N+1.
    snap = score(N_MINUS_ONE, demands={"R": 75.0})
    ups = next(g for g in snap.subsystem("power").live.groups if g.id == "ups")
    assert (ups.demand, ups.required, ups.spare, ups.label) == (75.0, 2, 1, "N+1")


def test_a_load_whose_own_status_is_failed_is_not_served() -> None:
    sub = score(TWO_N_ACTIVE, {"R": "failed"}).to_json()["subsystems"]["power"]
    assert sub["loads"][0]["served"] is False
    assert sub["loads"][0]["reason"] == "unavailable (failed)"
    assert sub["live_tier"] == 0


def test_unavailable_when_is_per_node() -> None:
    topo = topology(
        power=[
            node("G1", "generator", capacity=100, unavailable_when=["failed", "off"]),
            node("R", "rack", "G1", demand=10),
        ]
    )
    assert score(topo, {"G1": "unknown"}).subsystem("power").live.loads[0].served
    assert not score(topo, {"G1": "off"}).subsystem("power").live.loads[0].served


@pytest.mark.parametrize(
    ("statuses", "demands", "message"),
    [
        ({"NOPE": "failed"}, None, "NOPE"),
        ({}, {"NOPE": 1.0}, "NOPE"),
        ({}, {"SWB-A": 1.0}, "not a load"),
        ({}, {"R": -1.0}, ">= 0"),
        ({"R": "sideways"}, None, "sideways"),
    ],
)
def test_bad_inputs_are_errors(
    statuses: dict[str, str], demands: dict[str, float] | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        score(TWO_N_ACTIVE, statuses, demands)


def test_rescoring_one_compiled_topology_follows_the_inputs() -> None:
    compiled = compile_topology(TWO_N_ACTIVE)
    first = score(compiled).to_json()
    assert score(compiled, {"SWB-B": "off"}).live_tier == 1
    assert score(compiled, demands={"R": 120.0}).subsystem("power").live.groups[1].spare == 0
    assert score(compiled, {"UPS-A": "failed"}, {"R": 120.0}).live_tier == 0
    assert score(compiled).to_json() == first
    assert score(TWO_N_ACTIVE).to_json() == first  # compiled or not, the same answer
