"""The wiring: one tierwatch instance built from the config, and run.

Everything that makes a room's component out of the config, and everything one room offers
another, is in this one file: each component gets its own config section (and what another
room offers it) in its constructor, then one `Runtime` at start (tierwatch/core/runtime.py).
No component sees the Service.

Alone, an instance polls every device and runs the Tier engine; with `shard` it polls only
its share (tierwatch/sharding.py) and leaves the Tier engine to the `tier_only` instance,
which polls nothing and mirrors the shared store (tierwatch/core/storefeed.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from alerts.component import AlertsComponent
from alerts.notify import EmailSender
from api.context import ApiContext
from api.powerview import live_diagram
from collector.agents.component import AgentScraper
from collector.directory import DeviceDirectory
from collector.discovery.component import Discovery
from collector.modbus.component import ModbusPolling
from collector.probes.component import ProbeRunner
from collector.snmp import transport
from collector.snmp.workers import snmp_polling
from collector.traps.component import TrapsComponent
from exporters.influx import InfluxExporter
from exporters.prometheus import MetricsExporter
from livetier.engine import LiveTier
from livetier.maintenance_guard import MaintenanceGuard
from nethealth.component import NetHealth
from nethealth.shared import SharedVerdicts
from power.component import PowerComponent
from power.figures import PUE_CATEGORIES
from power.history import month_section
from report.config import ReportSettings
from report.monthly import ReportScheduler
from services.component import ServicesComponent
from tier.score import TierSnapshot
from tier.topology import demand_bindings, port_bindings
from tierwatch.config import Config
from tierwatch.core.history import History
from tierwatch.core.model import PollResult
from tierwatch.core.runtime import Component, DevicePoller, MetricsRegistry, Runtime, Scheduler
from tierwatch.core.state import State, StateMark
from tierwatch.core.store import Store
from tierwatch.core.storefeed import StoreFeed, StorePublisher
from tierwatch.sharding import Shard

log = logging.getLogger(__name__)


def report_settings(config: Config, diagram: Callable[[str], str | None] | None = None
                    ) -> ReportSettings:
    """What the report room needs of the whole configuration (and, from the power room,
    its month and, from the running service, the one-line diagram)."""
    power = config.power
    section = None
    if power.enabled:
        def section(store: Store, start: float, end: float) -> dict[str, Any]:
            return month_section(
                store, start, end, timezone=config.site.timezone, topology=config.topology,
                target=config.tier.target, interval=power.interval,
                category=PUE_CATEGORIES[power.pue.it_measured_at] if power.pue else None,
                days=power.forecast_days)
    return ReportSettings(
        site=config.site, topology=config.topology, reports=config.reports,
        directory=config.reports.directory(config.source), target=config.tier.target,
        min_coverage=config.tier.min_coverage,
        device_profiles={d.id: list(d.profile) for d in config.devices},
        power=section, diagram=diagram)


class Service:
    """One tierwatch instance: the state, the store, /metrics, and every room's component."""

    def __init__(self, config: Config, shard: Shard | None = None,
                 tier_only: bool = False, clock: Callable[[], float] = time.time,
                 store: Store | None = None, carry: Service | None = None) -> None:
        """`store`: an open store to use (and leave open at stop), else one is opened by
        start(). `carry`: the previous term of the same pair member (tierwatch/pair.py): its
        live state, /metrics registry and exporter go on, so the first poll of a new
        leader compares with what was last known, not with nothing."""
        if shard is not None and tier_only:
            raise ValueError("an instance is either a shard or the tier instance, not both")
        self.given = config
        self.shard = shard
        self.tier_only = tier_only
        self.instance = shard.instance if shard else ("tier" if tier_only else "main")
        # every device's name, also those another shard polls (LLDP recognises neighbours)
        device_names = {d.id: d.name or d.id for d in config.devices}
        if shard is not None:
            config = shard.share(config)
        self.config = config
        self.clock = clock
        self.state: State
        self.metrics: MetricsRegistry
        self.exporter: MetricsExporter
        if carry is not None:
            self.state, self.metrics, self.exporter = carry.state, carry.metrics, carry.exporter
        else:
            self.state = State(config.device_ids(), config.snmp.unreachable_after)
            self.metrics = MetricsRegistry()
            # the tier instance's device series would repeat the shards': it serves tier
            # metrics
            self.exporter = MetricsExporter(self.state, self.metrics,
                                            device_series=not tier_only)
        self.store: Store | None = store  # else opened by start(): a one-off poll needs none
        self._own_store = store is None
        # what the shared state and registry held before this term's components started:
        # stop() leaves them so (a pair member's next term subscribes afresh)
        self._marks: tuple[StateMark, int] | None = None
        self.runtime: Runtime | None = None
        self.started_at: float | None = None

        # the collector: what this instance polls (the tier instance polls nothing)
        polled = _nothing_polled(config) if tier_only else config
        # in this process, or from worker processes (`snmp.workers`, collector/snmp/workers.py)
        self.snmp = snmp_polling(polled.snmp, polled.credentials, polled.devices)
        self.agents = AgentScraper(polled.agents) if polled.agents.hosts else None
        self.probes = (ProbeRunner(polled.probes, self.state)
                       if polled.probes.links or polled.probes.sites else None)
        self.modbus = ModbusPolling(polled.modbus) if polled.modbus.devices else None
        self.pollers: list[DevicePoller] = [
            p for p in (self.snmp, self.agents, self.probes, self.modbus) if p is not None]
        self.directory = DeviceDirectory(config.devices, config.agents, config.probes,
                                         self.snmp.profiles, modbus=config.modbus)
        self.traps = (TrapsComponent(config.traps, devices=polled.devices,
                                     credentials=config.credentials,
                                     profiles=self.snmp.profiles,
                                     profile_dirs=config.snmp.profile_dirs)
                      if config.traps.enabled and not tier_only else None)

        # network health: interface rates from every poll (each instance its own devices),
        # LLDP checked against the declared ports (each instance those on its devices, the
        # verdicts written to the store); the tier instance reads the shards' verdicts back
        ports = port_bindings(config.topology)
        polled_ids = {d.id for d in config.devices}
        self.nethealth = (NetHealth(config.nethealth,
                                    [b for b in ports if b.device in polled_ids], device_names)
                          if config.nethealth.enabled and not tier_only else None)
        self.shared_verdicts = (SharedVerdicts(ports)
                                if config.nethealth.enabled and tier_only and ports else None)
        verdicts = self.nethealth or self.shared_verdicts
        # the power room: fuel, PUE, feed headroom, forecast. One instance runs it, never a
        # shard: on a sharded site, the tier instance, from the readings the shards publish
        self.power = (PowerComponent(config.power, config.topology, config.tier.target,
                                     tier=self._tier_snapshot)
                      if config.power.enabled and shard is None else None)
        power = self.power
        # the Tier engine scores the whole picture: one instance runs it, never a shard;
        # links LLDP does not see where declared are not counted as paths; the readiness
        # score's fuel part is the power room's autonomy
        self.live = (LiveTier(config.topology, config.tier,
                              unverified_edges=(verdicts.unverified_edges
                                                if verdicts is not None else None),
                              fuel_hours=power.fuel_hours if power is not None else None)
                     if shard is None and config.topology.node_ids() else None)
        if self.live is not None and verdicts is not None:
            verdicts.subscribe(self.live.nudge)
        # maintenance windows checked against redundancy when they start (issue 18)
        self.guard = MaintenanceGuard(self.live) if self.live is not None else None

        # the rooms that read what the others publish
        self.influx = InfluxExporter(config.influx) if config.influx.enabled else None
        if self.influx is not None and self.live is not None and config.influx.write.tier:
            self.live.subscribe(self.influx.on_snapshot)
        self.alerts = (AlertsComponent(config.alerts, devices=lambda: list(self.directory),
                                       warm_after=self.snmp.longest_interval(),
                                       profile_dirs=config.snmp.profile_dirs)
                       if config.alerts.enabled else None)
        self.mailer = EmailSender(config.alerts.smtp) if config.alerts.smtp else None
        self.reports = (ReportScheduler(report_settings(config, self._diagram), self.mailer)
                        if config.reports.schedule and shard is None else None)
        # e-government services: checked by this instance (not by a shard nor the tier
        # instance), bound to the live tier's infrastructure when there is one
        topo_services = config.topology.services
        self.services = (ServicesComponent(
            config.services, topo_services,
            config.source.parent if config.source else None,
            with_infrastructure=self.live is not None)
            if (topo_services.nodes or config.services.checks) and shard is None
            and not tier_only else None)
        if self.services is not None and self.live is not None:
            services = self.services
            self.live.subscribe(lambda snap: services.on_tier(snap.tier, snap.ts, snap.settled))
        # sweeps from the API (POST /api/v1/discover) with this instance's credentials
        self.discovery = (Discovery(config.snmp, config.credentials, config.devices)
                          if not tier_only else None)
        self.components: list[Component] = []

    # ------------------------------------------------------------------ polling

    async def poll_once(self, device_id: str) -> PollResult:
        """Poll a device now (SNMP, host agent or probe) and fold the result into the state.
        Raises KeyError for a device no poller of this instance owns."""
        for poller in self.pollers:
            if device_id in poller.device_ids():
                result = await poller.poll(device_id)
                self.state.update(result)
                return result
        raise KeyError(device_id)

    def _diagram(self, lang: str) -> str | None:
        """The one-line diagram of the live state now, in `lang` (for the monthly report)."""
        snap = self.live.snapshot if self.live is not None else None
        if snap is None:
            return None
        return live_diagram(self.config.topology, snap.tier, snap.pending,
                            {n: r.reason for n, r in snap.readings.items()},
                            self.power.view if self.power is not None else None, lang,
                            self.config.site.timezone)

    def _tier_snapshot(self) -> TierSnapshot | None:
        snap = self.live.snapshot if self.live is not None else None
        return None if snap is None else snap.tier

    def ready(self) -> bool:
        return self.state.first_round_done()

    def api_context(self) -> ApiContext:
        """What the API reads and acts through."""
        return ApiContext(
            config=self.config, state=self.state, exporter=self.exporter,
            devices=self.directory, reports=report_settings(self.config, self._diagram),
            store=lambda: self.store, ready=self.ready, live=self.live, alerts=self.alerts,
            mailer=self.mailer, services=self.services,
            network=self.nethealth or self.shared_verdicts, power=self.power,
            discovery=self.discovery)

    # ------------------------------------------------------------------ lifetime

    def successor(self) -> Service:
        """A fresh set of components for this pair member's next term, on the same store,
        state and /metrics (components are started once: a new term builds new ones)."""
        return Service(self.given, shard=self.shard, tier_only=self.tier_only,
                       clock=self.clock, store=self.store if not self._own_store else None,
                       carry=self)

    def _open(self) -> Runtime:
        if self.runtime is not None:
            return self.runtime
        self.started_at = self.clock()
        if self.store is None:
            self.store = Store.open(self.config.store.resolved_url())
        self._marks = (self.state.mark(), self.metrics.mark())
        self.runtime = Runtime(
            site=self.config.site, state=self.state, store=self.store, metrics=self.metrics,
            scheduler=Scheduler(self.config.site.timezone), instance=self.instance,
            clock=self.clock, poll_now=self.poll_once, ready=self.ready)
        self.runtime.scheduler.start()
        return self.runtime

    async def start_standby(self) -> None:
        """The standby of a pair: poll, record and page nothing; keep the live state warm
        from what the leader writes to the store (as the tier instance mirrors shards)."""
        runtime = self._open()
        # the leader serves the devices' series: Prometheus scrapes both members, and the
        # standby's mirror of them would count every device twice and fire every rule twice
        self.exporter.device_series = False
        feed = StoreFeed(runtime.store)
        self.components = [feed]
        await feed.start(runtime)

    async def start(self) -> None:
        """Start every component (a single instance, a shard, the tier instance, or a
        pair's leader: after start_standby(), whose mirror stops first)."""
        runtime = self._open()
        store = runtime.store
        for standing in reversed(self.components):  # the standby's mirror, and its series
            await standing.stop()
        self._forget_components()
        self.exporter.device_series = not self.tier_only
        feed: Component
        if self.tier_only:  # before the Tier engine: its first score sees the shards' statuses
            feed = StoreFeed(store)
        else:
            # what the tier instance needs of the samples: the measured demands and the
            # power room's readings
            feed = StorePublisher(store, self.instance, [
                *((m.device, m.metric) for m in demand_bindings(self.config.topology).values()),
                *self.config.power.readings()], statuses=False)
        # in order: what records comes first, what reads what others publish comes last
        self.components = [c for c in (
            History(store, instance=self.instance, record=not self.tier_only,
                    current=not self.tier_only), feed,
            self.shared_verdicts, self.live, self.guard, self.nethealth, self.probes,
            self.agents, self.snmp, self.modbus, self.services, self.power, self.influx,
            self.alerts, self.traps, self.reports, self.discovery) if c is not None]
        for component in self.components:
            await component.start(runtime)

    def _forget_components(self) -> None:
        """The stopped components' state subscriptions and /metrics collectors leave too."""
        if self._marks is not None:
            self.state.forget_since(self._marks[0])
            self.metrics.forget_since(self._marks[1])

    async def stop(self) -> None:
        # pollers used once without start() (`tierwatch poll`) hold sockets too
        unstarted = [p for p in self.pollers if p not in self.components]
        for component in [*reversed(self.components), *unstarted]:
            try:
                await component.stop()
            except Exception:
                log.exception("stopping %r failed", component)
        if self.runtime is not None:
            self.runtime.scheduler.shutdown()
        self._forget_components()
        transport.close_all()
        if self.store is not None and self._own_store:
            self.store.close()


def _nothing_polled(config: Config) -> Config:
    return config.model_copy(update={
        "devices": [],
        "agents": config.agents.model_copy(update={"hosts": []}),
        "probes": config.probes.model_copy(update={"links": [], "sites": []}),
        "modbus": config.modbus.model_copy(update={"devices": []}),
    })
