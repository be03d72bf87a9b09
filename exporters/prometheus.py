"""/metrics: the live state in the Prometheus text format.

Two parts, one response:

* the state's series: every device's samples and tierwatch's own per-device series (up,
  device and component status, poll self-metrics), by `StateRenderer`
  (exporters/state_exposition.py): text templates kept while a device's series stay the
  same, filled with the values on each scrape; a removed device's series vanish;
* whatever the other rooms register (tier, traps, alerts, the SNMP engine ...), from
  client_python custom collectors, which read their state afresh on every scrape.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from exporters.state_exposition import SELF_FAMILIES, STATUSES, StateRenderer
from tierwatch import __version__
from tierwatch.state import State

__all__ = ["CONTENT_TYPE", "SELF_FAMILIES", "MetricsExporter", "StateCollector"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class StateCollector(Collector):
    """tierwatch's own view of each device (up, statuses, and poll self-metrics) through
    client_python: the reference `own_series` is tested against. /metrics does not use it
    (at a thousand devices it costs ten times what the templates cost)."""

    def __init__(self, state: State) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        devices = list(self.state.devices.values())
        up = GaugeMetricFamily("tierwatch_device_up",
                               "1 when the device answers its polls, 0 when unreachable",
                               labels=["device"])
        dstatus = GaugeMetricFamily("tierwatch_device_status",
                                    "Status of each device (worst of its components), "
                                    "one series per status, 1 for the current one",
                                    labels=["device", "status"])
        cstatus = GaugeMetricFamily("tierwatch_component_status",
                                    "Status of each component, one series per status, "
                                    "1 for the current one",
                                    labels=["device", "component", "status"])
        duration = GaugeMetricFamily("tierwatch_poll_duration_seconds",
                                     "Duration of the device's last poll", labels=["device"])
        last = GaugeMetricFamily("tierwatch_device_last_poll_timestamp_seconds",
                                 "When the device was last polled", labels=["device"])
        polls = CounterMetricFamily("tierwatch_polls", "Polls made", labels=["device"])
        errors = CounterMetricFamily("tierwatch_poll_errors",
                                     "Failed polls by reason", labels=["device", "reason"])
        skipped = CounterMetricFamily("tierwatch_polls_skipped",
                                      "Polls skipped because the previous one still ran",
                                      labels=["device"])
        varbinds = CounterMetricFamily("tierwatch_varbinds", "Varbinds received",
                                       labels=["device"])
        reboots = CounterMetricFamily("tierwatch_device_reboots",
                                      "Reboots seen (uptime going back, wraps excluded)",
                                      labels=["device"])
        for dev in devices:
            d = [dev.id]
            up.add_metric(d, 1.0 if dev.reachable else 0.0)
            for s in STATUSES:
                dstatus.add_metric([dev.id, s], 1.0 if dev.status == s else 0.0)
            for comp in dev.components.values():
                for s in STATUSES:
                    cstatus.add_metric([dev.id, comp.component, s],
                                       1.0 if comp.status == s else 0.0)
            if dev.last_poll_duration is not None:
                duration.add_metric(d, dev.last_poll_duration)
            if dev.last_poll_ts is not None:
                last.add_metric(d, dev.last_poll_ts)
            polls.add_metric(d, dev.polls_total)
            for reason, count in sorted(dev.poll_errors_total.items()):
                errors.add_metric([dev.id, reason], count)
            skipped.add_metric(d, dev.polls_skipped_total)
            varbinds.add_metric(d, dev.varbinds_total)
            reboots.add_metric(d, dev.reboots_total)
        yield from (up, dstatus, cstatus, duration, last, polls, errors, skipped, varbinds,
                    reboots, build_info())


class SnmpEngineCollector(Collector):
    """The native engine's datagrams: sent, received, failed sends, and every datagram it
    refused, by reason (the closed set collector.snmp.message.DROP_REASONS, each exported
    from the start). Nothing when this process uses another engine."""

    def collect(self) -> Iterator[Metric]:
        import sys

        engine = sys.modules.get("collector.snmp.native_engine")
        if engine is None:  # not loaded: this process uses another engine
            return
        from collector.snmp.message import DROP_REASONS

        stats = engine.engine_stats()
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


def build_info() -> Metric:
    build = InfoMetricFamily("tierwatch_build", "tierwatch version")
    build.add_metric([], {"version": __version__})
    return build


class BuildCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        yield build_info()


class MetricsExporter:
    """What /metrics serves. Other rooms add their collectors with `register()`.

    The state's series (device samples and tierwatch's per-device self-metrics, the bulk of
    the answer) are rendered by `StateRenderer` (exporters/state_exposition.py);
    `StateCollector` is the same view through client_python, kept as the reference.
    Everything registered goes through client_python's `generate_latest`.
    `device_series=False` leaves the state's series out.
    """

    def __init__(self, state: State, device_series: bool = True) -> None:
        self.state = state
        self.device_series = device_series
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(BuildCollector())
        if device_series:
            self.registry.register(SnmpEngineCollector())
        self._devices = StateRenderer()

    def register(self, collector: Collector) -> None:
        self.registry.register(collector)

    def render_parts(self) -> list[bytes]:
        """The answer in parts, to be sent one after another: the state's series (tens of
        megabytes at a thousand devices, not worth a copy) and the registry's."""
        if not self.device_series:
            return [generate_latest(self.registry)]
        return [self._devices.render(self.state.devices), generate_latest(self.registry)]

    def render(self) -> bytes:
        return b"".join(self.render_parts())
