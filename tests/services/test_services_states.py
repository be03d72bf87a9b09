"""Whole answers of tier/services.py's rules, field by field: the state of a service from
each pair (checks, infrastructure), an n-of-m group's words, the worst of several
dependencies, services without a scored topology, and an agency's reach in every case.

Every expected value is worked out by hand from the module's docstring: down while the
checks fail (the cause is the infrastructure when that is down too), at risk while the
checks pass but the infrastructure has lost redundancy or says down, unknown before the
first check result; an n-of-m group needs K usable members and one spare healthy one."""

from __future__ import annotations

import pytest

from tests.tier.build import fixture_topology
from tier.score import score
from tier.services import (
    AgencySpec,
    CheckVerdict,
    Health,
    NodeHealth,
    Reach,
    ServiceSpec,
    ServiceState,
    ServicesTopology,
    ServicesView,
    agencies_of,
    agency_reach,
    evaluate,
    infrastructure_health,
    validate_services,
)
from tier.topology import TopologyConfig

OK, FAILING = CheckVerdict("ok"), CheckVerdict("failing", "portal https: status 500")
NONE, UNKNOWN = CheckVerdict("none"), CheckVerdict("unknown")
UP = NodeHealth(Health.UP)
RISK = NodeHealth(Health.AT_RISK, "R on 1 of 2 paths")
DOWN = NodeHealth(Health.DOWN, "R not served (no path)")


def services(*nodes: dict, agencies: tuple[dict, ...] = ()) -> ServicesTopology:
    return ServicesTopology.model_validate({"nodes": list(nodes), "agencies": list(agencies)})


@pytest.mark.parametrize(("verdict", "infra", "expected"), [
    (OK, UP, (Health.UP, "", "")),
    (OK, RISK, (Health.AT_RISK, "R on 1 of 2 paths", "infrastructure")),
    (OK, DOWN, (Health.AT_RISK,
                "checks pass but the infrastructure says down: R not served (no path)",
                "infrastructure")),
    (FAILING, UP, (Health.DOWN, "portal https: status 500", "check")),
    (FAILING, RISK, (Health.DOWN, "portal https: status 500", "check")),
    (FAILING, DOWN, (Health.DOWN, "R not served (no path)", "infrastructure")),
    (NONE, UP, (Health.UP, "", "")),
    (NONE, RISK, (Health.AT_RISK, "R on 1 of 2 paths", "infrastructure")),
    (NONE, DOWN, (Health.DOWN, "R not served (no path)", "infrastructure")),
    (UNKNOWN, UP, (Health.UNKNOWN, "", "")),
    (UNKNOWN, DOWN, (Health.UNKNOWN, "", "")),
])
def test_the_whole_state_of_a_service(verdict: CheckVerdict, infra: NodeHealth,
                                      expected: tuple[Health, str, str]) -> None:
    # one dependency on one node: what the infrastructure says is that node's health
    topo = services({"id": "portal", "depends_on": ["R"]})
    health, cause, kind = expected
    assert evaluate(topo, {"portal": verdict}, {"R": infra}) == {
        "portal": ServiceState("portal", health, cause, kind, infra.health, verdict)}


WEB = {"id": "portal", "depends_on": [{"n_of": 2, "of": ["W1", "W2", "W3"]}]}


@pytest.mark.parametrize(("infra", "health", "cause"), [
    # W1 down, W2 not known, W3 up: 1 usable for 2 needed, and not only for want of news
    ({"W1": NodeHealth(Health.DOWN, "W1 not served"), "W3": UP}, Health.DOWN,
     "1 of 3 (W1, W2, W3), 2 needed: W1 not served; W2 not known yet"),
    # a member down with no words of its own is named by its id
    ({"W1": NodeHealth(Health.DOWN), "W2": NodeHealth(Health.DOWN), "W3": UP}, Health.DOWN,
     "1 of 3 (W1, W2, W3), 2 needed: W1; W2"),
    # 2 usable, 2 needed: no spare left
    ({"W1": UP, "W2": UP, "W3": NodeHealth(Health.DOWN, "W3 off")}, Health.AT_RISK,
     "2 of 3 (W1, W2, W3), 2 needed, no spare"),
])
def test_a_group_says_how_many_of_its_members_are_left(
        infra: dict[str, NodeHealth], health: Health, cause: str) -> None:
    state = evaluate(services(WEB), {"portal": NONE}, infra)["portal"]
    assert (state.health, state.cause, state.infrastructure) == (health, cause, health)


def test_a_group_short_only_of_members_not_known_yet_is_unknown() -> None:
    # W1 and W2 not known, W3 up: 1 of 3 for 2 needed, but the missing two may be up
    state = evaluate(services(WEB), {"portal": NONE}, {"W3": UP})["portal"]
    assert (state.health, state.infrastructure) == (Health.UNKNOWN, Health.UNKNOWN)


def test_one_needed_of_three_with_two_healthy_has_a_spare() -> None:
    # 1 needed, 2 up: one can go and the other still serves, so up (min(3, 1 + 1) = 2)
    topo = services({"id": "portal", "depends_on": [{"n_of": 1, "of": ["W1", "W2", "W3"]}]})
    infra = {"W1": UP, "W2": UP, "W3": NodeHealth(Health.DOWN, "W3 off")}
    state = evaluate(topo, {"portal": OK}, infra)["portal"]
    assert (state.health, state.cause, state.infrastructure) == (Health.UP, "", Health.UP)


def test_the_worst_dependency_wins_and_only_its_words_are_given() -> None:
    topo = services({"id": "portal", "depends_on": ["A", "B", "C", "D"]})
    infra = {"A": NodeHealth(Health.AT_RISK, "A on battery"),
             "B": NodeHealth(Health.DOWN, "B not served"), "C": UP,
             "D": NodeHealth(Health.DOWN, "D failed")}
    state = evaluate(topo, {"portal": NONE}, infra)["portal"]
    assert (state.health, state.cause) == (Health.DOWN, "B not served; D failed")
    # at risk beats up, whatever the order
    infra = {"A": UP, "B": NodeHealth(Health.AT_RISK, "B on battery"), "C": UP, "D": UP}
    state = evaluate(topo, {"portal": NONE}, infra)["portal"]
    assert (state.health, state.cause) == (Health.AT_RISK, "B on battery")


def test_a_service_with_no_dependencies_rests_on_nothing_that_can_fail() -> None:
    # no check result given at all: as with no checks ("none")
    topo = services({"id": "dns"})
    assert evaluate(topo, {}, {}) == {
        "dns": ServiceState("dns", Health.UP, "", "", Health.UP, NONE)}


def test_with_no_topology_scored_only_the_services_under_it_count() -> None:
    # infrastructure None: R (a topology node) is not looked at; dns is
    topo = services({"id": "dns"}, {"id": "portal", "depends_on": ["R", "dns"]},
                    {"id": "web", "depends_on": ["R"]})
    states = evaluate(topo, {"dns": OK, "portal": NONE, "web": NONE}, None)
    assert states["web"] == ServiceState("web", Health.UP, "", "", Health.UP, NONE)
    assert states["portal"] == ServiceState("portal", Health.UP, "", "", Health.UP, NONE)
    states = evaluate(topo, {"dns": FAILING, "portal": NONE, "web": NONE}, None)
    assert states["portal"].health == Health.DOWN
    assert states["portal"].cause == "service dns down (portal https: status 500)"


def test_a_target_in_percent_or_as_a_ratio() -> None:
    assert ServiceSpec.model_validate({"id": "a", "target": "50%"}).target == 0.5
    assert ServiceSpec(id="a", target=0.5).target == 0.5
    assert ServiceSpec.model_validate({"id": "a", "target": " 25 % "}).target == 0.25


def test_every_reach_of_an_agency() -> None:
    topo = services(
        {"id": "portal", "agencies": ["q1", "w7", "home"]},
        {"id": "mail", "agencies": ["q1"]},
        {"id": "news", "agencies": ["q1"]},
        agencies=({"id": "q1", "site": "SITE-Q1"}, {"id": "w7", "site": "SITE-W7"},
                  {"id": "home"}))
    states = evaluate(topo, {"portal": OK, "mail": UNKNOWN},
                      {"SITE-Q1": UP, "SITE-W7": UP})
    del states["news"]  # a service not evaluated yet
    seen = {("q1", "portal"): CheckVerdict("failing", "timeout after 5 s"),
            ("w7", "portal"): CheckVerdict("ok"),
            ("home", "portal"): CheckVerdict("unknown")}
    assert agency_reach(topo, states, {"SITE-Q1": UP, "SITE-W7": UP}, seen) == [
        Reach("q1", "portal", False, "from the agency's vantage point: timeout after 5 s"),
        Reach("w7", "portal", True, ""),
        Reach("home", "portal", True, ""),  # no site, no vantage result: the service is up
        Reach("q1", "mail", None, ""),  # no check result yet
        Reach("q1", "news", None, ""),
    ]


def test_names_fall_back_to_ids() -> None:
    assert ServiceSpec(id="dns").label == "dns"
    assert ServiceSpec(id="dns", name="DNS thành phố").label == "DNS thành phố"
    assert AgencySpec(id="q1").label == "q1"
    assert AgencySpec(id="q1", name="UBND Quận 1").label == "UBND Quận 1"


def test_a_service_depended_on_is_named_with_its_state_and_cause() -> None:
    # portal needs 1 of (dns, dns2): dns has no result yet, dns2 fails; 0 of 2 usable and
    # not only for want of news, so down, each member in the words it is known by
    topo = services({"id": "dns"}, {"id": "dns2"},
                    {"id": "portal", "depends_on": [{"n_of": 1, "of": ["dns", "dns2"]}]})
    states = evaluate(topo, {"dns": UNKNOWN, "dns2": FAILING}, {})
    assert (states["portal"].health, states["portal"].cause) == (
        Health.DOWN, "0 of 2 (dns, dns2), 1 needed: service dns unknown; "
                     "service dns2 down (portal https: status 500)")


def test_the_infrastructure_words_example_2() -> None:
    topo = fixture_topology("example2.yaml")
    # TIER-MODEL: a UPS on bypass is not available, one degraded (on battery) is exposed
    infra = infrastructure_health(score(topo, {"UPS-B": "bypass", "UPS-A": "degraded"}))
    assert infra["UPS-B"] == NodeHealth(Health.DOWN, "UPS-B bypass")
    assert infra["UPS-A"] == NodeHealth(Health.AT_RISK, "UPS-A degraded")
    both = infrastructure_health(score(topo, {"UPS-A": "failed", "UPS-B": "failed"}))
    assert both["R"] == NodeHealth(Health.DOWN, "R not served (no path)")


def test_a_weakness_the_design_has_too_is_no_risk_example_1() -> None:
    # TIER-MODEL example 1: R1 has one path and GPB, ATS1, UOB, PDU1 would each drop it, in
    # the design as now: nothing has been lost, so R1 is up
    infra = infrastructure_health(score(fixture_topology("example1.yaml"), {}))
    assert infra["R1"] == NodeHealth(Health.UP)


INFRA = {"R": "topology.power.nodes[8]", "SITE-Q1": "topology.network.nodes[3]"}
S = "topology.services"


@pytest.mark.parametrize(("section", "problems"), [
    ({"nodes": [{"id": "a"}, {"id": "b"}, {"id": "a"}]},
     [f"{S}.nodes[2].id: duplicate service id 'a' (first at {S}.nodes[0])"]),
    ({"agencies": [{"id": "q1", "site": "SITE-Q1"}, {"id": "q1"}],
      "nodes": [{"id": "a", "agencies": ["q1"]}]},
     [f"{S}.agencies[1].id: duplicate agency id 'q1'"]),
    ({"agencies": [{"id": "q1", "site": "NOPE"}]},
     [f"{S}.agencies[0].site: unknown node 'NOPE' (an agency's site is a load of "
      "topology.network)"]),
    ({"agencies": [{"id": "q1", "site": "R"}]},
     [f"{S}.agencies[0].site: 'R' is topology.power.nodes[8], not a node of "
      "topology.network"]),
    ({"nodes": [{"id": "a", "depends_on": ["R", "NOPE"]}]},
     [f"{S}.nodes[0].depends_on[1]: unknown depends_on id 'NOPE' (neither a node of the "
      "topology nor a service)"]),
    # a lone service sorts first (its own component, of one), then two rings of two, each
    # named from its smallest member, smallest ring first, wherever they are written
    ({"nodes": [{"id": "y", "depends_on": ["x"]}, {"id": "x", "depends_on": ["y"]},
                {"id": "a"},
                {"id": "c", "depends_on": ["b"]}, {"id": "b", "depends_on": ["c"]}]},
     [f"{S}.nodes[4].depends_on[0]: cycle among services b -> c -> b",
      f"{S}.nodes[1].depends_on[0]: cycle among services x -> y -> x"]),
])
def test_each_problem_of_the_services_section_in_words(section: dict,
                                                       problems: list[str]) -> None:
    assert validate_services(ServicesTopology.model_validate(section), INFRA) == problems


def test_a_load_a_single_loss_would_now_drop_is_at_risk() -> None:
    # R (60) on SWB-A and SWB-B; G1 (50) feeds SWB-A, G2 (50) SWB-B, G3 (50) both. In the
    # design any one element can go: two generators give 100 >= 60 through either board.
    # With G3 failed R keeps its 2 paths (G1-SWB-A, G2-SWB-B), but losing G1, G2, SWB-A or
    # SWB-B now leaves 50 < 60: formula 5 says R would drop, which the design would not
    topo = TopologyConfig.model_validate({"power": {"nodes": [
        {"id": "G1", "kind": "generator", "capacity": 50},
        {"id": "G2", "kind": "generator", "capacity": 50},
        {"id": "G3", "kind": "generator", "capacity": 50},
        {"id": "SWB-A", "kind": "switchboard", "fed_from": ["G1", "G3"]},
        {"id": "SWB-B", "kind": "switchboard", "fed_from": ["G2", "G3"]},
        {"id": "R", "kind": "rack", "demand": 60, "fed_from": ["SWB-A", "SWB-B"]},
    ]}})
    assert infrastructure_health(score(topo, {}))["R"] == NodeHealth(Health.UP)
    risk = infrastructure_health(score(topo, {"G3": "failed"}))["R"]
    assert risk.health == Health.AT_RISK
    assert risk.detail in {f"R would drop if {node} failed (power)"
                           for node in ("G1", "G2", "SWB-A", "SWB-B")}


def test_who_uses_what() -> None:
    # w7 is not declared under agencies (validate_services names that); it still counts
    topo = services({"id": "portal", "agencies": ["q1", "w7"]}, {"id": "mail"},
                    {"id": "news", "agencies": ["q1"]},
                    agencies=({"id": "q1"}, {"id": "q2"}))
    assert topo.users("portal") == ["q1", "w7"]
    assert topo.users("mail") == []
    with pytest.raises(KeyError):
        topo.users("nope")
    assert agencies_of(topo) == {"q1": ["portal", "news"], "q2": [], "w7": ["portal"]}
    reach = (Reach("q1", "portal", True), Reach("w7", "portal", False, "network: down"),
             Reach("q1", "news", None))
    view = ServicesView(ts=0.0, services={}, reach=reach)
    assert view.reach_of("q1") == [reach[0], reach[2]]
    assert view.reach_of("q2") == []
