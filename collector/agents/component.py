"""The host-agent component: scrapes every configured agent on the runtime's scheduler.

Each host is a device in the state. One scheduler job per host, exactly as for SNMP
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
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from functools import partial

import httpx
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from collector.agents.config import AgentHostConfig, AgentsConfig
from collector.agents.profile import AgentPlan
from collector.agents.profiles import load_agent_profiles
from collector.agents.scrape import AgentTarget, Scrape, open_client, scrape
from tierwatch.core.configtypes import reveal
from tierwatch.core.model import PollResult
from tierwatch.core.runtime import Runtime
from tierwatch.core.state import State

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
    """The host agents of one instance: a component, and `poll()` for one scrape."""

    def __init__(self, section: AgentsConfig) -> None:
        self.section = section
        self.hosts: dict[str, HostRuntime] = {}
        self._semaphore = asyncio.Semaphore(section.concurrency)
        self._rt: Runtime | None = None
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

    def device_ids(self) -> Collection[str]:
        return self.hosts.keys()

    # ------------------------------------------------------------------ scraping

    def _client(self, runtime: HostRuntime) -> httpx.AsyncClient:
        if runtime.client is None:
            host = runtime.config
            verify: bool | str = str(host.ca_file) if host.ca_file else host.tls_verify
            runtime.client = open_client(verify)
        return runtime.client

    async def poll(self, device_id: str) -> PollResult:
        """Scrape one host now; nothing is recorded. Raises KeyError for an unknown id."""
        runtime = self.hosts[device_id]
        async with self._semaphore:
            out = await scrape(device_id, self._client(runtime), runtime.target, runtime.plan,
                               runtime.base_labels)
        runtime.last = out
        if not out.result.ok:
            log.info("scrape of %s failed (%s): %s", device_id, out.result.error,
                     out.result.message)
        return out.result

    async def _job(self, device_id: str) -> None:
        rt = self._rt
        assert rt is not None
        try:
            result = await self.poll(device_id)
        except asyncio.CancelledError:
            return
        except Exception:  # one host's failure never stops the others; counted and logged
            log.exception("scrape of %s crashed", device_id)
            result = PollResult(device_id, time.time(), error="internal",
                                message="internal error (see log)")
        rt.state.update(result)

    def _skipped(self, device_id: str) -> None:
        if self._rt is not None:
            self._rt.state.count_skipped(device_id)
        log.warning("previous scrape of %s has not completed; scheduled scrape skipped",
                    device_id)

    # ------------------------------------------------------------------ lifetime

    async def start(self, rt: Runtime) -> None:
        self._rt = rt
        rt.metrics.register(AgentMetrics(self, rt.state))
        now = time.time()
        for device_id, runtime in self.hosts.items():
            rt.state.set_unreachable_after(device_id, self.section.unreachable_after)
            spread = random.uniform(0, self.section.jitter * runtime.interval)
            rt.scheduler.every(f"agent:{device_id}", runtime.interval,
                               partial(self._job, device_id), first_at=now + spread,
                               name=f"scrape {device_id}",
                               on_skip=partial(self._skipped, device_id))
        log.info("scraping %d host agents", len(self.hosts))

    async def stop(self) -> None:
        if self._rt is not None:
            for device_id in self.hosts:
                self._rt.scheduler.remove(f"agent:{device_id}")
        for runtime in self.hosts.values():
            if runtime.client is not None:
                await runtime.client.aclose()
                runtime.client = None


class AgentMetrics(Collector):
    """What tierwatch saw of each agent's last answer (size, series), read at scrape time."""

    def __init__(self, scraper: AgentScraper, state: State) -> None:
        self.scraper = scraper
        self.state = state

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
            if last is None or device_id not in self.state.devices:
                continue
            body.add_metric([device_id], last.body_bytes)
            scraped.add_metric([device_id], last.series_scraped)
            kept.add_metric([device_id], last.series_kept)
        yield from (body, scraped, kept)
