"""SNMP traps and informs: a trap becomes an immediate status update, an event and a poll.

The receiver (`trap_receiver.py`, on the native codec) checks and counts every datagram;
this module is what a monitor does with a notification that passed:

* it is attributed to a device: the device whose address it comes from (or an address of
  `alerts.traps.sources`); snmpTrapAddress.0 (a v1 trap's agent-addr) is believed only
  from a configured forwarder (`alerts.traps.forwarders`), so a trap from anywhere else
  cannot speak for a device;
* it is explained by the device's own profiles only (`traps:` in a profile, schema
  `TrapDef` below; includes count): a trap a device's profiles do not declare is recorded
  and confirmed by a poll, and changes nothing;
* bad news sets a component's status at once (`State.apply_event`), at most once per
  `hold_down` per component, so a flood of stale or forged traps cannot flap it; every
  trap is recorded as an event in the store (batched; the newest `max_events` kept, none
  older than `retention`) and confirmed by polling the device straight away;
* nothing a sender does can stop the receiver, grow its memory or fill the log: limits
  before decoding, a bounded queue, rate-limited log lines, store errors counted and
  logged once a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from collector.config import CredentialConfig, DeviceConfig, resolved_credentials
from collector.traps.config import TrapsConfig
from collector.traps.limits import LogLimiter
from collector.traps.notification import SNMP_TRAP_ADDRESS, SNMP_TRAP_OID, SYS_UPTIME
from collector.traps.receiver import DROP_REASONS, RESULTS, TrapMessage, TrapReceiver
from tierwatch.core.configtypes import host_port

if TYPE_CHECKING:
    from prometheus_client.core import Metric

    from tierwatch.core.runtime import Runtime

__all__ = ["DROP_REASONS", "RESULTS", "TrapDef", "TrapMessage", "TrapReceiver",
           "TrapsComponent", "trap_catalog"]

log = logging.getLogger(__name__)

_OID = r"^\d+(\.\d+)+$"
_STORE_LOG_EVERY = 60.0  # a failing store is logged once a minute, not once a batch
_PRUNE_EVERY = 60.0  # time-based retention runs at least this often
_BATCH = 500  # trap events per store write

# --------------------------------------------------------------------------- profile schema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class IndexFrom(_Strict):
    """The row a trap speaks of: the index after `varbind` in the trap's varbinds."""

    varbind: str = Field(pattern=_OID)  # e.g. ifIndex 1.3.6.1.2.1.2.2.1.1
    label: str  # the table's index label (if_index): the row's labels come from the state


class VarbindTest(_Strict):
    varbind: str = Field(pattern=_OID)  # a column: its first varbind in the trap is tested
    in_: list[int | str] = Field(alias="in", min_length=1)


class TrapDef(_Strict):
    """One trap a profile understands (`traps:` in a profile file).

    Several entries may share an OID, with `when` telling them apart: the first whose `when`
    holds (or that has none) applies. A status is applied at once only for bad news (a UPS
    on battery, a link down); good news (power restored, link up) is left to the confirming
    poll, so a stale or reordered trap never flaps an alert to resolved and back.
    """

    name: str
    oid: str = Field(pattern=_OID)  # snmpTrapOID (v1 traps: enterprise.0.specific)
    component: str | None = None  # may use the row's labels: "port {if_name}"
    status: Literal["ok", "degraded", "failed", "unknown"] | None = None  # None: event only
    condition: str | None = None  # the condition it sets (cleared by a status without one)
    reason: str = ""
    index: IndexFrom | None = None
    when: VarbindTest | None = None  # this entry applies only if the varbind says so
    poll: bool = True  # confirm with an immediate poll


@dataclass(frozen=True)
class TrapEntry:
    profile: str
    definition: TrapDef


class TrapCatalogError(Exception):
    pass


def trap_catalog(profile_dirs: Iterable[Path] = ()) -> dict[str, list[TrapEntry]]:
    """snmpTrapOID -> the entries that may explain it, from every profile (site
    directories first)."""
    from collector.profiles import known_profiles, load_profile_file

    catalog: dict[str, list[TrapEntry]] = {}
    problems = []
    for name, path in known_profiles(profile_dirs).items():
        for i, raw in enumerate(load_profile_file(path).definition.traps):
            try:
                definition = TrapDef.model_validate(raw)
            except ValidationError as exc:
                for err in exc.errors(include_url=False, include_input=False):
                    key = ".".join(str(p) for p in err["loc"])
                    problems.append(f"{path}: traps[{i}].{key}: {err['msg']}")
                continue
            if definition.status and not definition.component:
                problems.append(f"{path}: traps[{i}]: a status needs a component")
                continue
            catalog.setdefault(definition.oid, []).append(TrapEntry(name, definition))
    if problems:
        raise TrapCatalogError("\n".join(problems))
    return catalog



# --------------------------------------------------------------------------- attribution

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class _DeviceIndex:
    exact: dict[tuple[str, int], str] = field(default_factory=dict)
    by_host: dict[str, list[str]] = field(default_factory=dict)
    explicit: dict[str, str] = field(default_factory=dict)
    forwarders: list[_Network] = field(default_factory=list)
    _forwarder_seen: dict[str, bool] = field(default_factory=dict)

    def is_forwarder(self, host: str) -> bool:
        if not self.forwarders:
            return False
        known = self._forwarder_seen.get(host)
        if known is None:
            try:
                address = ipaddress.ip_address(host)
                known = any(address in network for network in self.forwarders)
            except ValueError:
                known = False
            if len(self._forwarder_seen) >= 4096:  # spoofed sources: bounded memory
                self._forwarder_seen.clear()
            self._forwarder_seen[host] = known
        return known

    def known(self, host: str) -> bool:
        """Whether traps are taken from this address at all (checked before decoding)."""
        return host in self.explicit or host in self.by_host or self.is_forwarder(host)

    def _named(self, address: str) -> str | None:
        if address in self.explicit:
            return self.explicit[address]
        candidates = self.by_host.get(address, [])
        return candidates[0] if len(candidates) == 1 else None

    def find(self, message: TrapMessage) -> tuple[str | None, str]:
        host, port = message.source
        if self.is_forwarder(host):
            agent = message.varbind(SNMP_TRAP_ADDRESS)
            if isinstance(agent, str) and agent != host:
                named = self._named(agent)
                if named is not None:
                    return named, ""
                if not (host in self.explicit or host in self.by_host):
                    return None, (f"forwarder {host} sent a trap for {agent}, which is no "
                                  "configured device")
        if host in self.explicit:
            return self.explicit[host], ""
        if (host, port) in self.exact:
            return self.exact[(host, port)], ""
        candidates = self.by_host.get(host, [])
        if len(candidates) == 1:
            return candidates[0], ""
        if len(candidates) > 1:
            return None, (f"{host} is the address of {', '.join(sorted(candidates))}: name the "
                          "device in alerts.traps.sources")
        return None, f"{host}:{port} is no configured device"


def _fill(template: str, labels: Mapping[str, str], fallback: str) -> str:
    class _Labels(dict[str, str]):
        def __missing__(self, key: str) -> str:
            return fallback

    try:
        return template.format_map(_Labels(labels))
    except (ValueError, IndexError):
        return template


# --------------------------------------------------------------------------- the component


class TrapsComponent:
    """The receiver wired to the runtime: state, store, polls and /metrics. `devices` are the
    SNMP devices traps are attributed to (by their address); `credentials` the ones the
    section names; `profiles` each device's profiles as polled (`profile: auto` resolves at
    the first poll): a trap changes a device only through traps those declare."""

    def __init__(self, section: TrapsConfig, *, devices: Sequence[DeviceConfig],
                 credentials: Mapping[str, CredentialConfig],
                 profiles: Callable[[], Mapping[str, Sequence[str]]] = dict,
                 profile_dirs: Sequence[Path] = ()) -> None:
        self.config = section
        self.devices = list(devices)
        self.device_ids = frozenset(d.id for d in devices)
        self.credentials = credentials
        self.profiles = profiles
        self.profile_dirs = profile_dirs
        self.rt: Runtime | None = None
        self.receiver: TrapReceiver | None = None
        self.catalog: dict[str, list[TrapEntry]] = {}
        self.index = _DeviceIndex()
        self.queue: deque[TrapMessage] = deque()
        self.queue_high_water = 0
        self.logs = LogLimiter(log, interval=10.0, per_interval=10)
        self.store_errors = 0  # failed writes (or prunes) of trap events
        self.events_lost = 0  # trap events a failed write could not keep
        self.events_pruned = 0
        self.held_down = 0  # traps whose status change waited for the confirming poll
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._events: list[dict[str, Any]] = []
        self._polling: set[str] = set()
        self._again: set[str] = set()
        self._poll_tasks: set[asyncio.Task[None]] = set()
        self._profiles: dict[tuple[str, ...], frozenset[str]] = {}
        self._applied_at: dict[tuple[str, str], float] = {}  # (device, component) -> when
        self._rows = 0  # trap events in the store, as far as this process knows
        self._pruned_at = 0.0
        self._store_logged_at = -_STORE_LOG_EVERY

    @property
    def address(self) -> tuple[str, int] | None:
        return self.receiver.address if self.receiver else None

    async def start(self, rt: Runtime) -> None:
        self.rt = rt
        self.catalog = trap_catalog(self.profile_dirs)
        self.index = await self._build_index()
        host, port = host_port(self.config.listen, default_port=162)
        users = [(resolved_credentials(self.credentials, u.credentials), list(u.engine_ids))
                 for u in self.config.users]
        communities = [resolved_credentials(self.credentials, name).community
                       for name in self.config.communities]
        c = self.config
        self.receiver = TrapReceiver((host.strip("[]"), port), communities, users,
                                     self._enqueue, rate=c.rate, burst=c.burst,
                                     engine_id=c.engine_id, global_rate=c.global_rate,
                                     global_burst=c.global_burst, max_sources=c.max_sources,
                                     known_source=self.index.known)
        try:
            address = await self.receiver.start()
        except OSError as exc:
            raise RuntimeError(f"traps.listen: cannot listen on {self.config.listen}: "
                               f"{exc.strerror or exc} (port 162 needs privileges: use a "
                               "high port with a firewall redirect, or CAP_NET_BIND_SERVICE)"
                               ) from None
        with contextlib.suppress(Exception):  # a store that cannot count is found later
            self._rows = rt.store.count_trap_events()
        rt.metrics.register(_TrapCollector(self))
        self._task = asyncio.create_task(self._work(), name="traps")
        log.info("traps: listening on udp %s:%d (%d communities, %d v3 users, %d forwarders, "
                 "%d known traps; engine id %s)", address[0], address[1], len(communities),
                 len(users), len(self.config.forwarders), len(self.catalog),
                 self.receiver.engine_id.hex())

    async def _build_index(self) -> _DeviceIndex:
        index = _DeviceIndex(explicit=dict(self.config.sources),
                             forwarders=[ipaddress.ip_network(f, strict=False)
                                         for f in self.config.forwarders])
        loop = asyncio.get_running_loop()
        for device in self.devices:
            host, port = device.host_port
            host = host.strip("[]")
            try:
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
                addresses = {str(info[4][0]) for info in infos}
            except OSError:
                log.warning("traps: cannot resolve %s (device %s): its traps are matched by "
                            "traps.sources only", host, device.id)
                addresses = set()
            for address in addresses | {host}:
                index.exact[(address, port)] = device.id
                index.by_host.setdefault(address, []).append(device.id)
        return index

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._poll_tasks):
            task.cancel()
        if self.receiver is not None:
            await self.receiver.stop()
        self._flush()
        self.logs.flush(float("inf"))

    # ------------------------------------------------------------------ the queue

    def _enqueue(self, message: TrapMessage) -> bool:
        assert self.receiver is not None
        if len(self.queue) >= self.config.queue:
            self.receiver.drop("queue_full", message.source[0],
                               f"{self.config.queue} traps wait already")
            return False
        self.queue.append(message)
        self.queue_high_water = max(self.queue_high_water, len(self.queue))
        self._wake.set()
        return True

    async def _work(self) -> None:
        last_flush = time.monotonic()
        while True:
            if not self.queue:
                self._wake.clear()
                try:  # asyncio.timeout: wait_for may swallow a cancel on Python 3.11
                    async with asyncio.timeout(0.5):
                        await self._wake.wait()
                except TimeoutError:
                    pass
            handled = 0
            while self.queue and handled < 200:
                message = self.queue.popleft()
                try:
                    self.handle(message)
                except Exception:
                    self.logs.log("handler_error", logging.ERROR,
                                  "traps: handling a trap from %s failed", message.source[0],
                                  exc_info=True, now=time.monotonic())
                handled += 1
            now = time.monotonic()
            if self._events and (len(self._events) >= _BATCH or now - last_flush > 0.5
                                 or not self.queue):
                self._flush()
                last_flush = now
            if now - self._pruned_at >= _PRUNE_EVERY:
                self._prune()
            self.logs.flush(now)
            if self.receiver is not None:
                self.receiver.tick()
            await asyncio.sleep(0)  # polls and scrapes get their turn during a flood

    # ------------------------------------------------------------------ the store

    def _flush(self) -> None:
        """Write the waiting trap events in one statement; keep the table bounded."""
        if not self._events or self.rt is None:
            self._events.clear()
            return
        rows, self._events = self._events, []
        try:
            self.rt.store.record_trap_events(rows)
        except Exception as exc:  # a full disk, a lost database: counted, logged once a minute
            self.events_lost += len(rows)
            self._store_failed("write", len(rows), exc)
            return
        self._rows += len(rows)
        if self._rows > self.config.max_events:
            self._prune()

    def _prune(self) -> None:
        self._pruned_at = time.monotonic()
        if self.rt is None:
            return
        try:
            gone = self.rt.store.prune_trap_events(
                time.time() - self.config.retention, self.config.max_events)
        except Exception as exc:
            self._store_failed("prune", 0, exc)
            return
        self.events_pruned += gone
        self._rows = max(0, self._rows - gone)

    def _store_failed(self, what: str, rows: int, exc: Exception) -> None:
        self.store_errors += 1
        now = time.monotonic()
        if now - self._store_logged_at >= _STORE_LOG_EVERY:
            self._store_logged_at = now
            first = str(exc).splitlines()[0][:300] if str(exc) else ""
            log.error("traps: cannot %s trap events in the store (%s: %s); %d failures, %d "
                      "events lost so far (tierwatch_trap_store_errors_total); logged again in "
                      "a minute at most", what, type(exc).__name__, first, self.store_errors,
                      self.events_lost)

    # ------------------------------------------------------------------ one trap

    def handle(self, message: TrapMessage) -> None:
        assert self.receiver is not None and self.rt is not None
        device, why = self.index.find(message)
        if device is None:
            self.receiver.drop("unknown_source", message.source[0], why)
            return
        entry = self._entry(device, message)
        name = entry.definition.name if entry else ""
        self._events.append({
            "ts": message.ts, "device": device, "source": f"{message.source[0]}",
            "trap_oid": message.trap_oid[:255], "name": name,
            "detail": json.dumps({o: v if not isinstance(v, bytes) else v.hex()
                                  for o, v in message.varbinds[:20]
                                  if o not in (SYS_UPTIME, SNMP_TRAP_OID)},
                                 ensure_ascii=False)[:2000]})
        if len(self._events) >= _BATCH:
            self._flush()
        if entry is None:
            self.receiver.count("unknown_trap")
            self.logs.log("unknown_trap", logging.INFO, "traps: trap %s from %s (%s): none of "
                          "its profiles declares it", message.trap_oid, device,
                          message.source[0], now=time.monotonic())
            self._confirm(device)
            return
        self.receiver.count("accepted")
        d = entry.definition
        if d.status is not None and d.component is not None:
            self._apply(device, d, message)
        self.logs.log("accepted", logging.INFO, "traps: trap %s from %s (%s)", d.name, device,
                      message.source[0], now=time.monotonic())
        if d.poll:
            self._confirm(device)

    def device_profiles(self, device: str) -> frozenset[str]:
        """The profiles a device is polled with, and those they include."""
        from collector.profiles import ProfileError, load_profiles

        names = tuple(self.profiles().get(device, ()))
        found = self._profiles.get(names)
        if found is None:
            try:
                found = frozenset(p.name for p in load_profiles(
                    names, self.profile_dirs))
            except ProfileError:
                found = frozenset(names)
            self._profiles[names] = found
        return found

    def _entry(self, device: str, message: TrapMessage) -> TrapEntry | None:
        entries = self.catalog.get(message.trap_oid)
        if not entries:
            return None
        profiles = self.device_profiles(device)
        for entry in entries:
            if entry.profile not in profiles:
                continue  # another kind of device's trap: it says nothing about this one
            when = entry.definition.when
            if when is None:
                return entry
            column = next(iter(message.under(when.varbind)), None)
            value = column[1] if column is not None else message.varbind(when.varbind)
            if value is not None and value in when.in_:
                return entry
        return None

    def _apply(self, device: str, d: TrapDef, message: TrapMessage) -> None:
        assert self.rt is not None and d.component is not None and d.status is not None
        from tierwatch.core.model import Status

        labels: dict[str, str] = {"device": device}
        if d.index is not None:
            row = next(iter(message.under(d.index.varbind)), None)
            if row is None:
                return
            labels.update(self._row_labels(device, d.index.label, row[0]))
        component = _fill(d.component, labels, labels.get(d.index.label, "?")
                          if d.index else "?")
        dev = self.rt.state.devices.get(device)
        if dev is None:
            return
        if d.index is not None and component not in dev.components:
            return  # a row never polled: its component (and whether it rolls up) is unknown
        reason = _fill(d.reason, labels, "?") if d.reason else d.name
        old = dev.components.get(component)
        status = Status(d.status)
        conditions = frozenset({d.condition}) if d.condition else frozenset()
        if old is not None and status != Status.OK:
            # bad news adds to what the last poll saw; it does not erase it
            conditions |= old.conditions
            status = Status.worst([status, old.status])
            if old.status == status and conditions == old.conditions:
                return  # nothing new (a UPS repeats its on-battery trap every minute)
        key = (device, component)
        now = time.monotonic()
        if now - self._applied_at.get(key, -self.config.hold_down) < self.config.hold_down:
            self.held_down += 1  # the confirming poll decides; no flapping under a flood
            return
        if len(self._applied_at) >= 65536:  # bounded: devices x components, but still
            self._applied_at.clear()
        self._applied_at[key] = now
        self.rt.state.apply_event(device, component, status,
                                       f"{reason} (trap {d.name})", message.ts, conditions)

    def _row_labels(self, device: str, label: str, index: str) -> dict[str, str]:
        assert self.rt is not None
        dev = self.rt.state.devices.get(device)
        labels = {label: index}
        if dev is not None:
            for sample in dev.samples:
                if sample.labels.get(label) == index:
                    labels.update(sample.labels)
                    break
        return labels

    # ------------------------------------------------------------------ confirming polls

    def _confirm(self, device: str) -> None:
        if not self.config.poll_on_trap or device not in self.device_ids:
            return
        if device in self._polling:
            self._again.add(device)
            return
        self._polling.add(device)
        task = asyncio.create_task(self._poll(device), name=f"trap-poll {device}")
        self._poll_tasks.add(task)
        task.add_done_callback(self._poll_tasks.discard)

    async def _poll(self, device: str) -> None:
        assert self.rt is not None
        try:
            while True:
                self._again.discard(device)
                started = time.monotonic()
                assert self.rt is not None
                await self.rt.poll_now(device)
                if device not in self._again:
                    return
                # traps keep coming: at most one confirming poll a second
                await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
        except asyncio.CancelledError:
            raise
        except Exception:
            self.logs.log("poll_error", logging.ERROR, "traps: confirming poll of %s after a "
                          "trap failed", device, exc_info=True, now=time.monotonic())
        finally:
            self._polling.discard(device)

    # ------------------------------------------------------------------ /metrics

    def metrics(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        receiver = self.receiver
        kernel = receiver.kernel_drops() if receiver is not None else 0
        counts = dict(receiver.counts) if receiver else {}
        counts["kernel_dropped"] = kernel
        total = CounterMetricFamily("tierwatch_traps",
                                    "SNMP traps and informs received, by result (each datagram "
                                    "once)", labels=["result"])
        for result in RESULTS:
            total.add_metric([result], counts.get(result, 0))
        yield total
        dropped = dict(receiver.dropped) if receiver else {}
        dropped["kernel_dropped"] = kernel
        family = CounterMetricFamily("tierwatch_traps_dropped",
                                     "Trap datagrams refused, by reason", labels=["reason"])
        for reason in DROP_REASONS:
            family.add_metric([reason], dropped.get(reason, 0))
        yield family
        answered = CounterMetricFamily("tierwatch_trap_informs_answered",
                                       "Informs acknowledged with a Response")
        answered.add_metric([], receiver.responses if receiver else 0)
        yield answered
        held = CounterMetricFamily("tierwatch_traps_held_down",
                                   "Traps whose status change was left to the confirming poll "
                                   "(hold_down)")
        held.add_metric([], self.held_down)
        yield held
        errors = CounterMetricFamily("tierwatch_trap_store_errors",
                                     "Failed writes or prunes of trap events in the store")
        errors.add_metric([], self.store_errors)
        yield errors
        queue = GaugeMetricFamily("tierwatch_trap_queue", "Traps waiting to be applied")
        queue.add_metric([], len(self.queue))
        yield queue
        sources = GaugeMetricFamily("tierwatch_trap_sources_tracked",
                                    "Source addresses with a token bucket")
        sources.add_metric([], len(receiver.buckets) if receiver else 0)
        yield sources


class _TrapCollector:
    def __init__(self, component: TrapsComponent) -> None:
        self.component = component

    def collect(self) -> Iterator[Metric]:
        return self.component.metrics()
