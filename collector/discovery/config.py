"""`snmp.discovery`: what the running service may sweep when asked over the API.

    snmp:
      discovery:
        allow: [10.10.0.0/16, 172.20.0.0/22]   # POST /api/v1/discover stays inside these
        max_addresses: 4096                    # one sweep from the API, at most

An API that makes the monitor send packets to any address is a scanner for whoever holds
an admin token: the service sweeps only inside `allow` (nothing when it is empty, the
default). `tierwatch discover` at a shell is the operator's own act and is not limited.
"""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator

from tierwatch.core.configtypes import Strict


class DiscoveryConfig(Strict):
    allow: list[str] = Field(default_factory=list)
    max_addresses: int = Field(default=4096, ge=1, le=65536)

    @field_validator("allow")
    @classmethod
    def _prefixes(cls, value: list[str]) -> list[str]:
        for text in value:
            try:
                ipaddress.ip_network(text, strict=False)
            except ValueError as exc:
                raise ValueError(f"{text!r}: {exc}") from None
        return value

    def networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(t, strict=False) for t in self.allow]
