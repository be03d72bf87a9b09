"""Edges out of service with both ends up (links LLDP does not see): the live tier counts
no path through them; the design tier is what was declared."""

from __future__ import annotations

import pytest

from tier.score import score, whatif
from tier.topology import TopologyConfig

# two carriers, two edge routers, two cores, each core to the district on its own port
NETWORK = TopologyConfig.model_validate({"network": {"nodes": [
    {"id": "C1", "kind": "carrier", "capacity": 1000},
    {"id": "C2", "kind": "carrier", "capacity": 1000},
    {"id": "E1", "kind": "router", "capacity": 1000, "fed_from": ["C1"]},
    {"id": "E2", "kind": "router", "capacity": 1000, "fed_from": ["C2"]},
    {"id": "CORE-1", "kind": "core", "fed_from": ["E1", "E2"]},
    {"id": "CORE-2", "kind": "core", "fed_from": ["E1", "E2"]},
    {"id": "DIST", "kind": "district", "demand": 100, "fed_from": ["CORE-1", "CORE-2"]},
]}})


def test_an_unseen_link_is_no_path() -> None:
    whole = score(NETWORK).subsystem("network")
    # node-disjoint: C1-E1-CORE-1-DIST and C2-E2-CORE-2-DIST; nothing a single point: IV
    assert (whole.live.tier, whole.live.loads[0].paths_all, whole.live.spofs) == (4, 2, ())

    cut = score(NETWORK, unavailable_edges=[("CORE-1", "DIST")]).subsystem("network")
    assert cut.design.tier == 4  # as declared
    load = cut.live.loads[0]
    assert (load.paths_all, load.paths_active, load.served) == (1, 1, True)
    # the one path left runs through CORE-2: a single point of failure, so not
    # maintainable (III needs it); carriers and routers still N+1: II
    assert cut.live.spofs == ("CORE-2",)
    assert cut.live.maintainability_failures == ("CORE-2",)
    assert cut.live.tier == 2
    assert cut.unavailable_edges == (("CORE-1", "DIST"),)
    assert cut.to_json()["unavailable_edges"] == [{"from": "CORE-1", "to": "DIST"}]


def test_both_links_unseen_leave_the_load_unserved() -> None:
    snap = score(NETWORK, unavailable_edges=[("CORE-1", "DIST"), ("CORE-2", "DIST")])
    load = snap.subsystem("network").live.loads[0]
    assert (load.served, load.reason, snap.live_tier) == (False, "no path", 0)


def test_whatif_sees_the_cut() -> None:
    # with CORE-1's link unseen, taking CORE-2 out drops the district
    answer = whatif(NETWORK, {}, ["CORE-2"], unavailable_edges=[("CORE-1", "DIST")])
    assert [(lost.load, lost.reason) for lost in answer.lost] == [("DIST", "no path")]
    assert whatif(NETWORK, {}, ["CORE-2"]).lost == ()


@pytest.mark.parametrize(("edge", "message"), [
    (("CORE-1", "NOPE"), "unknown node 'NOPE'"),
    (("C1", "DIST"), "DIST is not fed from C1"),
])
def test_an_edge_that_is_not_declared_is_refused(edge: tuple[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        score(NETWORK, unavailable_edges=[edge])
