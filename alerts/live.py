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
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from exporters.prometheus import StateCollector
from tierwatch.model import DEVICE_COMPONENT, Sample
from tierwatch.state import State

if TYPE_CHECKING:
    from tierwatch.service import Service

log = logging.getLogger(__name__)

# profile names -> subsystem, by the words they contain (first match wins)
_SUBSYSTEM_HINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("power", ("ups", "pdu", "ats", "power", "genset", "generator", "battery")),
    ("cooling", ("env", "geist", "sensor", "crac", "chiller", "cooling", "temp", "humid")),
    ("network", ("if-mib", "cisco", "juniper", "switch", "router", "firewall", "net")),
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


def device_identities(service: Service) -> list[DeviceIdentity]:
    """Every device the state tracks: SNMP devices, host agents, probed links and sites."""
    config = service.config
    explicit = config.alerts.device_subsystems
    profiles = service.device_profiles()
    out = []

    def add(device_id: str, name: str | None, kind: str, labels: Mapping[str, str],
            inferred: str) -> None:
        subsystem = explicit.get(device_id) or labels.get("subsystem") or inferred
        out.append(DeviceIdentity(device_id, name or device_id, kind, subsystem, labels))

    for device in config.devices:
        add(device.id, device.name, "snmp", device.labels,
            infer_subsystem(profiles.get(device.id) or device.profile))
    for host in config.agents.hosts:
        add(host.id, host.name, "agent", host.labels, _KIND_SUBSYSTEM["agent"])
    for section, _, target in config.probes.targets():
        kind = "site" if section == "sites" else "link"
        add(target.id, target.name, kind, target.labels, _KIND_SUBSYSTEM[kind])
    return out


def device_subsystems(service: Service) -> dict[str, str]:
    return {d.id: d.subsystem for d in device_identities(service)}


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


def device_info_samples(service: Service) -> list[Sample]:
    return [Sample("tierwatch_device_info", {**d.labels, "device": d.id, "name": d.name,
                                             "kind": d.kind, "subsystem": d.subsystem}, 1.0)
            for d in device_identities(service)]


def _state_samples(service: Service, names: set[str]) -> dict[str, list[Sample]]:
    """tierwatch_* series the state collector exports, built straight from the state."""
    out: dict[str, list[Sample]] = {}
    state = service.state
    if "tierwatch_device_up" in names:
        out["tierwatch_device_up"] = [
            Sample("tierwatch_device_up", {"device": d.id}, 1.0 if d.reachable else 0.0)
            for d in state.devices.values()]
    if "tierwatch_device_status" in names:
        out["tierwatch_device_status"] = [
            Sample("tierwatch_device_status", {"device": d.id, "status": s},
                   1.0 if d.status == s else 0.0)
            for d in state.devices.values() for s in ("ok", "degraded", "failed", "unknown")]
    if "tierwatch_component_status" in names:
        out["tierwatch_component_status"] = [
            Sample("tierwatch_component_status",
                   {"device": d.id, "component": c.component, "status": s},
                   1.0 if c.status == s else 0.0)
            for d in state.devices.values() for c in d.components.values()
            for s in ("ok", "degraded", "failed", "unknown")]
    if "tierwatch_component_condition" in names:
        out["tierwatch_component_condition"] = condition_samples(state)
    if "tierwatch_device_info" in names:
        out["tierwatch_device_info"] = device_info_samples(service)
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


def other_collectors(service: Service) -> list[Collector]:
    """Collectors registered on the exporter by other rooms (tier, probes ...)."""
    registry = service.exporter.registry
    known = getattr(registry, "_collector_to_names", {})
    return [c for c in list(known) if not isinstance(c, StateCollector | AlertsCollector)]


def build_view(service: Service, names: set[str]) -> dict[str, list[Sample]]:
    """Name -> samples, for the names the rules read (nothing else is gathered)."""
    view: dict[str, list[Sample]] = {}
    wanted = set(names)
    for dev in service.state.devices.values():
        for sample in dev.samples:
            if sample.name in wanted:
                view.setdefault(sample.name, []).append(sample)
    view.update(_state_samples(service, wanted))
    missing = wanted - set(view)
    if missing:
        for name, samples in _collector_samples(other_collectors(service), missing).items():
            view.setdefault(name, []).extend(samples)
    return view


class AlertsCollector(Collector):
    """/metrics: conditions, device info, and alerting's own counters."""

    def __init__(self, service: Service, component: Any) -> None:
        self.service = service
        self.component = component

    def collect(self) -> Iterator[Metric]:
        yield _gauge("tierwatch_component_condition",
                     "1 while a status condition holds for a component (on_battery, bypass, "
                     "link_down ...; unreachable on component device)",
                     condition_samples(self.service.state))
        yield _gauge("tierwatch_device_info",
                     "Device identity for rules to join on: name, subsystem, config labels",
                     device_info_samples(self.service))
        yield from self.component.metrics()


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
