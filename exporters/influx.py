"""Long-term history in InfluxDB: samples, component statuses and tier snapshots.

A component. What tierwatch sees becomes line protocol (exporters/lineprotocol.py): each
poll's samples and those a room derives from it (interface rates, `State.subscribe_derived`),
status changes and tier snapshots. The points gather in memory; every `flush_interval` (or
sooner when `batch_size` points are waiting) they are sealed into a batch on the disk buffer
(exporters/influx_buffer.py) and the oldest batches are written with influxdb-client (gzip,
millisecond precision).

Failures (Telegraf's RunningOutput is the model):

* retryable - a connection error, a timeout, 429, 5xx, and also 401/403/404 (a wrong token,
  org or bucket is a configuration matter, not the data's fault): the batch stays on disk
  and is tried again after a backoff (`retry.initial` doubling to `retry.max`, with jitter;
  a `Retry-After` from the server is honoured). Meanwhile new batches keep going to disk.
* rejected - 400, 422 (the data itself is refused): the batch is dropped and its points
  counted; 413 (too large) splits the batch in two first.
* the buffer full - the oldest batches are dropped and counted.

Every failed request counts in `tierwatch_export_errors_total{exporter="influx"}` and every
dropped point in `tierwatch_export_dropped_total{exporter="influx",reason}`; what waits on
disk is `tierwatch_export_buffered_points`. Points still in memory (at most one
`flush_interval`) are sealed to disk on a clean stop; only a crash can lose them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from exporters.influx_buffer import Batch, DiskBuffer
from exporters.influx_config import InfluxConfig
from exporters.lineprotocol import LineEncoder
from tierwatch.core.configtypes import reveal
from tierwatch.core.model import PollResult, Sample, StatusChange

if TYPE_CHECKING:
    from tierwatch.core.runtime import Runtime
    from tierwatch.core.state import State

log = logging.getLogger(__name__)

EXPORTER = "influx"
DROP_REASONS = ("buffer_full", "rejected", "not_finite")


class WriteFailed(Exception):
    """A write the server did not accept. `retryable`: keep the batch and try later."""

    def __init__(self, reason: str, retryable: bool, message: str,
                 retry_after: float | None = None, too_large: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after
        self.too_large = too_large


class Sender(Protocol):
    def send(self, lines: list[str]) -> None: ...  # raises WriteFailed

    def close(self) -> None: ...


class InfluxSender:
    """influxdb-client's synchronous write API; blocking, so called from a worker thread."""

    def __init__(self, section: InfluxConfig) -> None:
        from influxdb_client import InfluxDBClient  # the `influx` extra
        from influxdb_client.client.write_api import SYNCHRONOUS

        assert section.url is not None
        token = reveal(section.token) or None
        self._client = InfluxDBClient(url=section.url, token=token,  # type: ignore[arg-type]
                                      org=section.org, timeout=int(section.timeout * 1000),
                                      enable_gzip=section.gzip)
        self._write = self._client.write_api(write_options=SYNCHRONOUS)
        self._bucket = section.bucket
        self._org = section.org

    def __repr__(self) -> str:  # never the token
        return f"InfluxSender(bucket={self._bucket!r}, org={self._org!r})"

    def send(self, lines: list[str]) -> None:
        from influxdb_client import WritePrecision
        from influxdb_client.rest import ApiException
        from urllib3.exceptions import HTTPError

        body = "\n".join(lines).encode("utf-8")
        try:
            self._write.write(self._bucket, self._org, body,
                              write_precision=WritePrecision.MS)  # type: ignore[arg-type]
        except ApiException as exc:
            raise classify_status(int(exc.status or 0), _retry_after(exc),
                                  _body_text(exc.body)) from None
        except HTTPError as exc:  # connection refused, reset, timeouts
            raise WriteFailed("connection", True, _connection_message(exc)) from None

    def close(self) -> None:
        self._write.close()
        self._client.close()


def classify_status(status: int, retry_after: float | None = None, detail: str = ""
                    ) -> WriteFailed:
    """What a non-2xx answer means for the batch."""
    text = f"HTTP {status}" + (f": {detail[:200]}" if detail else "")
    if status == 429 or status >= 500:
        return WriteFailed(f"http_{status}", True, text, retry_after)
    if status == 413:
        return WriteFailed("http_413", False, text, too_large=True)
    if status in (401, 403, 404):
        return WriteFailed(f"http_{status}", True, text + " (check token, org and bucket)")
    return WriteFailed(f"http_{status}", False, text)


def _retry_after(exc: Any) -> float | None:
    value = getattr(exc, "retry_after", None)
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _body_text(body: Any) -> str:
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return str(body or "")


def _connection_message(exc: Exception) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason or exc)


@dataclass
class ExportCounters:
    written: int = 0
    errors: int = 0
    dropped: dict[str, int] | None = None
    last_success: float | None = None
    last_error: str = ""

    def __post_init__(self) -> None:
        if self.dropped is None:
            self.dropped = dict.fromkeys(DROP_REASONS, 0)

    def drop(self, reason: str, points: int) -> None:
        if points:
            assert self.dropped is not None
            self.dropped[reason] += points


class InfluxExporter:
    """The component. `on_snapshot` takes the live tier's snapshots (the wiring subscribes it
    when `influx.write.tier` is on)."""

    def __init__(self, section: InfluxConfig, sender: Sender | None = None,
                 buffer_path: Path | None = None) -> None:
        self.section = section
        self.state: State | None = None
        self.encoder = LineEncoder(section.tags, section.string_fields)
        self.counters = ExportCounters()
        self.buffer_path = buffer_path or section.buffer.path
        self._sender = sender
        self.buffer: DiskBuffer | None = None
        self._pending: list[str] = []
        self._wake = asyncio.Event()
        self._sending = asyncio.Lock()  # one drain at a time: a batch is never sent twice
        self._task: asyncio.Task[None] | None = None
        self._delay = section.retry.initial  # the next backoff
        self._next_attempt = 0.0  # monotonic time before which nothing is sent

    # ------------------------------------------------------------------ input

    def on_result(self, result: PollResult) -> None:
        if not result.samples:
            return
        lines, skipped = self.encoder.samples(result.samples, result.ts)
        self.counters.drop("not_finite", skipped)
        self._add(lines)

    def on_derived(self, device: str, samples: list[Sample]) -> None:
        """Samples a room derived from a device's poll (interface rates, State.add_samples):
        written like the poll's own, at their own time."""
        if not samples:
            return
        lines, skipped = self.encoder.samples(samples, samples[0].ts or time.time())
        self.counters.drop("not_finite", skipped)
        self._add(lines)

    def on_changes(self, changes: list[StatusChange]) -> None:
        self._add([self.encoder.status_change(c) for c in changes])

    def on_snapshot(self, live: Any) -> None:
        """A `livetier.engine.LiveSnapshot`: written once every bound device has answered
        (before that, nodes not heard from yet count as available: too rosy to keep)."""
        if live.settled:
            self.write_snapshot(live.tier, live.computed_at)

    def _baseline(self, state: State) -> None:
        """Every status known now, as a point: polls that ran before this component started
        (and a restart) would otherwise leave the database without a starting value."""
        now = time.time()
        changes = []
        for (device, component), status in state.statuses().items():
            dev = state.devices[device]
            if dev.reachable is None:
                continue  # not polled yet: its first poll publishes a change
            changes.append(StatusChange(device, component, None, status.status, status.reason,
                                        dev.last_poll_ts or now, status.conditions))
        self.on_changes(changes)

    def write_snapshot(self, snapshot: Any, ts: float | None = None) -> None:
        """A `tier.score.TierSnapshot` as points (the tier engine calls this)."""
        if self.section.write.tier:
            self._add(self.encoder.snapshot(snapshot, time.time() if ts is None else ts))

    def _add(self, lines: list[str]) -> None:
        if not lines:
            return
        self._pending.extend(lines)
        if len(self._pending) >= self.section.batch_size:
            self._wake.set()

    @property
    def pending_points(self) -> int:
        return len(self._pending)

    @property
    def buffered_points(self) -> int:
        return self.buffer.points if self.buffer is not None else 0

    # ------------------------------------------------------------------ lifetime

    async def start(self, rt: Runtime) -> None:
        self.buffer = await asyncio.to_thread(DiskBuffer, self.buffer_path,
                                              self.section.buffer.max_size)
        if self._sender is None:
            self._sender = InfluxSender(self.section)
        state = self.state = rt.state
        if self.section.write.samples:
            state.subscribe_results(self.on_result)
            state.subscribe_derived(self.on_derived)
        if self.section.write.statuses:
            state.subscribe(self.on_changes)
            self._baseline(state)
        rt.metrics.register(ExportMetrics(self))
        self._task = asyncio.create_task(self._run(), name="influx writer")
        log.info("writing to InfluxDB %s (bucket %s), buffer %s", self.section.url,
                 self.section.bucket, self.buffer_path)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self._seal()
            if time.monotonic() >= self._next_attempt:
                # one last try, bounded: what is not written waits on disk for the next start
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.section.timeout):
                        await self._drain()
        finally:
            if self._sender is not None:
                await asyncio.to_thread(self._sender.close)
            if self.buffer is not None:
                self.buffer.close()
            left = self.buffer.points if self.buffer is not None else 0
            if left:
                log.info("%d points wait in %s for the next start", left, self.buffer_path)

    async def flush(self) -> None:
        """Seal what is pending and write what the backoff allows (tests, shutdown)."""
        await self._seal()
        await self._drain()

    # ------------------------------------------------------------------ the writer

    async def _run(self) -> None:
        interval = self.section.flush_interval
        while True:
            wait = interval
            if self.buffer is not None and self.buffer.batches:
                wait = min(wait, max(0.0, self._next_attempt - time.monotonic()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self._seal()
                await self._drain()
            except asyncio.CancelledError:
                raise
            except Exception:  # the writer never stops: count it and carry on
                self.counters.errors += 1
                log.exception("influx writer failed")
                self._backoff(None)

    async def _seal(self) -> None:
        """Move pending points into batches on disk. The list is taken here, in the loop's
        thread, so points added meanwhile go to the next batch, never lost in a race."""
        pending, self._pending = self._pending, []
        if pending:
            await asyncio.to_thread(self._store, pending)

    def _store(self, lines: list[str]) -> None:
        assert self.buffer is not None
        size = self.section.batch_size
        for start in range(0, len(lines), size):
            dropped = self.buffer.append(lines[start:start + size])
            if dropped:
                self.counters.drop("buffer_full", dropped)
                log.warning("influx buffer full (%d bytes): dropped the oldest %d points",
                            self.section.buffer.max_size, dropped)

    async def _drain(self) -> None:
        async with self._sending:
            await self._drain_locked()

    async def _drain_locked(self) -> None:
        assert self.buffer is not None and self._sender is not None
        while self.buffer.batches and time.monotonic() >= self._next_attempt:
            batch = await asyncio.to_thread(self.buffer.oldest)
            if batch is None:
                return
            try:
                await asyncio.to_thread(self._sender.send, batch.lines)
            except WriteFailed as exc:
                self.counters.errors += 1
                self.counters.last_error = str(exc)
                if exc.retryable:
                    self._backoff(exc.retry_after)
                    log.warning("influx write failed (%s), %d points kept, retry in %.1fs",
                                exc, self.buffer.points, self._next_attempt - time.monotonic())
                    return
                await asyncio.to_thread(self._reject, batch, exc)
                continue
            await asyncio.to_thread(self.buffer.remove, batch)
            self.counters.written += batch.points
            self.counters.last_success = time.time()
            self._delay = self.section.retry.initial
            self._next_attempt = 0.0
            await asyncio.sleep(0)  # let polls run between batches of a backlog

    def _reject(self, batch: Batch, exc: WriteFailed) -> None:
        assert self.buffer is not None
        if exc.too_large and len(batch.lines) > 1:
            log.warning("influx refused a batch of %d points as too large; splitting it",
                        batch.points)
            self.buffer.split(batch)
            return
        self.buffer.remove(batch)
        self.counters.drop("rejected", batch.points)
        log.error("influx rejected a batch (%s): %d points dropped", exc, batch.points)

    def _backoff(self, retry_after: float | None) -> None:
        retry = self.section.retry
        delay = self._delay * random.uniform(0.8, 1.2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, retry.max))
        self._next_attempt = time.monotonic() + delay
        self._delay = min(retry.max, self._delay * 2)


class ExportMetrics(Collector):
    """The exporter's self-metrics, read at scrape time."""

    def __init__(self, exporter: InfluxExporter) -> None:
        self.exporter = exporter

    def collect(self) -> Iterator[Metric]:
        ex = self.exporter
        c = ex.counters
        labels = [EXPORTER]
        written = CounterMetricFamily("tierwatch_export_points",
                                      "Points the exporter's database accepted",
                                      labels=["exporter"])
        written.add_metric(labels, c.written)
        errors = CounterMetricFamily("tierwatch_export_errors",
                                     "Write requests that failed (retried or rejected)",
                                     labels=["exporter"])
        errors.add_metric(labels, c.errors)
        dropped = CounterMetricFamily("tierwatch_export_dropped",
                                      "Points dropped, by reason: buffer_full (oldest dropped "
                                      "to stay in bounds), rejected (refused by the database), "
                                      "not_finite (NaN or infinity)",
                                      labels=["exporter", "reason"])
        for reason, count in (c.dropped or {}).items():
            dropped.add_metric([EXPORTER, reason], count)
        buffered = GaugeMetricFamily("tierwatch_export_buffered_points",
                                     "Points waiting to be written (on disk and in memory)",
                                     labels=["exporter"])
        buffered.add_metric(labels, ex.buffered_points + ex.pending_points)
        size = GaugeMetricFamily("tierwatch_export_buffer_bytes",
                                 "Size of the on-disk buffer's batches", labels=["exporter"])
        size.add_metric(labels, ex.buffer.bytes if ex.buffer is not None else 0)
        limit = GaugeMetricFamily("tierwatch_export_buffer_limit_bytes",
                                  "The on-disk buffer's bound", labels=["exporter"])
        limit.add_metric(labels, ex.section.buffer.max_size)
        yield from (written, errors, dropped, buffered, size, limit)
        if c.last_success is not None:
            last = GaugeMetricFamily("tierwatch_export_last_success_timestamp_seconds",
                                     "When the exporter last wrote a batch",
                                     labels=["exporter"])
            last.add_metric(labels, c.last_success)
            yield last
