"""The network health component: subscribes to every poll result, keeps what a rate or a
topology check needs between polls, and hands back what it derives.

* Interface rates (nethealth/traffic.py): the derived samples join the device's own in the
  state (`State.add_samples`), so /metrics, the alert rules and a load's measured demand
  (`demand_metric: {metric: if_traffic_bytes_per_second, ...}`) all read them.
* LLDP (nethealth/lldp.py): each poll of a device that answers LLDP-MIB updates what it
  sees; the verdict on every declared port (ok, missing, moved, unknown) and the unexpected
  neighbours are published to subscribers (the wiring hands the live tier the unverified
  edges), on /metrics, and in the store whenever they change (tierwatch/core/store/
  nethealth.py: the monthly report's history, and what a `--tier-only` instance's live tier
  reads, nethealth/shared.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from nethealth.config import NetHealthConfig
from nethealth.lldp import LinkCheck, LldpWatch, Unexpected, normal
from nethealth.traffic import METADATA, TrafficTracker
from tier.topology import PortBinding
from tierwatch.core.model import PollResult
from tierwatch.core.runtime import Runtime
from tierwatch.core.state import State
from tierwatch.core.store import Store
from tierwatch.core.store.nethealth import LinkVerdict, Sighting, close_lldp, record_lldp

log = logging.getLogger(__name__)

Listener = Callable[[], None]


class NetHealth:
    """Interface rates and LLDP checks, from the poll results the state publishes."""

    def __init__(self, config: NetHealthConfig, ports: Sequence[PortBinding] = (),
                 device_names: dict[str, str] | None = None) -> None:
        """`ports`: the declared links this instance checks (those on the devices it polls);
        `device_names`: every configured device (id -> name), so a neighbour polled by
        another shard is still recognised."""
        self.config = config
        self.traffic = TrafficTracker(config.max_gap, config.thresholds_for)
        self.lldp = LldpWatch(ports, config.lldp, device_names or {})
        self.state: State | None = None
        self.store: Store | None = None
        self.writer = "main"
        self.store_errors = 0
        self._unsaved = False  # the last write failed: the next poll result writes again
        self._listeners: list[Listener] = []
        self._running = False
        self._clock = time.time

    # ------------------------------------------------------------------ lifetime

    async def start(self, rt: Runtime) -> None:
        self.state = rt.state
        self.store = rt.store
        self.writer = rt.instance
        self._clock = rt.clock
        self._running = True
        rt.state.subscribe_results(self._on_result)
        rt.metrics.register(NetHealthCollector(self))
        # what this instance saw before a crash ends now; until the first poll, unknown
        self._record(self._clock())

    async def stop(self) -> None:
        self._running = False  # the state keeps its subscribers: this one stops acting
        if self.store is not None and self.lldp.bindings:
            try:
                close_lldp(self.store, self.writer, self._clock())
            except Exception:
                self.store_errors += 1
                log.exception("closing the LLDP verdicts in the store failed")

    # ------------------------------------------------------------------ reading

    def subscribe(self, listener: Listener) -> None:
        """Call `listener()` whenever the LLDP verdicts change."""
        self._listeners.append(listener)

    def unverified_edges(self) -> frozenset[tuple[str, str]]:
        """Declared edges (feeder, node) LLDP does not see where declared: not counted as
        paths by the live tier."""
        return self.lldp.unverified()

    def links(self) -> list[LinkCheck]:
        return self.lldp.checks()

    def unexpected(self) -> list[Unexpected]:
        return self.lldp.unexpected()

    # ------------------------------------------------------------------ the subscription

    def _on_result(self, result: PollResult) -> None:
        if not self._running or self.state is None:
            return
        derived = self.traffic.observe(result)
        if derived:
            self.state.add_samples(result.device, derived, METADATA)
        if self.lldp.observe(result):
            self._record(result.ts)
            for listener in list(self._listeners):
                try:
                    listener()
                except Exception:  # a broken subscriber must not stop the others
                    log.exception("LLDP listener %r failed", listener)
        elif self._unsaved:
            self._record(result.ts)

    def _record(self, ts: float) -> None:
        """The verdicts and unexpected neighbours, as they are now, into the store. A failed
        write is counted and tried again with the next poll result (the whole picture)."""
        if self.store is None or not self.lldp.bindings:
            return
        verdicts = [link_verdict(c) for c in self.lldp.checks()]
        sightings = [sighting(u, self.lldp.bindings) for u in self.lldp.unexpected()]
        try:
            record_lldp(self.store, self.writer, verdicts, sightings, ts)
        except Exception:
            self.store_errors += 1
            self._unsaved = True
            log.exception("writing the LLDP verdicts to the store failed")
        else:
            self._unsaved = False


def link_verdict(check: LinkCheck) -> LinkVerdict:
    b = check.binding
    return LinkVerdict(b.subsystem, b.feeder, b.node, b.device, b.port, check.verdict,
                       check.expected, check.seen_on)


def sighting(u: Unexpected, bindings: Sequence[PortBinding]) -> Sighting:
    declared = next((b.port for b in bindings if b.device == u.device
                     and normal(b.port) in u.neighbour.local_names), None)
    n = u.neighbour
    return Sighting(u.device, u.local_port, n.chassis_id, n.sys_name, n.port_id,
                    u.neighbour_device, declared)


class NetHealthCollector(Collector):
    """/metrics: what the rates skipped, and the LLDP checks."""

    def __init__(self, room: NetHealth) -> None:
        self.room = room

    def collect(self) -> Iterator[Metric]:
        skipped = CounterMetricFamily(
            "tierwatch_interface_rates_skipped",
            "Polls (first, reboot, gap, clock) and counters (reset, ambiguous) that gave no "
            "interface rate, by reason", labels=["device", "reason"])
        for (device, reason), n in sorted(self.room.traffic.skipped.items()):
            skipped.add_metric([device, reason], n)
        yield skipped
        measured = GaugeMetricFamily(
            "tierwatch_interfaces_measured", "Interfaces with rates from the last poll",
            labels=["device"])
        for device, n in sorted(self.room.traffic.interfaces.items()):
            measured.add_metric([device], n)
        yield measured
        yield from self.room.lldp.metrics()
        errors = CounterMetricFamily(
            "tierwatch_lldp_store_errors", "Writes of the LLDP verdicts to the store that "
            "failed (the next poll result writes them all again)")
        errors.add_metric([], self.room.store_errors)
        yield errors
