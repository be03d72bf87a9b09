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
is exact:

1. a node with no target downstream cannot drop one;
2. a node that dominates targets drops them ("no path"); when it feeds nothing else, no
   other target's flow passes through it, so nothing else is lost;
3. a node that carries no flow in the current maximum flow can go: that flow stays valid;
4. nodes with the same feeders, the same successors and the same capacity (parallel UPS
   modules, generators on one bus) answer alike: one of them is checked;
5. the rest are tested in batches: removing more nodes never adds capacity, so when a
   whole batch can go at once, each member can go alone. A batch that fails is halved
   until the failing members are found. Batches hold nodes with disjoint sets of
   downstream loads (side A and side B of a 2N hall land in two batches).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

import networkx as nx
from networkx.algorithms.connectivity import local_node_connectivity

from tier.flow import Outcome, serve, tolerance
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


def dominators_of(view: View, targets: Iterable[Hashable]) -> frozenset[str]:
    """Every node (not SOURCE, not a target itself) that dominates one of `targets`."""
    tree = view.dominator_tree
    found: set[Hashable] = set()
    for target in targets:
        if target in tree:
            found |= nx.ancestors(tree, target)
    found.discard(SOURCE)
    return frozenset(n for n in found if isinstance(n, str) and n not in view.members)


def removal_failures(
    view: View,
    demand: Mapping[Hashable, float],
    served: frozenset[Hashable],
    base: Outcome,
    candidates: Iterable[str],
    details: bool = True,
) -> dict[str, Drop]:
    """The candidates whose removal leaves some target in `served` unserved.

    `base` must be `serve(view, demand, with_through=True)` (all targets). With
    `details=False` a dominating node is reported without working out which other loads
    would also fall short (enough for the SPOF list).
    """
    tree = view.dominator_tree
    below = view.targets_below
    tol = tolerance(sum(demand[t] for t in served))
    failures: dict[str, Drop] = {}
    batchable: list[str] = []
    for node in candidates:
        asked = served - {node}
        downstream = below.get(node, frozenset()) & asked
        if not downstream:
            continue  # 1
        dominated = frozenset(nx.descendants(tree, node)) & asked if node in tree else frozenset()
        if dominated:
            if not details or downstream <= dominated:  # 2
                failures[node] = Drop(dominated, frozenset())
            else:
                out = serve(view, demand, asked - dominated, frozenset({node}))
                failures[node] = Drop(dominated | out.unreachable, out.short)
        elif base.through.get(node, 0.0) <= tol:
            continue  # 3
        elif node in view.members:
            # A pass-through load: its own demand leaves with it, so it is not batched.
            out = serve(view, demand, asked, frozenset({node}))
            if not out.ok:
                failures[node] = Drop(out.unreachable, out.short)
        else:
            batchable.append(node)
    failures.update(_batched_failures(view, demand, served, batchable))
    return failures


def _twin_key(view: View, node: str) -> tuple[object, ...]:
    graph = view.graph
    return (
        frozenset(graph.pred[node]),
        frozenset(graph.succ[node]),
        view.sub.specs[node].capacity,
    )


def _batched_failures(
    view: View, demand: Mapping[Hashable, float], served: frozenset[Hashable], nodes: list[str]
) -> dict[str, Drop]:
    twins: dict[tuple[object, ...], list[str]] = {}
    for node in nodes:  # 4
        twins.setdefault(_twin_key(view, node), []).append(node)
    representatives = [group[0] for group in twins.values()]

    below = view.targets_below
    batches: list[tuple[list[str], set[Hashable]]] = []
    for node in representatives:
        reach = below[node]
        for members, used in batches:
            if used.isdisjoint(reach):
                members.append(node)
                used |= reach
                break
        else:
            batches.append(([node], set(reach)))

    failing: dict[str, Drop] = {}
    pending = [members for members, _ in batches]
    while pending:  # 5
        batch = pending.pop()
        removed = frozenset(batch)
        out = serve(view, demand, served - removed, removed)
        if out.ok:
            continue
        if len(batch) == 1:
            failing[batch[0]] = Drop(out.unreachable, out.short)
        else:
            half = len(batch) // 2
            pending.extend((batch[half:], batch[:half]))
    result: dict[str, Drop] = {}
    for group in twins.values():
        if group[0] in failing:
            result.update(dict.fromkeys(group, failing[group[0]]))
    return result
