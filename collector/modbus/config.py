"""The `modbus:` section of tierwatch.yaml: Modbus TCP devices and how they are polled.

    modbus:
      defaults: {interval: 30s, timeout: 2s, retries: 1}
      devices:
        - {id: gen-1, name: G1, address: 10.10.5.21:502, unit: 1, profile: genset-controller}
        - {id: meter-main, address: 10.10.5.30, profile: power-meter}

A section of its own rather than `devices:` with a `modbus://` address: a Modbus device
has no credentials and no `profile: auto` (Modbus has no sysObjectID), but it has a unit id
and register maps of another schema; one model per protocol keeps each strict (an SNMP key
on a Modbus device is an error, not ignored). The ids share one namespace with every other
device (tierwatch/config.py checks it), so a topology node binds to a Modbus device the
same way: `device: gen-1`.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field, field_validator

from tierwatch.core.configtypes import (
    DeviceId,
    Duration,
    Interval,
    Labels,
    Strict,
    split_host_port,
)

DEFAULT_PORT = 502


def _profile_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


class ModbusDefaults(Strict):
    interval: Interval = 30.0
    timeout: Duration = 2.0  # per request attempt
    retries: int = Field(default=1, ge=0, le=10)
    # registers of one table closer than this are read in one request
    max_gap: int = Field(default=8, ge=0, le=100)


class ModbusDevice(Strict):
    id: DeviceId
    address: str
    # the unit identifier (a gateway's serial device behind it; 1 or 255 for a TCP device)
    unit: int = Field(default=1, ge=0, le=255)
    profile: Annotated[list[str], BeforeValidator(_profile_list), Field(min_length=1)]
    name: str | None = None
    interval: Interval | None = None
    timeout: Duration | None = None
    retries: int | None = Field(default=None, ge=0, le=10)
    labels: Labels = Field(default_factory=dict)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        split_host_port(value.removeprefix("modbus://"), default_port=DEFAULT_PORT)
        return value

    @property
    def host_port(self) -> tuple[str, int]:
        host, port = split_host_port(self.address.removeprefix("modbus://"),
                                     default_port=DEFAULT_PORT)
        assert port is not None
        return host, port


class ModbusConfig(Strict):
    defaults: ModbusDefaults = ModbusDefaults()
    concurrency: int = Field(default=64, ge=1, le=10_000)
    # extra directories of Modbus profiles, searched before the shipped ones
    profile_dirs: list[Path] = Field(default_factory=list)
    devices: list[ModbusDevice] = Field(default_factory=list)


def check_modbus(modbus: ModbusConfig, other_ids: Collection[str] = ()
                 ) -> list[tuple[str, str]]:
    """Unique ids, known profiles that load (a broken profile file is named with its key)."""
    from collector.modbus.profile import ModbusProfileError, known_profiles, load_profiles

    problems: list[tuple[str, str]] = []
    known = known_profiles(modbus.profile_dirs)
    seen: dict[str, int] = {}
    for i, device in enumerate(modbus.devices):
        key = f"modbus.devices[{i}]"
        if device.id in seen:
            problems.append((f"{key}.id", f"duplicate device id {device.id!r} "
                                          f"(first at modbus.devices[{seen[device.id]}])"))
        seen.setdefault(device.id, i)
        unknown = [n for n in device.profile if n not in known]
        if unknown:
            problems.append((f"{key}.profile", f"unknown Modbus profile {unknown[0]!r} "
                                               f"(known: {', '.join(sorted(known))})"))
            continue
        try:
            load_profiles(device.profile, modbus.profile_dirs)
        except ModbusProfileError as exc:
            problems.append((f"{key}.profile", str(exc)))
    return problems
