"""The host-agent component: scrapes every configured agent on the service's scheduler.

Each host is a device in the state. One APScheduler job per host, exactly as for SNMP
devices: interval, first run spread by jitter, a scrape still running at the next tick is
skipped and counted (`tierwatch_polls_skipped_total`), a semaphore bounds the scrapes in
flight. Results go through `State.update()`, so up/down, unreachable-after-N, reboots,
statuses and /metrics behave as for SNMP devices.

Its own metrics: `tierwatch_agent_body_bytes`, `tierwatch_agent_series_scraped`,
`tierwatch_agent_series_kept` per host.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import httpx
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from collector.agents.scrape import AgentTarget, Scrape, open_client, scrape
from collector.agents.config import AgentHostConfig
from collector.agents.profile import AgentPlan
from collector.agents.profiles import load_agent_profiles
from tierwatch.core.configtypes import reveal
from tierwatch.core.model import PollResult
from tierwatch.core.state import State

if TYPE_CHECKING:
    from tierwatch.config import Config
    from tierwatch.service import Service

log = logging.getLogger(__name__)


@dataclass
class HostRuntime:
    config: AgentHostConfig
    target: AgentTarget
    plan: AgentPlan
    base_labels: dict[str, str]
    interval: float
    client: httpx.AsyncClient | None = None
    last: Scrape | None = field(default=None, repr=False)


class AgentScraper:
    """A service component (start/stop), and `poll_once()` for `tierwatch poll`."""

    def __init__(self, config: Config, state: State) -> None:
        section = config.agents
        self.config = config
        self.state = state
        self.hosts: dict[str, HostRuntime] = {}
        self._semaphore = asyncio.Semaphore(section.concurrency)
        self._service: Service | None = None
        for host in section.hosts:
            headers = {}
            if host.bearer_token is not None:
                headers["Authorization"] = f"Bearer {reveal(host.bearer_token)}"
            self.hosts[host.id] = HostRuntime(
                config=host,
                target=AgentTarget(host.url, host.timeout or section.timeout, section.max_body,
                                   headers),
                plan=AgentPlan(load_agent_profiles(host.profile, section.profile_dirs)),
                base_labels={"device": host.id, **host.labels},
                interval=host.interval or section.interval,
            )
            state.set_unreachable_after(host.id, section.unreachable_after)

    # ------------------------------------------------------------------ scraping

    def _client(self, runtime: HostRuntime) -> httpx.AsyncClient:
        if runtime.client is None:
            host = runtime.config
            verify: bool | str = str(host.ca_file) if host.ca_file else host.tls_verify
            runtime.client = open_client(verify)
        return runtime.client

    async def poll_once(self, device_id: str) -> PollResult:
        runtime = self.hosts[device_id]
        async with self._semaphore:
            out = await scrape(device_id, self._client(runtime), runtime.target, runtime.plan,
                               runtime.base_labels)
        runtime.last = out
        self.state.update(out.result)
        if not out.result.ok:
            log.info("scrape of %s failed (%s): %s", device_id, out.result.error,
                     out.result.message)
        return out.result

    async def _job(self, device_id: str) -> None:
        try:
            await self.poll_once(device_id)
        except asyncio.CancelledError:
            return
        except Exception:  # one host's failure never stops the others; counted and logged
            log.exception("scrape of %s crashed", device_id)
            self.state.update(PollResult(device_id, time.time(), error="internal",
                                         message="internal error (see log)"))

    # ------------------------------------------------------------------ lifetime

    async def start(self, service: Service) -> None:
        self._service = service
        service.exporter.register(AgentMetrics(self))
        scheduler = service.scheduler
        assert scheduler is not None, "the service starts its scheduler before components"
        tz = ZoneInfo(self.config.site.timezone)
        now = time.time()
        for device_id, runtime in self.hosts.items():
            spread = random.uniform(0, self.config.agents.jitter * runtime.interval)
            scheduler.add_job(
                self._job, IntervalTrigger(seconds=runtime.interval), args=[device_id],
                id=device_id, name=f"scrape {device_id}", max_instances=1, coalesce=True,
                misfire_grace_time=max(1, int(runtime.interval)),
                next_run_time=datetime.fromtimestamp(now + spread, tz))
        log.info("scraping %d host agents", len(self.hosts))

    async def stop(self) -> None:
        if self._service is not None and self._service.scheduler is not None:
            for device_id in self.hosts:
                try:
                    self._service.scheduler.remove_job(device_id)
                except Exception:  # already gone with the scheduler: nothing to remove
                    log.debug("job %s already removed", device_id)
        for runtime in self.hosts.values():
            if runtime.client is not None:
                await runtime.client.aclose()
                runtime.client = None


class AgentMetrics(Collector):
    """What tierwatch saw of each agent's last answer (size, series), read at scrape time."""

    def __init__(self, scraper: AgentScraper) -> None:
        self.scraper = scraper

    def collect(self) -> Iterator[Metric]:
        body = GaugeMetricFamily("tierwatch_agent_body_bytes",
                                 "Size of the agent's last answer (decompressed)",
                                 labels=["device"])
        scraped = GaugeMetricFamily("tierwatch_agent_series_scraped",
                                    "Series in the agent's last answer", labels=["device"])
        kept = GaugeMetricFamily("tierwatch_agent_series_kept",
                                 "Series tierwatch kept from the agent's last answer",
                                 labels=["device"])
        for device_id, runtime in self.scraper.hosts.items():
            last = runtime.last
            if last is None or device_id not in self.scraper.state.devices:
                continue
            body.add_metric([device_id], last.body_bytes)
            scraped.add_metric([device_id], last.series_scraped)
            kept.add_metric([device_id], last.series_kept)
        yield from (body, scraped, kept)
