"""The collector's SNMP part of a running tierwatch: every device polled on its interval.

Each device is polled by the poll schedule (collector/snmp/pollschedule.py; first run spread
by jitter). A poll still running at the next tick is skipped and counted, never queued; a
semaphore bounds the polls in flight; each poll has a timeout; one device's failure is a
counted error, never a stopped loop. `poll(device_id)` is one poll with nothing recorded:
`tierwatch poll` uses it alone, the service folds its result into the state.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from collector.config import CredentialConfig, DeviceConfig, SnmpConfig, resolved_credentials
from collector.profiles import choose_auto, detect_oids, load_profiles
from collector.snmp.client import (
    SnmpClient,
    SnmpError,
    SnmpResponseError,
    Target,
    engine_factory,
)
from collector.snmp.metrics import SnmpEngineCollector
from collector.snmp.poller import PollPlan, PollResult, poll
from collector.snmp.pollschedule import PollSchedule
from tierwatch.core.runtime import Runtime

log = logging.getLogger(__name__)

SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"


@dataclass
class DeviceRuntime:
    config: DeviceConfig
    target: Target
    client: SnmpClient
    interval: float
    base_labels: dict[str, str]
    plan: PollPlan | None = None  # None until `profile: auto` has been resolved
    profiles: list[str] = field(default_factory=list)
    running: bool = False


def build_target(snmp: SnmpConfig, credentials: Mapping[str, CredentialConfig],
                 device: DeviceConfig) -> Target:
    host, port = device.host_port
    d = snmp.defaults
    return Target(
        host=host,
        port=port,
        credentials=resolved_credentials(credentials, device.credentials),
        timeout=device.timeout or d.timeout,
        retries=d.retries if device.retries is None else device.retries,
        max_repetitions=device.max_repetitions or d.max_repetitions,
        max_rows=d.max_rows,
    )


def poll_deadline(runtime: DeviceRuntime) -> float:
    """Seconds one poll of the device may take. A poll gets its interval, and at least the
    time one request needs to fail (timeout x attempts) plus a margin, so an unreachable
    device is reported as a timeout rather than cut short. Polls that overrun make the next
    tick skip."""
    attempt_budget = runtime.target.timeout * (runtime.target.retries + 1)
    return max(runtime.interval, attempt_budget * 2 + 1.0)


class SnmpPolling:
    """The SNMP devices of one instance (all of them, or a shard's share)."""

    def __init__(self, snmp: SnmpConfig, credentials: Mapping[str, CredentialConfig],
                 devices: Sequence[DeviceConfig]) -> None:
        self.snmp = snmp
        self.devices: dict[str, DeviceRuntime] = {}
        self.polls = PollSchedule(self._poll_job, self._skipped)
        self._semaphore = asyncio.Semaphore(snmp.concurrency)
        self._defects_logged: set[tuple[str, str]] = set()  # (device, exception type)
        # where each poll's result and each skipped tick go: the state (start) or, in a poll
        # worker process, the pipe to the service (start_schedule)
        self._on_result: Callable[[PollResult], object] | None = None
        self._on_skipped: Callable[[str], object] | None = None
        self._may_poll: Callable[[], bool] | None = None
        factory = engine_factory(snmp.engine)
        for device in devices:
            target = build_target(snmp, credentials, device)
            auto = device.profile == ["auto"]
            self.devices[device.id] = DeviceRuntime(
                config=device,
                target=target,
                client=factory(target),
                interval=device.interval or snmp.defaults.interval,
                base_labels={"device": device.id, **device.labels},
                profiles=[] if auto else list(device.profile),
                plan=None if auto else PollPlan(load_profiles(device.profile,
                                                              snmp.profile_dirs)),
            )

    def device_ids(self) -> Collection[str]:
        return self.devices.keys()

    def profiles(self) -> Mapping[str, list[str]]:
        """Each device's profiles (for `profile: auto`, once resolved)."""
        return {k: v.profiles for k, v in self.devices.items()}

    def longest_interval(self) -> float:
        return max((r.interval for r in self.devices.values()), default=0.0)

    # ------------------------------------------------------------------ polling

    async def _resolve_auto(self, runtime: DeviceRuntime) -> None:
        try:
            got = await runtime.client.get([SYS_OBJECT_ID,
                                            *detect_oids(self.snmp.profile_dirs)])
        except SnmpResponseError:  # SNMPv1: one unknown OID fails the whole request
            got = await runtime.client.get([SYS_OBJECT_ID])
        oid = got.get(SYS_OBJECT_ID)
        names = choose_auto(oid if isinstance(oid, str) else "", got,
                            self.snmp.profile_dirs).profiles
        runtime.profiles = names
        runtime.plan = PollPlan(load_profiles(names, self.snmp.profile_dirs))
        log.info("device %s: sysObjectID %s -> profiles %s", runtime.config.id, oid,
                 ", ".join(names))

    async def poll(self, device_id: str) -> PollResult:
        """Poll one device now; nothing is recorded. Raises KeyError for an unknown id."""
        runtime = self.devices[device_id]
        runtime.running = True
        try:
            async with self._semaphore:
                result = await self._poll(runtime)
        finally:
            runtime.running = False
        if not result.ok:
            log.info("poll %s failed (%s): %s", device_id, result.error, result.message)
        return result

    async def _poll(self, runtime: DeviceRuntime) -> PollResult:
        started = time.time()
        deadline = poll_deadline(runtime)
        try:
            async with asyncio.timeout(deadline):
                if runtime.plan is None:
                    await self._resolve_auto(runtime)
                assert runtime.plan is not None
                return await poll(runtime.config.id, runtime.client, runtime.plan,
                                  runtime.base_labels, now=started)
        except TimeoutError:
            return PollResult(runtime.config.id, started, time.time() - started,
                              error="poll_timeout",
                              message=f"poll did not finish within {deadline:g}s")
        except SnmpError as exc:  # from auto resolution
            return PollResult(runtime.config.id, started, time.time() - started,
                              error=exc.reason, message=str(exc))
        except Exception as exc:  # a defect (poll() returns its own errors): counted
            self._log_defect(runtime.config.id, exc)
            return PollResult(runtime.config.id, started, time.time() - started,
                              error="internal",
                              message=f"internal error: {type(exc).__name__}: {exc}")

    async def _poll_job(self, device_id: str) -> None:
        on_result = self._on_result
        assert on_result is not None
        if self._may_poll is not None and not self._may_poll():
            if self._on_skipped is not None:  # (logged by whoever says no, once per burst)
                self._on_skipped(device_id)
            return
        try:
            result = await self.poll(device_id)
        except asyncio.CancelledError:
            return  # shutting down: the poll is abandoned, nothing to record
        except Exception as exc:  # never let one device stop the schedule; count it
            self._log_defect(device_id, exc)
            result = PollResult(device_id, time.time(), error="internal",
                                message=f"internal error: {type(exc).__name__}")
        on_result(result)

    def _log_defect(self, device_id: str, exc: Exception) -> None:
        """The traceback of a defect once per device and exception type, a line after
        that: a fault that repeats every poll must not fill the log (the poll errors
        counter, reason `internal`, counts every one)."""
        key = (device_id, type(exc).__name__)
        if key in self._defects_logged:
            log.warning("poll of %s failed again: %s: %s", device_id, type(exc).__name__, exc)
            return
        self._defects_logged.add(key)
        log.error("poll of %s crashed (logged once; later ones are counted as "
                  "poll errors, reason internal)", device_id, exc_info=exc)

    def _skipped(self, device_id: str) -> None:
        if self._on_skipped is not None:
            self._on_skipped(device_id)
        log.warning("previous poll of %s has not completed; scheduled poll skipped", device_id)

    # ------------------------------------------------------------------ lifetime

    async def start(self, rt: Runtime) -> None:
        if self.devices:  # (the tier instance polls nothing: no engine series)
            rt.metrics.register(SnmpEngineCollector())
        self.start_schedule(rt.state.update, rt.state.count_skipped)

    def start_schedule(self, on_result: Callable[[PollResult], object],
                       on_skipped: Callable[[str], object],
                       may_poll: Callable[[], bool] | None = None) -> None:
        """Poll every device on its interval from now on, on the running loop. A tick when
        `may_poll()` says no (a poll worker whose service has not read its last results)
        is skipped and counted like a tick whose last poll still runs."""
        self._on_result, self._on_skipped = on_result, on_skipped
        self._may_poll = may_poll
        now = asyncio.get_running_loop().time()
        for device_id, runtime in self.devices.items():
            spread = random.uniform(0, self.snmp.jitter * runtime.interval)
            self.polls.add(device_id, runtime.interval, now + spread)
        self.polls.start()

    async def stop(self) -> None:
        await self.polls.stop()
        for runtime in self.devices.values():
            await runtime.client.close()
