"""A reference for tierwatch's own per-device series, written independently of
tierwatch/core/selfseries.py through client_python's metric families."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tierwatch.core.state import State

STATUSES = ("ok", "degraded", "failed", "unknown")


class StateCollector(Collector):
    """tierwatch's own view of each device (up, statuses, and poll self-metrics) written
    independently through client_python: the reference tierwatch/core/selfseries.py is
    tested against."""

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
                    reboots)
