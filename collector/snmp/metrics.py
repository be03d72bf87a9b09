"""The SNMP engine's own series on /metrics: datagrams sent, received and dropped."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from collector.snmp.message import DROP_REASONS
from collector.snmp.transport import transport_stats


class SnmpEngineCollector(Collector):
    """The native engine's datagrams: sent, received, failed sends, and every datagram it
    refused, by reason (the closed set collector.snmp.message.DROP_REASONS, each exported
    from the start). Zeros when this process uses another engine."""

    def collect(self) -> Iterator[Metric]:
        stats = transport_stats()
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
