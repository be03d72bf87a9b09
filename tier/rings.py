"""The shortest cycle through a node: how a refused loop is named in an error (feeds in
topology.py, services' depends_on in services.py), the same ring for the same graph."""

from __future__ import annotations

import networkx as nx


def shortest_ring(graph: nx.DiGraph, start: str, within: set[str]) -> list[str]:
    """The shortest cycle through `start` inside a strongly connected set, as
    [start, ..., start]; breadth first over successors in id order, so it is unique."""
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for succ in sorted(s for s in graph.succ[node] if s in within):
                if succ == start:
                    ring = [node]
                    while ring[-1] != start:
                        ring.append(parent[ring[-1]])
                    return [*reversed(ring), start]
                if succ not in parent:
                    parent[succ] = node
                    following.append(succ)
        frontier = following
    raise AssertionError("a strongly connected set has a cycle through each of its nodes")
