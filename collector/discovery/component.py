"""Sweeps from the running service (`POST /api/v1/discover`): one at a time, bounded in
addresses, with the service's own credentials, devices and engine; what they found and
what they refused counted on /metrics."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterator, Mapping, Sequence

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from collector.config import CredentialConfig, DeviceConfig, SnmpConfig, resolved_credentials
from collector.discovery.sweep import (
    REFUSAL_REASONS,
    NamedCredentials,
    Sweeper,
    SweepOptions,
    SweepReport,
)
from collector.discovery.targets import TargetError, expand
from tierwatch.core.runtime import Runtime

OUTCOMES = ("found", "no_answer", "bad_answer", "refused")


class DiscoveryBusy(RuntimeError):
    pass


class Discovery:
    def __init__(self, snmp: SnmpConfig, credentials: Mapping[str, CredentialConfig],
                 devices: Sequence[DeviceConfig]) -> None:
        self.snmp = snmp
        self.credentials = dict(credentials)
        self.devices = list(devices)
        self.allowed = snmp.discovery.networks()
        self.max_addresses = snmp.discovery.max_addresses
        self.sweeps = 0
        self.outcomes = dict.fromkeys(OUTCOMES, 0)
        self.refused = dict.fromkeys(REFUSAL_REASONS, 0)
        self._lock = asyncio.Lock()

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    def credential_names(self) -> list[str]:
        return list(self.credentials)

    async def sweep(self, targets: Sequence[str], *, port: int = 161,
                    credentials: Sequence[str] | None = None, timeout: float = 1.0,
                    retries: int = 1, concurrency: int = 64, rate: float = 200.0
                    ) -> SweepReport:
        """Raises TargetError (bad ranges, too many addresses), ValueError (unknown or no
        credentials), DiscoveryBusy (a sweep runs already)."""
        if self.busy:
            raise DiscoveryBusy("a sweep is running; try again when it ends")
        names = list(credentials) if credentials else list(self.credentials)
        unknown = [n for n in names if n not in self.credentials]
        if unknown:
            raise ValueError(f"unknown credentials {', '.join(unknown)} "
                             f"(known: {', '.join(self.credentials) or 'none'})")
        if not names:
            raise ValueError("the config has no credentials to sweep with")
        addresses = expand(targets, default_port=port, limit=self.max_addresses)
        outside = [a for a, _ in addresses if not any(
            ipaddress.ip_address(a) in net for net in self.allowed)]
        if outside:
            allowed = ", ".join(map(str, self.allowed)) or "empty: the service sweeps nothing"
            more = f" (and {len(outside) - 1} more)" if len(outside) > 1 else ""
            raise TargetError(f"{outside[0]}{more} is outside snmp.discovery.allow "
                              f"({allowed})")
        sweeper = Sweeper(
            [NamedCredentials(n, resolved_credentials(self.credentials, n)) for n in names],
            SweepOptions(timeout=timeout, retries=retries, concurrency=concurrency,
                         rate=rate, engine=self.snmp.engine,
                         profile_dirs=tuple(self.snmp.profile_dirs)),
            self.devices)
        async with self._lock:
            report = await sweeper.sweep(addresses)
        self.sweeps += 1
        for outcome, count in report.counts().items():
            self.outcomes[outcome] += count
        for reason, count in report.refused.items():
            self.refused[reason] += count
        return report

    async def start(self, rt: Runtime) -> None:
        rt.metrics.register(DiscoveryCollector(self))

    async def stop(self) -> None:
        return None


class DiscoveryCollector(Collector):
    def __init__(self, discovery: Discovery) -> None:
        self.discovery = discovery

    def collect(self) -> Iterator[Metric]:
        d = self.discovery
        sweeps = CounterMetricFamily("tierwatch_discovery_sweeps",
                                     "Sweeps run from the API (POST /api/v1/discover)")
        sweeps.add_metric([], d.sweeps)
        addresses = CounterMetricFamily(
            "tierwatch_discovery_addresses", "Addresses swept, by what answered there "
            "(found, no_answer, bad_answer: garbage, refused: our credentials refused)",
            labels=["outcome"])
        for outcome in OUTCOMES:
            addresses.add_metric([outcome], d.outcomes[outcome])
        refused = CounterMetricFamily(
            "tierwatch_discovery_refused", "What sweeps refused from agents, by reason "
            "(undecodable_datagram, bad_answer, bad_sys_object_id, bad_text)",
            labels=["reason"])
        for reason in REFUSAL_REASONS:
            refused.add_metric([reason], d.refused[reason])
        yield from (sweeps, addresses, refused)


__all__ = ["Discovery", "DiscoveryBusy", "TargetError"]
