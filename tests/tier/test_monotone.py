"""The readiness score never rises as more fails (issue 15, item 3; TIER-MODEL formula 8).

While any load is unserved, maintainability is 0 and the text says which load.
"""

from __future__ import annotations

import random

import pytest

from tests.helpers.procs import ROOT
from tests.tier.build import (
    cli,
    cli_json,
    fixture_config_topology,
    fixture_path,
    fixture_topology,
)
from tier.graph import compile_topology
from tier.score import score, whatif
from tier.topology import TopologyConfig
from tierwatch.config import load


def demo_topology() -> TopologyConfig:
    return load(ROOT / "sim" / "demo.yaml").topology


TOPOLOGIES = {
    "example1": lambda: fixture_config_topology("example1.yaml"),
    "example2": lambda: fixture_config_topology("example2.yaml"),
    "main-tie-main": lambda: fixture_config_topology("main-tie-main.yaml"),
    "manual-only": lambda: fixture_config_topology("manual-only.yaml"),
    "exact-2n-30000": lambda: fixture_config_topology("exact-2n-30000.yaml"),
    "exact-modules": lambda: fixture_config_topology("exact-modules.yaml"),
    "huge-magnitudes": lambda: fixture_config_topology("huge-magnitudes.yaml"),
    "dedicated-network": lambda: fixture_topology("dedicated-network.yaml"),
    "demo": demo_topology,
}


def orders(ids: list[str]) -> list[list[str]]:
    shuffled = []
    for seed in (1, 2, 3):
        ids_copy = list(ids)
        random.Random(seed).shuffle(ids_copy)
        shuffled.append(ids_copy)
    return [ids, list(reversed(ids)), *shuffled]


@pytest.mark.parametrize("name", list(TOPOLOGIES))
def test_taking_nodes_out_one_by_one_never_raises_the_score(name: str) -> None:
    topo = TOPOLOGIES[name]()
    compiled = compile_topology(topo)
    ids = [n.id for _, sub in topo.subsystems() for n in sub.nodes]
    for order in orders(ids):
        statuses: dict[str, str] = {}
        before = score(compiled, statuses).score
        for node in order:
            statuses[node] = "failed"
            now = score(compiled, statuses).score
            assert now <= before, f"{name}: taking {node} out after {list(statuses)[:-1]}"
            before = now
        assert before == score(compiled, statuses).score


@pytest.mark.parametrize("name", ["example2", "main-tie-main", "demo"])
def test_whatif_never_scores_above_the_state_it_starts_from(name: str) -> None:
    topo = TOPOLOGIES[name]()
    compiled = compile_topology(topo)
    ids = [n.id for _, sub in topo.subsystems() for n in sub.nodes]
    for order in orders(ids)[:2]:
        removed: list[str] = []
        before = score(compiled).score
        for node in order:
            removed.append(node)
            now = whatif(compiled, {}, removed).after.score
            assert now <= before, f"{name}: removing {removed}"
            before = now


# Example 2 (TIER-MODEL): G1, G2 150 kW (group demand 120); UPS-A, UPS-B 100 kW; R 80 kW,
# dual-corded, path B behind a manual tie. Weights known here: capacity 25, paths 20,
# maintainability 25, dual-corded 10 (fuel, environment, availability not given: left out).
#
# UPS-A failed:
#   capacity: generator spare 1 -> 1, ups (UPS-B 100 for 80) spare 0 -> 0.5; mean 0.75
#   paths: R has one path left (through the tie): 0
#   maintainability: 7 elements (G1, G2, SWB-A, SWB-B, UPS-B, PDU-A, PDU-B), 3 drop R
#     (SWB-B, UPS-B, PDU-B): 1 - 3/7 = 4/7
#   dual-corded: R has two cords: 1
#   (25 * 0.75 + 25 * 4/7 + 10) / 80 = 0.537946... -> 53.79
# UPS-A and UPS-B failed (R dropped):
#   capacity: generator 1, ups short -> 0; mean 0.5; paths 0; maintainability 0 (R is not
#   served; before the fix 1 - 0/6 = 1 gave 59.38); dual-corded 1
#   (25 * 0.5 + 10) / 80 = 0.28125 -> 28.12 (28.125 rounds to even)
ONE_UPS_OUT = 53.79
BOTH_UPS_OUT = 28.12


def test_a_2n_site_losing_its_second_ups_scores_lower() -> None:
    path = fixture_path("example2.yaml")
    one = cli_json("score", "-c", path, "--assume", "UPS-A=failed")
    both = cli_json("score", "-c", path, "--assume", "UPS-A=failed", "--assume", "UPS-B=failed")
    assert one["site"]["score"] == ONE_UPS_OUT
    assert both["site"]["score"] == BOTH_UPS_OUT
    parts = both["site"]["score_parts"]
    assert parts["maintainability"]["value"] == 0.0
    power = both["subsystems"]["power"]
    assert power["concurrently_maintainable"] is False
    assert power["maintainability_note"] == "load R is not served"
    assert one["subsystems"]["power"]["concurrently_maintainable"] is False  # 3 elements fail
    assert one["subsystems"]["power"]["maintainability_note"] is None

    answer = cli_json("whatif", "-c", path, "--assume", "UPS-A=failed", "--remove", "UPS-B",
                      code=3)
    assert answer["site"]["score"] == BOTH_UPS_OUT
    assert answer["lost"] == [{"load": "R", "reason": "no path"}]

    topo = fixture_config_topology("example2.yaml")
    assert score(topo, {"UPS-A": "failed"}).score == ONE_UPS_OUT
    assert score(topo, {"UPS-A": "failed", "UPS-B": "failed"}).score == BOTH_UPS_OUT


def test_the_text_says_why_it_is_not_maintainable() -> None:
    code, out, _ = cli(
        "score", "-c", fixture_path("example2.yaml"), "--offline",
        "--assume", "UPS-A=failed", "--assume", "UPS-B=failed",
    )
    assert code == 0
    lines = out.splitlines()
    assert "  Not concurrently maintainable: load R is not served" in lines
    assert not any(line.startswith("  Concurrently maintainable: yes") for line in lines)


def test_several_unserved_loads_are_named() -> None:
    code, out, _ = cli("score", "-c", fixture_path("example1.yaml"), "--offline",
                       "--assume", "PDU1=failed")
    assert code == 0
    # example 1 has one rack, R1, behind PDU1
    assert "  Not concurrently maintainable: load R1 is not served" in out.splitlines()
    topo = demo_topology()
    live = score(topo, {"MSB-A": "failed", "MSB-B": "failed"}).subsystem("power").live
    assert live.maintainability_note == (
        "loads R01, R02, R03, R04, R05, R06 are not served"
    )
