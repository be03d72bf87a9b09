"""The services component: every probe on its beat, the services' states, and what they mean
for the agencies.

One asyncio loop runs every probe. Each probe has a fixed phase in its interval (a stable
hash of its key, so 1,000 checks every 15 s start ~67 a second, never in a burst) plus a
random jitter of up to `services.jitter` per round; at most `concurrency` run at once; each
runs within its timeout. How late the loop woke a round against its beat is
`tierwatch_service_check_schedule_lag_seconds` (the scheduler's own lateness: a busy loop or
a starved process); the time a woken round then waited for one of the `concurrency` slots
is `tierwatch_service_check_slot_wait_seconds` (slow or hanging targets holding every slot).
Kept apart, the two say which to fix: the machine, or the concurrency and timeouts. A round
still running at its next beat skips that beat and counts it.

After each result, a service's check verdict is ok while every one of its probes not run
from an agency's vantage point passed last, failing otherwise; the live Tier engine's
snapshots (`on_tier`, subscribed by the wiring) give the health of the infrastructure under
each service. Both go through tier/services.py's pure rules (`evaluate`, `agency_reach`);
each new view goes to the recorder (services/recorder.py: outages, time at risk,
certificates in the store) and to subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.config import ServicesConfig
from services.probes import Probe, build_probes, run_probe
from services.result import ProbeResult
from services.tlsinfo import CertInfo
from tier.services import (
    CheckVerdict,
    Health,
    NodeHealth,
    ServicesTopology,
    ServicesView,
    agency_reach,
    evaluate,
    infrastructure_health,
)
from tierwatch.core.histogram import LagCounts

if TYPE_CHECKING:
    from services.recorder import ServicesRecorder
    from tier.score import TierSnapshot
    from tierwatch.core.runtime import Runtime

log = logging.getLogger(__name__)

LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

Subscriber = Callable[[ServicesView], None]


class LagHistogram(LagCounts):
    """How late checks start (cumulative), with the last few thousand values kept for the
    bench's quantiles."""

    def __init__(self) -> None:
        super().__init__(LAG_BUCKETS)
        self.samples: list[float] = []

    def observe(self, lag: float) -> float:
        lag = super().observe(lag)
        self.samples.append(lag)
        if len(self.samples) > 20000:
            del self.samples[:10000]
        return lag


def phase_of(key: str, interval: float) -> float:
    return (zlib.crc32(key.encode()) / 2**32) * interval


class ServicesComponent:
    """Built from the `services:` section and `topology.services`; `base_dir` resolves
    relative CA files (the config file's folder)."""

    def __init__(self, section: ServicesConfig, topology: ServicesTopology,
                 base_dir: Path | None = None, *, with_infrastructure: bool = False) -> None:
        self.section = section
        self.topology = topology
        self.probes = build_probes(section, base_dir)
        self.by_key = {p.key: p for p in self.probes}
        self.latest: dict[str, ProbeResult] = {}
        # per service: its probes that count for its verdict (not an agency's vantage point)
        self._counted: dict[str, set[str]] = {s: set() for s in topology.ids()}
        self._failing: dict[str, set[str]] = {s: set() for s in topology.ids()}
        for p in self.probes:
            if p.agency is None:
                self._counted.setdefault(p.service, set()).add(p.key)
        # None until the live tier's first settled snapshot (or for good without a topology)
        self.infrastructure: dict[str, NodeHealth] | None = None
        self.with_infrastructure = with_infrastructure
        self.view: ServicesView | None = None
        self.certificates: dict[tuple[str, str], tuple[CertInfo, str]] = {}
        self.lag = LagHistogram()  # woken late against the beat
        self.slot_wait = LagHistogram()  # then waited for a concurrency slot
        self.start_delay = LagHistogram()  # both: how late it really started (bench/)
        self.refused: Counter[tuple[str, str]] = Counter()  # (kind, reason)
        self.results: Counter[tuple[str, str]] = Counter()  # (kind, reason)
        self.skipped = 0
        self.errors: Counter[str] = Counter()
        self.recorder: ServicesRecorder | None = None
        self.clock: Callable[[], float] = time.time
        self._subscribers: list[Subscriber] = []
        self._semaphore = asyncio.Semaphore(section.concurrency)
        self._tasks: list[asyncio.Task[None]] = []
        self._record_queue: asyncio.Queue[ServicesView] | None = None
        self._writing: asyncio.Future[bool] | None = None  # the view being written
        self._last_ts = 0.0
        self._rng = random.Random()

    # ------------------------------------------------------------------ reading

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def verdicts(self) -> dict[str, CheckVerdict]:
        out: dict[str, CheckVerdict] = {}
        for sid, keys in self._counted.items():
            if not keys:
                out[sid] = CheckVerdict("none")
                continue
            failing = self._failing.get(sid, set())
            if failing:
                detail = "; ".join(_describe(self.by_key[k], self.latest[k])
                                   for k in sorted(failing)[:3])
                out[sid] = CheckVerdict("failing", detail)
            elif any(k not in self.latest for k in keys):
                out[sid] = CheckVerdict("unknown")
            else:
                out[sid] = CheckVerdict("ok")
        return out

    def vantage_verdicts(self) -> dict[tuple[str, str], CheckVerdict]:
        """(agency, service) -> what the agency's own vantage point sees."""
        seen: dict[tuple[str, str], list[tuple[Probe, ProbeResult | None]]] = {}
        for p in self.probes:
            if p.agency is not None:
                seen.setdefault((p.agency, p.service), []).append((p, self.latest.get(p.key)))
        out = {}
        for key, pairs in seen.items():
            failing = [(p, r) for p, r in pairs if r is not None and not r.ok]
            if failing:
                probe, result = failing[0]
                assert result is not None
                out[key] = CheckVerdict("failing", _describe(probe, result))
            elif any(r is None for _, r in pairs):
                out[key] = CheckVerdict("unknown")
            else:
                out[key] = CheckVerdict("ok")
        return out

    # ------------------------------------------------------------------ inputs

    def on_tier(self, tier: TierSnapshot, ts: float, settled: bool) -> None:
        """A live tier snapshot (the wiring subscribes this): the infrastructure's health."""
        if not settled:
            return
        self.infrastructure = infrastructure_health(tier)
        self._evaluate(ts)

    def on_result(self, probe: Probe, result: ProbeResult) -> None:
        previous = self.latest.get(probe.key)
        self.latest[probe.key] = result
        self.results[(probe.kind, result.reason)] += 1
        if result.refusal is not None:
            self.refused[(probe.kind, result.refusal)] += 1
        for reason in result.dropped:
            self.refused[(probe.kind, reason)] += 1
        for cert in result.certs:
            self.certificates[(probe.service, cert.endpoint)] = (cert, probe.check)
        if probe.agency is None:
            failing = self._failing.setdefault(probe.service, set())
            if result.ok:
                failing.discard(probe.key)
            else:
                failing.add(probe.key)
        # re-evaluate only when what the rules read moved (a thousand passing checks a
        # minute change nothing)
        if (self.view is None or previous is None or previous.ok != result.ok
                or previous.reason != result.reason):
            self._evaluate(result.started)

    def _evaluate(self, ts: float) -> None:
        ts = max(ts, self._last_ts)  # the recorder's intervals never run backwards
        self._last_ts = ts
        infra = self.infrastructure if self.with_infrastructure else None
        states = evaluate(self.topology, self.verdicts(), infra)
        reach = agency_reach(self.topology, states, infra, self.vantage_verdicts())
        view = ServicesView(ts=ts, services=states, reach=tuple(reach),
                            infrastructure_known=infra is not None)
        previous = self.view
        self.view = view
        if previous is not None and _same(previous, view):
            return
        if self._record_queue is not None:
            self._record_queue.put_nowait(view)
        for callback in list(self._subscribers):
            try:
                callback(view)
            except Exception:
                self.errors["subscriber"] += 1
                log.exception("services subscriber %r failed", callback)

    # ------------------------------------------------------------------ running

    async def check_now(self, probe: Probe) -> ProbeResult:
        """Run one probe now and take its result in."""
        result = await run_probe(probe, self.section.limits, self.clock)
        self.on_result(probe, result)
        return result

    async def _beat(self, probe: Probe, epoch: float) -> None:
        loop = asyncio.get_running_loop()
        interval = probe.interval
        jitter = self.section.jitter_for(interval)
        due = epoch + phase_of(probe.key, interval)
        while True:
            start_at = due + (self._rng.uniform(0, jitter) if jitter > 0 else 0.0)
            await asyncio.sleep(max(0.0, start_at - loop.time()))
            woke = loop.time()
            self.lag.observe(woke - start_at)
            try:
                async with self._semaphore:
                    began = loop.time()
                    self.slot_wait.observe(began - woke)
                    self.start_delay.observe(began - start_at)
                    result = await run_probe(probe, self.section.limits, self.clock)
                self.on_result(probe, result)
            except asyncio.CancelledError:
                raise
            except Exception:  # one probe's failure never stops its beat; counted, logged
                self.errors["probe"] += 1
                log.exception("service probe %s crashed", probe.key)
            due += interval
            late = loop.time() - due
            if late > 0:  # overran the next beat: skip beats, never queue them
                missed = math.floor(late / interval) + 1
                due += missed * interval
                self.skipped += missed

    async def _record(self) -> None:
        assert self._record_queue is not None
        while True:
            view = await self._record_queue.get()
            if self.recorder is None:
                continue
            # the write runs on in its thread if this task is cancelled: stop() waits for it
            # (else a view taken off the queue could land after stop() returned, or its
            # successors before it)
            self._writing = asyncio.ensure_future(asyncio.to_thread(
                self.recorder.record, view, self.certificate_list()))
            try:
                await asyncio.shield(self._writing)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.errors["record"] += 1
                log.exception("writing the services' history to the store failed")

    def certificate_list(self) -> list[tuple[str, str, CertInfo]]:
        return [(service, check, cert)
                for (service, _), (cert, check) in sorted(self.certificates.items())]

    async def start(self, rt: Runtime) -> None:
        from services.metrics import ServicesCollector
        from services.recorder import ServicesRecorder

        self.clock = rt.clock
        self.recorder = ServicesRecorder(rt.store, self.topology, timezone=rt.site.timezone,
                                         clock=rt.clock)
        self._record_queue = asyncio.Queue()
        rt.metrics.register(ServicesCollector(self))
        epoch = asyncio.get_running_loop().time()
        self._tasks = [asyncio.create_task(self._beat(p, epoch), name=f"service {p.key}")
                       for p in self.probes]
        self._tasks.append(asyncio.create_task(self._record(), name="services recorder"))
        self._evaluate(self.clock())
        log.info("checking %d services with %d probes", len(self.topology.nodes),
                 len(self.probes))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        writing, self._writing = self._writing, None
        if writing is not None and not writing.done():
            try:
                await writing
            except Exception:
                self.errors["record"] += 1
                log.exception("writing the services' history to the store failed")
        queue = self._record_queue
        if queue is not None and self.recorder is not None:  # what is decided is written
            while not queue.empty():
                view = queue.get_nowait()
                try:
                    await asyncio.to_thread(self.recorder.record, view, self.certificate_list())
                except Exception:
                    self.errors["record"] += 1
                    log.exception("writing the services' history to the store failed")

    # ------------------------------------------------------------------ for the API

    def to_json(self, now: float) -> dict[str, Any]:
        view = self.view
        out_services = []
        for spec in self.topology.nodes:
            state = view.services.get(spec.id) if view is not None else None
            probes = [p for p in self.probes if p.service == spec.id]
            out_services.append({
                "id": spec.id, "name": spec.label, "target": spec.target,
                "health": state.health.value if state else Health.UNKNOWN.value,
                "cause": state.cause if state else "",
                "cause_kind": state.cause_kind if state else "",
                "infrastructure": state.infrastructure.value if state else None,
                "depends_on": [{"n_of": d.n_of, "of": list(d.of)} for d in spec.depends_on],
                "agencies": list(spec.agencies),
                "checks": [{"key": p.key, "check": p.check, "kind": p.kind,
                            "source": p.source or None, "agency": p.agency,
                            "resolver": p.resolver,
                            "last": (self.latest[p.key].to_json(now)
                                     if p.key in self.latest else None)}
                           for p in probes],
            })
        agencies = []
        for agency in self.topology.agencies:
            reach = view.reach_of(agency.id) if view is not None else []
            agencies.append({"id": agency.id, "name": agency.label, "site": agency.site,
                             "services": [{"service": r.service, "reachable": r.reachable,
                                           "cause": r.cause} for r in reach]})
        return {
            "as_of": view.ts if view else None,
            "infrastructure_known": view.infrastructure_known if view else False,
            "services": out_services,
            "agencies": agencies,
            "certificates": [{"service": s, "check": c, **cert.to_json(now)}
                             for s, c, cert in self.certificate_list()],
        }


def _describe(probe: Probe, result: ProbeResult) -> str:
    where = f" from {probe.source}" if probe.source else ""
    return f"{probe.check}{where}: {result.reason}" + (f" ({result.message})"
                                                       if result.message else "")


def _same(a: ServicesView, b: ServicesView) -> bool:
    return ({k: (s.health, s.cause) for k, s in a.services.items()}
            == {k: (s.health, s.cause) for k, s in b.services.items()}
            and {(r.agency, r.service): (r.reachable, r.cause) for r in a.reach}
            == {(r.agency, r.service): (r.reachable, r.cause) for r in b.reach})
