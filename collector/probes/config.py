"""The `probes:` section of tierwatch.yaml: the dedicated network's links and agency sites.

    probes:
      interval: 10s              # one round of every check of a target
      timeout: 1s                # per attempt
      window: 10                 # attempts kept per check: loss, latency, jitter
      unreachable_after: 3       # rounds with no answer at all before unreachable
      icmp: auto                 # auto | unprivileged | raw | off
      degraded: {loss: 20%, rtt: 150ms, jitter: 30ms}
      links:
        - id: link-d1-w7a
          name: "Quận 1 - Phường 7, tuyến A"
          checks:
            - icmp: 10.61.7.1
      sites:
        - id: site-w7
          name: "UBND Phường 7"
          checks:
            - icmp: 10.70.7.1
            - tcp: 10.70.7.1:443
          router: edge-w7                  # an SNMP device (devices:)
          uplinks: ["port ge-0/0/0", "port ge-0/0/1"]   # its components, as profiled

Each link and site is a device in the live state with one component per check (and per
uplink); a topology node binds to it with `device: <id>`, or to one check with
`component: "icmp 10.70.7.1"`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from collector.probes.icmp import is_ipv4
from collector.probes.probe import Check, Thresholds
from tierwatch.core.configtypes import (
    DeviceId,
    Duration,
    Interval,
    Labels,
    Strict,
    split_host_port,
)


def _ratio(value: object) -> object:
    """`20%` or 0.2."""
    if isinstance(value, str) and value.strip().endswith("%"):
        return float(value.strip()[:-1]) / 100.0
    return value


Ratio = Annotated[float, BeforeValidator(_ratio), Field(gt=0.0, le=1.0)]
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
                       r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.?$")


def _host(value: str) -> str:
    if is_ipv4(value) or _HOSTNAME.match(value):
        return value
    if ":" in value:
        raise ValueError(f"{value!r}: IPv6 targets are not supported yet (use IPv4)")
    raise ValueError(f"{value!r} is not an IPv4 address or a host name")


def _tcp_target(value: str) -> tuple[str, int]:
    try:
        host, port = split_host_port(value, default_port=None)
    except ValueError:
        port = None
    if not port:
        raise ValueError(f"{value!r}: tcp needs HOST:PORT (port 1-65535)")
    return host, port


class CheckConfig(Strict):
    icmp: str | None = None  # HOST
    tcp: str | None = None  # HOST:PORT
    name: str | None = None  # the component name; default "icmp HOST" / "tcp HOST:PORT"
    timeout: Duration | None = None
    # false: a failing check shows, but does not make its link or site degraded/failed
    rollup: bool = True

    @model_validator(mode="after")
    def _one_method(self) -> CheckConfig:
        if (self.icmp is None) == (self.tcp is None):
            raise ValueError("give exactly one of icmp: HOST or tcp: HOST:PORT")
        if self.icmp is not None:
            _host(self.icmp)
        else:
            assert self.tcp is not None
            host, _ = _tcp_target(self.tcp)
            _host(host)
        return self

    @property
    def default_name(self) -> str:
        return f"icmp {self.icmp}" if self.icmp is not None else f"tcp {self.tcp}"

    def to_check(self, timeout: float) -> Check:
        name = self.name or self.default_name
        if self.icmp is not None:
            return Check(name, "icmp", self.icmp, None, self.timeout or timeout, self.rollup)
        assert self.tcp is not None
        host, port = _tcp_target(self.tcp)
        return Check(name, "tcp", host, port, self.timeout or timeout, self.rollup)


class ProbeTargetConfig(Strict):
    id: DeviceId
    name: str | None = None
    checks: Annotated[list[CheckConfig], Field(min_length=1)]
    router: str | None = None  # the site's edge router, an SNMP device id
    uplinks: list[str] = Field(default_factory=list)  # the router's components to fold in
    interval: Interval | None = None
    timeout: Duration | None = None
    labels: Labels = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique_checks(self) -> ProbeTargetConfig:
        names = [c.name or c.default_name for c in self.checks]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"two checks named {', '.join(map(repr, twice))} (give `name:`)")
        if self.uplinks and self.router is None:
            raise ValueError("uplinks need the router they belong to (router: DEVICE_ID)")
        return self


class DegradedWhen(Strict):
    loss: Ratio = 0.2  # share of the window lost
    rtt: Duration | None = None  # mean round-trip time over the window
    jitter: Duration | None = None


class ProbesConfig(Strict):
    interval: Interval = 10.0
    timeout: Duration = 1.0
    window: int = Field(default=10, ge=2, le=1000)
    unreachable_after: int = Field(default=3, ge=1, le=100)
    icmp: Literal["auto", "unprivileged", "raw", "off"] = "auto"
    # attempts in flight at once over all targets
    concurrency: int = Field(default=512, ge=1, le=100_000)
    degraded: DegradedWhen = DegradedWhen()
    links: list[ProbeTargetConfig] = Field(default_factory=list)
    sites: list[ProbeTargetConfig] = Field(default_factory=list)

    @field_validator("timeout")
    @classmethod
    def _short(cls, value: float) -> float:
        if value > 60:
            raise ValueError("an attempt timeout over 60s is a mistake (use e.g. 1s)")
        return value

    def targets(self) -> list[tuple[str, int, ProbeTargetConfig]]:
        """(section, index, target) for links then sites."""
        return [("links", i, t) for i, t in enumerate(self.links)] + [
            ("sites", i, t) for i, t in enumerate(self.sites)]

    def thresholds(self) -> Thresholds:
        d = self.degraded
        return Thresholds(loss=d.loss, rtt=d.rtt, jitter=d.jitter,
                          fail_after=self.unreachable_after)


def check_probes(section: ProbesConfig, snmp_ids: Collection[str]) -> list[tuple[str, str]]:
    """Cross-references of the probes section: routers are configured SNMP devices."""
    problems: list[tuple[str, str]] = []
    for kind, i, target in section.targets():
        key = f"probes.{kind}[{i}]"
        if target.router is not None and target.router not in snmp_ids:
            problems.append((f"{key}.router", f"unknown device {target.router!r} (the router "
                                              "must be an SNMP device under devices:)"))
        interval = target.interval or section.interval
        for j, check in enumerate(target.checks):
            timeout = check.timeout or target.timeout or section.timeout
            if timeout >= interval:
                problems.append((f"{key}.checks[{j}]", f"timeout {timeout:g}s is not shorter "
                                                       f"than the interval {interval:g}s"))
    return problems
