"""The shared store as the meeting point of shards and the tier instance.

* `StorePublisher` (every instance that polls): writes the samples that feed the
  topology's measured demands to `current_readings`, and (unless History does, with the
  transitions in one transaction, as the wiring has it) the status each change leaves a
  device or component in to `current_status`.
* `StoreFeed` (the `--tier-only` instance): polls nothing; every `interval` it reads those
  tables and mirrors them into its own state (`State.mirror`), so the live Tier engine
  scores the whole picture exactly as a single instance would. A device whose writer has
  stopped beating (a shard down for longer than `silent_after`) is taken as unknown, not as
  whatever it last was: nobody is watching it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tierwatch.core.model import DEVICE_COMPONENT, ComponentStatus, PollResult, Sample, Status
from tierwatch.core.state import UNREACHABLE_CONDITIONS, State
from tierwatch.core.store import Store

if TYPE_CHECKING:
    from tierwatch.core.runtime import Runtime

log = logging.getLogger(__name__)


class StorePublisher:
    """A component of every polling instance (single, or a shard)."""

    def __init__(self, store: Store, writer: str,
                 demand_metrics: Iterable[tuple[str, str]] = (), statuses: bool = True
                 ) -> None:
        """`demand_metrics`: (device, metric name) pairs whose samples feed the topology's
        measured demands; the tier instance reads them back. `statuses=False`: the
        current statuses are History's to write (with the transitions, in one
        transaction: tierwatch/core/history.py), only the readings are this one's."""
        self.store = store
        self.writer = writer
        self.statuses = statuses
        self.write_errors = 0
        self._demand_metrics: dict[str, set[str]] = {}  # device -> metric names
        for device, metric in demand_metrics:
            self._demand_metrics.setdefault(device, set()).add(metric)

    async def start(self, rt: Runtime) -> None:
        if self.statuses:
            rt.state.subscribe(self._changes)
        if self._demand_metrics:
            rt.state.subscribe_results(self._result)
        rt.metrics.register(_Counter("tierwatch_store_publish_errors",
                                           "Writes of current statuses and demand readings "
                                           "to the shared store that failed",
                                           lambda: self.write_errors))

    async def stop(self) -> None:
        return None

    def _changes(self, changes: list[Any]) -> None:
        try:
            self.store.set_current(changes, self.writer)
        except Exception:  # counted and logged; the next change writes the row again
            self.write_errors += 1
            log.exception("writing the current status of %d changes failed", len(changes))

    def _result(self, result: PollResult) -> None:
        names = self._demand_metrics.get(result.device)
        if not names or not result.ok:
            return
        picked = [(s.name, dict(s.labels), s.value) for s in result.samples if s.name in names]
        try:
            self.store.set_readings(result.device, picked, result.ts, self.writer)
        except Exception:
            self.write_errors += 1
            log.exception("writing the demand readings of %s failed", result.device)


class StoreFeed:
    """The `--tier-only` instance's source of statuses: the shared store."""

    def __init__(self, store: Store, state: State | None = None, interval: float = 2.0,
                 silent_after: float = 45.0) -> None:
        """`state`: what to mirror into; the runtime's once started (a test may give one
        and call `refresh` itself)."""
        self.store = store
        self.state = state if state is not None else State()
        self.interval = interval
        self.silent_after = silent_after
        self.read_errors = 0
        self.reads = 0
        self._applied: dict[str, Any] = {}  # device -> what was last mirrored
        self.silent: set[str] = set()  # devices whose writer has stopped beating
        self._task: asyncio.Task[None] | None = None

    async def start(self, rt: Runtime) -> None:
        self.state = rt.state
        rt.metrics.register(_Counter(
            "tierwatch_store_feed_reads", "Reads of the shards' statuses from the store",
            lambda: self.reads))
        rt.metrics.register(_Counter(
            "tierwatch_store_feed_errors", "Reads of the shards' statuses that failed",
            lambda: self.read_errors))
        rt.metrics.register(_Gauge(
            "tierwatch_store_feed_unmonitored_devices",
            "Devices whose shard has stopped beating (taken as unknown)",
            lambda: len(self.silent)))
        await self.refresh()
        self._task = asyncio.create_task(self._run(), name="store feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.refresh()

    async def refresh(self, now: float | None = None) -> None:
        try:
            rows, readings, beats = await asyncio.to_thread(self._read)
        except Exception:
            self.read_errors += 1
            log.exception("reading the current status from the store failed")
            return
        self.reads += 1
        self.apply(rows, readings, beats, time.time() if now is None else now)

    def _read(self) -> tuple[list[Any], dict[str, Any], dict[str, float]]:
        return self.store.current_status(), self.store.current_readings(), self.store.heartbeats()

    def apply(self, rows: list[Any], readings: Mapping[str, Any], beats: Mapping[str, float],
              now: float) -> None:
        by_device: dict[str, list[Any]] = {}
        silent: set[str] = set()
        for row in rows:
            by_device.setdefault(row.device, []).append(row)
        for device_id, dev_rows in by_device.items():
            if device_id not in self.state.devices:
                continue  # no longer configured
            view = _device_view(dev_rows, readings.get(device_id), beats, now,
                                self.silent_after)
            if view is None:
                continue
            if view["silent"]:
                silent.add(device_id)
            if self._applied.get(device_id) == view["key"]:
                continue
            self._applied[device_id] = view["key"]
            self.state.mirror(device_id, reachable=view["reachable"], status=view["status"],
                              reason=view["reason"], conditions=view["conditions"],
                              components=view["components"], ts=view["ts"],
                              samples=view["samples"])
        self.silent = silent


def _device_view(rows: list[Any], readings: Any, beats: Mapping[str, float], now: float,
                 silent_after: float) -> dict[str, Any] | None:
    device = next((r for r in rows if r.component == DEVICE_COMPONENT), None)
    if device is None:
        return None  # components without the device row: its first poll is still writing
    components = {
        r.component: ComponentStatus(r.component, Status(r.status), r.reason,
                                     frozenset(json.loads(r.conditions or "[]")))
        for r in rows if r.component != DEVICE_COMPONENT}
    status, reason = Status(device.status), device.reason
    conditions = frozenset(json.loads(device.conditions or "[]"))
    reachable = bool(device.reachable) if device.reachable is not None else True
    ts = max(r.ts for r in rows)
    beat = beats.get(device.writer)
    silent = beat is None or now - beat > silent_after
    if silent:
        # the shard that polls this device has stopped: what it last wrote is not the truth
        since = beat if beat is not None else ts
        at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since))
        text = f"not monitored: {device.writer} silent since {at}"
        status, reason, conditions, reachable = (Status.UNKNOWN, text, UNREACHABLE_CONDITIONS,
                                                 False)
        components = {name: ComponentStatus(name, Status.UNKNOWN, text)
                      for name in components}
        ts = max(ts, since + silent_after)
    samples = None
    if readings:
        samples = [Sample(name, labels, value, ts) for name, labels, value in readings]
    key = (status, reason, conditions, reachable,
           tuple(sorted((n, c.status, c.conditions, c.reason) for n, c in components.items())),
           tuple(sorted((n, tuple(sorted(lab.items())), v) for n, lab, v in readings or ())))
    return {"key": key, "silent": silent, "status": status, "reason": reason,
            "conditions": conditions, "reachable": reachable, "components": components,
            "ts": ts, "samples": samples}


class _Counter(Collector):
    def __init__(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        self.name, self.help, self.read = name, help_text, read

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self.name, self.help)
        family.add_metric([], self.read())
        yield family


class _Gauge(_Counter):
    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(self.name, self.help)
        family.add_metric([], self.read())
        yield family
