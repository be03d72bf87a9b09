"""/metrics: the live state in the Prometheus text format.

Two parts, one response:

* device samples, rendered from the state. Each device's lines are rendered once per poll
  and cached by the device's generation, so a scrape re-renders only what changed and
  joins the rest (1,000 devices' worth of samples in a few tens of milliseconds);
* tierwatch's own series (device up, component status, poll self-metrics, and whatever the
  other rooms register: tier, traps, alerts ...) from client_python custom collectors,
  which read the state afresh on every scrape, so a removed device's series vanish.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from tierwatch import __version__
from tierwatch.model import Sample, Status
from tierwatch.state import DeviceState, State

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STATUSES = [s.value for s in Status]


def _escape(value: str) -> str:
    if "\\" in value or '"' in value or "\n" in value:
        value = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return value


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == math.inf:
        return "+Inf"
    if value == -math.inf:
        return "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value)}"
    return repr(value)


def _help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


_TEXT_TYPE = {"gauge": "gauge", "counter": "counter", "info": "gauge", "stateset": "gauge"}


def render_device(samples: Iterable[Sample]) -> dict[str, list[str]]:
    """One device's samples as exposition lines, grouped by metric family."""
    families: dict[str, list[str]] = {}
    label_text: dict[int, str] = {}  # rows share one labels dict: render it once
    for sample in samples:
        key = id(sample.labels)
        labels = label_text.get(key)
        if labels is None:
            labels = ",".join(f'{k}="{_escape(v)}"' for k, v in sample.labels.items())
            label_text[key] = labels
        line = f"{sample.name}{{{labels}}} {_float(sample.value)}"
        lines = families.get(sample.name)
        if lines is None:
            families[sample.name] = [line]
        else:
            lines.append(line)
    return {name: ["\n".join(lines)] for name, lines in families.items()}


class DeviceSampleRenderer:
    """Renders every device's samples, re-rendering only devices polled since last time."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[int, dict[str, list[str]]]] = {}

    def render(self, devices: Mapping[str, DeviceState]) -> str:
        for gone in set(self._cache) - set(devices):
            del self._cache[gone]
        by_family: dict[str, list[str]] = {}
        meta: dict[str, tuple[str, str]] = {}
        for device_id, dev in devices.items():
            cached = self._cache.get(device_id)
            if cached is None or cached[0] != dev.generation:
                cached = (dev.generation, render_device(dev.samples))
                self._cache[device_id] = cached
            for family, chunk in cached[1].items():
                by_family.setdefault(family, []).extend(chunk)
                if family not in meta:
                    m = dev.metadata.get(family)
                    meta[family] = (_TEXT_TYPE.get(m.type, "gauge"), m.help) if m else (
                        "untyped", "")
        out: list[str] = []
        for family in sorted(by_family):
            kind, help_text = meta[family]
            out.append(f"# HELP {family} {_help(help_text or family)}")
            out.append(f"# TYPE {family} {kind}")
            out.extend(by_family[family])
        if out:
            out.append("")
        return "\n".join(out)


class StateCollector(Collector):
    """tierwatch's own view of each device: up, statuses, and poll self-metrics."""

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


def build_info() -> Metric:
    build = InfoMetricFamily("tierwatch_build", "tierwatch version")
    build.add_metric([], {"version": __version__})
    return build


class BuildCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        yield build_info()


class SnmpEngineCollector(Collector):
    """Datagrams the native engine's shared sockets dropped, by reason (none elsewhere)."""

    def collect(self) -> Iterator[Metric]:
        import sys

        engine = sys.modules.get("collector.snmp.native_engine")
        if engine is None:  # not loaded: this process uses another engine
            return
        stats = engine.engine_stats()
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


class MetricsExporter:
    """What /metrics serves. Other rooms add their collectors with `register()`."""

    def __init__(self, state: State, device_series: bool = True) -> None:
        self.state = state
        self.registry = CollectorRegistry(auto_describe=False)
        # off on a `--tier-only` instance: its devices are the shards' to show
        self.device_series = device_series
        if device_series:
            self.registry.register(StateCollector(state))
            self.registry.register(SnmpEngineCollector())
        else:
            self.registry.register(BuildCollector())
        self._devices = DeviceSampleRenderer()

    def register(self, collector: Collector) -> None:
        self.registry.register(collector)

    def render(self) -> bytes:
        if not self.device_series:
            return generate_latest(self.registry)
        device_text = self._devices.render(self.state.devices)
        return device_text.encode("utf-8") + generate_latest(self.registry)
