"""The network health component: subscribes to every poll result, keeps what a rate or a
topology check needs between polls, and hands back what it derives.

* Interface rates (nethealth/traffic.py): the derived samples join the device's own in the
  state (`State.add_samples`), so /metrics, the alert rules and a load's measured demand
  (`demand_metric: {metric: if_traffic_bytes_per_second, ...}`) all read them.
* LLDP (nethealth/lldp.py): each poll of a device that answers LLDP-MIB updates what it
  sees; the verdict on every declared port (ok, missing, moved, unknown) and the unexpected
  neighbours are published to subscribers (the wiring hands the live tier the unverified
  edges) and on /metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from nethealth.config import NetHealthConfig
from nethealth.lldp import LinkCheck, LldpWatch
from nethealth.traffic import METADATA, TrafficTracker
from tier.topology import PortBinding
from tierwatch.core.model import PollResult
from tierwatch.core.runtime import Runtime
from tierwatch.core.state import State

log = logging.getLogger(__name__)

Listener = Callable[[], None]


class NetHealth:
    """Interface rates and LLDP checks, from the poll results the state publishes."""

    def __init__(self, config: NetHealthConfig, ports: Sequence[PortBinding] = (),
                 device_names: dict[str, str] | None = None) -> None:
        self.config = config
        self.traffic = TrafficTracker(config.max_gap, config.thresholds_for)
        self.lldp = LldpWatch(ports, config.lldp, device_names or {})
        self.state: State | None = None
        self._listeners: list[Listener] = []
        self._running = False

    # ------------------------------------------------------------------ lifetime

    async def start(self, rt: Runtime) -> None:
        self.state = rt.state
        self._running = True
        rt.state.subscribe_results(self._on_result)
        rt.metrics.register(NetHealthCollector(self))

    async def stop(self) -> None:
        self._running = False  # the state keeps its subscribers: this one stops acting

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

    # ------------------------------------------------------------------ the subscription

    def _on_result(self, result: PollResult) -> None:
        if not self._running or self.state is None:
            return
        derived = self.traffic.observe(result)
        if derived:
            self.state.add_samples(result.device, derived, METADATA)
        if self.lldp.observe(result):
            for listener in list(self._listeners):
                try:
                    listener()
                except Exception:  # a broken subscriber must not stop the others
                    log.exception("LLDP listener %r failed", listener)


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
