"""SNMP trap and inform receiver: traps become immediate status updates, events and polls.

pysnmp's notification receiver does the protocol (v1 and v2c traps and informs, v3 with
several USM users, authPriv); this module adds what a monitor needs around it:

* a trap from a device is mapped through the profiles (`traps:` in a profile, schema
  `TrapDef` below) to a component status set at once (`State.apply_event`), recorded as an
  event in the store, and confirmed by polling the device straight away;
* every datagram ends up in exactly one `tierwatch_traps_total{result}`: accepted,
  unknown_trap (a known device, a trap no profile names), unknown_source, bad_community,
  bad_credentials, malformed, rejected (not a notification: a request, a v3 discovery
  probe), rate_limited, queue_full, and
  kernel_dropped (the socket's buffer overflowed before tierwatch could read: Linux counts
  those per socket, /proc/net/udp);
* nothing a sender does can stop the receiver or grow its memory: datagrams are counted per
  source with a token bucket before they are even decoded, and decoded traps wait in a
  bounded queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.entity import config as pysnmp_config
from pysnmp.entity import engine as pysnmp_engine
from pysnmp.entity.rfc3413 import ntfrcv
from pysnmp.proto.api import v2c

from collector.config import CredentialConfig, DeviceConfig, resolved_credentials
from collector.snmp.client import Credentials
from collector.traps.config import TrapsConfig
from tierwatch.core.configtypes import host_port

if TYPE_CHECKING:
    from prometheus_client.core import Metric

    from tierwatch.core.runtime import Runtime

log = logging.getLogger(__name__)

SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
SNMP_TRAP_ADDRESS = "1.3.6.1.6.3.18.1.3.0"  # the v1 agent-addr, after RFC 3584 conversion
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
RESULTS = ("accepted", "unknown_trap", "unknown_source", "bad_community", "bad_credentials",
           "malformed", "rejected", "rate_limited", "queue_full", "kernel_dropped")

_OID = r"^\d+(\.\d+)+$"


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


# --------------------------------------------------------------------------- receiving


@dataclass(frozen=True)
class TrapMessage:
    ts: float
    source: tuple[str, int]
    security: str  # community index, or the v3 user
    model: int  # 1 v1, 2 v2c, 3 USM
    trap_oid: str
    varbinds: tuple[tuple[str, Any], ...]

    def varbind(self, oid: str) -> Any:
        for name, value in self.varbinds:
            if name == oid:
                return value
        return None

    def under(self, column: str) -> Iterator[tuple[str, Any]]:
        """(index suffix, value) of varbinds under a column OID."""
        prefix = column + "."
        for name, value in self.varbinds:
            if name.startswith(prefix):
                yield name[len(prefix):], value


def _plain(value: Any) -> Any:
    """pysnmp value -> int, str (text, dotted OID or IP) or bytes."""
    from pyasn1.type import univ
    from pysnmp.proto import rfc1902

    if isinstance(value, rfc1902.IpAddress):
        return ".".join(str(b) for b in value.asNumbers())
    if isinstance(value, univ.ObjectIdentifier):
        return ".".join(str(n) for n in value.asTuple())
    if isinstance(value, univ.Integer):
        return int(value)
    if isinstance(value, univ.OctetString):
        raw = value.asOctets()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw
    if isinstance(value, univ.Null):
        return None
    return value.prettyPrint()


class _TokenBuckets:
    """Per-source token buckets, at most `max_sources` of them (the oldest go first)."""

    def __init__(self, rate: float, burst: int, max_sources: int = 4096) -> None:
        self.rate, self.burst, self.max_sources = rate, float(burst), max_sources
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, source: str, now: float) -> bool:
        tokens, last = self._buckets.pop(source, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[source] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self.max_sources:
            self._buckets.popitem(last=False)
        return allowed


# pysnmp counts every refusal in its MIB; a datagram it drops is classified by which grew
_REFUSALS: dict[str, tuple[tuple[str, str], ...]] = {
    "malformed": (("__SNMPv2-MIB", "snmpInASNParseErrs"), ("__SNMPv2-MIB", "snmpInBadVersions"),
                  ("__SNMP-MPD-MIB", "snmpInvalidMsgs")),
    "bad_community": (("__SNMPv2-MIB", "snmpInBadCommunityNames"),
                      ("__SNMPv2-MIB", "snmpInBadCommunityUses")),
    "bad_credentials": (
        *(("__SNMP-USER-BASED-SM-MIB", n) for n in (
            "usmStatsUnknownUserNames", "usmStatsWrongDigests", "usmStatsDecryptionErrors",
            "usmStatsNotInTimeWindows", "usmStatsUnsupportedSecLevels")),
        ("__SNMP-MPD-MIB", "snmpUnknownSecurityModels")),
    # an SNMPv3 engine-id discovery probe (the first step of every v3 inform): answered with
    # a report, and not a notification
    "rejected": (("__SNMP-USER-BASED-SM-MIB", "usmStatsUnknownEngineIDs"),),
}


class _Transport(udp.UdpAsyncioTransport):
    """pysnmp's UDP transport, with each datagram vetted before pysnmp decodes it."""

    receiver: TrapReceiver

    def datagram_received(self, datagram: bytes, address: Any) -> None:
        self.receiver._datagram(self, address, datagram)


class _Transport6(udp6.Udp6AsyncioTransport):
    receiver: TrapReceiver

    def datagram_received(self, datagram: bytes, address: Any) -> None:
        self.receiver._datagram(self, address, datagram)


class TrapReceiver:
    """Listens on UDP and hands each authenticated notification to `on_trap`."""

    def __init__(self, listen: tuple[str, int], communities: Iterable[str],
                 users: Iterable[tuple[Credentials, list[str]]],
                 on_trap: Callable[[TrapMessage], bool], rate: float = 200.0,
                 burst: int = 1000, engine_id: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.listen = listen
        self.communities = list(communities)
        self.users = list(users)
        self.on_trap = on_trap
        self.clock = clock
        self.engine_id = engine_id
        self.buckets = _TokenBuckets(rate, burst)
        self.counts: dict[str, int] = dict.fromkeys(RESULTS, 0)
        self.datagrams = 0
        self.address: tuple[str, int] | None = None
        self._engine: Any = None
        self._transport: _Transport | _Transport6 | None = None
        self._refusals: dict[str, list[Any]] = {}
        self._handed = False
        self._log_at: dict[str, float] = {}
        self._inode: str | None = None

    def count(self, result: str) -> None:
        self.counts[result] = self.counts.get(result, 0) + 1

    async def start(self) -> tuple[str, int]:
        host, port = self.listen
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        # about a thousand traps of burst (a site-wide power event) wait in the kernel; more
        # would only delay the next good trap behind a flood (drops are counted per socket)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024 * 1024)
        sock.bind((host, port))  # EACCES on 162 without privilege: the caller reports it
        sock.setblocking(False)
        self.address = sock.getsockname()[:2]
        self._inode = str(os.fstat(sock.fileno()).st_ino)
        engine_id = self.engine_id.lower().removeprefix("0x") if self.engine_id else None
        self._engine = pysnmp_engine.SnmpEngine(
            v2c.OctetString(hexValue=engine_id) if engine_id else None)
        transport = _Transport()
        transport.receiver = self
        if family == socket.AF_INET6:
            transport = _Transport6()
            transport.receiver = self
            pysnmp_config.add_transport(self._engine, udp6.DOMAIN_NAME,
                                        transport.open_server_mode(sock=sock))
        else:
            pysnmp_config.add_transport(self._engine, udp.DOMAIN_NAME,
                                        transport.open_server_mode(sock=sock))
        self._transport = transport
        for i, community in enumerate(self.communities):
            pysnmp_config.add_v1_system(self._engine, f"community-{i}", community)
        for credentials, engine_ids in self.users:
            self._add_user(credentials, engine_ids)
        ntfrcv.NotificationReceiver(self._engine, self._notification)
        mib = self._engine.get_mib_builder()
        for result, names in _REFUSALS.items():
            self._refusals[result] = [mib.import_symbols(module, name)[0]
                                      for module, name in names]
        # let the endpoint come up before anyone sends
        for _ in range(100):
            if self._transport.transport is not None:
                break
            await asyncio.sleep(0.01)
        return self.address

    def kernel_drops(self) -> int:
        """Datagrams the kernel dropped on this socket (buffer full), from /proc/net/udp."""
        if self._inode is None:
            return 0
        for table in ("/proc/net/udp", "/proc/net/udp6"):
            try:
                with open(table, encoding="ascii") as f:
                    next(f, None)
                    for line in f:
                        fields = line.split()
                        if len(fields) >= 13 and fields[9] == self._inode:
                            return int(fields[12])
            except (OSError, ValueError):
                continue
        return 0

    def _add_user(self, cred: Credentials, engine_ids: list[str]) -> None:
        from collector.snmp.pysnmp_engine import _AUTH, _PRIV

        auth = _AUTH[cred.auth_protocol] if cred.auth_protocol else pysnmp_config.USM_AUTH_NONE
        priv = _PRIV[cred.priv_protocol] if cred.priv_protocol else pysnmp_config.USM_PRIV_NONE
        keys: dict[str, Any] = {}
        if cred.auth_protocol:
            keys["authKey"] = cred.auth_key
        if cred.priv_protocol:
            keys["privKey"] = cred.priv_key
        # informs: this receiver is the authoritative engine
        pysnmp_config.add_v3_user(self._engine, cred.user, auth, privProtocol=priv, **keys)
        # traps: the sending agent is, so the user's keys are localised to each agent's id
        for engine_id in engine_ids:
            pysnmp_config.add_v3_user(
                self._engine, cred.user, auth, privProtocol=priv,
                securityEngineId=v2c.OctetString(hexValue=engine_id.lower().removeprefix("0x")),
                **keys)

    async def stop(self) -> None:
        if self._engine is not None and self._engine.transport_dispatcher is not None:
            with contextlib.suppress(Exception):
                self._engine.transport_dispatcher.close_dispatcher()
        self._engine = None

    def _refusal_snapshot(self) -> list[int]:
        return [int(obj.syntax) for objs in self._refusals.values() for obj in objs]

    def _datagram(self, transport: _Transport | _Transport6, address: Any, datagram: bytes) -> None:
        self.datagrams += 1
        source = str(address[0])
        if not self.buckets.take(source, self.clock()):
            self.count("rate_limited")
            self._log("rate_limited", f"traps from {source} beyond {self.buckets.rate:g}/s "
                      "dropped (counted in tierwatch_traps_total{result=\"rate_limited\"})")
            return
        before = self._refusal_snapshot()
        self._handed = False
        try:
            transport._callback_function(transport, address, datagram)
        except Exception as exc:  # pysnmp choking on a packet must not reach the loop
            if not self._handed:
                self.count("malformed")
                self._log("malformed", f"undecodable datagram from {source}: "
                          f"{type(exc).__name__}")
            return
        if self._handed:
            return
        after = self._refusal_snapshot()
        grown = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if b > a]
        result = "rejected"
        if grown:
            flat = [r for r, objs in self._refusals.items() for _ in objs]
            result = flat[grown[0]]
        self.count(result)
        self._log(result, f"datagram from {source} refused: {result}")

    def _log(self, result: str, message: str) -> None:
        """At most one line per kind of refusal every 10 s (a flood is one line)."""
        now = self.clock()
        if now - self._log_at.get(result, 0.0) >= 10.0:
            self._log_at[result] = now
            log.warning("traps: %s (%d so far)", message, self.counts.get(result, 0))

    def _notification(self, engine: Any, state_reference: Any, context_engine_id: Any,
                      context_name: Any, varbinds: Any, cb_ctx: Any) -> None:
        self._handed = True
        ctx = engine.observer.get_execution_context("rfc3412.receiveMessage:request")
        address = ctx.get("transportAddress") or ("", 0)
        plain = tuple((".".join(str(n) for n in oid.asTuple()), _plain(value))
                      for oid, value in varbinds)
        trap_oid = next((v for o, v in plain if o == SNMP_TRAP_OID), "")
        message = TrapMessage(self.clock(), (str(address[0]), int(address[1])),
                              str(ctx.get("securityName", "")), int(ctx.get("securityModel", 0)),
                              str(trap_oid), plain)
        try:
            self.on_trap(message)
        except Exception:
            log.exception("trap handler failed")


# --------------------------------------------------------------------------- the component


@dataclass
class _DeviceIndex:
    exact: dict[tuple[str, int], str] = field(default_factory=dict)
    by_host: dict[str, list[str]] = field(default_factory=dict)
    explicit: dict[str, str] = field(default_factory=dict)

    def find(self, message: TrapMessage) -> tuple[str | None, str]:
        host, port = message.source
        if host in self.explicit:
            return self.explicit[host], ""
        if (host, port) in self.exact:
            return self.exact[(host, port)], ""
        candidates = self.by_host.get(host, [])
        if len(candidates) == 1:
            return candidates[0], ""
        agent = message.varbind(SNMP_TRAP_ADDRESS)
        if isinstance(agent, str) and agent != host:
            if agent in self.explicit:
                return self.explicit[agent], ""
            by_agent = self.by_host.get(agent, [])
            if len(by_agent) == 1:
                return by_agent[0], ""
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


class TrapsComponent:
    """The receiver wired to the runtime: state, store, polls and /metrics. `devices` are the
    SNMP devices traps are attributed to (by their address); `credentials` the ones the
    section names."""

    def __init__(self, section: TrapsConfig, *, devices: Sequence[DeviceConfig],
                 credentials: Mapping[str, CredentialConfig],
                 profile_dirs: Sequence[Path] = ()) -> None:
        self.config = section
        self.devices = list(devices)
        self.device_ids = frozenset(d.id for d in devices)
        self.credentials = credentials
        self.profile_dirs = profile_dirs
        self.rt: Runtime | None = None
        self.receiver: TrapReceiver | None = None
        self.catalog: dict[str, list[TrapEntry]] = {}
        self.index = _DeviceIndex()
        self.queue: deque[TrapMessage] = deque()
        self.queue_high_water = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._events: list[dict[str, Any]] = []
        self._polling: set[str] = set()
        self._again: set[str] = set()
        self._poll_tasks: set[asyncio.Task[None]] = set()
        self._unknown_logged: dict[str, float] = {}

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
        self.receiver = TrapReceiver((host.strip("[]"), port), communities, users,
                                     self._enqueue, rate=self.config.rate,
                                     burst=self.config.burst, engine_id=self.config.engine_id)
        try:
            address = await self.receiver.start()
        except OSError as exc:
            raise RuntimeError(f"traps.listen: cannot listen on {self.config.listen}: "
                               f"{exc.strerror or exc} (port 162 needs privileges: use a "
                               "high port with a firewall redirect, or CAP_NET_BIND_SERVICE)"
                               ) from None
        rt.metrics.register(_TrapCollector(self))
        self._task = asyncio.create_task(self._work(), name="traps")
        log.info("traps: listening on udp %s:%d (%d communities, %d v3 users, %d known traps)",
                 address[0], address[1], len(communities), len(users), len(self.catalog))

    async def _build_index(self) -> _DeviceIndex:
        index = _DeviceIndex(explicit=dict(self.config.sources))
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

    # ------------------------------------------------------------------ the queue

    def _enqueue(self, message: TrapMessage) -> bool:
        assert self.receiver is not None
        if len(self.queue) >= self.config.queue:
            self.receiver.count("queue_full")
            self.receiver._log("queue_full", f"trap queue full ({self.config.queue}): trap "
                               f"from {message.source[0]} dropped")
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
                    log.exception("handling a trap from %s failed", message.source[0])
                handled += 1
            if self._events and (len(self._events) >= 500 or time.monotonic() - last_flush > 0.5
                                 or not self.queue):
                self._flush()
                last_flush = time.monotonic()
            await asyncio.sleep(0)  # polls and scrapes get their turn during a flood

    def _flush(self) -> None:
        if not self._events or self.rt is None:
            self._events.clear()
            return
        rows, self._events = self._events, []
        try:
            self.rt.store.record_trap_events(rows)
        except Exception:
            log.exception("recording %d trap events failed", len(rows))

    # ------------------------------------------------------------------ one trap

    def handle(self, message: TrapMessage) -> None:
        assert self.receiver is not None and self.rt is not None
        device, why = self.index.find(message)
        if device is None:
            self.receiver.count("unknown_source")
            self._log_unknown(message, why)
            return
        entry = self._entry(message)
        name = entry.definition.name if entry else ""
        self._events.append({
            "ts": message.ts, "device": device, "source": f"{message.source[0]}",
            "trap_oid": message.trap_oid[:255], "name": name,
            "detail": json.dumps({o: v if not isinstance(v, bytes) else v.hex()
                                  for o, v in message.varbinds[:20]
                                  if o not in (SYS_UPTIME, SNMP_TRAP_OID)},
                                 ensure_ascii=False)[:2000]})
        if entry is None:
            self.receiver.count("unknown_trap")
            self._confirm(device)
            return
        self.receiver.count("accepted")
        d = entry.definition
        if d.status is not None and d.component is not None:
            self._apply(device, d, message)
        log.info("trap %s from %s (%s)", d.name, device, message.source[0])
        if d.poll:
            self._confirm(device)

    def _entry(self, message: TrapMessage) -> TrapEntry | None:
        for entry in self.catalog.get(message.trap_oid, ()):
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

    def _log_unknown(self, message: TrapMessage, why: str) -> None:
        now = time.monotonic()
        host = message.source[0]
        if now - self._unknown_logged.get(host, 0.0) >= 60:
            self._unknown_logged[host] = now
            if len(self._unknown_logged) > 1024:
                self._unknown_logged.clear()
            log.warning("traps: trap %s from unknown source: %s", message.trap_oid or "?", why)

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
                await self.rt.poll_now(device)
                if device not in self._again:
                    return
                # traps keep coming: at most one confirming poll a second
                await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("confirming poll of %s after a trap failed", device)
        finally:
            self._polling.discard(device)

    def metrics(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        total = CounterMetricFamily("tierwatch_traps",
                                    "SNMP traps and informs received, by result",
                                    labels=["result"])
        counts = dict(self.receiver.counts) if self.receiver else {}
        if self.receiver is not None:
            counts["kernel_dropped"] = self.receiver.kernel_drops()
        for result in RESULTS:
            total.add_metric([result], counts.get(result, 0))
        yield total
        queue = GaugeMetricFamily("tierwatch_trap_queue", "Traps waiting to be applied")
        queue.add_metric([], len(self.queue))
        yield queue


class _TrapCollector:
    def __init__(self, component: TrapsComponent) -> None:
        self.component = component

    def collect(self) -> Iterator[Metric]:
        return self.component.metrics()
