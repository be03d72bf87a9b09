"""Feasible(H): can the nodes of a view carry every load's demand? (TIER-MODEL formula 2)

The flow network: SOURCE feeds every source with its rating (no rating: unlimited); a node
with a capacity is split into an in-node and an out-node joined by its capacity (a node
with a single feeder, a source included, gets its rating on that one edge instead); other
edges between nodes are unlimited; every
target (a load class or a pass-through load) drains to SINK with its demand. networkx's
shortest augmenting path finds the maximum flow.

Quantities are exact: capacities and demands enter as whole flow units (`LoadUnits`: each
times the least common multiple of the denominators), so networkx works on integers and
no comparison has a tolerance.

A target is served when it is reachable and the flow can satisfy it. When the flow falls
short, the targets marked "capacity short" are the ones that can still reach SINK in the
residual network: those whose demand is unmet, and those whose supply could be shifted to
an unmet one (they share its bottleneck). That set is fixed by the network (it is the sink
side of networkx's canonical minimum cut), so the answer does not depend on which of many
maximum flows the algorithm happened to find.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Any

import networkx as nx
from networkx.algorithms.flow import shortest_augmenting_path

from tier.graph import SINK, SOURCE, SubsystemGraph, View
from tier.quantity import scale_for

_EMPTY: Mapping[Any, int] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a view (less some removed nodes) does for a set of targets."""

    unreachable: frozenset[Hashable] = frozenset()
    short: frozenset[Hashable] = frozenset()
    # Flow through each node id, and on each edge of the view, in the maximum flow found,
    # in flow units (only when `serve` was asked for them).
    through: Mapping[str, int] = field(default_factory=lambda: _EMPTY)
    edge_flow: Mapping[tuple[Hashable, Hashable], int] = field(default_factory=lambda: _EMPTY)

    @property
    def ok(self) -> bool:
        return not self.unreachable and not self.short


@dataclass(frozen=True, slots=True)
class Demand:
    """Demands and capacities in integer flow units, exactly.

    Quantities are exact decimals (tier/quantity.py); multiplied by `scale`, the least
    common multiple of every denominator involved, each is a whole number, so networkx's
    max-flow works on integers and compares exactly (no tolerance, no rounding: 30000.00002
    exceeds 30000, and 1e20 + 100 is 1e20 + 100).
    """

    scale: int
    need: Mapping[Hashable, int]  # target -> demand
    capacity: Mapping[str, int]  # rated node -> capacity


@dataclass(frozen=True, slots=True)
class LoadUnits:
    """One state's load demands in flow units of 1/`scale`: the scale makes every capacity,
    declared group demand and load demand of the subsystem a whole number, so every sum and
    comparison after this is on integers."""

    scale: int
    units: Mapping[str, int]  # load -> demand

    @staticmethod
    def of(sub: SubsystemGraph, demands: Mapping[str, Fraction]) -> LoadUnits:
        scale = scale_for(demands.values(), start=sub.fixed_scale)
        return LoadUnits(
            scale, {load: d.numerator * (scale // d.denominator) for load, d in demands.items()}
        )

    def demand(self, sub: SubsystemGraph, need: Mapping[Hashable, int]) -> Demand:
        return Demand(self.scale, need, sub.flow_capacities(self.scale))

    def exact(self, units: int) -> Fraction:
        return Fraction(units, self.scale)

    def zero(self, sub: SubsystemGraph) -> frozenset[str]:
        """The pure loads with no demand (they get load classes of their own)."""
        return frozenset(load for load in sub.pure_loads if self.units[load] == 0)


def _rated(view: View, node: Hashable) -> bool:
    return isinstance(node, str) and view.sub.specs[node].capacity is not None


def _split(view: View, node: Hashable) -> bool:
    # A rated node with a single way in carries its rating on that edge instead: the same
    # network, about 40 % smaller on a hall of PDUs and RPPs. Sources have theirs on the
    # edge from SOURCE.
    return _rated(view, node) and view.graph.in_degree(node) > 1


def _inlet(view: View, node: Hashable) -> Hashable:
    return ("i", node) if _split(view, node) else node


def _outlet(view: View, node: Hashable) -> Hashable:
    return ("o", node) if _split(view, node) else node


def serve(
    view: View,
    demand: Demand,
    targets: frozenset[Hashable] | None = None,
    removed: frozenset[str] = frozenset(),
    with_through: bool = False,
    cut: frozenset[tuple[Hashable, Hashable]] = frozenset(),
) -> Outcome:
    """Which of `targets` (default: all) the view, less the `removed` nodes and the `cut`
    edges (pairs of view nodes), leaves unreachable or short.

    `demand` holds each target node's demand. A removed target is not asked about.
    """
    graph = view.graph
    wanted = frozenset(view.members) if targets is None else targets
    wanted = frozenset(t for t in wanted if t not in removed)
    if removed or cut:
        reachable = nx.descendants(nx.restricted_view(graph, removed, cut), SOURCE)
    else:
        reachable = set(view.idom)
    unreachable = frozenset(t for t in wanted if t not in reachable)
    live = [t for t in wanted if t in reachable]
    need = {t: demand.need[t] for t in live}
    total = sum(need.values())
    if total == 0:
        return Outcome(unreachable=unreachable)

    network = _network(view, need, demand.capacity, frozenset(live), removed, reachable, cut)
    residual = shortest_augmenting_path(network, SOURCE, SINK)
    through: Mapping[str, int] = _EMPTY
    edge_flow: Mapping[tuple[Hashable, Hashable], int] = _EMPTY
    if with_through:
        through, edge_flow = _through(view, network, residual, reachable)
    if residual.graph["flow_value"] >= total:
        return Outcome(unreachable=unreachable, through=through, edge_flow=edge_flow)
    open_edges = nx.subgraph_view(
        residual,
        filter_edge=lambda u, v: residual[u][v]["capacity"] > residual[u][v]["flow"],
    )
    contended = nx.ancestors(open_edges, SINK)
    short = frozenset(t for t in live if _outlet(view, t) in contended)
    return Outcome(unreachable=unreachable, short=short, through=through, edge_flow=edge_flow)


def _network(
    view: View,
    need: Mapping[Hashable, int],
    capacity: Mapping[str, int],
    live: frozenset[Hashable],
    removed: frozenset[str],
    reachable: set[Hashable],
    cut: frozenset[tuple[Hashable, Hashable]] = frozenset(),
) -> nx.DiGraph:
    network: nx.DiGraph = nx.DiGraph()
    network.add_nodes_from((SOURCE, SINK))
    for node in reachable:
        if not isinstance(node, str) and node not in live:
            continue  # a load class nobody asked about
        if isinstance(node, str) and _split(view, node):
            network.add_edge(("i", node), ("o", node), capacity=capacity[node])
        for succ in view.graph.succ[node]:
            if succ in reachable and (node, succ) not in cut:
                if _rated(view, succ) and not _split(view, succ):
                    network.add_edge(_outlet(view, node), succ, capacity=capacity[succ])
                else:
                    network.add_edge(_outlet(view, node), _inlet(view, succ))
    for source in view.graph.succ[SOURCE]:
        if source in removed:
            continue
        rating = capacity.get(source)
        if rating is None:
            network.add_edge(SOURCE, source)
        else:
            network.add_edge(SOURCE, source, capacity=rating)
    for target in live:
        network.add_edge(_outlet(view, target), SINK, capacity=need[target])
    return network


def _through(
    view: View, network: nx.DiGraph, residual: nx.DiGraph, reachable: set[Hashable]
) -> tuple[Mapping[str, int], Mapping[tuple[Hashable, Hashable], int]]:
    flows: dict[str, int] = {}
    edges: dict[tuple[Hashable, Hashable], int] = {}

    # networkx leaves zero-capacity edges out of the residual network: they carry nothing.
    def flow_on(u: Hashable, v: Hashable) -> int:
        found = residual.succ[u].get(v)
        return max(0, found["flow"]) if found is not None else 0

    for node in reachable:
        out = _outlet(view, node)
        for succ in view.graph.succ[node]:
            inlet = _inlet(view, succ)
            if network.has_edge(out, inlet):
                edges[node, succ] = flow_on(out, inlet)
        if not isinstance(node, str):
            continue
        if _split(view, node):
            flows[node] = flow_on(("i", node), ("o", node))
        else:
            flows[node] = sum(flow_on(node, w) for w in network.succ[node])
    return MappingProxyType(flows), MappingProxyType(edges)
