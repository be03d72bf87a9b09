"""Builds everything from the config and runs it on one asyncio loop.

Each device is polled on its interval by the poll schedule (tierwatch/pollschedule.py; first
run spread by jitter); everything else (host agents, reports, other rooms' jobs) runs on
APScheduler. A poll still running at the next tick is skipped and counted, never queued; a
semaphore bounds the polls in flight; each poll has a timeout; one device's failure is a
counted error, never a stopped loop. Other rooms (tier, alerts, agents, exporters) attach
as `Component`s.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from collector.profiles import load_profiles, select_auto
from collector.snmp.client import SnmpClient, SnmpError, Target, engine_factory
from collector.snmp.poller import PollPlan, PollResult, poll
from exporters.influx import InfluxExporter
from exporters.prometheus import MetricsExporter
from tierwatch.agents import AgentScraper
from tierwatch.config import Config, DeviceConfig
from tierwatch.pollschedule import PollSchedule
from tierwatch.probes import ProbeRunner
from tierwatch.sharding import Shard
from tierwatch.state import State
from tierwatch.store import Store
from tierwatch.storefeed import StoreFeed, StorePublisher

if TYPE_CHECKING:
    from alerts.component import AlertsComponent
    from collector.snmp.traps import TrapsComponent
    from tierwatch.live import LiveTier

log = logging.getLogger(__name__)

SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"


class Component(Protocol):
    """A part of the service with a lifetime: started after the state, stopped before."""

    async def start(self, service: Service) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class DeviceRuntime:
    config: DeviceConfig
    target: Target
    client: SnmpClient
    interval: float
    base_labels: dict[str, str]
    plan: PollPlan | None = None  # None until `profile: auto` has been resolved
    profiles: list[str] = field(default_factory=list)
    running: bool = False


def build_target(config: Config, device: DeviceConfig) -> Target:
    host, port = device.host_port
    d = config.snmp.defaults
    return Target(
        host=host,
        port=port,
        credentials=config.resolved_credentials(device.credentials),
        timeout=device.timeout or d.timeout,
        retries=d.retries if device.retries is None else device.retries,
        max_repetitions=device.max_repetitions or d.max_repetitions,
        max_rows=d.max_rows,
    )


class Service:
    """One tierwatch instance. Alone it polls every device and runs the Tier engine; with
    `shard` it polls only its share (tierwatch/sharding.py) and leaves the Tier engine to
    the `tier_only` instance, which polls nothing and mirrors the shared store."""

    def __init__(self, config: Config, shard: Shard | None = None,
                 tier_only: bool = False) -> None:
        if shard is not None and tier_only:
            raise ValueError("an instance is either a shard or the tier instance, not both")
        self.shard = shard
        self.tier_only = tier_only
        self.instance = shard.instance if shard else ("tier" if tier_only else "main")
        if shard is not None:
            config = shard.share(config)
        self.config = config
        self.state = State(config.device_ids(), config.snmp.unreachable_after)
        # the tier instance's device series would repeat the shards': it serves tier metrics
        self.exporter = MetricsExporter(self.state, device_series=not tier_only)
        if tier_only:  # everything in the state, nothing polled
            config = _nothing_polled(config)
        self.devices: dict[str, DeviceRuntime] = {}
        self.components: list[Component] = []
        self.scheduler: AsyncIOScheduler | None = None  # agents, reports, other rooms' jobs
        self.polls = PollSchedule(self._poll_job, self._skipped)  # SNMP polls
        self.store: Store | None = None  # opened by start(): a one-off poll needs none
        self.live: LiveTier | None = None  # the live Tier engine, when a topology is configured
        self.alerts: AlertsComponent | None = None  # the built-in alert engine, once started
        self.traps: TrapsComponent | None = None
        self.started_at: float | None = None
        self._semaphore = asyncio.Semaphore(config.snmp.concurrency)
        self._defects_logged: set[tuple[str, str]] = set()  # (device, exception type)
        factory = engine_factory(config.snmp.engine)
        for device in config.devices:
            target = build_target(config, device)
            self.devices[device.id] = DeviceRuntime(
                config=device,
                target=target,
                client=factory(target),
                interval=device.interval or config.snmp.defaults.interval,
                base_labels={"device": device.id, **device.labels},
                profiles=[] if device.profile == ["auto"] else list(device.profile),
            )
            if device.profile != ["auto"]:
                runtime = self.devices[device.id]
                runtime.plan = PollPlan(load_profiles(device.profile,
                                                      config.snmp.profile_dirs))

        # host agents and network probes: devices of their own kind, polled by components
        self.agents: AgentScraper | None = None
        self.probes: ProbeRunner | None = None
        if config.agents.hosts:
            self.agents = AgentScraper(config, self.state)
        if config.probes.links or config.probes.sites:
            self.probes = ProbeRunner(config, self.state)

    def add_component(self, component: Component) -> None:
        self.components.append(component)

    # ------------------------------------------------------------------ polling

    async def _resolve_auto(self, runtime: DeviceRuntime) -> None:
        got = await runtime.client.get([SYS_OBJECT_ID])
        oid = got.get(SYS_OBJECT_ID)
        names = select_auto(oid if isinstance(oid, str) else "", self.config.snmp.profile_dirs)
        runtime.profiles = names
        runtime.plan = PollPlan(load_profiles(names, self.config.snmp.profile_dirs))
        log.info("device %s: sysObjectID %s -> profiles %s", runtime.config.id, oid,
                 ", ".join(names))

    async def poll_once(self, device_id: str) -> PollResult:
        """Poll a device now (SNMP, host agent or probe) and fold the result into the state."""
        if device_id not in self.devices:
            if self.agents is not None and device_id in self.agents.hosts:
                return await self.agents.poll_once(device_id)
            if self.probes is not None and device_id in self.probes.targets:
                return await self.probes.poll_once(device_id)
            raise KeyError(device_id)
        runtime = self.devices[device_id]
        runtime.running = True
        try:
            async with self._semaphore:
                result = await self._poll(runtime)
        finally:
            runtime.running = False
        self.state.update(result)
        if not result.ok:
            log.info("poll %s failed (%s): %s", device_id, result.error, result.message)
        return result

    async def _poll(self, runtime: DeviceRuntime) -> PollResult:
        started = time.time()
        # A poll gets its interval, and at least the time one request needs to fail
        # (timeout x attempts) plus a margin, so an unreachable device is reported as a
        # timeout rather than cut short. Polls that overrun make the next tick skip.
        attempt_budget = runtime.target.timeout * (runtime.target.retries + 1)
        deadline = max(runtime.interval, attempt_budget * 2 + 1.0)
        try:
            async with asyncio.timeout(deadline):
                if runtime.plan is None:
                    await self._resolve_auto(runtime)
                assert runtime.plan is not None
                return await poll(runtime.config.id, runtime.client, runtime.plan,
                                  runtime.base_labels, now=started)
        except TimeoutError:
            return PollResult(runtime.config.id, started, time.time() - started,
                              error="poll_timeout",
                              message=f"poll did not finish within {deadline:g}s")
        except SnmpError as exc:  # from auto resolution
            return PollResult(runtime.config.id, started, time.time() - started,
                              error=exc.reason, message=str(exc))
        except Exception as exc:  # a defect (poll() returns its own errors): counted
            self._log_defect(runtime.config.id, exc)
            return PollResult(runtime.config.id, started, time.time() - started,
                              error="internal",
                              message=f"internal error: {type(exc).__name__}: {exc}")

    async def _poll_job(self, device_id: str) -> None:
        try:
            await self.poll_once(device_id)
        except asyncio.CancelledError:
            return  # shutting down: the poll is abandoned, nothing to record
        except Exception as exc:  # never let one device stop the scheduler; count it
            self._log_defect(device_id, exc)
            self.state.update(PollResult(device_id, time.time(), error="internal",
                                         message=f"internal error: {type(exc).__name__}"))

    def _log_defect(self, device_id: str, exc: Exception) -> None:
        """The traceback of a defect once per device and exception type, a line after
        that: a fault that repeats every poll must not fill the log (the poll errors
        counter, reason `internal`, counts every one)."""
        key = (device_id, type(exc).__name__)
        if key in self._defects_logged:
            log.warning("poll of %s failed again: %s: %s", device_id, type(exc).__name__, exc)
            return
        self._defects_logged.add(key)
        log.error("poll of %s crashed (logged once; later ones are counted as "
                  "poll errors, reason internal)", device_id, exc_info=exc)

    def _on_skipped(self, event: JobEvent) -> None:
        self._skipped(event.job_id)

    def _skipped(self, device_id: str) -> None:
        self.state.count_skipped(device_id)
        log.warning("previous poll of %s has not completed; scheduled poll skipped", device_id)

    # ------------------------------------------------------------------ lifetime

    async def start(self) -> None:
        from tierwatch.history import History

        self.started_at = time.time()
        if self.store is None:
            self.store = Store.open(self.config.store.resolved_url())
        self.components.insert(0, History(self.store, instance=self.instance,
                                          record=not self.tier_only))
        # the Tier engine scores the whole picture: one instance runs it, never a shard
        if self.live is None and self.shard is None and self.config.topology.node_ids():
            from tierwatch.live import LiveTier

            self.live = LiveTier(self.config, self.state, self.store)
        if self.live is not None and self.live not in self.components:
            self.components.insert(1, self.live)  # after History: device rows come first
        if self.tier_only:  # before the Tier engine: its first score sees the shards' statuses
            self.components.insert(1, StoreFeed(self.store, self.state))
        else:
            self.components.insert(1, StorePublisher(self.store, self.instance))
        if self.config.influx.enabled and not any(
                isinstance(c, InfluxExporter) for c in self.components):
            self.components.append(InfluxExporter(self.config.influx))
        for own in (self.agents, self.probes):
            if own is not None and own not in self.components:
                self.components.insert(1, own)
        # alerting last: it reads what the others publish (the live tier's series)
        if self.config.alerts.enabled and self.alerts is None:
            from alerts.component import AlertsComponent

            self.alerts = AlertsComponent(self.config.alerts)
            self.components.append(self.alerts)
        if self.config.alerts.traps.enabled and self.traps is None:
            from collector.snmp.traps import TrapsComponent

            self.traps = TrapsComponent(self.config)
            self.components.append(self.traps)
        # the monthly report reads the whole store: the instance that scores writes it
        if self.config.reports.schedule and self.shard is None:
            from tierwatch.reports import ReportScheduler

            self.components.append(ReportScheduler())
        self.scheduler = AsyncIOScheduler(timezone=self.config.site.timezone)
        self.scheduler.add_listener(self._on_skipped, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
        now = asyncio.get_running_loop().time()
        for device_id, runtime in self.devices.items():
            spread = random.uniform(0, self.config.snmp.jitter * runtime.interval)
            self.polls.add(device_id, runtime.interval, now + spread)
        self.polls.start()
        self.scheduler.start()
        for component in self.components:
            await component.start(self)

    async def stop(self) -> None:
        # agents and probes polled once without start() (`tierwatch poll`) hold sockets too
        unstarted = [c for c in (self.agents, self.probes)
                     if c is not None and c not in self.components]
        for component in [*reversed(self.components), *unstarted]:
            try:
                await component.stop()
            except Exception:
                log.exception("stopping %r failed", component)
        await self.polls.stop()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        for runtime in self.devices.values():
            await runtime.client.close()
        if self.store is not None:
            self.store.close()

    def ready(self) -> bool:
        return self.state.first_round_done()

    def device_profiles(self) -> Mapping[str, list[str]]:
        return {k: v.profiles for k, v in self.devices.items()}


def _nothing_polled(config: Config) -> Config:
    return config.model_copy(update={
        "devices": [],
        "agents": config.agents.model_copy(update={"hosts": []}),
        "probes": config.probes.model_copy(update={"links": [], "sites": []}),
    })

