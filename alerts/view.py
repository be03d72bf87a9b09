"""The live series the built-in engine evaluates, and the ones alerting adds to /metrics.

The rules read the same names Prometheus does: device samples from the state, tierwatch's own
series, and whatever other rooms register on the exporter (the tier engine's, the probes').
Two series exist for the rules' sake, and are exported for Prometheus as well:

* `tierwatch_component_condition{device,component,condition}` 1 while a status rule's
  condition holds (on_battery, bypass, battery_low, overload, link_down ...), or a device
  is unreachable (component "device"). A trap sets it at once; the next poll confirms.
* `tierwatch_device_info{device,name,kind,subsystem,...}` 1 per device (kind: snmp, agent,
  link, site), with its subsystem and configured labels, for rules to join on (a
  DeviceUnreachable alert is routed to the power team when the device is a UPS; an
  unreachable site is an AgencySiteUnreachable).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tierwatch.core.model import DEVICE_COMPONENT, DeviceInfo, Sample
from tierwatch.core.runtime import MetricsRegistry
from tierwatch.core.selfseries import SELF_FAMILIES, OwnLabels, own_series
from tierwatch.core.state import State

log = logging.getLogger(__name__)

# profile names -> subsystem, by the words they contain (first match wins). Not "sensor":
# entity-sensor (ENTITY-SENSOR-MIB) is what routers and switches answer, and it made a Cisco
# router a cooling device; an environment monitor is named by its own profile.
_SUBSYSTEM_HINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("power", ("ups", "pdu", "ats", "power", "genset", "generator", "battery", "galaxy")),
    ("cooling", ("env", "geist", "netbotz", "crac", "chiller", "cooling", "temp", "humid")),
    ("network", ("if-mib", "cisco", "juniper", "huawei-switch", "switch", "router",
                 "firewall", "fortigate", "optics", "lldp", "net")),
)


def infer_subsystem(profiles: Iterable[str]) -> str:
    names = [p.lower() for p in profiles if p not in ("system", "auto")]
    for subsystem, words in _SUBSYSTEM_HINTS:
        if any(word in name for name in names for word in words):
            return subsystem
    return "other"


@dataclass(frozen=True)
class DeviceIdentity:
    id: str
    name: str
    kind: str  # snmp | agent | link | site
    subsystem: str
    labels: Mapping[str, str]


# what each kind of device is part of, unless its labels or alerts.device_subsystems say
_KIND_SUBSYSTEM = {"agent": "it", "link": "network", "site": "network"}


def device_identities(devices: Iterable[DeviceInfo], explicit: Mapping[str, str]
                      ) -> list[DeviceIdentity]:
    """Every device the state tracks, with its subsystem: `alerts.device_subsystems`
    (`explicit`), else its `subsystem` label, else what its kind or profiles say."""
    out = []
    for d in devices:
        inferred = (infer_subsystem(d.profiles) if d.kind == "snmp"
                    else _KIND_SUBSYSTEM.get(d.kind, "other"))
        subsystem = explicit.get(d.id) or d.labels.get("subsystem") or inferred
        out.append(DeviceIdentity(d.id, d.name, d.kind, subsystem, d.labels))
    return out


def condition_samples(state: State) -> list[Sample]:
    out: list[Sample] = []
    for dev in state.devices.values():
        from_components: set[str] = set()
        for comp in dev.components.values():
            from_components |= comp.conditions
            for condition in sorted(comp.conditions):
                out.append(Sample("tierwatch_component_condition",
                                  {"device": dev.id, "component": comp.component,
                                   "condition": condition}, 1.0))
        # the device's own conditions that no component carries (unreachable)
        for condition in sorted(dev.conditions - from_components):
            out.append(Sample("tierwatch_component_condition",
                              {"device": dev.id, "component": DEVICE_COMPONENT,
                               "condition": condition}, 1.0))
    return out


def device_info_samples(identities: Iterable[DeviceIdentity]) -> list[Sample]:
    return [Sample("tierwatch_device_info", {**d.labels, "device": d.id, "name": d.name,
                                             "kind": d.kind, "subsystem": d.subsystem}, 1.0)
            for d in identities]


Identities = Callable[[], list[DeviceIdentity]]


def _state_samples(state: State, identities: Identities, names: set[str]
                   ) -> dict[str, list[Sample]]:
    """tierwatch's own series (tierwatch/core/selfseries.py) and the two alerting adds,
    built straight from the state."""
    out: dict[str, list[Sample]] = {}
    if names & SELF_FAMILIES.keys():
        for dev in state.devices.values():
            for name, labels, value in own_series(dev, OwnLabels(dev.id)):
                if name in names:
                    out.setdefault(name, []).append(Sample(name, labels, float(value)))
    if "tierwatch_component_condition" in names:
        out["tierwatch_component_condition"] = condition_samples(state)
    if "tierwatch_device_info" in names:
        out["tierwatch_device_info"] = device_info_samples(identities())
    return out


def _collector_samples(collectors: Iterable[Collector], names: set[str]
                       ) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = {}
    for collector in collectors:
        try:
            families = list(collector.collect())
        except Exception:  # another room's collector failing must not stop alerting
            log.exception("collector %r failed while alerts read it", collector)
            continue
        for family in families:
            for s in family.samples:
                if s.name in names:
                    out.setdefault(s.name, []).append(Sample(s.name, s.labels, s.value))
    return out


def build_view(state: State, metrics: MetricsRegistry, identities: Identities,
               names: set[str]) -> dict[str, list[Sample]]:
    """Name -> samples, for the names the rules read (nothing else is gathered): the
    state's samples and own series, then what other rooms registered on /metrics."""
    view: dict[str, list[Sample]] = {}
    wanted = set(names)
    for dev in state.devices.values():
        for sample in dev.samples:
            if sample.name in wanted:
                view.setdefault(sample.name, []).append(sample)
    view.update(_state_samples(state, identities, wanted))
    missing = wanted - set(view)
    if missing:
        others = [c for c in metrics.collectors() if not isinstance(c, AlertsCollector)]
        for name, samples in _collector_samples(others, missing).items():
            view.setdefault(name, []).extend(samples)
    return view


class AlertsCollector(Collector):
    """/metrics: conditions, device info, and alerting's own counters."""

    def __init__(self, state: State, identities: Identities,
                 own: Callable[[], Iterator[Metric]]) -> None:
        self.state = state
        self.identities = identities
        self.own = own

    def collect(self) -> Iterator[Metric]:
        yield _gauge("tierwatch_component_condition",
                     "1 while a status condition holds for a component (on_battery, bypass, "
                     "link_down ...; unreachable on component device)",
                     condition_samples(self.state))
        yield _gauge("tierwatch_device_info",
                     "Device identity for rules to join on: name, subsystem, config labels",
                     device_info_samples(self.identities()))
        yield from self.own()


def _gauge(name: str, help_text: str, samples: list[Sample]) -> Metric:
    family = GaugeMetricFamily(name, help_text)
    for s in samples:
        family.add_sample(name, dict(s.labels), s.value)
    return family


def metric_family(name: str, kind: str, help_text: str,
                  rows: Iterable[tuple[Mapping[str, str], float]]) -> Metric:
    """A family from (labels, value) rows; counters named without their _total."""
    from prometheus_client.core import CounterMetricFamily

    if kind == "counter":
        counter = CounterMetricFamily(name, help_text)
        for labels, value in rows:
            counter.add_sample(f"{name}_total", dict(labels), value)
        return counter
    gauge = GaugeMetricFamily(name, help_text)
    for labels, value in rows:
        gauge.add_sample(name, dict(labels), value)
    return gauge
