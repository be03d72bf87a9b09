"""A validated topology compiled into graphs the engine works on.

`compile_topology` validates once (raising `TopologyError` with every problem) and builds,
per subsystem, the structural graph of the counted nodes (utility left out, see
tier/topology.py) with a `manual` flag on each edge, the capacity groups and the loads each
group serves. The service compiles once per configuration and re-scores many times.

`view()` derives the graph one question is asked on: the nodes available in a state, with or
without the manual edges, behind a super-source S. Pure loads (loads that feed nothing)
with the same feeders are merged into one "load class" node carrying their summed demand:
their paths, dominators and share of any flow are identical, so the answers are the same
and a 1,500-rack hall turns into a few hundred classes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from types import MappingProxyType

import networkx as nx

from tier.quantity import scale_for
from tier.topology import (
    NOT_COUNTED_KINDS,
    SUBSYSTEMS,
    NodeSpec,
    TopologyConfig,
    group_of,
    is_source,
    validate_topology,
)

VIEWS_KEPT = 16  # per subsystem: design and live, with and without manual edges, and whatifs
MEMO_KEPT = 16  # per subsystem: analyses (tier/score.py) and capacities in flow units

# Tuples cannot clash with node ids, which are strings.
SOURCE: Hashable = ("S",)
SINK: Hashable = ("T",)


class TopologyError(ValueError):
    """The topology cannot be scored; `.problems` holds "key.path: message" strings."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class GroupDef:
    id: str
    kind: str
    units: tuple[str, ...]  # declaration order
    declared_demand: Fraction | None
    serves: frozenset[str]  # loads downstream of any unit (all edges, every node present)
    # The two sides of a 2N arrangement, when the group splits into exactly two (see
    # tier/redundancy.py); None when it does not.
    sides: tuple[frozenset[str], frozenset[str]] | None


@dataclass(frozen=True, eq=False)
class SubsystemGraph:
    """One subsystem's counted graph (every node present, all edges)."""

    name: str
    specs: Mapping[str, NodeSpec]  # every node, utility included, declaration order
    structure: nx.DiGraph  # counted nodes; edge attribute `manual`
    sources: frozenset[str]
    loads: tuple[str, ...]  # declaration order
    pure_loads: frozenset[str]  # loads that feed nothing
    not_counted: tuple[str, ...]
    groups: tuple[GroupDef, ...]
    has_manual: bool
    # Views and results of pure functions of this graph, keyed by their other inputs
    # (tier/score.py keeps analyses here, so a re-score does not redo an unchanged design
    # state). OrderedDict.popitem is atomic, so concurrent scorers cannot trip over an
    # eviction.
    _views: OrderedDict[
        tuple[frozenset[str], bool, frozenset[str], frozenset[tuple[str, str]]], View
    ] = field(
        default_factory=OrderedDict, repr=False
    )
    memo: OrderedDict[object, object] = field(default_factory=OrderedDict, repr=False)

    @cached_property
    def load_order(self) -> Mapping[str, int]:
        return MappingProxyType({load: i for i, load in enumerate(self.loads)})

    @cached_property
    def capacities(self) -> Mapping[str, Fraction]:
        """Every counted node with a capacity, exactly."""
        return MappingProxyType(
            {n: cap for n in self.structure if (cap := self.specs[n].capacity) is not None}
        )

    @cached_property
    def fixed_scale(self) -> int:
        """The least integer that makes every capacity and declared group demand a whole
        number (tier/flow.py `LoadUnits`)."""
        declared = [g.declared_demand for g in self.groups if g.declared_demand is not None]
        return scale_for([*self.capacities.values(), *declared])

    def flow_capacities(self, scale: int) -> Mapping[str, int]:
        """Every capacity in flow units of 1/`scale` (a multiple of `fixed_scale`)."""
        key = ("capacities", scale)
        found = self.memo.get(key)
        if found is None:
            found = MappingProxyType({n: int(c * scale) for n, c in self.capacities.items()})
            self.remember(key, found)
        return found  # type: ignore[return-value]

    def remember(self, key: object, value: object) -> None:
        while len(self.memo) >= MEMO_KEPT:
            self.memo.popitem(last=False)
        self.memo[key] = value

    def cords(self, load: str) -> int:
        """How many counted feeds a load has (its cords)."""
        return self.structure.in_degree(load)

    def view(
        self,
        unavailable: frozenset[str],
        manual: bool,
        zero: frozenset[str] = frozenset(),
        cut: frozenset[tuple[str, str]] = frozenset(),
    ) -> View:
        """The view of a state; `zero`: the loads whose demand is 0 in it (they get load
        classes of their own, see `View`); `cut`: edges (feeder, node) out of service
        although both their ends are available (a link LLDP does not see)."""
        # Views are pure functions of their key; keeping them on the compiled graph lets a
        # re-score with unchanged statuses reuse the work.
        present = frozenset(n for n in unavailable if n in self.structure)
        edges = frozenset(e for e in cut if self.structure.has_edge(*e))
        key = (present, manual and self.has_manual, zero & self.pure_loads, edges)
        found = self._views.get(key)
        if found is None:
            while len(self._views) >= VIEWS_KEPT:
                self._views.popitem(last=False)
            found = self._views[key] = View.build(self, *key)
        return found


@dataclass(frozen=True, eq=False)
class CompiledTopology:
    subsystems: Mapping[str, SubsystemGraph]  # only subsystems with nodes
    subsystem_of: Mapping[str, str]  # node id -> subsystem name

    @property
    def node_ids(self) -> frozenset[str]:
        return frozenset(self.subsystem_of)

    def spec(self, node: str) -> NodeSpec:
        return self.subsystems[self.subsystem_of[node]].specs[node]


def compile_topology(topology: TopologyConfig) -> CompiledTopology:
    problems = validate_topology(topology)
    if problems:
        raise TopologyError(problems)
    subsystems = {}
    subsystem_of = {}
    for name, sub in topology.subsystems():
        if not sub.nodes:
            continue
        declared = {g.id: g.demand for g in sub.groups}
        subsystems[name] = _compile_subsystem(name, sub.nodes, declared)
        subsystem_of.update({node.id: name for node in sub.nodes})
    ordered = {name: subsystems[name] for name in SUBSYSTEMS if name in subsystems}
    return CompiledTopology(MappingProxyType(ordered), MappingProxyType(subsystem_of))


def _compile_subsystem(
    name: str, nodes: Iterable[NodeSpec], declared: Mapping[str, Fraction]
) -> SubsystemGraph:
    specs = {node.id: node for node in nodes}
    counted = [n for n, spec in specs.items() if spec.kind not in NOT_COUNTED_KINDS]
    structure: nx.DiGraph = nx.DiGraph()
    structure.add_nodes_from(counted)
    for node in counted:
        for feed in specs[node].fed_from:
            if feed.id in structure:
                structure.add_edge(feed.id, node, manual=feed.manual)
    loads = tuple(n for n in counted if specs[n].is_load)
    pure = frozenset(n for n in loads if structure.out_degree(n) == 0)
    units: dict[str, list[str]] = {}
    for node in counted:
        group = group_of(specs[node])
        if group is not None:
            units.setdefault(group, []).append(node)
    load_set = frozenset(loads)
    groups = []
    for group, members in units.items():
        downstream: set[str] = set()
        for unit in members:
            downstream |= nx.descendants(structure, unit)
        serves = frozenset(downstream & load_set)
        groups.append(
            GroupDef(
                id=group,
                kind=specs[members[0]].kind,
                units=tuple(members),
                declared_demand=declared.get(group),
                serves=serves,
                sides=_two_sides(structure, members, serves),
            )
        )
    return SubsystemGraph(
        name=name,
        specs=MappingProxyType(specs),
        structure=structure,
        sources=frozenset(n for n in counted if is_source(name, specs[n])),
        loads=loads,
        pure_loads=pure,
        not_counted=tuple(n for n in specs if n not in structure),
        groups=tuple(groups),
        has_manual=any(manual for _, _, manual in structure.edges(data="manual")),
    )


def _two_sides(
    structure: nx.DiGraph, units: list[str], serves: frozenset[str]
) -> tuple[frozenset[str], frozenset[str]] | None:
    """Split a group into the two sides of a 2N arrangement, if it has them.

    Each cord of each load the group serves reaches back to some of the group's units; units
    reached through one cord belong to one side (they are joined in an undirected graph and
    the sides are its connected components). The group has two sides when that graph has
    exactly two components and every load it serves has a cord on each.
    """
    if not serves:
        return None
    unit_set = set(units)
    joined: nx.Graph = nx.Graph()
    joined.add_nodes_from(units)
    cord_sides: list[tuple[str, list[str]]] = []
    upstream: dict[str, set[str]] = {}
    for load in serves:
        for feeder in structure.predecessors(load):
            if feeder not in upstream:
                upstream[feeder] = (nx.ancestors(structure, feeder) | {feeder}) & unit_set
            side = sorted(upstream[feeder])
            nx.add_path(joined, side)
            cord_sides.append((load, side))
    components = list(nx.connected_components(joined))
    if len(components) != 2:
        return None
    side_of = {unit: i for i, comp in enumerate(components) for unit in comp}
    reached: dict[str, set[int]] = {}
    for load, side in cord_sides:
        if side:
            reached.setdefault(load, set()).add(side_of[side[0]])
    if any(reached.get(load) != {0, 1} for load in serves):
        return None
    first, second = sorted(components, key=lambda comp: min(units.index(u) for u in comp))
    return frozenset(first), frozenset(second)


@dataclass(frozen=True, eq=False)
class View:
    """The graph one question is asked on: available nodes, with or without manual edges.

    `graph` holds SOURCE, the available counted nodes except pure loads, and one node per
    load class (a tuple `("L", first member)`), with SOURCE feeding every available source.
    Pure loads that are themselves unavailable appear in no class. Loads with no demand
    form classes of their own: a load that needs nothing is served whenever it is reached,
    and must not be called short with a class-mate that is.
    """

    sub: SubsystemGraph
    unavailable: frozenset[str]
    manual: bool
    graph: nx.DiGraph
    members: Mapping[Hashable, tuple[str, ...]]  # target node -> the loads it stands for
    target_of: Mapping[str, Hashable]  # available load -> its target node

    @staticmethod
    def build(
        sub: SubsystemGraph,
        unavailable: frozenset[str],
        manual: bool,
        zero: frozenset[str] = frozenset(),
        cut: frozenset[tuple[str, str]] = frozenset(),
    ) -> View:
        graph: nx.DiGraph = nx.DiGraph()
        graph.add_node(SOURCE)
        present = [n for n in sub.structure if n not in unavailable]
        graph.add_nodes_from(n for n in present if n not in sub.pure_loads)
        graph.add_edges_from((SOURCE, n) for n in present if n in sub.sources)
        classes: dict[tuple[bool, tuple[str, ...]], list[str]] = {}
        for load in sub.loads:
            if load in unavailable:
                continue
            feeders = tuple(
                sorted(
                    u
                    for u, attrs in sub.structure.pred[load].items()
                    if u not in unavailable
                    and (manual or not attrs["manual"])
                    and (u, load) not in cut
                )
            )
            if load in sub.pure_loads:
                classes.setdefault((load in zero, feeders), []).append(load)
        for u, v, is_manual in sub.structure.edges(data="manual"):
            if v in sub.pure_loads or u in unavailable or v in unavailable or (u, v) in cut:
                continue
            if manual or not is_manual:
                graph.add_edge(u, v)
        members: dict[Hashable, tuple[str, ...]] = {}
        for (_, feeders), loads in classes.items():
            node = ("L", loads[0])
            members[node] = tuple(loads)
            graph.add_node(node)
            graph.add_edges_from((u, node) for u in feeders)
        for load in sub.loads:
            if load not in unavailable and load not in sub.pure_loads:
                members[load] = (load,)
        target_of = {load: node for node, loads in members.items() for load in loads}
        return View(
            sub=sub,
            unavailable=unavailable,
            manual=manual,
            graph=graph,
            members=MappingProxyType(members),
            target_of=MappingProxyType(target_of),
        )

    @cached_property
    def idom(self) -> Mapping[Hashable, Hashable]:
        """Immediate dominators from SOURCE of every reachable node (SOURCE itself left out)."""
        found = nx.immediate_dominators(self.graph, SOURCE)
        found.pop(SOURCE, None)  # networkx < 3.5 maps start to itself
        return MappingProxyType(found)

    @cached_property
    def dominator_tree(self) -> nx.DiGraph:
        tree: nx.DiGraph = nx.DiGraph()
        tree.add_node(SOURCE)
        tree.add_edges_from((d, n) for n, d in self.idom.items())
        return tree

    @cached_property
    def targets_below(self) -> Mapping[Hashable, frozenset[Hashable]]:
        """For each node, the targets (load classes, pass-through loads) downstream of it."""
        return MappingProxyType({n: frozenset(per) for n, per in self.cord_sides.items()})

    @cached_property
    def dominated_targets(self) -> Mapping[Hashable, frozenset[Hashable]]:
        """For each node, the targets it dominates (every path to them passes through it)."""
        found: dict[Hashable, set[Hashable]] = {}
        tree = self.dominator_tree
        for target in self.members:
            if target in tree:
                for node in nx.ancestors(tree, target):
                    found.setdefault(node, set()).add(target)
        return MappingProxyType({n: frozenset(t) for n, t in found.items()})

    @cached_property
    def cord_sides(self) -> Mapping[Hashable, Mapping[Hashable, frozenset[int]]]:
        """For each node, per target below it, which of the target's cords it feeds.

        Cords are numbered in the order of `graph.pred[target]`; a node that is a feeder
        of cord i, or upstream of it, has i in its set. (Read-only by convention.)
        """
        upstream: dict[Hashable, set[Hashable]] = {}
        sides: dict[Hashable, dict[Hashable, frozenset[int]]] = {}
        for target in self.members:
            for i, feeder in enumerate(self.graph.pred[target]):
                if feeder not in upstream:
                    upstream[feeder] = nx.ancestors(self.graph, feeder) | {feeder}
                cord = frozenset((i,))
                for node in upstream[feeder]:
                    per = sides.setdefault(node, {})
                    per[target] = per[target] | cord if target in per else cord
        return MappingProxyType(sides)

    def reachable(self, target: Hashable) -> bool:
        return target in self.idom

