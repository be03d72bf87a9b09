"""A slow, obviously-correct Tier engine for the property tests (TIER-MODEL formulas 1-5).

Written from the model's text, sharing no code with tier/ (only networkx): it reads the
topology as plain data (the dicts a test writes as YAML), every quantity as the exact
decimal written (`Fraction` of its text), and answers each question by brute force:

* one maximum flow (networkx, on whole numbers: every quantity times the least common
  denominator) per question, each node split into in and out, nothing merged or batched;
* a load is served when it is reachable and one more unit of supply placed at it would not
  raise the flow (so it neither lacks demand nor shares a bottleneck with a load that does);
* an element fails the maintainability test when, without it, the loads served now are
  not all carried (every element removed in turn); a SPOF is a dominator of a load in the
  auto graph, or an element whose removal from the auto graph drops a load served there;
* paths: node-disjoint paths by a unit-capacity maximum flow (Menger).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

import networkx as nx

UNAVAILABLE = frozenset({"failed", "unknown", "bypass", "off"})  # the default unavailable_when
SOURCE_KINDS = frozenset({"generator", "utility"})  # power
NOT_COUNTED = frozenset({"utility"})
S, T = "<S>", "<T>"


def _feeds(spec: dict[str, Any]) -> list[tuple[str, bool]]:
    out = []
    for feed in spec.get("fed_from", []):
        if isinstance(feed, str):
            out.append((feed, False))
        else:
            out.append((feed["id"], feed.get("mode", "auto") == "manual"))
    return out


class Reference:
    def __init__(self, design: dict[str, Any], statuses: dict[str, str]) -> None:
        nodes = design["nodes"]
        self.spec = {n["id"]: n for n in nodes}
        self.counted = [n["id"] for n in nodes if n["kind"] not in NOT_COUNTED]
        present = set(self.counted)
        self.edges = [
            (u, v, manual)
            for v in self.counted
            for u, manual in _feeds(self.spec[v])
            if u in present
        ]
        self.sources = {
            n for n in self.counted
            if not self.spec[n].get("fed_from") and self.spec[n]["kind"] in SOURCE_KINDS
        }
        self.cap = {
            n: Fraction(str(self.spec[n]["capacity"]))
            for n in self.counted
            if self.spec[n].get("capacity") is not None
        }
        self.all_loads = [n for n in self.counted if self.spec[n].get("demand") is not None]
        self.demand = {n: Fraction(str(self.spec[n]["demand"])) for n in self.all_loads}
        self.declared = {g["id"]: Fraction(str(g["demand"])) for g in design.get("groups", [])}
        self.out = {n for n in self.counted if statuses.get(n, "ok") in UNAVAILABLE}
        self.loads = [n for n in self.all_loads if n not in self.out]
        feeding = {u for u, _, _ in self.edges}
        pure = {n for n in self.all_loads if n not in feeding}
        self.elements = [n for n in self.counted if n not in self.out and n not in pure]
        everything = [*self.cap.values(), *self.demand.values(), *self.declared.values()]
        self.scale = math.lcm(1, *(q.denominator for q in everything))

    # ------------------------------------------------------------------ graphs and flows

    def graph(self, manual: bool, removed: Iterable[str] = ()) -> nx.DiGraph:
        gone = self.out | set(removed)
        graph = nx.DiGraph()
        graph.add_node(S)
        graph.add_nodes_from(n for n in self.counted if n not in gone)
        graph.add_edges_from((S, n) for n in self.sources if n not in gone)
        graph.add_edges_from(
            (u, v) for u, v, m in self.edges if u in graph and v in graph and (manual or not m)
        )
        return graph

    def units(self, value: Fraction) -> int:
        whole = value * self.scale
        assert whole.denominator == 1
        return int(whole)

    def flow(self, graph: nx.DiGraph, asked: Iterable[str], extra: str | None = None) -> int:
        """Max flow from S to T: nodes split with their capacity, each asked load draining
        its demand; `extra`: one more unit of supply placed at that load."""
        net = nx.DiGraph()
        net.add_nodes_from([S, T])
        for node in graph:
            if node == S:
                continue
            if node in self.cap:
                net.add_edge((node, "in"), (node, "out"), capacity=self.units(self.cap[node]))
            else:
                net.add_edge((node, "in"), (node, "out"))
        for u, v in graph.edges:
            net.add_edge(S if u == S else (u, "out"), (v, "in"))
        for load in asked:
            if load in graph:
                net.add_edge((load, "out"), T, capacity=self.units(self.demand[load]))
        if extra is not None:
            net.add_edge(S, (extra, "out"), capacity=1)
        return int(nx.maximum_flow_value(net, S, T))

    def feasible(self, graph: nx.DiGraph, asked: Iterable[str]) -> bool:
        asked = list(asked)
        reach = nx.descendants(graph, S)
        if any(load not in reach for load in asked):
            return False
        return self.flow(graph, asked) == sum(self.units(self.demand[ld]) for ld in asked)

    # ------------------------------------------------------------------ answers

    def served(self, manual: bool) -> dict[str, bool]:
        graph = self.graph(manual)
        reach = nx.descendants(graph, S)
        asked = [ld for ld in self.loads if ld in reach]
        base = self.flow(graph, asked)
        return {
            ld: ld in reach and self.flow(graph, asked, extra=ld) == base for ld in self.loads
        }

    def paths(self, manual: bool) -> dict[str, int]:
        graph = self.graph(manual)
        reach = nx.descendants(graph, S)
        counts = {}
        for load in self.loads:
            if load not in reach:
                counts[load] = 0
                continue
            net = nx.DiGraph()
            for node in graph:
                if node not in (S, load):
                    net.add_edge((node, "in"), (node, "out"), capacity=1)
            for u, v in graph.edges:
                net.add_edge(S if u == S else (u, "out"), load if v == load else (v, "in"))
            counts[load] = int(nx.maximum_flow_value(net, S, load))
        return counts

    def failures(self, manual: bool) -> set[str]:
        """Elements without which the loads served now are not all carried."""
        served = [ld for ld, ok in self.served(manual).items() if ok]
        return {
            e
            for e in self.elements
            if not self.feasible(self.graph(manual, removed=[e]), [ld for ld in served if ld != e])
        }

    def dominators(self) -> set[str]:
        graph = self.graph(manual=False)
        idom = nx.immediate_dominators(graph, S)
        found: set[str] = set()
        for load in self.loads:
            if load not in idom:
                continue
            node = idom[load]
            while node != S:
                found.add(node)
                node = idom[node]
        return found

    def spofs(self) -> set[str]:
        return self.dominators() | self.failures(manual=False)

    def groups(self) -> dict[str, tuple[Any, ...]]:
        """group id -> (required, installed, available, spare, label, demand, capacity
        available); demand and capacities exact."""
        structure = nx.DiGraph()
        structure.add_nodes_from(self.counted)
        structure.add_edges_from((u, v) for u, v, _ in self.edges)
        units: dict[str, list[str]] = {}
        for node in self.counted:
            spec = self.spec[node]
            if node in self.demand:
                continue
            group = spec.get("group") or (spec["kind"] if node in self.cap else None)
            if group is not None:
                units.setdefault(group, []).append(node)
        live = self.graph(manual=True)
        fed = nx.descendants(live, S)
        answers = {}
        for group, members in units.items():
            serves = set()
            for unit in members:
                serves |= {d for d in nx.descendants(structure, unit) if d in self.demand}
            demand = self.declared.get(group, sum((self.demand[ld] for ld in serves), Fraction(0)))
            up = [u for u in members if u in fed]
            sizes = sorted((self.cap[u] for u in up), reverse=True)
            total = sum(sizes, Fraction(0))
            if total < demand:
                largest = max(self.cap[u] for u in members)
                gap = demand - total
                missing = math.ceil(gap / largest) if largest > 0 else 1
                required, spare = len(up) + max(1, missing), -1
            else:
                required = next(m for m in range(len(sizes) + 1) if sum(sizes[:m]) >= demand)
                spare = max(k for k in range(len(sizes) + 1) if sum(sizes[k:]) >= demand)
            if spare < 0:
                label = f"N-{max(1, required - len(up))}"
            elif spare == 0:
                label = "N"
            else:
                sides = self._sides(structure, members, serves)
                two_n = sides is not None and all(
                    sum((self.cap[u] for u in side if u in up), Fraction(0)) >= demand
                    for side in sides
                )
                label = "2N" if two_n else f"N+{spare}"
            answers[group] = (required, len(members), len(up), spare, label, demand, total)
        return answers

    @staticmethod
    def _sides(
        structure: nx.DiGraph, members: list[str], serves: set[str]
    ) -> list[set[str]] | None:
        """The model's two sides: units reached through one cord of a load are one side;
        there are exactly two, and every load served has a cord on each."""
        if not serves:
            return None
        joined = nx.Graph()
        joined.add_nodes_from(members)
        cords = []
        for load in serves:
            for feeder in structure.predecessors(load):
                reached = (nx.ancestors(structure, feeder) | {feeder}) & set(members)
                joined.add_edges_from((a, b) for a in reached for b in reached if a != b)
                cords.append((load, reached))
        parts = list(nx.connected_components(joined))
        if len(parts) != 2:
            return None
        for load in serves:
            touched = {i for ld, reached in cords if ld == load for i, part in enumerate(parts)
                       if reached & part}
            if touched != {0, 1}:
                return None
        return [set(part) for part in parts]
