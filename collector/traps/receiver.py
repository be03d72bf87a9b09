"""The trap and inform receiver on the native codec: a UDP socket, the checks a datagram
passes before anything believes it, and the counters of everything refused.

A datagram goes through, in this order, and stops at the first check it fails:

1. its source address must be one traps are taken from (a device, an address of
   `alerts.traps.sources`, a forwarder): `unknown_source` otherwise, without decoding it;
2. the source's token bucket (`rate_limited`), then the bucket shared by every source
   (`global_rate_limited`): a flood costs a dictionary look-up per datagram;
3. BER decoding, strict (`malformed`);
4. v1/v2c: one of the configured communities (`bad_community`); v3: the USM checks of
   `trap_usm.ReceiverUsm` (unknown user or engine id, security level, digest, time window,
   duplicate, decryption);
5. the PDU must be a trap or an inform (`not_notification`; a v3 engine-id discovery
   probe is answered with a Report and counted as `engine_discovery`);
6. the consumer's queue must have room (`queue_full`; an inform is then left unanswered,
   so its sender tries again).

Every refusal is counted once in `dropped[reason]` (`tierwatch_traps_dropped_total`) and
logged at most once per reason and 10 s, with one summary line for the rest. An inform is
answered with a Response once it is handed on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from collector.snmp import message
from collector.snmp.client import Credentials, SnmpError, Value
from collector.traps.limits import LogLimiter, SourceBuckets, TokenBucket
from collector.traps.notification import (
    NotANotification,
    Notification,
    community_response,
    parse_community_notification,
    parse_notification,
    response_pdu,
)
from collector.traps.trap_usm import REASONS as USM_REASONS
from collector.traps.trap_usm import ReceiverUsm, Refused, new_engine_id

log = logging.getLogger("collector.traps.component")

# every reason a datagram is refused: the closed set of tierwatch_traps_dropped_total{reason}
DROP_REASONS: tuple[str, ...] = (
    "unknown_source", "rate_limited", "global_rate_limited", "malformed", "bad_community",
    *(r for r in USM_REASONS if r != "malformed"), "not_notification", "queue_full",
    "kernel_dropped")
# tierwatch_traps_total{result}: every datagram once, in the coarser results it always had
RESULTS = ("accepted", "unknown_trap", "unknown_source", "bad_community", "bad_credentials",
           "malformed", "rejected", "rate_limited", "queue_full", "kernel_dropped")
RESULT_OF: dict[str, str] = {
    **{r: r for r in RESULTS},
    "global_rate_limited": "rate_limited",
    "unknown_security_model": "malformed",
    "not_notification": "rejected",
    "engine_discovery": "rejected",
    **{r: "bad_credentials" for r in ("unknown_engine_id", "unknown_user",
                                       "unsupported_security_level", "wrong_digest",
                                       "not_in_time_window", "decryption_error", "duplicate")},
}
assert set(DROP_REASONS) <= set(RESULT_OF)

_RECV_BATCH = 256  # datagrams read per wake-up: a flood cannot starve the loop
_RECV_SIZE = 65535
_BOOTS_EPOCH = 1_700_000_000  # engine boots: seconds since then at start (see _default_boots)


@dataclass(frozen=True)
class TrapMessage:
    ts: float
    source: tuple[str, int]
    security: str  # "community-N" (the Nth configured community), or the v3 user
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


def _plain(value: Value) -> Any:
    """The seam's value as the profile rules compare it: octets as text when they are."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    if value is None or isinstance(value, int | str):
        return value
    return str(value)  # noSuchObject and friends: never in a notification, but harmless


def _default_boots() -> int:
    """Engine boots that grow from one start to the next without a file to keep: the
    seconds since 2023-11-14 at start (RFC 3414 2.2.2 asks only that they grow), so an
    inform captured before a restart is out of the window after it."""
    return max(1, min(int(time.time()) - _BOOTS_EPOCH, 2**31 - 2))


class TrapReceiver:
    """Listens on UDP and hands each notification that passes the checks to `on_trap`."""

    def __init__(self, listen: tuple[str, int], communities: Iterable[str],
                 users: Iterable[tuple[Credentials, list[str]]],
                 on_trap: Callable[[TrapMessage], bool], rate: float = 200.0,
                 burst: int = 1000, engine_id: str | None = None,
                 clock: Callable[[], float] = time.monotonic, *,
                 global_rate: float = 1000.0, global_burst: int = 5000,
                 max_sources: int = 4096, known_source: Callable[[str], bool] | None = None,
                 wall_clock: Callable[[], float] = time.time,
                 engine_boots: int | None = None) -> None:
        self.listen = listen
        self.communities = [c.encode() for c in communities]
        self.users = list(users)
        self.on_trap = on_trap
        self.clock = clock
        self.wall_clock = wall_clock
        self.known_source = known_source
        self.buckets = SourceBuckets(rate, burst, max_sources)
        self.global_bucket = TokenBucket(global_rate, global_burst, clock())
        self.engine_id = (bytes.fromhex(engine_id.lower().removeprefix("0x")) if engine_id
                          else new_engine_id())
        self.usm = ReceiverUsm(
            [(cred, [bytes.fromhex(e.lower().removeprefix("0x")) for e in engines])
             for cred, engines in self.users],
            self.engine_id, engine_boots or _default_boots(), clock)
        self.counts: dict[str, int] = dict.fromkeys(RESULTS, 0)
        self.dropped: dict[str, int] = dict.fromkeys(DROP_REASONS, 0)
        self.datagrams = 0
        self.responses = 0  # informs answered
        self.address: tuple[str, int] | None = None
        self.limiter = LogLimiter(log, interval=10.0, per_interval=1)
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inode: str | None = None

    # ------------------------------------------------------------------ counting

    def count(self, result: str) -> None:
        """A datagram's result that is not a refusal (accepted, unknown_trap)."""
        self.counts[result] = self.counts.get(result, 0) + 1

    def drop(self, reason: str, source: str, detail: str = "") -> None:
        """Count a refusal, and log it at most once per reason and interval."""
        self.dropped[reason] += 1
        result = RESULT_OF[reason]
        self.counts[result] = self.counts.get(result, 0) + 1
        self.limiter.log(reason, logging.WARNING,
                         "traps: datagram from %s refused (%s)%s; %d so far "
                         "(tierwatch_traps_dropped_total{reason=\"%s\"})",
                         source, reason, f": {detail}" if detail else "", self.dropped[reason],
                         reason, now=self.clock())

    def tick(self) -> None:
        """The log summaries of intervals that ended (called periodically)."""
        self.limiter.flush(self.clock())

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

    # ------------------------------------------------------------------ the socket

    async def start(self) -> tuple[str, int]:
        host, port = self.listen
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            # about a thousand traps of burst (a site-wide power event) wait in the kernel;
            # more would only delay the next good trap behind a flood (drops are counted)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024 * 1024)
            sock.bind((host, port))  # EACCES on 162 without privilege: the caller reports it
            sock.setblocking(False)
            self._loop = asyncio.get_running_loop()
            self._loop.add_reader(sock.fileno(), self._readable)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self.address = sock.getsockname()[:2]
        self._inode = str(os.fstat(sock.fileno()).st_ino)
        return self.address

    async def stop(self) -> None:
        if self._sock is not None:
            if self._loop is not None:
                with contextlib.suppress(Exception):
                    self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        self.tick()

    def _readable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        for _ in range(_RECV_BATCH):
            try:
                data, address = sock.recvfrom(_RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # an ICMP error queued on the socket: nothing to read
                return
            self.datagram(data, address)

    def _send(self, data: bytes, address: Any) -> None:
        if self._sock is None:
            return
        with contextlib.suppress(OSError):  # a full buffer: the sender of an inform retries
            self._sock.sendto(data, address)

    # ------------------------------------------------------------------ one datagram

    def datagram(self, data: bytes, address: Any) -> None:
        self.datagrams += 1
        host = str(address[0])
        if self.known_source is not None and not self.known_source(host):
            self.drop("unknown_source", host, "no device, source or forwarder there")
            return
        now = self.clock()
        if not self.buckets.take(host, now):
            self.drop("rate_limited", host, f"beyond {self.buckets.rate:g}/s from one source")
            return
        if not self.global_bucket.take(now):
            self.drop("global_rate_limited", host,
                      f"beyond {self.global_bucket.rate:g}/s from all sources")
            return
        try:
            self._decode(data, address, host)
        except Refused as refused:
            if refused.report is not None:
                self._send(refused.report, address)
            self.drop(refused.reason, host, str(refused))
        except NotANotification as exc:
            self.drop("not_notification", host, str(exc))
        except SnmpError as exc:
            self.drop("malformed", host, str(exc))
        except Exception as exc:  # a codec bug must not stop the receiver: counted, logged
            self.drop("malformed", host, f"{type(exc).__name__}: {exc}")

    def _decode(self, data: bytes, address: Any, host: str) -> None:
        if len(data) < 3 or data[0] != 0x30:
            raise SnmpError("not an SNMP message")
        version = _version(data)
        if version == message.V3:
            self._v3(data, address, host)
            return
        version, community, notification = parse_community_notification(data)
        index = next((i for i, known in enumerate(self.communities)
                      if hmac.compare_digest(known, community)), None)
        if index is None:
            self.drop("bad_community", host)
            return
        model = 1 if version == message.V1 else 2
        handed = self._hand_on(notification, address, f"community-{index}", model)
        if handed and notification.inform:
            self._send(community_response(version, community, notification), address)
            self.responses += 1

    def _v3(self, data: bytes, address: Any, host: str) -> None:
        msg = message.parse_v3_message(data)
        opened = self.usm.open(data, msg)
        context_engine_id, context_name, pos, stop = message.parse_scoped_pdu(opened.scoped)
        notification = parse_notification(opened.scoped, pos, stop)
        if notification.tag == message.TRAP_V1:
            raise SnmpError("a v1 Trap-PDU inside an SNMPv3 message")
        if notification.inform and not opened.authoritative:
            raise Refused("unknown_engine_id", "an inform must be sent to this receiver's "
                          "engine id")
        if opened.duplicate:  # an inform already handed on: answer again, hand on once
            self._answer(msg, opened.user, context_engine_id, context_name, notification,
                         address)
            raise Refused("duplicate", "a copy of an inform already received")
        if self._hand_on(notification, address, opened.user, 3) and notification.inform:
            self._answer(msg, opened.user, context_engine_id, context_name, notification,
                         address)

    def _answer(self, msg: message.V3Message, user: str, context_engine_id: bytes,
                context_name: bytes, notification: Notification, address: Any) -> None:
        self._send(self.usm.response(msg, user, context_engine_id, context_name,
                                     response_pdu(notification)), address)
        self.responses += 1

    def _hand_on(self, notification: Notification, address: Any, security: str,
                 model: int) -> bool:
        trap = TrapMessage(self.wall_clock(), (str(address[0]), int(address[1])), security,
                           model, notification.trap_oid,
                           tuple((oid, _plain(value)) for oid, value in notification.varbinds))
        try:
            return self.on_trap(trap)
        except Exception:
            log.exception("trap handler failed")
            return False


def _version(data: bytes) -> int:
    """The msgVersion of a message, for choosing its parser (each checks it again)."""
    n = data[1]
    p = 2 if n < 0x80 else 2 + (n & 0x7F)
    if p + 3 > len(data) or data[p] != 0x02 or data[p + 1] != 1:
        raise SnmpError("no SNMP version")
    return data[p + 2]
