"""The live Tier picture the status page and the topology route show.

With the live Tier engine running (`context.live`, livetier/engine.py) its last snapshot is
used as it is. Before its first score, or where it is not running (an API over a service
that was not started, as in tests), the state is read and scored here the same way
(`livetier.engine.read_nodes`, `read_demands`), and the result kept until a device moves.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from livetier.engine import read_demands, read_nodes
from tier.graph import CompiledTopology, compile_topology
from tier.score import TierSnapshot, score
from tier.status import NodeStatus
from tier.topology import demand_bindings, node_bindings

if TYPE_CHECKING:
    from api.context import ApiContext
    from tier.topology import TopologyConfig
    from tierwatch.core.state import State


@dataclass(frozen=True)
class LiveView:
    snapshot: TierSnapshot
    statuses: dict[str, NodeStatus]  # bound nodes whose device has answered or failed
    pending: frozenset[str]  # bound nodes whose device has not been polled yet


class _Scorer:
    def __init__(self, topology: TopologyConfig) -> None:
        self.compiled: CompiledTopology = compile_topology(topology)
        self.bindings = node_bindings(topology)
        self.demands = demand_bindings(topology)
        self.devices = {d for d, _ in self.bindings.values()} | {
            m.device for m in self.demands.values()}
        self.lock = threading.Lock()
        self.key: Any = None
        self.view: LiveView | None = None

    def view_of(self, state: State, unverified: frozenset[tuple[str, str]] = frozenset()
                ) -> LiveView:
        key = (tuple(sorted((d, state.devices[d].generation) for d in self.devices
                            if d in state.devices)), unverified)
        with self.lock:
            if self.view is not None and key == self.key:
                return self.view
            readings, pending = read_nodes(self.bindings, state)
            statuses = {node: r.status for node, r in readings.items()}
            snapshot = score(self.compiled, statuses, read_demands(self.demands, state),
                             unavailable_edges=unverified)
            self.view = LiveView(snapshot, statuses, pending)
            self.key = key
            return self.view


def live_view(context: ApiContext, cache: dict[str, Any]) -> LiveView | None:
    """The live picture, or None when no topology is configured. `cache` is the app's."""
    topology = context.config.topology
    if not topology.node_ids():
        return None
    snap = context.live.snapshot if context.live is not None else None
    if snap is not None:
        return LiveView(snap.tier, dict(snap.statuses), frozenset(snap.pending))
    scorer = cache.get("scorer")
    if scorer is None:
        scorer = cache["scorer"] = _Scorer(topology)
    # links LLDP does not see are not counted here either, as the live tier does not
    unverified = (context.network.unverified_edges() if context.network is not None
                  else frozenset())
    return scorer.view_of(context.state, unverified)
