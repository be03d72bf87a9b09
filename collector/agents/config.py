"""The `agents:` section of tierwatch.yaml: host agents scraped over HTTP.

    agents:
      interval: 30s            # defaults for every host
      timeout: 5s              # the whole scrape: connect, headers, body
      max_body: 10MB           # a bigger answer is abandoned and counted (too_large)
      unreachable_after: 3     # failed scrapes in a row before the host is unreachable
      hosts:
        - id: db-01
          url: http://10.20.0.11:9100/metrics
          profile: node-exporter           # or a list: [node-exporter, ...]
          labels: {room: "P.101", rack: R07}
        - id: db-01-bmc
          url: http://127.0.0.1:9290/ipmi?target=10.20.1.11&module=default
          profile: ipmi-exporter
          bearer_token: ${IPMI_EXPORTER_TOKEN}
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, SecretStr, field_validator

from tierwatch.core.configtypes import (
    IN_CLEAR,
    ByteSize,
    DeviceId,
    Duration,
    Interval,
    Labels,
    Strict,
    sent_in_clear,
)


def _list(value: object) -> object:
    return [value] if isinstance(value, str) else value


class AgentHostConfig(Strict):
    id: DeviceId
    url: str
    profile: Annotated[list[str], BeforeValidator(_list), Field(min_length=1)]
    name: str | None = None
    interval: Interval | None = None
    timeout: Duration | None = None
    labels: Labels = Field(default_factory=dict)
    bearer_token: SecretStr | None = None
    tls_verify: bool = True
    ca_file: Path | None = None  # a private CA for the agent's certificate

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r}: an agent url is http(s)://HOST[:PORT]/PATH")
        if parts.username or parts.password:
            raise ValueError("credentials do not go in the url (use bearer_token)")
        return value


class AgentsConfig(Strict):
    interval: Interval = 30.0
    timeout: Duration = 5.0
    max_body: ByteSize = 10_000_000
    unreachable_after: int = Field(default=3, ge=1, le=100)
    # scrapes in flight at once over all hosts
    concurrency: int = Field(default=32, ge=1, le=10_000)
    # random delay added to each host's first scrape, as a share of its interval
    jitter: float = Field(default=0.1, ge=0.0, le=1.0)
    # extra directories of agent profile files, searched before the shipped ones
    profile_dirs: list[Path] = Field(default_factory=list)
    hosts: list[AgentHostConfig] = Field(default_factory=list)


def check_agents(section: AgentsConfig) -> list[tuple[str, str]]:
    """Cross-references of the agents section: profiles exist, CA files are files."""
    from collector.agents.profiles import known_agent_profiles

    problems: list[tuple[str, str]] = []
    known = known_agent_profiles(section.profile_dirs) if section.hosts else {}
    for i, host in enumerate(section.hosts):
        key = f"agents.hosts[{i}]"
        for j, name in enumerate(host.profile):
            if name not in known:
                where = f"{key}.profile[{j}]" if len(host.profile) > 1 else f"{key}.profile"
                problems.append((where, f"unknown agent profile {name!r} "
                                        f"(known: {', '.join(sorted(known))})"))
        if host.ca_file is not None and not host.ca_file.is_file():
            problems.append((f"{key}.ca_file", f"{host.ca_file} is not a file"))
    return problems


def agent_warnings(section: AgentsConfig) -> list[tuple[str, str]]:
    """Bearer tokens that would cross the network in clear."""
    return [(f"agents.hosts[{i}].bearer_token", IN_CLEAR) for i, host in enumerate(section.hosts)
            if host.bearer_token is not None and sent_in_clear(host.url)]
