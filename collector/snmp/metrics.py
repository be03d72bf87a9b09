"""The SNMP engine's own series on /metrics: datagrams sent, received and dropped."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from collector.snmp.message import DROP_REASONS
from collector.snmp.transport import transport_stats
from collector.snmp.wire import REFUSAL_REASONS


class SnmpEngineCollector(Collector):
    """The native engine's datagrams: sent, received, failed sends, and every datagram it
    refused, by reason (the closed set collector.snmp.message.DROP_REASONS, each exported
    from the start). Zeros when this process uses another engine. With poll worker
    processes, `stats` adds theirs to this process's own (collector/snmp/workers.py)."""

    def __init__(self, stats: Callable[[], Mapping[str, int]] = transport_stats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        stats = self._stats()
        sent = CounterMetricFamily("tierwatch_snmp_datagrams_sent",
                                   "SNMP requests sent by the native engine")
        sent.add_metric([], stats.get("sent", 0))
        received = CounterMetricFamily("tierwatch_snmp_datagrams_received",
                                       "SNMP datagrams received by the native engine")
        received.add_metric([], stats.get("received", 0))
        send_errors = CounterMetricFamily("tierwatch_snmp_send_errors",
                                          "SNMP requests the native engine failed to send")
        send_errors.add_metric([], stats.get("send_errors", 0))
        dropped = CounterMetricFamily(
            "tierwatch_snmp_dropped",
            "Datagrams the native engine refused, by the check they failed (unknown_id, "
            "wrong_address, wrong_security_level, bad_digest, unauthenticated_report ...): "
            "a refused datagram never ends a request", labels=["reason"])
        for reason in DROP_REASONS:
            dropped.add_metric([reason], stats.get(reason, 0))
        yield from (sent, received, send_errors, dropped)


class _Worker(Protocol):
    @property
    def index(self) -> int: ...
    @property
    def up(self) -> bool: ...
    @property
    def restarts(self) -> int: ...
    @property
    def share(self) -> Sequence[object]: ...

    def cpu_seconds(self) -> float: ...


class _Pool(Protocol):
    @property
    def workers(self) -> Sequence[_Worker]: ...

    @property
    def refused(self) -> Mapping[str, int]: ...


class WorkersCollector(Collector):
    """The poll worker processes (collector/snmp/workers.py): each one's devices, whether
    it runs, its CPU and its restarts; the frames refused from them, by reason."""

    def __init__(self, pool: _Pool) -> None:
        self._pool = pool

    def collect(self) -> Iterator[Metric]:
        workers = self._pool.workers
        labels = ["worker"]
        up = GaugeMetricFamily("tierwatch_snmp_worker_up",
                               "1 while the poll worker process runs and talks", labels=labels)
        devices = GaugeMetricFamily("tierwatch_snmp_worker_devices",
                                    "SNMP devices the poll worker polls", labels=labels)
        cpu = CounterMetricFamily("tierwatch_snmp_worker_cpu_seconds",
                                  "CPU (user + system) of the poll worker processes",
                                  labels=labels)
        restarts = CounterMetricFamily("tierwatch_snmp_worker_restarts",
                                       "Times the poll worker ended and was started again",
                                       labels=labels)
        for worker in workers:
            name = [str(worker.index)]
            up.add_metric(name, 1 if worker.up else 0)
            devices.add_metric(name, len(worker.share))
            cpu.add_metric(name, worker.cpu_seconds())
            restarts.add_metric(name, worker.restarts)
        refused = CounterMetricFamily(
            "tierwatch_snmp_worker_refused_frames",
            "Frames from poll workers refused (the worker is then restarted), by reason",
            labels=["reason"])
        counts = self._pool.refused
        for reason in REFUSAL_REASONS:
            refused.add_metric([reason], counts.get(reason, 0))
        yield from (up, devices, cpu, restarts, refused)
