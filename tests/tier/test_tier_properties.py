"""Properties of the tier engine on random layered topologies.

Besides the properties the spec names, every answer of the engine's shortcuts (load
classes, dominator certificates, batched removals, twins) is checked against a brute-force
reference written here from the formulas alone: one networkx max-flow per element on the
raw graph, node-split, with no merging and no batching.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from networkx.algorithms.connectivity import local_node_connectivity

from tier.graph import compile_topology
from tier.score import TierSnapshot, score
from tier.status import NodeStatus
from tier.topology import NodeSpec, TopologyConfig

S, T = "__S__", "__T__"
STATUSES = [s.value for s in NodeStatus]


@st.composite
def layered(draw: st.DrawFn, manual: bool = True) -> TopologyConfig:
    nodes: list[dict[str, Any]] = []
    earlier: list[str] = []
    for i in range(draw(st.integers(1, 3))):
        nodes.append(
            {
                "id": f"G{i}",
                "kind": "generator",
                "capacity": draw(st.sampled_from([None, 20, 50, 100])),
            }
        )
        earlier.append(f"G{i}")
    if draw(st.booleans()):
        nodes.append({"id": "U", "kind": "utility"})
        earlier.append("U")

    def feeds() -> list[Any]:
        chosen = draw(st.lists(st.sampled_from(earlier), min_size=1, max_size=3, unique=True))
        return [
            {"id": f, "mode": "manual"} if manual and draw(st.integers(0, 4)) == 0 else f
            for f in chosen
        ]

    for layer in range(draw(st.integers(1, 3))):
        width = draw(st.integers(1, 3))
        made = []
        for j in range(width):
            spec: dict[str, Any] = {
                "id": f"N{layer}{j}",
                "kind": draw(st.sampled_from(["switchboard", "ups", "pdu"])),
                "capacity": draw(st.sampled_from([None, 30, 60, 100])),
                "fed_from": feeds(),
            }
            if draw(st.integers(0, 6)) == 0:  # now and then a load that feeds others
                spec.update(kind="district", demand=draw(st.sampled_from([0, 5, 10])))
                spec.pop("capacity")
            nodes.append(spec)
            made.append(spec["id"])
        earlier += made
    for k in range(draw(st.integers(1, 4))):
        nodes.append(
            {
                "id": f"R{k}",
                "kind": "rack",
                "fed_from": feeds(),
                "demand": draw(st.sampled_from([0, 5, 10, 25, 40])),
            }
        )
    return TopologyConfig.model_validate({"power": {"nodes": nodes}})


def statuses_for(topo: TopologyConfig) -> st.SearchStrategy[dict[str, str]]:
    ids = [n.id for n in topo.power.nodes]
    return st.dictionaries(st.sampled_from(ids), st.sampled_from(STATUSES), max_size=3)


# --------------------------------------------------------------------------- reference


class Reference:
    """Formulas 2-5 computed the slow, obvious way."""

    def __init__(self, topo: TopologyConfig, statuses: dict[str, str]) -> None:
        self.specs: dict[str, NodeSpec] = {n.id: n for n in topo.power.nodes}
        counted = [n for n in self.specs.values() if n.kind != "utility"]
        self.out = {
            n.id for n in counted if NodeStatus(statuses.get(n.id, "ok")) in n.unavailable_when
        }
        self.loads = [n.id for n in counted if n.is_load and n.id not in self.out]
        feeders = {f.id for n in counted for f in n.fed_from}
        pure = {n.id for n in counted if n.is_load and n.id not in feeders}
        self.elements = [n.id for n in counted if n.id not in self.out and n.id not in pure]

    def graph(self, manual: bool) -> nx.DiGraph:
        graph = nx.DiGraph()
        graph.add_node(S)
        for spec in self.specs.values():
            if spec.kind == "utility" or spec.id in self.out:
                continue
            graph.add_node(spec.id)
            if spec.kind == "generator" and not spec.fed_from:
                graph.add_edge(S, spec.id)
        for spec in self.specs.values():
            for feed in spec.fed_from:
                if spec.id in graph and feed.id in graph and (manual or not feed.manual):
                    graph.add_edge(feed.id, spec.id)
        return graph

    def feasible(self, graph: nx.DiGraph, loads: list[str], removed: set[str]) -> bool:
        kept = graph.subgraph(set(graph) - removed)
        reach = nx.descendants(kept, S)
        if any(load not in reach for load in loads):
            return False
        net = nx.DiGraph()
        net.add_nodes_from([S, T])
        for node in kept:
            if node == S:
                continue
            cap = self.specs[node].capacity
            if cap is None:
                net.add_edge((node, "in"), (node, "out"))
            else:
                net.add_edge((node, "in"), (node, "out"), capacity=cap)
        for u, v in kept.edges:
            net.add_edge(S if u == S else (u, "out"), (v, "in"))
        need = 0.0
        for load in loads:
            demand = self.specs[load].demand or 0.0
            net.add_edge((load, "out"), T, capacity=demand)
            need += demand
        return nx.maximum_flow_value(net, S, T) >= need - 1e-9

    def failures(self, manual: bool) -> set[str]:
        graph = self.graph(manual)
        return {
            e
            for e in self.elements
            if not self.feasible(graph, [ld for ld in self.loads if ld != e], {e})
        }

    def dominators(self) -> set[str]:
        graph = self.graph(manual=False)
        idom = nx.immediate_dominators(graph, S)
        found: set[str] = set()
        for load in self.loads:
            node = load
            while node in idom and idom[node] not in (S, node):
                node = idom[node]
                found.add(node)
        return found

    def paths(self, manual: bool) -> dict[str, int]:
        graph = self.graph(manual)
        reach = nx.descendants(graph, S)
        return {
            ld: local_node_connectivity(graph, S, ld) if ld in reach else 0 for ld in self.loads
        }


def live(snap: TierSnapshot) -> Any:
    return snap.subsystem("power").live


# --------------------------------------------------------------------------- properties


@given(st.data())
def test_engine_agrees_with_brute_force(data: st.DataObject) -> None:
    topo = data.draw(layered())
    statuses = data.draw(statuses_for(topo))
    state = live(score(topo, statuses))
    ref = Reference(topo, statuses)
    loads = {ld.id: ld for ld in state.loads}

    assert {ld: loads[ld].paths_all for ld in ref.loads} == ref.paths(manual=True)
    assert {ld: loads[ld].paths_active for ld in ref.loads} == ref.paths(manual=False)

    all_served = ref.feasible(ref.graph(manual=True), ref.loads, set())
    assert all_served == all(loads[ld].served for ld in ref.loads)
    if all_served:
        assert set(state.maintainability_failures) == ref.failures(manual=True)
    active = ref.feasible(ref.graph(manual=False), ref.loads, set())
    assert active == all(loads[ld].served_active for ld in ref.loads)
    if active:
        assert set(state.spofs) == ref.dominators() | ref.failures(manual=False)


@given(st.data())
def test_taking_a_node_out_never_adds_paths(data: st.DataObject) -> None:
    topo = data.draw(layered())
    statuses = data.draw(statuses_for(topo))
    victim = data.draw(st.sampled_from([n.id for n in topo.power.nodes]))
    before = {ld.id: ld for ld in live(score(topo, statuses)).loads}
    after = live(score(topo, {**statuses, victim: "failed"})).loads
    for load in after:
        assert load.paths_all <= before[load.id].paths_all
        assert load.paths_active <= before[load.id].paths_active
        assert load.paths_active <= load.paths_all


@given(st.data())
def test_an_unbypassed_spof_cannot_be_maintained(data: st.DataObject) -> None:
    manual = data.draw(st.booleans())
    topo = data.draw(layered(manual=manual))
    statuses = data.draw(statuses_for(topo))
    state = live(score(topo, statuses))
    assume(all(ld.served for ld in state.loads))
    ref = Reference(topo, statuses)
    graph = ref.graph(manual=True)
    reach = nx.descendants(graph, S)
    for node in state.spofs:
        cut_off = nx.descendants(graph.subgraph(set(graph) - {node}), S)
        separates = any(ld in reach and ld not in cut_off and ld != node for ld in ref.loads)
        if not manual or separates:  # no manual edge anywhere, or none around this node
            assert node in state.maintainability_failures


@given(
    st.data(),
    st.one_of(st.none(), st.floats(-100, 1000)),
    st.one_of(st.none(), st.floats(-1, 2)),
    st.one_of(st.none(), st.floats(0, 1e6)),
)
def test_score_in_range_and_design_at_least_live(
    data: st.DataObject, fuel: float | None, env: float | None, burn: float | None
) -> None:
    topo = data.draw(layered())
    statuses = data.draw(statuses_for(topo))
    snap = score(
        compile_topology(topo),
        statuses,
        fuel_hours=fuel,
        environment_share=env,
        availability_burn=burn,
    )
    assert 0.0 <= snap.score <= 100.0
    assert snap.design_tier >= snap.live_tier
    for sub in snap.subsystems:
        assert sub.design.tier >= sub.live.tier


@st.composite
def halls(draw: st.DrawFn) -> TopologyConfig:
    """Scaled-down halls like bench/tier_score.py, with tight random capacities so that
    batched removals fail and split."""
    cap = st.sampled_from([None, 20, 30, 45, 60, 90, 150])
    nodes: list[dict[str, Any]] = []
    gens = [f"G{i}" for i in range(draw(st.integers(1, 4)))]
    nodes += [{"id": g, "kind": "generator", "capacity": draw(cap)} for g in gens]
    pdus: dict[str, list[str]] = {"A": [], "B": []}
    for side in "AB":
        nodes.append({"id": f"GPB-{side}", "kind": "switchboard", "fed_from": gens})
        for b in range(draw(st.integers(1, 2))):
            mods = [f"UPS-{side}{b}{m}" for m in range(draw(st.integers(1, 3)))]
            nodes += [
                {
                    "id": m,
                    "kind": "ups",
                    "capacity": draw(cap.filter(bool)),
                    "fed_from": [f"GPB-{side}"],
                    "group": f"ups-{side}{b}",
                }
                for m in mods
            ]
            feeds: list[Any] = list(mods)
            if draw(st.booleans()):
                feeds.append({"id": f"GPB-{side}", "mode": "manual"})
            nodes.append({"id": f"UOB-{side}{b}", "kind": "switchboard", "fed_from": feeds})
            for p in range(draw(st.integers(1, 3))):
                pdu = f"PDU-{side}{b}{p}"
                nodes.append(
                    {
                        "id": pdu,
                        "kind": "pdu",
                        "capacity": draw(cap.filter(bool)),
                        "fed_from": [f"UOB-{side}{b}"],
                        "group": pdu,
                    }
                )
                pdus[side].append(pdu)
    for r in range(draw(st.integers(1, 10))):
        cords = [draw(st.sampled_from(pdus["A"]))]
        if draw(st.integers(0, 3)):
            cords.append(draw(st.sampled_from(pdus["B"])))
        nodes.append(
            {
                "id": f"R{r}",
                "kind": "rack",
                "fed_from": cords,
                "demand": draw(st.sampled_from([0, 3, 8, 15, 25])),
            }
        )
    return TopologyConfig.model_validate({"power": {"nodes": nodes}})


@settings(max_examples=60)
@given(st.data())
def test_engine_agrees_with_brute_force_on_halls(data: st.DataObject) -> None:
    topo = data.draw(halls())
    statuses = data.draw(statuses_for(topo))
    state = live(score(topo, statuses))
    ref = Reference(topo, statuses)
    loads = {ld.id: ld for ld in state.loads}
    assert {ld: loads[ld].paths_all for ld in ref.loads} == ref.paths(manual=True)
    assert {ld: loads[ld].paths_active for ld in ref.loads} == ref.paths(manual=False)
    if ref.feasible(ref.graph(manual=True), ref.loads, set()):
        assert set(state.maintainability_failures) == ref.failures(manual=True)
    if ref.feasible(ref.graph(manual=False), ref.loads, set()):
        assert set(state.spofs) == ref.dominators() | ref.failures(manual=False)
