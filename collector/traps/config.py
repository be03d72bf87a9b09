"""The `traps:` section of tierwatch.yaml: the trap and inform receiver.

    traps:
      enabled: true
      listen: 0.0.0.0:1162          # 162 needs privileges: redirect it, or CAP_NET_BIND_SERVICE
      communities: [dc-traps]       # v1/v2c entries of `credentials:`
      users: [{credentials: ops-v3, engine_ids: [80001f8880...]}]
      sources: {10.10.0.99: ups-a}  # a device that sends from another address
      forwarders: [10.20.9.0/29]    # relays: snmpTrapAddress believed from these only

(Until this release the section lived under `alerts.traps`; that place is still read, with a
deprecation warning from `tierwatch check`.)
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from pydantic import Field, field_validator, model_validator

from collector.config import CredentialConfig
from tierwatch.core.configtypes import Duration, Strict, split_host_port


class TrapUserConfig(Strict):
    credentials: str  # a version 3 entry of `credentials`
    # engine ids of the agents that send traps as this user (informs need none)
    engine_ids: list[str] = Field(default_factory=list)

    @field_validator("engine_ids")
    @classmethod
    def _hex(cls, value: list[str]) -> list[str]:
        for engine_id in value:
            text = engine_id.lower().removeprefix("0x")
            if not re.fullmatch(r"([0-9a-f]{2}){5,32}", text):
                raise ValueError(f"{engine_id!r} is not an engine id (10 to 64 hex digits)")
        return value


class TrapsConfig(Strict):
    enabled: bool = False
    listen: str = "0.0.0.0:162"
    communities: list[str] = Field(default_factory=list)  # v1/v2c entries of `credentials`
    users: list[TrapUserConfig] = Field(default_factory=list)
    engine_id: str | None = None  # this receiver's own (for v3 informs); default: generated
    # trap source address -> device id, where a device sends from another address than the
    # one it is polled at (or several devices share one)
    sources: dict[str, str] = Field(default_factory=dict)
    # addresses (or networks) of trap forwarders (a relay, another receiver): only their
    # traps are attributed by snmpTrapAddress.0 (a v1 trap's agent-addr); anyone else's trap
    # belongs to the device it comes from, whatever it claims
    forwarders: list[str] = Field(default_factory=list)
    rate: float = Field(default=200.0, gt=0)  # traps per second, per source, sustained
    burst: int = Field(default=1000, ge=1)  # ... and in a burst
    max_sources: int = Field(default=4096, ge=1)  # sources whose buckets are remembered
    global_rate: float = Field(default=1000.0, gt=0)  # traps per second from all sources
    global_burst: int = Field(default=5000, ge=1)  # ... and in a burst
    queue: int = Field(default=10_000, ge=1)  # traps waiting to be applied
    poll_on_trap: bool = True  # confirm each trap with an immediate poll of the device
    # a trap sets a component's status at most once in this time; later traps about it
    # wait for the confirming poll (a flood of stale or forged traps cannot flap it)
    hold_down: Duration = 300.0
    # trap events in the store: the newest `max_events`, none older than `retention`
    retention: Duration = 30 * 86400.0
    max_events: int = Field(default=100_000, ge=1)

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        split_host_port(value, default_port=162)
        return value

    @field_validator("forwarders")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for text in value:
            try:
                ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise ValueError(f"{text!r} is not an address or a network (CIDR)") from None
        return value

    @model_validator(mode="after")
    def _someone(self) -> TrapsConfig:
        if self.enabled and not (self.communities or self.users):
            raise ValueError("traps need communities or users to accept")
        return self


def check_traps(section: TrapsConfig, credentials: Mapping[str, CredentialConfig],
                device_ids: Collection[str]) -> list[tuple[str, str]]:
    """References from `traps:` to the credentials and devices."""
    problems: list[tuple[str, str]] = []
    for address, device_id in section.sources.items():
        if device_id not in device_ids:
            problems.append((f"traps.sources.{address}", f"unknown device {device_id!r}"))
    for i, name in enumerate(section.communities):
        cred = credentials.get(name)
        if cred is None:
            problems.append((f"traps.communities[{i}]", f"unknown credentials {name!r}"))
        elif cred.version == "3":
            problems.append((f"traps.communities[{i}]",
                             f"{name!r} is version 3: list it under users"))
    for i, user in enumerate(section.users):
        cred = credentials.get(user.credentials)
        if cred is None:
            problems.append((f"traps.users[{i}].credentials",
                             f"unknown credentials {user.credentials!r}"))
        elif cred.version != "3":
            problems.append((f"traps.users[{i}].credentials",
                             f"{user.credentials!r} is version {cred.version}: list it under "
                             "communities"))
    return problems
