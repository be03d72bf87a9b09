"""The Modbus part of a running tierwatch: every Modbus device polled on its interval.

The same schedule semantics as SNMP (collector/snmp/pollschedule.py: first poll spread by
jitter, a poll still running at the next tick is skipped and counted, never queued), the
same state (`State.update`), the same /metrics conventions (the profile's metric names, a
`device` label, the per-device self series). A `DevicePoller`: `poll(device_id)` is one poll
with nothing recorded, so `tierwatch poll gen-1` and a confirming poll route here.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from collector.modbus.client import ModbusClient, TcpModbusClient
from collector.modbus.config import ModbusConfig, ModbusDevice
from collector.modbus.metrics import ModbusCollector, ModbusCounters
from collector.modbus.poller import ModbusPlan, poll
from collector.modbus.profile import load_profiles
from collector.snmp.pollschedule import PollSchedule
from tierwatch.core.model import PollResult
from tierwatch.core.runtime import Runtime

log = logging.getLogger(__name__)

JITTER = 0.1  # share of the interval the first polls are spread over

ClientFactory = Callable[[ModbusDevice, float, int], ModbusClient]


def _tcp(device: ModbusDevice, timeout: float, retries: int) -> ModbusClient:
    host, port = device.host_port
    return TcpModbusClient(host, port, device.unit, timeout, retries)


@dataclass
class _Device:
    config: ModbusDevice
    client: ModbusClient
    plan: ModbusPlan
    interval: float
    timeout: float
    retries: int
    labels: dict[str, str]
    last_message: str = ""


class ModbusPolling:
    """The Modbus devices of one instance."""

    def __init__(self, config: ModbusConfig, client_factory: ClientFactory = _tcp
                 ) -> None:
        self.config = config
        self.counters = ModbusCounters()
        self.devices: dict[str, _Device] = {}
        self.polls = PollSchedule(self._poll_job, self._skipped)
        self._semaphore = asyncio.Semaphore(config.concurrency)
        self._rt: Runtime | None = None
        d = config.defaults
        for device in config.devices:
            timeout = device.timeout or d.timeout
            retries = d.retries if device.retries is None else device.retries
            self.devices[device.id] = _Device(
                config=device, client=client_factory(device, timeout, retries),
                plan=ModbusPlan(load_profiles(device.profile, config.profile_dirs), d.max_gap),
                interval=device.interval or d.interval, timeout=timeout, retries=retries,
                labels={"device": device.id, **device.labels})

    def device_ids(self) -> Collection[str]:
        return self.devices.keys()

    def longest_interval(self) -> float:
        return max((d.interval for d in self.devices.values()), default=0.0)

    async def poll(self, device_id: str) -> PollResult:
        """Poll one device now; nothing is recorded. Raises KeyError for an unknown id."""
        device = self.devices[device_id]
        counters = self.counters
        started = time.time()
        # a poll gets its interval, and at least what every block needs to time out
        deadline = max(device.interval,
                       device.timeout * (device.retries + 1) * len(device.plan.blocks) + 1.0)
        async with self._semaphore:
            try:
                async with asyncio.timeout(deadline):
                    result = await poll(device_id, device.client, device.plan, device.labels,
                                        now=started,
                                        refused=lambda r: counters.refuse(device_id, r))
            except TimeoutError:
                counters.refuse(device_id, "timeout")
                result = PollResult(device_id, started, time.time() - started,
                                    error="poll_timeout",
                                    message=f"poll did not finish within {deadline:g}s")
            except Exception as exc:  # a defect: counted as a poll error, logged once a kind
                log.error("Modbus poll of %s crashed", device_id, exc_info=exc)
                result = PollResult(device_id, started, time.time() - started,
                                    error="internal",
                                    message=f"internal error: {type(exc).__name__}: {exc}")
        counters.registers[device_id] += result.varbinds
        if result.message != device.last_message:  # a problem is logged when it changes
            if result.message:
                log.warning("Modbus %s: %s", device_id, result.message)
            device.last_message = result.message
        return result

    async def _poll_job(self, device_id: str) -> None:
        rt = self._rt
        assert rt is not None
        try:
            result = await self.poll(device_id)
        except asyncio.CancelledError:
            return
        rt.state.update(result)

    def _skipped(self, device_id: str) -> None:
        if self._rt is not None:
            self._rt.state.count_skipped(device_id)
        log.warning("previous Modbus poll of %s has not completed; scheduled poll skipped",
                    device_id)

    async def start(self, rt: Runtime) -> None:
        self._rt = rt
        if self.devices:
            rt.metrics.register(ModbusCollector(self.counters))
        now = asyncio.get_running_loop().time()
        for device_id, device in self.devices.items():
            self.polls.add(device_id, device.interval,
                           now + random.uniform(0, JITTER * device.interval))
        self.polls.start()

    async def stop(self) -> None:
        await self.polls.stop()
        for device in self.devices.values():
            await device.client.close()
