"""The view of a state keeps a node that nothing reaches and that reaches nothing: a hub
(a load that feeds another) with both its feeders and its one load out. Hand-computed."""

from __future__ import annotations

from tests.tier.build import node, topology
from tier.score import score

# C1 -> CORE1, CORE2 -> H (district hub, itself a load) -> S3 (site)
HUB = topology(
    network=[
        node("C1", "carrier", capacity=1000),
        node("CORE1", "core", "C1"),
        node("CORE2", "core", "C1"),
        node("H", "district", "CORE1", "CORE2", demand=50),
        node("S3", "site", "H", demand=20),
    ]
)


def test_a_hub_cut_off_on_every_side_is_not_served_and_has_no_path() -> None:
    sub = score(HUB, {"CORE1": "failed", "CORE2": "failed", "S3": "failed"}).to_json()
    network = sub["subsystems"]["network"]
    loads = {ld["id"]: (ld["served"], ld["reason"], ld["paths_all"]) for ld in network["loads"]}
    assert loads == {"H": (False, "no path", 0), "S3": (False, "unavailable (failed)", 0)}
    assert network["live_tier"] == 0
    # by design each has one path counted: the one carrier is on every path (paths are
    # counted node-disjoint), and both are served
    design = score(HUB).to_json()["subsystems"]["network"]["loads"]
    assert {ld["id"]: (ld["paths_all"], ld["served"]) for ld in design} == {
        "H": (1, True), "S3": (1, True)
    }
