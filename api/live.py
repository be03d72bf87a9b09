"""The live Tier picture the status page and the topology route show.

With the live Tier engine running (`service.live`, tierwatch/live.py) its last snapshot is
used as it is. Without it, the state's statuses are scored here on demand, through the same
mapping (`tier.topology.node_status`), and kept until a device's state moves.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tier.graph import CompiledTopology, compile_topology
from tier.score import TierSnapshot, score
from tier.topology import node_bindings, node_status
from tierwatch.model import NodeStatus

if TYPE_CHECKING:
    from tierwatch.service import Service


@dataclass(frozen=True)
class LiveView:
    snapshot: TierSnapshot
    statuses: dict[str, NodeStatus]  # bound nodes whose device has answered or failed
    pending: frozenset[str]  # bound nodes whose device has not been polled yet


class _Scorer:
    def __init__(self, service: Service) -> None:
        self.compiled: CompiledTopology = compile_topology(service.config.topology)
        self.bindings = node_bindings(service.config.topology)
        self.lock = threading.Lock()
        self.key: Any = None
        self.view: LiveView | None = None

    def view_of(self, service: Service) -> LiveView:
        state = service.state
        devices = {device for device, _ in self.bindings.values()}
        key = tuple(sorted((d, state.devices[d].generation) for d in devices
                           if d in state.devices))
        with self.lock:
            if self.view is not None and key == self.key:
                return self.view
            statuses: dict[str, NodeStatus] = {}
            pending = set()
            for node, (device, component) in self.bindings.items():
                dev = state.devices.get(device)
                if dev is None or dev.reachable is None:
                    pending.add(node)
                elif component is None:
                    statuses[node] = node_status(dev.status, dev.conditions)
                else:
                    comp = dev.components.get(component)
                    statuses[node] = (node_status(comp.status, comp.conditions)
                                      if comp is not None else NodeStatus.UNKNOWN)
            self.view = LiveView(score(self.compiled, statuses), statuses, frozenset(pending))
            self.key = key
            return self.view


def live_view(service: Service, cache: dict[str, Any]) -> LiveView | None:
    """The live picture, or None when no topology is configured. `cache` is the app's."""
    if not service.config.topology.node_ids():
        return None
    live = getattr(service, "live", None)
    snap = getattr(live, "snapshot", None)
    if snap is not None:
        return LiveView(snap.tier, dict(snap.statuses), frozenset(snap.pending))
    scorer = cache.get("scorer")
    if scorer is None:
        scorer = cache["scorer"] = _Scorer(service)
    return scorer.view_of(service)
