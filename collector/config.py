"""The collector's SNMP sections of tierwatch.yaml: `snmp:`, `credentials:`, `devices:`.

    snmp:
      engine: native               # native (default) | pysnmp | snmpkit (extra tierwatch[fast])
      workers: auto                # poll processes: auto | 1 (in this process) | 2 ...
      defaults: {interval: 30s, timeout: 2s, retries: 1, max_repetitions: 25}
    credentials:
      ops-v3: {version: 3, user: ops, auth_protocol: SHA, auth_key: ${SNMP_AUTH}, ...}
    devices:
      - {id: ups-a, address: 10.10.0.11, credentials: ops-v3, profile: auto}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator

from collector.discovery.config import DiscoveryConfig
from collector.snmp.client import Credentials
from tierwatch.core.configtypes import (
    Duration,
    Interval,
    Strict,
    check_device_id,
    check_label_names,
    reveal,
    split_host_port,
)

MAX_WORKERS = 64


def _version(value: object) -> str:
    text = str(value).strip().lower().removeprefix("v")
    if text in ("1", "2c", "3"):
        return text
    if text == "2":
        return "2c"
    raise ValueError("SNMP version must be 1, 2c or 3")


def _workers(value: object) -> object:
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_WORKERS:
        return value
    raise ValueError(f"workers must be auto or a whole number from 1 to {MAX_WORKERS}")


# --------------------------------------------------------------------------- sections



class SnmpDefaults(Strict):
    interval: Interval = 30.0
    timeout: Duration = 2.0  # per request attempt
    retries: int = Field(default=1, ge=0, le=10)
    max_repetitions: int = Field(default=25, ge=1, le=200)
    # a walk that returns more rows than this is cut and counted (an agent that never ends)
    max_rows: int = Field(default=100_000, ge=1)


class SnmpConfig(Strict):
    # native: our own v1/v2c/v3 codec (fast); pysnmp: the reference; snmpkit: optional (AGPL)
    engine: Literal["native", "pysnmp", "snmpkit"] = "native"
    defaults: SnmpDefaults = SnmpDefaults()
    # poll processes (collector/snmp/workers.py): `auto` is one per core when the devices
    # offer enough polls to be worth it (collector/snmp/workershare.py), else 1; 1 polls
    # in this process; 2 or more start that many worker processes, each its own share
    workers: Annotated[Literal["auto"] | int, BeforeValidator(_workers)] = "auto"
    # polls in flight at once over all devices (per worker process when there are several)
    concurrency: int = Field(default=64, ge=1, le=10_000)
    # consecutive failed polls before a device is declared unreachable (status unknown)
    unreachable_after: int = Field(default=3, ge=1, le=100)
    # random delay added to each device's first poll, as a share of its interval
    jitter: float = Field(default=0.1, ge=0.0, le=1.0)
    # extra directories of profile files, searched before the shipped ones
    profile_dirs: list[Path] = Field(default_factory=list)
    # directories of MIB files `tierwatch profile new` compiles from (never a download)
    mib_dirs: list[Path] = Field(default_factory=list)
    # what POST /api/v1/discover may sweep (collector/discovery/config.py)
    discovery: DiscoveryConfig = DiscoveryConfig()


class CredentialConfig(Strict):
    version: Annotated[Literal["1", "2c", "3"], BeforeValidator(_version)]
    community: SecretStr | None = None
    user: str | None = None
    auth_protocol: Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"] | None = None
    auth_key: SecretStr | None = None
    priv_protocol: Literal["DES", "AES", "AES192", "AES256"] | None = None
    priv_key: SecretStr | None = None
    context: str = ""

    @field_validator("auth_protocol", "priv_protocol", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.upper().replace("-", "")
            return {"SHA1": "SHA", "AES128": "AES"}.get(value, value)
        return value

    @model_validator(mode="after")
    def _fields_for_version(self) -> CredentialConfig:
        if self.version in ("1", "2c"):
            if self.community is None:
                raise ValueError(f"version {self.version} needs a community")
            extra = [k for k in ("user", "auth_protocol", "auth_key", "priv_protocol",
                                 "priv_key") if getattr(self, k) is not None]
            if extra:
                verb = "applies" if len(extra) == 1 else "apply"
                raise ValueError(f"{', '.join(extra)} only {verb} to version 3")
        else:
            if not self.user:
                raise ValueError("version 3 needs a user")
            if self.community is not None:
                raise ValueError("community does not apply to version 3 (use user and keys)")
            if (self.auth_protocol is None) != (self.auth_key is None):
                raise ValueError("auth_protocol and auth_key go together")
            if (self.priv_protocol is None) != (self.priv_key is None):
                raise ValueError("priv_protocol and priv_key go together")
            if self.priv_protocol and not self.auth_protocol:
                raise ValueError("privacy needs authentication (authPriv)")
        return self


def _profile_list(value: object) -> object:
    if isinstance(value, str):
        return [value]
    return value


class DeviceConfig(Strict):
    id: str
    address: str
    credentials: str
    profile: Annotated[list[str], BeforeValidator(_profile_list), Field(min_length=1)] = [  # noqa: RUF012 (pydantic copies defaults)
        "auto"]
    name: str | None = None
    interval: Interval | None = None
    timeout: Duration | None = None
    retries: int | None = Field(default=None, ge=0, le=10)
    max_repetitions: int | None = Field(default=None, ge=1, le=200)
    # extra labels put on every sample of this device (room, rack, owner ...)
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return check_device_id(value)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        split_host_port(value.removeprefix("udp://"), default_port=161)
        return value

    @field_validator("labels")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        return check_label_names(value)

    @property
    def host_port(self) -> tuple[str, int]:
        host, port = split_host_port(self.address.removeprefix("udp://"), default_port=161)
        assert port is not None
        return host, port


def resolved_credentials(credentials: Mapping[str, CredentialConfig], name: str) -> Credentials:
    """Credentials with secrets read from the environment (checked at load)."""
    cred = credentials[name]
    return Credentials(
        version=cred.version,
        community=reveal(cred.community),
        user=cred.user or "",
        auth_protocol=cred.auth_protocol,
        auth_key=reveal(cred.auth_key),
        priv_protocol=cred.priv_protocol,
        priv_key=reveal(cred.priv_key),
        context=cred.context,
    )


def check_snmp(snmp: SnmpConfig, credentials: Mapping[str, CredentialConfig],
               devices: Sequence[DeviceConfig]) -> list[tuple[str, str]]:
    """What one field cannot check: unique ids, known credentials and profiles, and an
    engine that can be imported."""
    from collector.profiles import known_profiles  # deferred: profiles load YAML files
    from collector.snmp.client import EngineUnavailable, engine_factory

    problems: list[tuple[str, str]] = []
    try:
        engine_factory(snmp.engine)
    except EngineUnavailable as exc:
        problems.append(("snmp.engine", str(exc)))
    seen: dict[str, int] = {}
    known = known_profiles(snmp.profile_dirs)
    for i, device in enumerate(devices):
        key = f"devices[{i}]"
        if device.id in seen:
            problems.append((f"{key}.id", f"duplicate device id {device.id!r} "
                             f"(first at devices[{seen[device.id]}])"))
        seen.setdefault(device.id, i)
        if device.credentials not in credentials:
            names = ", ".join(sorted(credentials)) or "none defined"
            problems.append((f"{key}.credentials",
                             f"unknown credentials {device.credentials!r} (known: {names})"))
        for j, name in enumerate(device.profile):
            if name == "auto":
                if len(device.profile) > 1:
                    problems.append((f"{key}.profile[{j}]",
                                     "'auto' cannot be combined with other profiles"))
            elif name not in known:
                problems.append((f"{key}.profile[{j}]" if len(device.profile) > 1
                                 else f"{key}.profile",
                                 f"unknown profile {name!r} (known: {', '.join(sorted(known))})"))
    return problems
