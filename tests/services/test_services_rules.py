"""The pure rules of tier/services.py: a service's state from its checks and the
infrastructure under it, n-of-m clusters, agencies' reach, the topology's own checks.

Expected values are worked out by hand from the rules in the module's docstring and
TIER-MODEL example 2 (rack R on PDU-A and, through a manual tie, PDU-B)."""

from __future__ import annotations

import pytest

from tier.score import score
from tier.services import (
    CheckVerdict,
    Health,
    NodeHealth,
    ServicesTopology,
    agency_reach,
    evaluate,
    infrastructure_health,
    validate_services,
)
from tier.topology import TopologyConfig, validate_topology

OK, FAILING = CheckVerdict("ok"), CheckVerdict("failing", "portal https: status 500")
UP, RISK, DOWN = (NodeHealth(Health.UP), NodeHealth(Health.AT_RISK, "R on 1 of 2 paths"),
                  NodeHealth(Health.DOWN, "R not served (no path)"))

EXAMPLE2 = {
    "power": {
        "groups": [{"id": "generator", "demand": 120}],
        "nodes": [
            {"id": "G1", "kind": "generator", "capacity": 150},
            {"id": "G2", "kind": "generator", "capacity": 150},
            {"id": "SWB-A", "kind": "switchboard", "fed_from": ["G1", "G2"]},
            {"id": "SWB-B", "kind": "switchboard", "fed_from": ["G1", "G2"]},
            {"id": "UPS-A", "kind": "ups", "capacity": 100, "fed_from": ["SWB-A"]},
            {"id": "UPS-B", "kind": "ups", "capacity": 100, "fed_from": ["SWB-B"]},
            {"id": "PDU-A", "kind": "pdu", "fed_from": ["UPS-A"]},
            {"id": "PDU-B", "kind": "pdu", "fed_from": [{"id": "UPS-B", "mode": "manual"}]},
            {"id": "R", "kind": "rack", "demand": 80, "fed_from": ["PDU-A", "PDU-B"]},
        ],
    },
}


def services(*nodes: dict, agencies: tuple[dict, ...] = ()) -> ServicesTopology:
    return ServicesTopology.model_validate({"nodes": list(nodes), "agencies": list(agencies)})


@pytest.mark.parametrize(("verdict", "infra", "health", "cause_kind"), [
    (OK, UP, Health.UP, ""),
    (OK, RISK, Health.AT_RISK, "infrastructure"),
    (OK, DOWN, Health.AT_RISK, "infrastructure"),  # users are served: checks are the truth
    (FAILING, UP, Health.DOWN, "check"),
    (FAILING, RISK, Health.DOWN, "check"),
    (FAILING, DOWN, Health.DOWN, "infrastructure"),  # the cause is what is under it
    (CheckVerdict("none"), DOWN, Health.DOWN, "infrastructure"),
    (CheckVerdict("none"), UP, Health.UP, ""),
    (CheckVerdict("unknown"), UP, Health.UNKNOWN, ""),
])
def test_a_service_state_from_its_checks_and_its_infrastructure(
        verdict: CheckVerdict, infra: NodeHealth, health: Health, cause_kind: str) -> None:
    topo = services({"id": "portal", "depends_on": ["R"]})
    state = evaluate(topo, {"portal": verdict}, {"R": infra})["portal"]
    assert (state.health, state.cause_kind) == (health, cause_kind)
    if cause_kind == "infrastructure":
        assert "R" in state.cause
    if cause_kind == "check":
        assert state.cause == "portal https: status 500"


@pytest.mark.parametrize(("members", "health"), [
    ((UP, UP, UP), Health.UP),  # 3 of 3 for 2 needed: one spare
    ((UP, UP, DOWN), Health.AT_RISK),  # 2 of 3: no spare left
    # 3 usable but only 2 healthy: one more loss among the healthy ones and the one at
    # risk carries it alone; the rule asks min(3, 2 + 1) = 3 healthy for "up"
    ((UP, RISK, UP), Health.AT_RISK),
    ((UP, RISK, DOWN), Health.AT_RISK),
    ((UP, DOWN, DOWN), Health.DOWN),  # 1 of 3 for 2 needed
])
def test_two_of_three_web_servers(members: tuple[NodeHealth, ...], health: Health) -> None:
    topo = services({"id": "portal", "depends_on": [{"n_of": 2, "of": ["W1", "W2", "W3"]}]})
    infra = dict(zip(("W1", "W2", "W3"), members, strict=True))
    state = evaluate(topo, {"portal": CheckVerdict("none")}, infra)["portal"]
    assert state.health == health


def test_a_service_down_takes_the_services_that_depend_on_it() -> None:
    topo = services({"id": "dns"}, {"id": "portal", "depends_on": ["dns"]})
    states = evaluate(topo, {"dns": FAILING, "portal": CheckVerdict("none")}, {})
    assert states["dns"].health == Health.DOWN
    assert states["portal"].health == Health.DOWN
    assert states["portal"].cause.startswith("service dns down")


def test_the_infrastructure_from_a_live_snapshot_example_2() -> None:
    topo = TopologyConfig.model_validate(EXAMPLE2)
    healthy = infrastructure_health(score(topo, {}))
    assert healthy["R"].health == Health.UP
    # TIER-MODEL: UPS-B on bypass leaves R on one path of two (k_all 2 -> 1), served
    bypass = infrastructure_health(score(topo, {"UPS-B": "bypass"}))
    assert bypass["R"] == NodeHealth(Health.AT_RISK, "R on 1 of 2 paths (power)")
    assert bypass["UPS-B"].health == Health.DOWN
    both = infrastructure_health(score(topo, {"UPS-A": "failed", "UPS-B": "failed"}))
    assert both["R"].health == Health.DOWN


def test_agencies_lose_what_they_cannot_reach() -> None:
    topo = services(
        {"id": "portal", "agencies": ["q1", "w7"]},
        {"id": "mail", "agencies": ["w7"]},
        agencies=({"id": "q1", "site": "SITE-Q1"}, {"id": "w7", "site": "SITE-W7"}))
    infra = {"SITE-Q1": UP, "SITE-W7": NodeHealth(Health.DOWN, "SITE-W7 not served")}
    states = evaluate(topo, {"portal": OK, "mail": FAILING}, infra)
    reach = {(r.agency, r.service): r for r in agency_reach(topo, states, infra)}
    assert reach[("q1", "portal")].reachable is True
    assert reach[("w7", "portal")].reachable is False
    assert reach[("w7", "portal")].cause == "network: SITE-W7 not served"
    assert reach[("w7", "mail")].reachable is False
    assert reach[("w7", "mail")].cause.startswith("mail down")
    # seen from the agency's own vantage point, that view wins
    seen = {("w7", "portal"): CheckVerdict("ok")}
    again = {(r.agency, r.service): r for r in agency_reach(topo, states, infra, seen)}
    assert again[("w7", "portal")].reachable is True


@pytest.mark.parametrize(("nodes", "problem"), [
    ([{"id": "portal", "depends_on": ["NOPE"]}],
     "topology.services.nodes[0].depends_on[0]: unknown depends_on id 'NOPE'"),
    ([{"id": "a", "depends_on": ["b"]}, {"id": "b", "depends_on": ["c"]},
      {"id": "c", "depends_on": ["a"]}],
     "topology.services.nodes[0].depends_on[0]: cycle among services a -> b -> c -> a"),
    ([{"id": "a", "depends_on": ["a"]}],
     "topology.services.nodes[0].depends_on[0]: service 'a' depends on itself"),
    ([{"id": "a", "depends_on": [{"n_of": 1, "of": ["R", "X"]}]}],
     "topology.services.nodes[0].depends_on[0].of[1]: unknown depends_on id 'X'"),
    ([{"id": "R"}], "topology.services.nodes[0].id: 'R' is already a node"),
    ([{"id": "a", "agencies": ["nobody"]}],
     "topology.services.nodes[0].agencies[0]: unknown agency 'nobody'"),
])
def test_the_services_topology_refuses(nodes: list[dict], problem: str) -> None:
    topo = TopologyConfig.model_validate({**EXAMPLE2, "services": {"nodes": nodes}})
    found = validate_topology(topo)
    assert any(p.startswith(problem) for p in found), found
    assert validate_services(topo.services, {"R": "topology.power.nodes[8]"}) != []
