"""The probe component: probes the dedicated network's links and sites on a steady beat.

Every link and site is a device in the state. Each target runs on its own fixed phase
within the interval (a stable hash of its id), so 500 targets every 10 s are 50 rounds a
second, evenly, never a burst; the beat does not drift (next = previous + interval). A
round still running at its next tick skips that tick and counts it
(`tierwatch_polls_skipped_total`), never queues it. How late each round starts against its
beat is `tierwatch_probe_schedule_lag_seconds`.

A site with an edge router folds in the router's uplink interfaces as the SNMP poller last
saw them (`collector.probes.probe.uplink_components`).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import math
import time
import zlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from prometheus_client.core import (
    CounterMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from collector.probes.config import ProbesConfig, ProbeTargetConfig
from collector.probes.icmp import IcmpSocket, IcmpUnavailable
from collector.probes.probe import Prober, ProbeTarget, probe_round, uplink_components
from tierwatch.core.histogram import LagCounts
from tierwatch.core.model import ComponentStatus, PollResult
from tierwatch.core.runtime import Runtime
from tierwatch.core.state import State

log = logging.getLogger(__name__)

LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class LagHistogram(LagCounts):
    """How late rounds start against their beat (cumulative, as Prometheus wants it)."""

    def __init__(self) -> None:
        super().__init__(LAG_BUCKETS)
        self.worst = 0.0

    def observe(self, lag: float) -> float:
        lag = super().observe(lag)
        self.worst = max(self.worst, lag)
        return lag

    def over(self, seconds: float) -> int:
        """Rounds that started more than `seconds` late (at bucket resolution)."""
        i = bisect.bisect_left(LAG_BUCKETS, seconds)
        return sum(self.counts[i + 1:]) if i < len(LAG_BUCKETS) else 0


@dataclass
class TargetRuntime:
    config: ProbeTargetConfig
    kind: str  # links | sites
    target: ProbeTarget
    interval: float
    phase: float  # seconds into each interval at which this target's round starts


def phase_of(device_id: str, interval: float) -> float:
    """A stable place in the interval: the same after a restart, spread over all targets."""
    return (zlib.crc32(device_id.encode()) / 2**32) * interval


class ProbeRunner:
    """The probed links and sites of one instance: a component, and `poll()` for one round."""

    def __init__(self, section: ProbesConfig, state: State | None = None) -> None:
        """`state`: where a site's edge router's uplink statuses are read (the runtime's
        once started; a one-off poll may give the service's)."""
        self.section = section
        self.state = state
        self._rt: Runtime | None = None
        self.targets: dict[str, TargetRuntime] = {}
        limits = section.thresholds()
        for kind, _i, target in section.targets():
            timeout = target.timeout or section.timeout
            interval = target.interval or section.interval
            self.targets[target.id] = TargetRuntime(
                config=target, kind=kind,
                target=ProbeTarget(target.id, [c.to_check(timeout) for c in target.checks],
                                   {"device": target.id, **target.labels}, limits,
                                   section.window),
                interval=interval, phase=phase_of(target.id, interval))
        self.prober: Prober | None = None
        self.icmp_mode = "none"
        self.lag = LagHistogram()
        self._semaphore = asyncio.Semaphore(section.concurrency)
        self._tasks: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------------ probing

    def _open_prober(self) -> Prober:
        if self.prober is not None:
            return self.prober
        wanted = self.section.icmp
        needs_icmp = any(c.method == "icmp" for t in self.targets.values()
                         for c in t.target.checks)
        if wanted == "off" or not needs_icmp:
            self.prober = Prober(None, "ICMP probing is off (probes.icmp: off)")
            return self.prober
        try:
            sock = IcmpSocket.open(wanted)
        except IcmpUnavailable as exc:
            log.error("ICMP probes cannot run: %s", exc)
            self.prober = Prober(None, str(exc))
        else:
            self.icmp_mode = sock.mode
            log.info("ICMP probes use a %s socket", sock.mode)
            self.prober = Prober(sock)
        return self.prober

    def device_ids(self) -> Collection[str]:
        return self.targets.keys()

    def _uplinks(self, runtime: TargetRuntime) -> list[ComponentStatus]:
        """The site's router's uplink ports, as the state has them (none before start)."""
        router = runtime.config.router
        if router is None:
            return []
        dev = self.state.devices.get(router) if self.state is not None else None
        seen = {(router, name): comp for name, comp in dev.components.items()} if dev else {}
        return uplink_components(router, runtime.config.uplinks, seen,
                                 dev.reachable if dev else None)

    async def poll(self, device_id: str) -> PollResult:
        """One round for one target now; nothing is recorded. KeyError for an unknown id."""
        runtime = self.targets[device_id]
        prober = self._open_prober()
        async with self._semaphore:
            return await probe_round(runtime.target, prober, extra=self._uplinks(runtime))

    async def _beat(self, runtime: TargetRuntime, epoch: float) -> None:
        assert self._rt is not None
        state = self._rt.state
        loop = asyncio.get_running_loop()
        device_id = runtime.config.id
        interval = runtime.interval
        due = epoch + runtime.phase
        while True:
            await asyncio.sleep(max(0.0, due - loop.time()))
            try:
                async with self._semaphore:
                    self.lag.observe(loop.time() - due)
                    result = await probe_round(runtime.target, self._open_prober(),
                                               extra=self._uplinks(runtime))
                state.update(result)
            except asyncio.CancelledError:
                raise
            except Exception:  # one target's failure never stops the beat; counted, logged
                log.exception("probe round of %s crashed", device_id)
                state.update(PollResult(device_id, time.time(), error="internal",
                                             message="internal error (see log)"))
            due += interval
            late = loop.time() - due
            if late > 0:  # the round overran its next tick: skip ticks, never queue them
                missed = math.floor(late / interval) + 1
                due += missed * interval
                for _ in range(missed):
                    state.count_skipped(device_id)
                log.warning("probe round of %s overran its interval; %d round(s) skipped",
                            device_id, missed)

    # ------------------------------------------------------------------ lifetime

    async def start(self, rt: Runtime) -> None:
        self._rt = rt
        self.state = rt.state
        for device_id in self.targets:
            rt.state.set_unreachable_after(device_id, self.section.unreachable_after)
        self._open_prober()
        rt.metrics.register(ProbeMetrics(self))
        epoch = asyncio.get_running_loop().time()
        self._tasks = [asyncio.create_task(self._beat(rt, epoch), name=f"probe {device_id}")
                       for device_id, rt in self.targets.items()]
        log.info("probing %d links and sites", len(self.targets))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self.prober is not None:
            self.prober.close()
            self.prober = None


class ProbeMetrics(Collector):
    def __init__(self, runner: ProbeRunner) -> None:
        self.runner = runner

    def collect(self) -> Iterator[Metric]:
        runner = self.runner
        lag = HistogramMetricFamily(
            "tierwatch_probe_schedule_lag_seconds",
            "How late probe rounds started against their fixed beat")
        lag.add_metric([], runner.lag.buckets(), runner.lag.total)
        mode = InfoMetricFamily("tierwatch_probe_icmp_socket",
                                "The kind of ICMP socket probes use (none: ICMP checks fail)")
        mode.add_metric([], {"mode": runner.icmp_mode})
        icmp = runner.prober.icmp if runner.prober is not None else None
        sent = CounterMetricFamily("tierwatch_probe_icmp_requests",
                                   "ICMP echo requests sent")
        replies = CounterMetricFamily("tierwatch_probe_icmp_replies",
                                      "ICMP echo replies matched to a request")
        unmatched = CounterMetricFamily(
            "tierwatch_probe_icmp_unmatched_replies",
            "ICMP echo replies that matched no waiting request (late, or not ours)")
        sent.add_metric([], icmp.sent if icmp else 0)
        replies.add_metric([], icmp.received if icmp else 0)
        unmatched.add_metric([], icmp.unmatched if icmp else 0)
        yield from (lag, mode, sent, replies, unmatched)
