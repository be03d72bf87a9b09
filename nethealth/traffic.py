"""Per-interface rates from the IF-MIB counters of each poll: the stateful half of
nethealth/counters.py.

`TrafficTracker.observe(result)` takes one device's poll result, compares its counters with
the device's previous successful poll, and returns the derived samples, with the interface's
own labels plus `direction` (in, out):

    if_traffic_bytes_per_second   from ifHCIn/OutOctets (or the 32-bit ifIn/OutOctets)
    if_utilisation_ratio          that rate over the speed (ifHighSpeed); none at speed 0
    if_errors_per_second          ifIn/OutErrors
    if_discards_per_second        ifIn/OutDiscards

and, for the interfaces a `nethealth.thresholds` entry matches, the thresholds the alert
rules compare with (if_utilisation_threshold_ratio, if_errors_threshold_per_second,
if_discards_threshold_per_second; the rules' own defaults apply elsewhere).

The collector stays stateless: this tracker is the only place that remembers counters. A
failed poll changes nothing (the next good one measures over the longer interval, up to
`max_gap`); an interface missing from one poll keeps its baseline the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from nethealth.counters import DevicePoll, Skip, interval, rate, utilisation
from tierwatch.core.model import MetricMeta, PollResult, Sample


@dataclass(frozen=True, slots=True)
class CounterSpec:
    family: str  # the derived metric: traffic, errors, discards
    direction: str  # in | out
    bits: int  # 32 | 64


COUNTERS: Mapping[str, CounterSpec] = MappingProxyType({
    "if_hc_in_octets_total": CounterSpec("traffic", "in", 64),
    "if_hc_out_octets_total": CounterSpec("traffic", "out", 64),
    "if_in_octets_total": CounterSpec("traffic", "in", 32),  # only where HC is absent
    "if_out_octets_total": CounterSpec("traffic", "out", 32),
    "if_in_errors_total": CounterSpec("errors", "in", 32),
    "if_out_errors_total": CounterSpec("errors", "out", 32),
    "if_in_discards_total": CounterSpec("discards", "in", 32),
    "if_out_discards_total": CounterSpec("discards", "out", 32),
})
SPEED = "if_speed_bytes"  # ifHighSpeed x 125000 (collector/profiles/if-mib.yaml)
UPTIME = "snmp_uptime_seconds"
BOOTS = "snmp_engine_boots"
_HC = {"in": "if_hc_in_octets_total", "out": "if_hc_out_octets_total"}

RATE_NAMES = {
    "traffic": "if_traffic_bytes_per_second",
    "errors": "if_errors_per_second",
    "discards": "if_discards_per_second",
}
UTILISATION = "if_utilisation_ratio"
THRESHOLD_NAMES = {
    "utilisation": "if_utilisation_threshold_ratio",
    "errors_per_second": "if_errors_threshold_per_second",
    "discards_per_second": "if_discards_threshold_per_second",
}

METADATA: Mapping[str, MetricMeta] = MappingProxyType({
    "if_traffic_bytes_per_second": MetricMeta(
        "gauge", "Interface traffic in bytes per second between the last two polls "
                 "(ifHCIn/OutOctets, else ifIn/OutOctets)"),
    "if_utilisation_ratio": MetricMeta(
        "gauge", "Interface traffic over its speed, 0 to 1 (ifHighSpeed; none when it is 0)"),
    "if_errors_per_second": MetricMeta(
        "gauge", "Packets with errors per second between the last two polls (ifIn/OutErrors)"),
    "if_discards_per_second": MetricMeta(
        "gauge", "Packets discarded per second between the last two polls "
                 "(ifIn/OutDiscards)"),
    "if_utilisation_threshold_ratio": MetricMeta(
        "gauge", "Utilisation above which this interface alerts (nethealth.thresholds)"),
    "if_errors_threshold_per_second": MetricMeta(
        "gauge", "Error rate above which this interface alerts (nethealth.thresholds)"),
    "if_discards_threshold_per_second": MetricMeta(
        "gauge", "Discard rate above which this interface alerts (nethealth.thresholds)"),
})

# interface labels -> {threshold name: value} for the interfaces a config entry matches
Thresholds = Callable[[Mapping[str, str]], Mapping[str, float]]


def _no_thresholds(_labels: Mapping[str, str]) -> Mapping[str, float]:
    return {}


@dataclass
class _Interface:
    labels: Mapping[str, str]
    counters: dict[str, int]
    speed: float | None


def _interfaces(samples: list[Sample]) -> tuple[DevicePoll | None, dict[str, _Interface]]:
    """The device's uptime and boots, and each interface's counters and speed, by if_index."""
    uptime = boots = None
    found: dict[str, _Interface] = {}
    for s in samples:
        name = s.name
        if name in COUNTERS or name == SPEED:
            key = s.labels.get("if_index")
            if key is None:
                continue
            row = found.get(key)
            if row is None:
                row = found[key] = _Interface(s.labels, {}, None)
            if name == SPEED:
                row.speed = float(s.value)
            elif float(s.value).is_integer():  # a counter is a whole number, or nothing
                row.counters[name] = int(s.value)
        elif name == UPTIME:
            uptime = float(s.value)
        elif name == BOOTS:
            boots = float(s.value)
    return (None if uptime is None and boots is None else DevicePoll(0.0, uptime, boots)), found


class TrafficTracker:
    """Previous counters per device and interface; derived samples per poll."""

    def __init__(self, max_gap: float, thresholds: Thresholds = _no_thresholds,
                 slack: float = 10.0) -> None:
        self.max_gap = max_gap
        self.thresholds = thresholds
        self.slack = slack
        self._polls: dict[str, DevicePoll] = {}
        self._counters: dict[str, dict[str, dict[str, int]]] = {}  # device -> if_index -> ...
        # (device, reason) -> polls or counters that gave no rate, for /metrics
        self.skipped: dict[tuple[str, str], int] = {}
        self.interfaces: dict[str, int] = {}  # device -> interfaces with rates last poll

    def forget(self, device: str) -> None:
        self._polls.pop(device, None)
        self._counters.pop(device, None)
        self.interfaces.pop(device, None)

    def _skip(self, device: str, reason: Skip, n: int = 1) -> None:
        key = (device, reason.value)
        self.skipped[key] = self.skipped.get(key, 0) + n

    def observe(self, result: PollResult) -> list[Sample]:
        """The derived samples of one poll (none for a failed poll, or a first one)."""
        if not result.ok:
            return []
        device = result.device
        head, rows = _interfaces(result.samples)
        if not rows:
            return []
        cur = DevicePoll(result.ts, head.uptime if head else None, head.boots if head else None)
        prev = self._polls.get(device)
        seconds = interval(prev, cur, self.max_gap, self.slack)
        before = self._counters.get(device, {})
        self._polls[device] = cur
        self._counters[device] = {key: row.counters for key, row in rows.items()}
        if isinstance(seconds, Skip):
            self._skip(device, seconds)
            self.interfaces[device] = 0
            return []
        if seconds <= 0:  # pragma: no cover - interval() never gives it
            return []
        out: list[Sample] = []
        ts = result.ts
        counted = 0
        for key, row in rows.items():
            old = before.get(key)
            if old is None:
                continue
            labels = row.labels
            speed = row.speed
            by_direction: dict[str, dict[str, str]] = {}
            any_rate = False
            for name, value in row.counters.items():
                spec = COUNTERS[name]
                hc = _HC[spec.direction]
                if spec.bits == 32 and spec.family == "traffic" and hc in row.counters:
                    continue  # the 64-bit counter of the same direction says it better
                if name not in old:
                    continue
                ceiling = speed if spec.family == "traffic" and speed else None
                per_second = rate(old[name], value, spec.bits, seconds, ceiling)
                if isinstance(per_second, Skip):
                    self._skip(device, per_second)
                    continue
                dlabels = by_direction.get(spec.direction)
                if dlabels is None:
                    dlabels = by_direction[spec.direction] = {**labels,
                                                              "direction": spec.direction}
                out.append(Sample(RATE_NAMES[spec.family], dlabels, per_second, ts))
                any_rate = True
                if spec.family == "traffic":
                    ratio = utilisation(per_second, speed)
                    if ratio is not None:
                        out.append(Sample(UTILISATION, dlabels, ratio, ts))
            if any_rate:
                counted += 1
                for what, limit in self.thresholds(labels).items():
                    out.append(Sample(THRESHOLD_NAMES[what], labels, limit, ts))
        self.interfaces[device] = counted
        return out
