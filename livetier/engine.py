"""The live Tier engine: re-score the topology whenever a status changes, and publish it.

`LiveTier` is a component. It listens to the state's `StatusChange`s; the first
change of a burst starts a timer (`tier.debounce`, 200 ms by default) and, when it fires,
one re-score runs however many changes came in meanwhile. A re-score

1. reads every bound node's status from the state (`read_nodes`: a device's status and
   conditions, or one component's, through `tier.topology.node_status`) and the measured
   demands (`read_demands`: the samples a load's `demand_metric` names, summed and scaled);
2. scores in a worker thread (`asyncio.to_thread`), one score at a time: the compiled
   topology keeps views and analyses between scores, so an unchanged design state is not
   recomputed;
3. publishes an immutable `LiveSnapshot` (`LiveTier.snapshot`), hands it to the recorder
   (livetier/recorder.py: load outages, exposure and transitions in the store) and to
   every subscriber (`LiveTier.subscribe`; the alerts engine is one).

A node whose device has not answered (nor failed) its first polls yet is *pending*: the
snapshot counts it as available (nothing says otherwise yet) and lists it, and the
recorder writes nothing until no node is pending. So a restart never opens or closes an
outage on a guess: an outage open at shutdown stays open until the live state says the load
is served again.

A load's outage comes from the topology, not only from its own device: no available path,
or not enough capacity on the paths there are (TIER-MODEL formula 7).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from livetier.config import TierLiveConfig
from tier.graph import CompiledTopology, compile_topology
from tier.score import LoadState, TierSnapshot, WhatIf, score, whatif
from tier.status import NodeStatus
from tier.topology import DemandMetric, TopologyConfig, demand_bindings, node_bindings, node_status
from tierwatch.core.maintenance import RedundancyCheck, Scope, scope_nodes
from tierwatch.core.model import StatusChange
from tierwatch.core.timer import Cancellable, Timer

if TYPE_CHECKING:
    from livetier.downtime import AvailabilityCache
    from livetier.recorder import TierRecorder
    from tierwatch.core.runtime import Runtime
    from tierwatch.core.state import State

log = logging.getLogger(__name__)

Subscriber = Callable[["LiveSnapshot"], None]


# --------------------------------------------------------------------------- readings


@dataclass(frozen=True, slots=True)
class NodeReading:
    """A bound node's status as the state shows it, with the words and tags behind it."""

    status: NodeStatus
    reason: str = ""
    conditions: frozenset[str] = frozenset()

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "reason": self.reason,
            "conditions": sorted(self.conditions),
        }


def read_nodes(
    bindings: Mapping[str, tuple[str, str | None]], state: State
) -> tuple[dict[str, NodeReading], frozenset[str]]:
    """Node readings for every bound node, and the nodes still pending.

    A device is pending until its first poll answers or it is declared unreachable (then
    its status is `unknown` and its nodes count as such). A component the device does not
    report is `unknown` too: a binding to a port or phase that is not there cannot be
    trusted.
    """
    readings: dict[str, NodeReading] = {}
    pending: set[str] = set()
    for node, (device, component) in bindings.items():
        dev = state.devices.get(device)
        if dev is None or dev.reachable is None:
            pending.add(node)
            continue
        if component is None:
            readings[node] = NodeReading(
                node_status(dev.status, dev.conditions), dev.status_reason, dev.conditions
            )
            continue
        comp = dev.components.get(component)
        if comp is None:
            readings[node] = NodeReading(
                NodeStatus.UNKNOWN, f"{device} does not report a component {component!r}"
            )
        else:
            readings[node] = NodeReading(
                node_status(comp.status, comp.conditions), comp.reason, comp.conditions
            )
    return readings, frozenset(pending)


def read_demands(bindings: Mapping[str, DemandMetric], state: State) -> dict[str, float]:
    """Measured demand per load: the sum of the samples its `demand_metric` matches (name
    and labels), times `scale`. A load whose device is not answering, or has no such
    sample, keeps its declared demand (it is left out here)."""
    demands: dict[str, float] = {}
    for load, metric in bindings.items():
        dev = state.devices.get(metric.device)
        if dev is None or not dev.reachable:
            continue
        values = [
            s.value
            for s in dev.samples
            if s.name == metric.metric
            and all(s.labels.get(k) == v for k, v in metric.labels.items())
        ]
        values = [v for v in values if math.isfinite(v)]
        if values:
            demands[load] = max(0.0, sum(values) * metric.scale)
    return demands


def topology_fingerprint(topology: TopologyConfig) -> str:
    """A short hash of the topology as configured: two processes with the same one agree."""
    text = json.dumps(topology.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# --------------------------------------------------------------------------- snapshot


@dataclass(frozen=True)
class LiveSnapshot:
    """One re-score of the live state. Immutable: share it freely between threads."""

    tier: TierSnapshot
    ts: float  # the time of the state it scores: the latest status change folded in
    computed_at: float
    seq: int
    readings: Mapping[str, NodeReading]
    pending: frozenset[str]
    demands: Mapping[str, float]  # measured demands (declared ones are in the topology)
    duration: float  # seconds the score took
    availability_burn: float | None = None  # the site's budget burn the readiness score took
    # declared edges (feeder, node) scored as out of service: links LLDP does not see
    unverified_edges: frozenset[tuple[str, str]] = frozenset()
    fuel_hours: float | None = None  # the site's fuel autonomy the readiness score took
    loads: Mapping[str, tuple[str, LoadState]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        loads = {
            load.id: (sub.name, load) for sub in self.tier.subsystems for load in sub.live.loads
        }
        object.__setattr__(self, "loads", MappingProxyType(loads))

    @property
    def statuses(self) -> dict[str, NodeStatus]:
        return {node: reading.status for node, reading in self.readings.items()}

    @property
    def settled(self) -> bool:
        """Every bound device has answered or been declared unreachable."""
        return not self.pending

    def unserved(self) -> dict[str, tuple[str, LoadState]]:
        return {load: (sub, state) for load, (sub, state) in self.loads.items() if not state.served}

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.ts,
            "computed_at": self.computed_at,
            "seq": self.seq,
            "settled": self.settled,
            "pending": sorted(self.pending),
            "statuses": {n: r.status.value for n, r in sorted(self.readings.items())},
            "readings": {n: r.to_json() for n, r in sorted(self.readings.items())},
            "demands": dict(sorted(self.demands.items())),
            "unverified_edges": [{"from": u, "to": v} for u, v in sorted(self.unverified_edges)],
            "score_seconds": self.duration,
            "snapshot": self.tier.to_json(),
        }


# --------------------------------------------------------------------------- the component


class LiveTier:
    """Re-scores on status changes (debounced) and publishes `LiveSnapshot`s.

    Built from the `topology:` section (valid: the config loader checks it) and the `tier:`
    settings; `start(rt)` takes the state, the store, the clock and the site's time zone
    from the runtime and registers the tier metrics on its /metrics.
    """

    def __init__(self, topology: TopologyConfig, settings: TierLiveConfig,
                 unverified_edges: Callable[[], Collection[tuple[str, str]]] | None = None,
                 fuel_hours: Callable[[], float | None] | None = None,
                 timer: Timer | None = None) -> None:
        """`timer`: where the debounce waits (default: the event loop `start()` runs on;
        tests give a fake one)."""
        self.settings = settings
        # declared links another room says are not really there (LLDP): not counted as
        # paths; the wiring hands the callable in and calls `nudge` when it changes
        self.unverified_edges = unverified_edges
        # the site's generator fuel autonomy (hours), for the readiness score's `fuel` part:
        # the power room's, handed over by the wiring (None: neutral)
        self.fuel_hours: Callable[[], float | None] = fuel_hours or (lambda: None)
        self.compiled: CompiledTopology = compile_topology(topology)
        self.bindings = node_bindings(topology)
        self.demand_bindings = demand_bindings(topology)
        self.fingerprint = topology_fingerprint(topology)
        self.watched_devices = frozenset(d for d, _ in self.bindings.values()) | frozenset(
            m.device for m in self.demand_bindings.values()
        )
        self.state: State | None = None
        self.clock: Callable[[], float] = time.time
        self.recorder: TierRecorder | None = None
        self.availability: AvailabilityCache | None = None
        self.started_at: float | None = None
        self._subscribers: list[Subscriber] = []
        self._snapshot: LiveSnapshot | None = None
        self._seq = 0
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._given_timer = timer
        self._debounce_timer: Timer | None = None
        self._timer: Cancellable | None = None
        self._change_ts: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # self-metrics
        self.rescores = 0
        self.changes_seen = 0
        self.errors: dict[str, int] = {"score": 0, "record": 0, "subscriber": 0}

    # ------------------------------------------------------------------ reading

    @property
    def rescore_due(self) -> bool:
        """Whether a re-score is on its way: a debounce is running, or the worker has been
        woken and not yet begun. False between bursts of changes."""
        return self._timer is not None or self._wake.is_set()

    @property
    def snapshot(self) -> LiveSnapshot | None:
        """The last published snapshot (None before the first score)."""
        return self._snapshot

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call `callback(snapshot)` after each re-score, in the event loop; returns a
        function that unsubscribes. A callback that raises is logged and counted."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    # ------------------------------------------------------------------ lifetime

    async def start(self, rt: Runtime) -> None:
        from livetier.downtime import AvailabilityCache
        from livetier.metrics import TierCollector
        from livetier.recorder import TierRecorder

        self.state = rt.state
        self.clock = rt.clock
        self._loop = asyncio.get_running_loop()
        self._debounce_timer = self._given_timer or self._loop
        self.started_at = self.clock()
        self.recorder = TierRecorder(rt.store, self.compiled, self.bindings,
                                     started_at=self.started_at, timezone=rt.site.timezone)
        self.availability = AvailabilityCache(rt.store, self.settings, rt.site.timezone,
                                              scopes=self._availability_scopes(),
                                              clock=self.clock)
        rt.metrics.register(TierCollector(self))
        self.state.subscribe(self._on_changes)
        await self.refresh()
        self._tasks = [
            asyncio.create_task(self._work(), name="tier re-score"),
            asyncio.create_task(self._tick(), name="tier refresh"),
        ]
        log.info(
            "live tier: %d nodes (%d bound to devices), design tier %s",
            len(self.compiled.node_ids),
            len(self.bindings),
            self._snapshot.tier.design_tier if self._snapshot else "?",
        )

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self._loop = None
        self._debounce_timer = None

    def _availability_scopes(self) -> list[str]:
        scopes = ["site", *self.compiled.subsystems]
        loads = [load for sub in self.compiled.subsystems.values() for load in sub.loads]
        if len(loads) <= self.settings.load_metrics_max:
            scopes += [f"load:{load}" for load in loads]
        return scopes

    # ------------------------------------------------------------------ triggering

    def _on_changes(self, changes: list[StatusChange]) -> None:
        relevant = [c for c in changes if c.device in self.watched_devices]
        timer = self._debounce_timer
        if not relevant or self._loop is None or timer is None:
            return
        self.changes_seen += len(relevant)
        latest = max(c.ts for c in relevant)
        self._change_ts = latest if self._change_ts is None else max(self._change_ts, latest)
        if self._timer is None:  # the first change of a burst starts the clock
            self._timer = timer.call_at(timer.time() + self.settings.debounce, self._fire)

    def nudge(self) -> None:
        """Re-score soon (debounced like a status change): something the score reads
        besides the statuses moved (the unverified edges)."""
        timer = self._debounce_timer
        if self._loop is None or timer is None:
            return
        self._change_ts = self.clock()
        if self._timer is None:
            self._timer = timer.call_at(timer.time() + self.settings.debounce, self._fire)

    def _edges(self) -> frozenset[tuple[str, str]]:
        if self.unverified_edges is None:
            return frozenset()
        return frozenset(self.unverified_edges())

    def _fire(self) -> None:
        self._timer = None
        self._wake.set()

    async def _work(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.refresh()
            except Exception:  # the worker outlives any one bad re-score; counted, logged
                self.errors["score"] += 1
                log.exception("re-scoring the topology failed")

    async def _tick(self) -> None:
        """Re-score when what a status change does not announce has moved: measured
        demands, and the availability burn the readiness score takes."""
        while True:
            await asyncio.sleep(self.settings.refresh)
            snap = self._snapshot
            if self.state is None or snap is None:
                continue
            demands = read_demands(self.demand_bindings, self.state)
            if _moved(demands, snap.demands):
                # the state moved (a load's measured demand), as of now
                now = self.clock()
                self._change_ts = now if self._change_ts is None else max(self._change_ts, now)
                self._wake.set()
            elif self._burn() != snap.availability_burn or self._fuel() != snap.fuel_hours:
                # only the readiness score's inputs moved: the state is as of the last
                # change still (the re-score keeps its time, see `refresh`)
                self._wake.set()

    def _fuel(self) -> float | None:
        hours = self.fuel_hours()
        return None if hours is None else round(hours, 1)

    def _burn(self) -> float | None:
        burn = self.availability.site_burn() if self.availability is not None else None
        return None if burn is None else round(burn, 3)

    # ------------------------------------------------------------------ scoring

    async def refresh(self) -> LiveSnapshot | None:
        """Re-score now (not waiting for the debounce) and publish; returns the snapshot
        (the previous one if scoring failed). It is dated by the latest change folded in
        (the previous snapshot's time when none came)."""
        assert self.state is not None
        async with self._lock:
            change_ts, self._change_ts = self._change_ts, None
            readings, pending = read_nodes(self.bindings, self.state)
            demands = read_demands(self.demand_bindings, self.state)
            statuses = {node: r.status for node, r in readings.items()}
            burn = self._burn()
            edges = self._edges()
            fuel = self._fuel()
            started = time.perf_counter()
            try:
                tier = await asyncio.to_thread(
                    score, self.compiled, statuses, demands, availability_burn=burn,
                    unavailable_edges=edges,
                    fuel_hours=fuel,
                )
            except Exception:
                self.errors["score"] += 1
                log.exception("re-scoring the topology failed; keeping the last snapshot")
                return self._snapshot
            duration = time.perf_counter() - started
            now = self.clock()
            previous = self._snapshot
            # The snapshot is dated by the state it scores, never by when it was scored: a
            # re-score no change asked for (the burn or the fuel moved) keeps the last
            # one's time. Dated `now`, it would date a change observed before it but folded
            # in after it (a slow poll; on the tier instance of a sharded site every change,
            # which comes through the store up to a feed interval late) by this re-score:
            # the load outage would start later than the device's own, and a tier instance
            # would count less downtime than the shard saw.
            unchanged = now if previous is None else previous.ts
            ts = unchanged if change_ts is None else change_ts
            if previous is not None:
                ts = max(ts, previous.ts)  # the recorder's intervals never run backwards
            self._seq += 1
            snap = LiveSnapshot(
                tier=tier,
                ts=ts,
                computed_at=now,
                seq=self._seq,
                readings=MappingProxyType(readings),
                pending=pending,
                demands=MappingProxyType(demands),
                duration=duration,
                availability_burn=burn,
                unverified_edges=edges,
                fuel_hours=fuel,
            )
            if self.recorder is not None:
                try:
                    changed = await asyncio.to_thread(self.recorder.record, snap)
                except Exception:
                    self.errors["record"] += 1
                    log.exception("writing the tier history to the store failed")
                else:
                    if changed and self.availability is not None:
                        self.availability.invalidate()
            # published once the store has it: a reader of the snapshot finds its outages
            self._snapshot = snap
            self.rescores += 1
        self._publish(snap)
        return snap

    def _publish(self, snap: LiveSnapshot) -> None:
        for callback in list(self._subscribers):
            try:
                callback(snap)
            except Exception:
                self.errors["subscriber"] += 1
                log.exception("tier subscriber %r failed", callback)

    async def whatif(self, remove: Sequence[str]) -> tuple[WhatIf, LiveSnapshot]:
        """What taking `remove` out of service now would do, on the live state. Raises
        ValueError naming unknown nodes, RuntimeError before the first snapshot."""
        snap = self._snapshot
        if snap is None:
            raise RuntimeError("no live snapshot yet")
        async with self._lock:  # the compiled topology's memo is not for two threads
            answer = await asyncio.to_thread(
                lambda: whatif(
                    self.compiled,
                    snap.statuses,
                    list(remove),
                    dict(snap.demands),
                    availability_burn=snap.availability_burn,
                    unavailable_edges=snap.unverified_edges,
                    fuel_hours=snap.fuel_hours,
                )
            )
        return answer, snap


    async def maintenance_check(self, scope: Scope) -> RedundancyCheck:
        """A maintenance window's scope against the live state: the loads it would drop and
        the site's live tier after (the what-if on the nodes the scope takes out). Raises
        RuntimeError before the first snapshot."""
        nodes, unchecked = scope_nodes(scope, self.bindings, self.compiled.node_ids)
        snap = self._snapshot
        if snap is None:
            raise RuntimeError("no live snapshot yet")
        if not nodes:
            return RedundancyCheck((), (), snap.tier.live_tier, snap.tier.live_tier,
                                   unchecked=tuple(unchecked))
        answer, snap = await self.whatif(nodes)
        return RedundancyCheck(
            nodes=tuple(nodes), dropped=tuple(sorted({lost.load for lost in answer.lost})),
            tier_before=snap.tier.live_tier, tier_after=answer.after.live_tier,
            blocking=tuple(sorted(c.id for c in answer.blocking)), unchecked=tuple(unchecked))


def _moved(new: Mapping[str, float], old: Mapping[str, float], tolerance: float = 0.01) -> bool:
    """Whether measured demands moved by more than `tolerance` (relative) anywhere."""
    if set(new) != set(old):
        return True
    return any(abs(new[k] - old[k]) > tolerance * max(abs(old[k]), 1e-9) for k in new)

