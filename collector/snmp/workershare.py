"""How many poll worker processes an instance runs, and which devices each one polls.

The split is a function of the configuration alone: the devices in the order of a stable
hash of their id (tierwatch/core/hashing.py), each dealt to the worker with the least load
so far, a device's load being the polls it asks for a second (1 / its interval). So the
same config gives the same split after every restart (a worker restarted gets the same
devices back, and its SNMPv3 sessions rebuild against the same agents), whatever order the
devices are written in; and the shares differ by at most one device's load: each device
goes to a least loaded worker, so after it the gap between the most and the least loaded
is at most the larger of the gap before and that device's load. With every device on one
interval, the shares differ by at most one device.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from collector.config import DeviceConfig, SnmpConfig
from tierwatch.core.hashing import stable_hash

# `workers: auto` starts worker processes only when the devices offer at least this many
# polls a second (1,500 devices every 30 s): below it, polling costs one process well under
# a tenth of a core (about 2 ms of CPU per 160-varbind poll), and a process per core would
# only add memory (about 60 MB each) and a hop.
AUTO_MIN_POLLS_PER_S = 50.0


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def device_interval(snmp: SnmpConfig, device: DeviceConfig) -> float:
    return device.interval or snmp.defaults.interval


def offered_polls_per_s(snmp: SnmpConfig, devices: Sequence[DeviceConfig]) -> float:
    return sum(1.0 / device_interval(snmp, d) for d in devices)


def worker_count(snmp: SnmpConfig, devices: Sequence[DeviceConfig],
                 cores: int | None = None) -> int:
    """Worker processes to start; 1 means polling in the service's own process."""
    if not devices:
        return 1
    if snmp.workers != "auto":
        return min(snmp.workers, len(devices))
    cores = usable_cores() if cores is None else cores
    # (a sum of 1/interval: 1,500 x 1/30 comes to a hair under 50 in floating point)
    if cores < 2 or offered_polls_per_s(snmp, devices) < AUTO_MIN_POLLS_PER_S - 1e-6:
        return 1
    return min(cores, len(devices))


def split_devices(snmp: SnmpConfig, devices: Sequence[DeviceConfig],
                  count: int) -> list[list[DeviceConfig]]:
    """`count` shares of the devices (see the module's docstring), each in config order."""
    if count < 1:
        raise ValueError("at least one share")
    load = [0.0] * count
    owner: dict[str, int] = {}
    for device in sorted(devices, key=lambda d: (stable_hash(d.id), d.id)):
        least = min(range(count), key=load.__getitem__)  # the lowest index among equals
        owner[device.id] = least
        load[least] += 1.0 / device_interval(snmp, device)
    shares: list[list[DeviceConfig]] = [[] for _ in range(count)]
    for device in devices:
        shares[owner[device.id]].append(device)
    return shares
