"""The handle every room's component gets, and what it may do with it.

A component is started with one `Runtime` and nothing else; what it needs from another room
came through its constructor (the wiring in tierwatch/service.py builds both). So a room
never sees the Service, never sets an attribute on another room's object, and a test builds
a real Runtime from real parts (`Runtime.for_tests`) without a type-ignore.

    class Component(Protocol):
        async def start(self, rt: Runtime) -> None: ...
        async def stop(self) -> None: ...

`MetricsRegistry` is what /metrics serves besides the state's series: a room registers its
client_python collectors there (as Home Assistant's `entry.runtime_data`, the handle is
typed; as client_python's `generate_latest(registry)`, the registry is a parameter).
`Scheduler` runs a room's periodic and calendar jobs in the site's time zone; no APScheduler
type leaves this module.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client import CollectorRegistry
from prometheus_client.registry import Collector

from tierwatch.core.configtypes import SiteConfig
from tierwatch.core.model import PollResult
from tierwatch.core.state import State
from tierwatch.core.store import Store

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]


class Component(Protocol):
    """A part of the service with a lifetime: started after the state and the store are
    ready, in the order the wiring lists them; stopped in reverse order."""

    async def start(self, rt: Runtime) -> None: ...

    async def stop(self) -> None: ...


class DevicePoller(Component, Protocol):
    """A component that owns some devices and polls them (SNMP, host agents, probes)."""

    def device_ids(self) -> Collection[str]: ...

    async def poll(self, device_id: str) -> PollResult:
        """Poll the device once and return the result; the caller folds it into the state."""
        ...


class MetricsRegistry:
    """The collectors /metrics reads on every scrape, besides the state's series."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._collectors: list[Collector] = []

    def register(self, collector: Collector) -> None:
        self.registry.register(collector)
        self._collectors.append(collector)

    def unregister(self, collector: Collector) -> None:
        self.registry.unregister(collector)
        self._collectors.remove(collector)

    def mark(self) -> int:
        """How many collectors are registered now (a pair member's term begins)."""
        return len(self._collectors)

    def forget_since(self, mark: int) -> None:
        """Unregister every collector registered since `mark` (the term's rooms stopped)."""
        for collector in self._collectors[mark:]:
            self.unregister(collector)

    def collectors(self) -> Iterator[Collector]:
        """What is registered, in registration order (the alert engine reads them)."""
        yield from list(self._collectors)


class Scheduler:
    """Periodic and calendar jobs on one asyncio loop, in the site's time zone.

    A job still running when it is due again is skipped (never queued) and reported to its
    `on_skip`, as Telegraf reports a collection that has not completed.
    """

    def __init__(self, timezone: str) -> None:
        self.timezone = timezone
        self._scheduler = AsyncIOScheduler(timezone=timezone)
        self._on_skip: dict[str, Callable[[], None]] = {}
        self._scheduler.add_listener(self._skipped, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
        self.running = False

    def _skipped(self, event: JobEvent) -> None:
        on_skip = self._on_skip.get(event.job_id)
        if on_skip is not None:
            on_skip()
        else:
            log.warning("job %s has not completed; its next run is skipped", event.job_id)

    def every(self, job_id: str, seconds: float, job: Job, *, first_at: float | None = None,
              name: str = "", on_skip: Callable[[], None] | None = None) -> None:
        """Run `job` every `seconds`, first at `first_at` (epoch seconds; default now)."""
        if on_skip is not None:
            self._on_skip[job_id] = on_skip
        first = datetime.fromtimestamp(time.time() if first_at is None else first_at,
                                       ZoneInfo(self.timezone))
        self._scheduler.add_job(job, IntervalTrigger(seconds=seconds), id=job_id,
                                name=name or job_id, max_instances=1, coalesce=True,
                                misfire_grace_time=max(1, int(seconds)), next_run_time=first)

    def cron(self, job_id: str, job: Job, *, grace: float = 3600.0, name: str = "",
             **fields: int | str) -> None:
        """Run `job` at the calendar times `fields` name (day=1, hour=6, minute=0 ...)."""
        trigger = CronTrigger(timezone=self.timezone, **fields)
        self._scheduler.add_job(job, trigger, id=job_id, name=name or job_id, max_instances=1,
                                coalesce=True, misfire_grace_time=int(grace))

    def next_run(self, job_id: str) -> datetime | None:
        """When the job runs next (None: no such job, or the scheduler is not started)."""
        job = self._scheduler.get_job(job_id)
        return None if job is None else job.next_run_time

    def next_run_after(self, job_id: str, moment: datetime) -> datetime | None:
        """When the job would run first after `moment` (what a calendar job means)."""
        job = self._scheduler.get_job(job_id)
        return None if job is None else job.trigger.get_next_fire_time(None, moment)

    def remove(self, job_id: str) -> None:
        self._on_skip.pop(job_id, None)
        if self.running and self._scheduler.get_job(job_id) is not None:
            self._scheduler.remove_job(job_id)

    def start(self) -> None:
        if not self.running:
            self._scheduler.start()
            self.running = True

    def shutdown(self) -> None:
        if self.running:
            self._scheduler.shutdown(wait=False)
            self.running = False


async def _no_poller(device_id: str) -> PollResult:
    raise KeyError(device_id)


@dataclass(frozen=True)
class Runtime:
    """What every room may use, and nothing else."""

    site: SiteConfig
    state: State
    store: Store
    metrics: MetricsRegistry
    scheduler: Scheduler
    # which instance this is: "main", "shard-k-of-n" (polls a share), "tier" (scores only)
    instance: str = "main"
    clock: Callable[[], float] = time.time
    # poll a device now, whichever room owns it, and fold the result into the state
    poll_now: Callable[[str], Awaitable[PollResult]] = _no_poller
    # whether the first round of polls is done (everything has been heard from or failed)
    ready: Callable[[], bool] = field(default=lambda: True)

    @property
    def tier_only(self) -> bool:
        return self.instance == "tier"

    @classmethod
    def for_tests(cls, store: Store | None = None, state: State | None = None, *,
                  site: SiteConfig | None = None, metrics: MetricsRegistry | None = None,
                  instance: str = "main",
                  clock: Callable[[], float] = time.time,
                  poll_now: Callable[[str], Awaitable[PollResult]] = _no_poller,
                  ready: Callable[[], bool] = lambda: True) -> Runtime:
        """A runtime from real parts, for a test that starts one component (the store an
        in-memory SQLite one unless given)."""
        site = site or SiteConfig(name="test")
        store = store if store is not None else Store.open("sqlite://")
        return cls(site=site, state=state or State(), store=store,
                   metrics=metrics if metrics is not None else MetricsRegistry(),
                   scheduler=Scheduler(site.timezone), instance=instance, clock=clock,
                   poll_now=poll_now, ready=ready)
