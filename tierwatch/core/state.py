"""The live picture: latest samples, status per device and component, and status changes.

`State.update(result)` folds one poll into the picture and returns the `StatusChange`s it
caused; subscribers (store, alerts, tier engine) receive them as well. Everything here is
in memory and single-threaded (the asyncio loop): no locks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from tierwatch.core.model import (
    DEVICE_COMPONENT,
    ComponentStatus,
    MetricMeta,
    PollResult,
    Sample,
    Status,
    StatusChange,
)

log = logging.getLogger(__name__)

# the device-level condition of a device that stopped answering
UNREACHABLE_CONDITIONS = frozenset({"unreachable"})

# sysUpTime is TimeTicks (1/100 s) in 32 bits: it wraps after 497.1 days
UPTIME_WRAP_SECONDS = 2**32 / 100.0

# how far a host's reported boot time may drift (clock steps) before it counts as a reboot
BOOT_TIME_SLACK_SECONDS = 30.0


@dataclass
class DeviceState:
    id: str
    samples: list[Sample] = field(default_factory=list)
    metadata: Mapping[str, MetricMeta] = field(default_factory=dict)
    components: dict[str, ComponentStatus] = field(default_factory=dict)
    status: Status = Status.UNKNOWN
    status_reason: str = "not polled yet"
    conditions: frozenset[str] = frozenset()
    reachable: bool | None = None  # None until the first poll ends
    consecutive_failures: int = 0
    # when the current run of failed polls began (the first poll not answered): the device
    # has been unreachable since then, the Nth failure only confirms it
    failing_since: float | None = None
    # failed polls before unreachable, when this device's collector sets its own (probes)
    unreachable_after: int | None = None
    last_poll_ts: float | None = None
    last_success_ts: float | None = None
    last_error: str | None = None
    last_error_message: str = ""
    roles: dict[str, float] = field(default_factory=dict)
    # self-metrics
    polls_total: int = 0
    poll_errors_total: dict[str, int] = field(default_factory=dict)
    polls_skipped_total: int = 0
    varbinds_total: int = 0
    last_poll_duration: float | None = None
    reboots_total: int = 0
    last_reboot_ts: float | None = None
    # bumped at the end of every update, so exporters can cache what they render per device:
    # one that reads it before the rest (from another thread) never keeps a half-done update
    generation: int = 0


Listener = Callable[[list[StatusChange]], None]
ResultListener = Callable[[PollResult], None]
DerivedListener = Callable[[str, list[Sample]], None]  # (device id, the derived samples)
# how many listeners of each kind there were (State.mark): a pair member's term
# subscribes its components and drops them at its end (State.forget_since)
StateMark = tuple[int, int, int]


class State:
    def __init__(self, device_ids: Iterable[str] = (), unreachable_after: int = 3) -> None:
        self.devices: dict[str, DeviceState] = {}
        self.unreachable_after = unreachable_after
        self._listeners: list[Listener] = []
        self._result_listeners: list[ResultListener] = []
        self._derived_listeners: list[DerivedListener] = []
        self.set_devices(device_ids)

    # ------------------------------------------------------------------ membership

    def set_devices(self, device_ids: Iterable[str]) -> None:
        """Keep exactly these devices: a device no longer configured vanishes entirely."""
        wanted = list(device_ids)
        for gone in set(self.devices) - set(wanted):
            del self.devices[gone]
        for device_id in wanted:
            self.devices.setdefault(device_id, DeviceState(device_id))

    def set_unreachable_after(self, device_id: str, failures: int) -> None:
        """This device goes unreachable after `failures` failed polls (its collector's own N)."""
        dev = self.devices.get(device_id)
        if dev is not None:
            dev.unreachable_after = failures

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def subscribe_results(self, listener: ResultListener) -> None:
        """Every poll result of a configured device, after it is folded in (exporters that
        keep history, such as InfluxDB, need each poll's samples, not the latest only)."""
        self._result_listeners.append(listener)

    def subscribe_derived(self, listener: DerivedListener) -> None:
        """Every batch of derived samples `add_samples` keeps (interface rates): exporters
        that write each poll's samples (InfluxDB) write these too, as the poll's."""
        self._derived_listeners.append(listener)

    def mark(self) -> StateMark:
        """Where the listeners stand now (a pair member's term begins)."""
        return (len(self._listeners), len(self._result_listeners),
                len(self._derived_listeners))

    def forget_since(self, mark: StateMark) -> None:
        """Drop every listener subscribed since `mark` (the term's components stopped)."""
        del self._listeners[mark[0]:]
        del self._result_listeners[mark[1]:]
        del self._derived_listeners[mark[2]:]

    def _publish(self, changes: list[StatusChange]) -> None:
        if not changes:
            return
        for listener in self._listeners:
            try:
                listener(changes)
            except Exception:  # a broken subscriber must not stop polling
                log.exception("status listener %r failed", listener)

    # ------------------------------------------------------------------ updates

    def update(self, result: PollResult) -> list[StatusChange]:
        dev = self.devices.get(result.device)
        if dev is None:  # removed from the config while its poll was in flight
            return []
        dev.polls_total += 1
        dev.last_poll_ts = result.ts
        dev.last_poll_duration = result.duration
        dev.varbinds_total += result.varbinds
        changes = self._success(dev, result) if result.ok else self._failure(dev, result)
        dev.generation += 1
        self._publish(changes)
        for listener in self._result_listeners:
            try:
                listener(result)
            except Exception:  # a broken subscriber must not stop polling
                log.exception("result listener %r failed", listener)
        return changes

    def _success(self, dev: DeviceState, result: PollResult) -> list[StatusChange]:
        ts = result.ts
        changes: list[StatusChange] = []
        self._detect_reboot(dev, result)
        dev.consecutive_failures = 0
        dev.failing_since = None
        dev.reachable = True
        dev.last_success_ts = ts
        dev.last_error = None
        dev.last_error_message = ""
        dev.samples = result.samples
        dev.metadata = result.metadata

        new = {c.component: c for c in result.components}
        for name, comp in new.items():
            old = dev.components.get(name)
            if old is None or old.status != comp.status or old.conditions != comp.conditions:
                changes.append(StatusChange(dev.id, name, old.status if old else None,
                                            comp.status, comp.reason, ts, comp.conditions))
        for name, old in dev.components.items():
            if name not in new and old.status != Status.UNKNOWN:
                changes.append(StatusChange(dev.id, name, old.status, Status.UNKNOWN,
                                            "no longer reported by the device", ts))
        dev.components = new

        rolled = [c for c in new.values() if c.rollup]
        status = Status.worst([c.status for c in rolled])
        worst = [c for c in rolled if c.status == status and c.status != Status.OK]
        reason = "; ".join(f"{c.component}: {c.reason}" for c in worst) or "all components ok"
        conditions = frozenset().union(*(c.conditions for c in rolled))
        changes.extend(self._set_device_status(dev, status, reason, conditions, ts))
        return changes

    def _failure(self, dev: DeviceState, result: PollResult) -> list[StatusChange]:
        reason = result.error or "error"
        dev.poll_errors_total[reason] = dev.poll_errors_total.get(reason, 0) + 1
        dev.consecutive_failures += 1
        if dev.failing_since is None:
            dev.failing_since = result.ts
        dev.last_error = reason
        dev.last_error_message = result.message
        # samples from an earlier poll are not current: they leave /metrics now. A failed
        # poll may bring current ones of its own (a probe round that got no answer still
        # measured its loss).
        dev.samples = result.samples
        if result.samples:
            dev.metadata = result.metadata
        if dev.consecutive_failures < (dev.unreachable_after or self.unreachable_after):
            return []  # one lost packet is not an outage; statuses hold until N failures
        changes: list[StatusChange] = []
        was = dev.reachable
        dev.reachable = False
        text = f"unreachable: {result.message or reason}"
        # dated from the first poll that went unanswered, not the Nth that confirmed it: an
        # outage's start (and so its length) is then right within one poll interval, as
        # its end is (the first answered poll)
        since = dev.failing_since if dev.failing_since is not None else result.ts
        if was is not False:
            log.warning("device %s unreachable after %d failed polls: %s", dev.id,
                        dev.consecutive_failures, result.message or reason)
        for name, comp in list(dev.components.items()):
            if comp.status != Status.UNKNOWN:
                changes.append(StatusChange(dev.id, name, comp.status, Status.UNKNOWN,
                                            text, since))
            dev.components[name] = ComponentStatus(name, Status.UNKNOWN, text,
                                                   rollup=comp.rollup)
        changes.extend(self._set_device_status(dev, Status.UNKNOWN, text,
                                               UNREACHABLE_CONDITIONS, since))
        return changes

    def _set_device_status(self, dev: DeviceState, status: Status, reason: str,
                           conditions: frozenset[str], ts: float) -> list[StatusChange]:
        first = dev.status_reason == "not polled yet"
        changed = first or dev.status != status or dev.conditions != conditions
        old = None if first else dev.status
        dev.status, dev.status_reason, dev.conditions = status, reason, conditions
        if not changed:
            return []
        return [StatusChange(dev.id, DEVICE_COMPONENT, old, status, reason, ts, conditions)]

    def apply_event(self, device_id: str, component: str, status: Status, reason: str,
                    ts: float, conditions: frozenset[str] = frozenset()) -> list[StatusChange]:
        """A status learnt outside a poll (a trap): applied now, confirmed by the next poll."""
        dev = self.devices.get(device_id)
        if dev is None:
            return []
        old = dev.components.get(component)
        rollup = old.rollup if old else True
        changes: list[StatusChange] = []
        if old is None or old.status != status or old.conditions != conditions:
            changes.append(StatusChange(device_id, component, old.status if old else None,
                                        status, reason, ts, conditions))
        dev.components[component] = ComponentStatus(component, status, reason, conditions,
                                                     rollup)
        rolled = [c for c in dev.components.values() if c.rollup]
        worst = Status.worst([c.status for c in rolled])
        merged = frozenset().union(*(c.conditions for c in rolled))
        changes.extend(self._set_device_status(dev, worst, reason, merged, ts))
        dev.generation += 1
        self._publish(changes)
        return changes

    def mirror(self, device_id: str, *, reachable: bool | None, status: Status, reason: str,
               conditions: frozenset[str], components: Mapping[str, ComponentStatus],
               ts: float, samples: list[Sample] | None = None) -> list[StatusChange]:
        """Take a device's statuses as another instance saw them: the `--tier-only`
        instance polls nothing and mirrors what the shards wrote to the shared store
        (tierwatch/core/storefeed.py). Publishes the changes like a poll would."""
        dev = self.devices.get(device_id)
        if dev is None:
            return []
        dev.last_poll_ts = ts
        dev.reachable = reachable
        if reachable:
            dev.last_success_ts = ts
        if samples is not None:
            dev.samples = samples
        changes: list[StatusChange] = []
        for name, comp in components.items():
            old = dev.components.get(name)
            if old is None or old.status != comp.status or old.conditions != comp.conditions:
                changes.append(StatusChange(device_id, name, old.status if old else None,
                                            comp.status, comp.reason, ts, comp.conditions))
        for name, old in dev.components.items():
            if name not in components and old.status != Status.UNKNOWN:
                changes.append(StatusChange(device_id, name, old.status, Status.UNKNOWN,
                                            "no longer reported", ts))
        dev.components = dict(components)
        changes.extend(self._set_device_status(dev, status, reason, conditions, ts))
        dev.generation += 1
        self._publish(changes)
        return changes

    def add_samples(self, device_id: str, samples: list[Sample],
                    metadata: Mapping[str, MetricMeta]) -> None:
        """Samples a room derives from a device's latest poll (interface rates from its
        counters), kept beside the poll's own until the next poll replaces them all: they
        are the device's series on /metrics, in the rules' view, and a load's measured
        demand may name them. Called by a result subscriber, after the poll is folded in."""
        dev = self.devices.get(device_id)
        if dev is None or not samples:
            return
        dev.samples = [*dev.samples, *samples]
        if not all(name in dev.metadata for name in metadata):
            dev.metadata = {**dev.metadata, **metadata}
        dev.generation += 1
        for listener in self._derived_listeners:
            try:
                listener(device_id, samples)
            except Exception:  # a broken subscriber must not stop the room that derives
                log.exception("derived-samples listener %r failed", listener)

    def count_skipped(self, device_id: str, count: int = 1) -> None:
        dev = self.devices.get(device_id)
        if dev is not None:
            dev.polls_skipped_total += count

    # ------------------------------------------------------------------ reboots

    def _detect_reboot(self, dev: DeviceState, result: PollResult) -> None:
        """sysUpTime went back: a reboot, unless it is the 497-day counter wrap.

        snmpEngineBoots going up, or hrSystemUptime going back too, confirms a reboot. With
        neither, an uptime that was near the wrap point counts as a wrap. A host agent gives
        its boot time instead: a boot time that moved forward is a reboot.
        """
        prev, cur = dev.roles, result.roles
        dev.roles = dict(cur)
        if "boot_time" in prev and "boot_time" in cur:
            # a host's boot time is derived from its clock: NTP steps move it by a little
            if cur["boot_time"] > prev["boot_time"] + BOOT_TIME_SLACK_SECONDS:
                dev.reboots_total += 1
                dev.last_reboot_ts = cur["boot_time"]
                log.warning("device %s rebooted (boot time %.0f, was %.0f)", dev.id,
                            cur["boot_time"], prev["boot_time"])
            return
        if "uptime" not in prev or "uptime" not in cur or cur["uptime"] >= prev["uptime"]:
            return
        if "engine_boots" in prev and "engine_boots" in cur:
            rebooted = cur["engine_boots"] > prev["engine_boots"]
        elif "host_uptime" in prev and "host_uptime" in cur:
            rebooted = cur["host_uptime"] < prev["host_uptime"]
        else:
            near_wrap = prev["uptime"] > UPTIME_WRAP_SECONDS - 86400
            rebooted = not near_wrap
        if rebooted:
            dev.reboots_total += 1
            dev.last_reboot_ts = result.ts - cur["uptime"]
            log.warning("device %s rebooted (uptime %.0fs, was %.0fs)", dev.id, cur["uptime"],
                        prev["uptime"])

    # ------------------------------------------------------------------ reading

    def statuses(self) -> dict[tuple[str, str], ComponentStatus]:
        """(device, component) -> status, the device itself as DEVICE_COMPONENT."""
        out: dict[tuple[str, str], ComponentStatus] = {}
        for dev in self.devices.values():
            out[(dev.id, DEVICE_COMPONENT)] = ComponentStatus(
                DEVICE_COMPONENT, dev.status, dev.status_reason, dev.conditions
            )
            for name, comp in dev.components.items():
                out[(dev.id, name)] = comp
        return out

    def first_round_done(self) -> bool:
        return all(d.last_poll_ts is not None for d in self.devices.values())
