"""The SNMP engine's own series on /metrics: datagrams sent, received and dropped."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from collector.snmp.transport import transport_stats


class SnmpEngineCollector(Collector):
    """Datagrams the native engine's shared sockets dropped, by reason (none elsewhere)."""

    def collect(self) -> Iterator[Metric]:
        stats = transport_stats()
        sent = CounterMetricFamily("tierwatch_snmp_datagrams_sent",
                                   "SNMP requests sent by the native engine")
        sent.add_metric([], stats.get("sent", 0))
        received = CounterMetricFamily("tierwatch_snmp_datagrams_received",
                                       "SNMP datagrams received by the native engine")
        received.add_metric([], stats.get("received", 0))
        dropped = CounterMetricFamily(
            "tierwatch_snmp_datagrams_dropped",
            "Datagrams dropped: from an unexpected address, for no pending request, "
            "undecodable, or failed to send", labels=["reason"])
        for reason in ("wrong_address", "unknown_id", "undecodable", "send_errors"):
            dropped.add_metric([reason], stats.get(reason, 0))
        yield from (sent, received, dropped)


