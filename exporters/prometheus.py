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

import gc
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
    if value.__class__ is int:  # a reading as it came: exact, and the cheapest to print
        return str(value)
    if value != value:
        return "NaN"
    if -1e15 < value < 1e15:
        whole = int(value)
        if whole == value:
            return str(whole)
        return repr(float(value))
    if value == math.inf:
        return "+Inf"
    if value == -math.inf:
        return "-Inf"
    return repr(float(value))


def _help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


_TEXT_TYPE = {"gauge": "gauge", "counter": "counter", "info": "gauge", "stateset": "gauge"}

# tierwatch's own per-device series: (family as exposed, TYPE, HELP)
UP = "tierwatch_device_up"
DEVICE_STATUS = "tierwatch_device_status"
COMPONENT_STATUS = "tierwatch_component_status"
DURATION = "tierwatch_poll_duration_seconds"
LAST_POLL = "tierwatch_device_last_poll_timestamp_seconds"
POLLS = "tierwatch_polls_total"
ERRORS = "tierwatch_poll_errors_total"
SKIPPED = "tierwatch_polls_skipped_total"
VARBINDS = "tierwatch_varbinds_total"
REBOOTS = "tierwatch_device_reboots_total"
SELF_FAMILIES: dict[str, tuple[str, str]] = {
    UP: ("gauge", "1 when the device answers its polls, 0 when unreachable"),
    DEVICE_STATUS: ("gauge", "Status of each device (worst of its components), one series "
                             "per status, 1 for the current one"),
    COMPONENT_STATUS: ("gauge", "Status of each component, one series per status, 1 for the "
                                "current one"),
    DURATION: ("gauge", "Duration of the device's last poll"),
    LAST_POLL: ("gauge", "When the device was last polled"),
    POLLS: ("counter", "Polls made"),
    ERRORS: ("counter", "Failed polls by reason"),
    SKIPPED: ("counter", "Polls skipped because the previous one still ran"),
    VARBINDS: ("counter", "Varbinds received"),
    REBOOTS: ("counter", "Reboots seen (uptime going back, wraps excluded)"),
}


def render_device(samples: Iterable[Sample]) -> dict[str, bytes]:
    """One device's samples as exposition lines, one chunk per metric family (each line
    ends in a newline)."""
    families: dict[str, list[str]] = {}
    label_text: dict[int, str] = {}  # rows share one labels dict: render it once
    current = ""
    lines: list[str] = []
    for name, labels, value, _ in samples:
        if name != current:  # a poll gives a family's samples one after another
            current = name
            found = families.get(name)
            if found is None:
                found = families[name] = []
            lines = found
        text = label_text.get(id(labels))
        if text is None:
            text = label_text[id(labels)] = ",".join(
                [f'{k}="{_escape(v)}"' for k, v in labels.items()])
        lines.append(f"{name}{{{text}}} "
                     f"{str(value) if value.__class__ is int else _float(value)}\n")
    return {name: "".join(lines).encode() for name, lines in families.items()}


def render_self(dev: DeviceState) -> dict[str, bytes]:
    """tierwatch's own series for one device (up, statuses, poll self-metrics)."""
    d = f'device="{_escape(dev.id)}"'
    out = {
        UP: f"{UP}{{{d}}} {1 if dev.reachable else 0}\n",
        DEVICE_STATUS: "".join(
            f'{DEVICE_STATUS}{{{d},status="{s}"}} {1 if dev.status == s else 0}\n'
            for s in STATUSES),
        POLLS: f"{POLLS}{{{d}}} {dev.polls_total}\n",
        SKIPPED: f"{SKIPPED}{{{d}}} {dev.polls_skipped_total}\n",
        VARBINDS: f"{VARBINDS}{{{d}}} {dev.varbinds_total}\n",
        REBOOTS: f"{REBOOTS}{{{d}}} {dev.reboots_total}\n",
    }
    if dev.components:
        out[COMPONENT_STATUS] = "".join(
            f'{COMPONENT_STATUS}{{{d},component="{_escape(comp.component)}",status="{s}"}} '
            f"{1 if comp.status == s else 0}\n"
            for comp in dev.components.values() for s in STATUSES)
    if dev.last_poll_duration is not None:
        out[DURATION] = f"{DURATION}{{{d}}} {_float(dev.last_poll_duration)}\n"
    if dev.last_poll_ts is not None:
        out[LAST_POLL] = f"{LAST_POLL}{{{d}}} {_float(dev.last_poll_ts)}\n"
    if dev.poll_errors_total:
        out[ERRORS] = "".join(f'{ERRORS}{{{d},reason="{_escape(reason)}"}} {count}\n'
                              for reason, count in sorted(dev.poll_errors_total.items()))
    return {family: text.encode() for family, text in out.items()}


class DeviceSampleRenderer:
    """Renders every device's samples and tierwatch's own per-device series.

    Each device is rendered once per change (its generation, and its skipped-poll count,
    which moves without a poll) into one chunk per family; a scrape joins the chunks per
    family. When no device changed since the last scrape, the last answer is served again.
    """

    def __init__(self) -> None:
        self._cache: dict[str, tuple[tuple[int, int], dict[str, bytes]]] = {}
        self._headers: dict[tuple[str, str, str], bytes] = {}
        self._last: bytes | None = None

    def _header(self, family: str, kind: str, help_text: str) -> bytes:
        key = (family, kind, help_text)
        header = self._headers.get(key)
        if header is None:
            header = (f"# HELP {family} {_help(help_text or family)}\n"
                      f"# TYPE {family} {kind}\n").encode()
            if len(self._headers) > 100_000:
                self._headers.clear()
            self._headers[key] = header
        return header

    def render(self, devices: Mapping[str, DeviceState]) -> bytes:
        # A cold render allocates a few hundred thousand strings and lists and no cycles;
        # the collector, triggered by those allocations, would walk the whole live state
        # (every device's samples) several times for nothing: it waits until we are done.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._render(devices)
        finally:
            if was_enabled:
                gc.enable()

    def _render(self, devices: Mapping[str, DeviceState]) -> bytes:
        cache = self._cache
        changed = False
        for gone in [d for d in cache if d not in devices]:
            del cache[gone]
            changed = True
        for device_id, dev in devices.items():
            key = (dev.generation, dev.polls_skipped_total)
            cached = cache.get(device_id)
            if cached is None or cached[0] != key:
                chunks = render_device(dev.samples)
                chunks.update(render_self(dev))
                cache[device_id] = (key, chunks)
                changed = True
        if not changed and self._last is not None:
            return self._last
        by_family: dict[str, list[bytes]] = {}
        meta: dict[str, tuple[str, str]] = {}
        for device_id, dev in devices.items():
            for family, chunk in cache[device_id][1].items():
                joined = by_family.get(family)
                if joined is None:
                    by_family[family] = [chunk]
                    m = SELF_FAMILIES.get(family)
                    if m is None:
                        md = dev.metadata.get(family)
                        m = (_TEXT_TYPE.get(md.type, "gauge"), md.help) if md else ("untyped", "")
                    meta[family] = m
                else:
                    joined.append(chunk)
        out: list[bytes] = []
        for family in sorted(by_family):
            out.append(self._header(family, *meta[family]))
            out.extend(by_family[family])
        self._last = b"".join(out)
        return self._last


class StateCollector(Collector):
    """tierwatch's own view of each device (up, statuses, and poll self-metrics) through
    client_python: the reference `render_self` is tested against. /metrics does not use it
    (at a thousand devices it costs ten times what `render_self` costs)."""

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
    the answer) are rendered by `DeviceSampleRenderer`; `StateCollector` is the same view
    through client_python, kept as the reference. Everything registered goes through
    client_python's `generate_latest`. `device_series=False` leaves the state's series out.
    """

    def __init__(self, state: State, device_series: bool = True) -> None:
        self.state = state
        self.device_series = device_series
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(BuildCollector())
        if device_series:
            self.registry.register(SnmpEngineCollector())
        self._devices = DeviceSampleRenderer()

    def register(self, collector: Collector) -> None:
        self.registry.register(collector)

    def render(self) -> bytes:
        if not self.device_series:
            return generate_latest(self.registry)
        return self._devices.render(self.state.devices) + generate_latest(self.registry)
