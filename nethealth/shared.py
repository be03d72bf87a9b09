"""The LLDP verdicts of a sharded site, read back from the shared store.

In a sharded site each shard checks the links on the devices it polls and writes their
verdicts to the store (NetHealth, tierwatch/core/store/nethealth.py); the `--tier-only`
instance polls nothing and runs no NetHealth. `SharedVerdicts` is its stand-in: every
`interval` it reads the open verdicts and unexpected neighbours, and offers what NetHealth
offers a single instance: `unverified_edges()` for the live tier (with `subscribe` for its
nudge) and `links()` / `unexpected()` for the API and the status page.

A verdict whose writer has stopped beating (a shard down for longer than `silent_after`)
is taken as unknown, never as whatever it last was: nobody is checking that link (the same
rule as tierwatch/core/storefeed.py for statuses). An unknown link counts as declared.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from nethealth.lldp import LinkCheck, Neighbour, Unexpected, normal
from tier.topology import PortBinding
from tierwatch.core.runtime import Runtime
from tierwatch.core.store import Store
from tierwatch.core.store.nethealth import (
    SightingSpan,
    VerdictSpan,
    open_sightings,
    open_verdicts,
)

log = logging.getLogger(__name__)

Listener = Callable[[], None]


class SharedVerdicts:
    """A component of the `--tier-only` instance: the shards' LLDP verdicts."""

    def __init__(self, bindings: Sequence[PortBinding], interval: float = 2.0,
                 silent_after: float = 45.0) -> None:
        self.bindings = list(bindings)
        self.interval = interval
        self.silent_after = silent_after
        self.store: Store | None = None
        self.reads = 0
        self.read_errors = 0
        self._checks = [LinkCheck(b, "unknown", b.neighbour or b.neighbour_device or "?")
                        for b in self.bindings]
        self._unexpected: list[Unexpected] = []
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None
        self._clock: Callable[[], float] = time.time

    # ------------------------------------------------------------------ what it offers

    def subscribe(self, listener: Listener) -> None:
        """Call `listener()` whenever the unverified links change."""
        self._listeners.append(listener)

    def unverified_edges(self) -> frozenset[tuple[str, str]]:
        return frozenset(c.binding.edge for c in self._checks if c.unverified)

    def links(self) -> list[LinkCheck]:
        return list(self._checks)

    def unexpected(self) -> list[Unexpected]:
        return list(self._unexpected)

    # ------------------------------------------------------------------ lifetime

    async def start(self, rt: Runtime) -> None:
        self.store = rt.store
        self._clock = rt.clock
        rt.metrics.register(_SharedCollector(self))
        await self.refresh()
        self._task = asyncio.create_task(self._run(), name="shared LLDP verdicts")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.refresh()

    async def refresh(self) -> None:
        """Read the store once; tell the subscribers when the unverified links moved."""
        store = self.store
        if store is None:
            return
        try:
            verdicts, sightings, beats = await asyncio.to_thread(
                lambda: (open_verdicts(store), open_sightings(store), store.heartbeats()))
        except Exception:
            self.read_errors += 1
            log.exception("reading the shards' LLDP verdicts from the store failed")
            return
        self.reads += 1
        before = self.unverified_edges()
        self.apply(verdicts, sightings, beats, self._clock())
        if self.unverified_edges() != before:
            for listener in list(self._listeners):
                try:
                    listener()
                except Exception:  # a broken subscriber must not stop the others
                    log.exception("LLDP listener %r failed", listener)

    def apply(self, verdicts: Sequence[VerdictSpan], sightings: Sequence[SightingSpan],
              beats: Mapping[str, float], now: float) -> None:
        def alive(writer: str) -> bool:
            beat = beats.get(writer)
            return beat is not None and now - beat <= self.silent_after

        latest: dict[tuple[str, str, str, str], VerdictSpan] = {}
        for span in verdicts:
            key = span.link.key
            if alive(span.writer) and (key not in latest or span.start > latest[key].start):
                latest[key] = span
        seen = [s for s in sightings if alive(s.writer)]
        checks = []
        for b in self.bindings:
            expected = b.neighbour or b.neighbour_device or "?"
            found = latest.get((b.subsystem, b.feeder, b.node, b.port))
            if found is None:
                checks.append(LinkCheck(b, "unknown", expected))
                continue
            v = found.link
            here = tuple(sorted({s.sighting.name for s in seen
                                 if s.sighting.device == b.device
                                 and s.sighting.declared_port is not None
                                 and normal(s.sighting.declared_port) == normal(b.port)}))
            if v.verdict == "ok":
                here = tuple(sorted({*here, v.expected}))
            checks.append(LinkCheck(b, v.verdict, v.expected or expected, v.seen_on, here,
                                    found.start))
        self._checks = checks
        self._unexpected = [_unexpected(s) for s in seen]


def _unexpected(span: SightingSpan) -> Unexpected:
    s = span.sighting
    neighbour = Neighbour(local_port=s.port, local_names=frozenset({normal(s.port)}),
                          chassis_id=s.chassis_id, sys_name=s.sys_name,
                          port_id=s.neighbour_port, port_desc="")
    return Unexpected(s.device, s.port, neighbour, s.neighbour_device)


class _SharedCollector(Collector):
    """/metrics of the tier instance: its reads of the shards' verdicts. The verdicts
    themselves are on the shards' /metrics (an alert rule fires once, from the shard)."""

    def __init__(self, shared: SharedVerdicts) -> None:
        self.shared = shared

    def collect(self) -> Iterator[Metric]:
        reads = CounterMetricFamily("tierwatch_lldp_shared_reads",
                                    "Reads of the shards' LLDP verdicts from the store")
        reads.add_metric([], self.shared.reads)
        errors = CounterMetricFamily("tierwatch_lldp_shared_read_errors",
                                     "Reads of the shards' LLDP verdicts that failed")
        errors.add_metric([], self.shared.read_errors)
        yield reads
        yield errors

