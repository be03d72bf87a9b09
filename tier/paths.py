"""Independent paths, single points of failure and concurrent maintainability.

TIER-MODEL formulas 3 to 5, over a `View` (tier/graph.py):

* Paths k(l): the most node-disjoint paths from the super-source to a load (Menger). By
  Menger, k = 1 exactly when some node other than the source dominates the load, and k is
  never more than the load's number of feeders; so dominators (networkx
  `immediate_dominators`) settle every load with at most two feeders, and only the others
  go to networkx's `local_node_connectivity` on the load's ancestors.
* SPOFs: every node that dominates a reachable load in the auto view, plus every node whose
  removal leaves a load the auto view now serves unserved for lack of capacity.
* Concurrent maintainability: the elements (every available node except pure loads) whose
  removal from the all-edges view leaves some load that is served now unserved, each with
  the loads it would drop and why ("no path" or "capacity short"). When the state is
  already short, a removal is judged on the loads that are still served.

Removal checks avoid one maximum flow per element (see `removal_failures`); every shortcut
is exact, and tests/tier/test_tier_properties.py checks them all against one max-flow per element:

1. a node with no target downstream cannot drop one;
2. a node that dominates targets always drops them ("no path"). Whether it also leaves
   other loads short depends on the flow leaving its region (the nodes it dominates): when
   none does in the current maximum flow, nothing else is lost;
3. a node that dominates nothing and carries no flow in the current maximum flow can go:
   that flow stays valid without it;
4. nodes with the same feeders, the same successors and the same capacity (parallel UPS
   modules, generators on one bus) answer alike: one of them is checked;
5. the rest are tested in batches, one maximum flow per batch. A dominator is tested kept
   for its own region only (the edges leaving its region cut), a non-dominator removed.
   Either way a bigger batch can only do worse, so when a whole batch passes each member
   passes alone; a batch that fails is halved until the failing members are found, and a
   dominator failing alone gets the exact test (removed, its own loads no longer asked
   for). Batches are packed so that no batch holds, between its members, every cord of
   some load (side A and side B of a 2N hall land in two batches).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import networkx as nx
from networkx.algorithms.connectivity import local_node_connectivity

from tier.flow import Demand, Outcome, serve
from tier.graph import SOURCE, View


@dataclass(frozen=True, slots=True)
class Drop:
    """What removing one node does: the targets it leaves without a path, and short."""

    no_path: frozenset[Hashable]
    short: frozenset[Hashable]


def path_counts(view: View) -> dict[Hashable, int]:
    """k(t) for every target of the view (0 when unreachable)."""
    counts: dict[Hashable, int] = {}
    graph = view.graph
    for target in view.members:
        if not view.reachable(target):
            counts[target] = 0
        elif view.idom[target] != SOURCE:
            counts[target] = 1
        elif graph.in_degree(target) <= 2:
            counts[target] = graph.in_degree(target)
        else:
            ancestors = nx.ancestors(graph, target) | {target}
            counts[target] = local_node_connectivity(graph.subgraph(ancestors), SOURCE, target)
    return counts


def manual_ties_needed(
    view: View, demand: Demand, targets: frozenset[Hashable]
) -> dict[Hashable, tuple[tuple[str, str], ...]]:
    """For targets served only with manual ties closed: the ties each cannot do without.

    `view` has the manual edges. A tie (feeder, node) is needed by a target when, with
    every other tie closed, the target is not served without it: its paths all run through
    that tie, or the others lack the capacity. A target that could use any of several ties
    needs none of them alone and gets an empty tuple. One maximum flow per manual edge
    upstream of the targets; it is only asked for the few loads the auto view drops.
    """
    if not targets:
        return {}
    sub = view.sub
    upstream: set[Hashable] = set(targets)
    for target in targets:
        upstream |= nx.ancestors(view.graph, target)
    needed: dict[Hashable, list[tuple[str, str]]] = {t: [] for t in targets}
    for u, v, manual in sorted(sub.structure.edges(data="manual")):
        if not manual or u not in view.graph:
            continue
        head = view.target_of.get(v, v)  # a pure load is reached through its class node
        if head not in upstream or not view.graph.has_edge(u, head):
            continue
        out = serve(view, demand, targets, cut=frozenset({(u, head)}))
        for target in out.unreachable | out.short:
            needed[target].append((u, v))
    return {t: tuple(ties) for t, ties in needed.items()}


def dominators_of(view: View, targets: Iterable[Hashable]) -> frozenset[str]:
    """Every node (not SOURCE, not a load class) that dominates one of `targets`."""
    tree = view.dominator_tree
    found: set[Hashable] = set()
    for target in targets:
        if target in tree:
            found |= nx.ancestors(tree, target)
    found.discard(SOURCE)
    return frozenset(n for n in found if isinstance(n, str))


@dataclass(frozen=True, slots=True)
class _Candidate:
    node: str
    dominated: frozenset[Hashable]  # targets only this node reaches
    cut: frozenset[tuple[Hashable, Hashable]]  # for a dominator: its edges out of its region


def removal_failures(
    view: View,
    demand: Demand,
    served: frozenset[Hashable],
    base: Outcome,
    candidates: Iterable[str],
    details: bool = True,
) -> dict[str, Drop]:
    """The candidates whose removal leaves some target in `served` unserved.

    `base` must be `serve(view, demand, served, with_through=True)`. With `details=False`
    a dominating node is reported without working out which other loads would also fall
    short (enough for the SPOF list).
    """
    tree = view.dominator_tree
    below = view.targets_below
    failures: dict[str, Drop] = {}
    batchable: list[_Candidate] = []
    for node in candidates:
        asked = served - {node}
        downstream = below.get(node, frozenset()) & asked
        if not downstream:
            continue  # 1
        dominated = view.dominated_targets.get(node, frozenset()) & asked
        if node in view.members:
            # A pass-through load: its own demand leaves with it, so it is checked alone.
            out = serve(view, demand, asked - dominated, frozenset({node}))
            if dominated or not out.ok:
                failures[node] = Drop(dominated | out.unreachable, out.short)
            continue
        if not dominated:
            if base.through.get(node, 0) > 0:
                batchable.append(_Candidate(node, dominated, frozenset()))
            continue  # 3
        if not details:
            failures[node] = Drop(dominated, frozenset())
            continue
        region = nx.descendants(tree, node)
        # The exits of the node's region (the nodes it dominates): flow leaving the region
        # serves loads that have another way in.
        cut = frozenset(
            (inner, succ)
            for inner in (*region, node)
            if isinstance(inner, str)
            for succ in view.graph.succ[inner]
            if succ not in region
        )
        if not any(base.edge_flow.get(edge, 0) for edge in cut):
            # 2: no flow leaves the node's own region, so only its dominated loads go.
            failures[node] = Drop(dominated, frozenset())
        else:
            batchable.append(_Candidate(node, dominated, cut))
    failures.update(_batched_failures(view, demand, served, batchable))
    return failures


def _twin_key(view: View, node: str) -> tuple[object, ...]:
    graph = view.graph
    return (
        frozenset(graph.pred[node]),
        frozenset(graph.succ[node]),
        view.sub.specs[node].capacity,
    )


def _pack(view: View, candidates: list[_Candidate]) -> list[list[_Candidate]]:
    """Share candidates out into batches likely to pass as a whole.

    Two candidates conflict when, between them, they feed every cord of some target (with
    both gone, nothing would be left to carry it); a node that feeds all of a target's cords
    (a generator of a common bus) does not count for that target. The large candidates are
    placed first. The packing only decides the work: any batch gives exact answers.
    """
    graph = view.graph
    sides = view.cord_sides
    below = view.targets_below
    batches: list[tuple[list[_Candidate], dict[Hashable, frozenset[int]]]] = []
    order = sorted(candidates, key=lambda c: -len(below[c.node]))
    for cand in order:
        mine = {
            target: cords
            for target, cords in sides.get(cand.node, {}).items()
            if target not in cand.dominated and len(cords) < graph.in_degree(target)
        }
        for members, covered in batches:
            if all(
                len(covered.get(t, frozenset()) | cords) < graph.in_degree(t)
                for t, cords in mine.items()
            ):
                members.append(cand)
                for t, cords in mine.items():
                    covered[t] = covered.get(t, frozenset()) | cords
                break
        else:
            batches.append(([cand], dict(mine)))
    return [members for members, _ in batches]


def _batched_failures(
    view: View,
    demand: Demand,
    served: frozenset[Hashable],
    candidates: list[_Candidate],
) -> dict[str, Drop]:
    """Step 5 of the module notes, with dominators in the batches too.

    A dominating node is tested kept for its own region only (its edges leaving the region
    cut): if the others can do without it then, they can when it is gone and its dominated
    loads with it. That test only gets harder as a batch grows, so a passing batch clears
    each member; a dominator that fails it alone gets the exact test (node removed, its
    dominated loads no longer asked for).
    """
    twins: dict[tuple[object, ...], list[_Candidate]] = {}
    for cand in candidates:  # 4 (a dominator has no twin: its twin would share its loads)
        key = _twin_key(view, cand.node) if not cand.dominated else (cand.node,)
        twins.setdefault(key, []).append(cand)
    representatives = [group[0] for group in twins.values()]

    batches = _pack(view, representatives)

    failing: dict[str, Drop] = {}
    pending = list(batches)
    while pending:  # 5
        batch = pending.pop()
        removed = frozenset(c.node for c in batch if not c.dominated)
        cut = frozenset(edge for c in batch for edge in c.cut)
        out = serve(view, demand, served - removed, removed, cut=cut)
        if out.ok:
            continue
        if len(batch) > 1:
            half = len(batch) // 2
            pending.extend((batch[half:], batch[:half]))
            continue
        cand = batch[0]
        if cand.dominated:
            asked = served - cand.dominated - {cand.node}
            out = serve(view, demand, asked, frozenset({cand.node}))
            failing[cand.node] = Drop(cand.dominated | out.unreachable, out.short)
        else:
            failing[cand.node] = Drop(out.unreachable, out.short)
    result: dict[str, Drop] = {
        c.node: Drop(c.dominated, frozenset()) for c in representatives if c.dominated
    }
    for group in twins.values():
        if group[0].node in failing:
            result.update(dict.fromkeys((c.node for c in group), failing[group[0].node]))
    return result
