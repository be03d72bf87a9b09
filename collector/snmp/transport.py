"""One UDP socket per event loop (and address family), shared by every SNMP client.

Hundreds of devices poll concurrently through it. Each request waits under its own id (the
request-id of v1/v2c, the msgID of v3), drawn from a CSPRNG (`random_id`), never one that
is outstanding on the socket: seeing one device's requests tells nothing of another's. A
datagram reaches a request only when its id is outstanding and it comes from the address
and port the request went to; the request's own `accept` then checks it (version, security,
request-id ...). What fails any check is dropped and counted by reason (`stats.dropped`),
and the request keeps waiting for a datagram that passes, until its deadline: the first
datagram to arrive does not decide the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from collector.snmp.client import SnmpTransportError
from collector.snmp.message import DROP_REASONS, Dropped, peek_message_id

_RECV_SIZE = 65535
_RECV_BATCH = 256  # datagrams read per wake-up, so one busy socket cannot starve the loop
_SOCKET_BUFFER = 4 * 1024 * 1024  # the kernel caps this at net.core.[rw]mem_max
_TIMER_SLACK = 0.001  # a timer may fire this early and still count as on time
_REFUSED_SENDERS = 65536  # senders whose refused datagrams are remembered (discovery)


def _no_drops() -> dict[str, int]:
    return dict.fromkeys(DROP_REASONS, 0)


@dataclass(slots=True)
class TransportStats:
    """What the shared sockets sent, received and dropped (by reason, see
    message.DROP_REASONS); a monitor exports these as self-metrics."""

    sent: int = 0
    received: int = 0
    send_errors: int = 0
    dropped: dict[str, int] = field(default_factory=_no_drops)

    def add(self, other: TransportStats) -> None:
        self.sent += other.sent
        self.received += other.received
        self.send_errors += other.send_errors
        for reason, count in other.dropped.items():
            self.dropped[reason] = self.dropped.get(reason, 0) + count

    def as_dict(self) -> dict[str, int]:
        """{sent, received, send_errors, and one entry per drop reason}."""
        return {"sent": self.sent, "received": self.received,
                "send_errors": self.send_errors, **self.dropped}


# --------------------------------------------------------------------------- ids

_ID_BATCH = 4096  # octets of os.urandom per refill: 1,024 ids per system call
_id_pool: list[int] = []


def random_id() -> int:
    """A request-id or msgID: uniform in 1 .. 2**31-1 from the operating system's CSPRNG.

    Drawn in batches: one getrandom() per thousand ids costs a few nanoseconds an id, where
    one call per id would cost a microsecond on every request."""
    pool = _id_pool
    while True:
        try:
            value = pool.pop() & 0x7FFFFFFF
        except IndexError:
            pool.extend(memoryview(os.urandom(_ID_BATCH)).cast("I"))
            continue
        if value:
            return value


Address = tuple[str, int]
# accept(datagram) -> the request's answer, or raises message.Dropped(reason)
Accept = Callable[[bytes], Any]
# waiter: (expected sender, future answered with accept's result or None, deadline, accept)
_Waiter = tuple[Address, "asyncio.Future[Any]", float, Accept]


def _raw(data: bytes) -> bytes:
    return data


class SharedSocket:
    """The demultiplexer behind one socket. Get it with `acquire(family)`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, family: socket.AddressFamily) -> None:
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                with contextlib.suppress(OSError):  # best effort; the default still works
                    sock.setsockopt(socket.SOL_SOCKET, option, _SOCKET_BUFFER)
            sock.bind(("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0))
            loop.add_reader(sock.fileno(), self._on_readable)
        except BaseException:
            sock.close()
            raise
        self.loop = loop
        self.family = family
        self.sock = sock
        self.stats = TransportStats()
        # refused datagrams per sender (host, port), so a sweep can tell an address that
        # answers garbage from a silent one (it compares counts before and after asking);
        # bounded: full, it starts afresh (counts in stats are never lost)
        self.refused_from: dict[tuple[str, int], dict[str, int]] = {}
        self.users = 0
        self.closed = False
        self._waiters: dict[int, _Waiter] = {}
        self._sweeper: asyncio.TimerHandle | None = None
        self._sweep_at = math.inf

    # -- ids and waiting

    def new_id(self) -> int:
        """A random id no request on this socket waits under (see `random_id`)."""
        waiters = self._waiters
        while True:
            req_id = random_id()
            if req_id not in waiters:
                return req_id

    async def request(
        self, data: bytes, address: Address, req_id: int, timeout: float,
        accept: Accept = _raw,
    ) -> Any:
        """Send `data` to `address` and wait up to `timeout` for a datagram that answers
        `req_id` from that address and that `accept` takes: its result, or None on timeout.
        `accept` raises message.Dropped for a datagram that fails its checks (counted; the
        wait goes on); by default the datagram itself is the answer. Raises
        SnmpTransportError when the send itself fails."""
        loop = self.loop
        future: asyncio.Future[Any] = loop.create_future()
        deadline = loop.time() + timeout
        self._waiters[req_id] = (address, future, deadline, accept)
        if deadline < self._sweep_at:
            self._schedule_sweep(deadline)
        try:
            try:
                self.sock.sendto(data, address)
            except BlockingIOError:
                await loop.sock_sendto(self.sock, data, address)
            except OSError as exc:
                self.stats.send_errors += 1
                raise SnmpTransportError(
                    f"cannot send to {address[0]}:{address[1]}: {exc}"
                ) from exc
            self.stats.sent += 1
            return await future
        finally:
            waiter = self._waiters.get(req_id)
            if waiter is not None and waiter[1] is future:
                del self._waiters[req_id]

    # One timer per socket rather than one per request: it wakes at the earliest deadline,
    # answers every overdue waiter with None, and re-arms for the next deadline. Requests
    # that get their answer leave no cancelled timer behind.

    def _schedule_sweep(self, when: float) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        self._sweep_at = when
        self._sweeper = self.loop.call_at(when, self._sweep)

    def _sweep(self) -> None:
        self._sweeper = None
        self._sweep_at = math.inf
        now = self.loop.time() + _TIMER_SLACK
        earliest = math.inf
        waiters = self._waiters
        for req_id, (_, future, deadline, _) in list(waiters.items()):
            if deadline <= now:
                del waiters[req_id]
                if not future.done():
                    future.set_result(None)
            elif deadline < earliest:
                earliest = deadline
        if earliest < math.inf:
            self._schedule_sweep(earliest)

    # -- receiving

    def _on_readable(self) -> None:
        sock = self.sock
        stats = self.stats
        dropped = stats.dropped
        waiters = self._waiters
        for _ in range(_RECV_BATCH):
            try:
                data, sender = sock.recvfrom(_RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. an ICMP error queued on the socket; it names no request
                dropped["undecodable"] += 1
                continue
            stats.received += 1
            req_id = peek_message_id(data)
            if req_id is None:
                dropped["undecodable"] += 1
                self._note_refused(sender, "undecodable")
                continue
            waiter = waiters.get(req_id)
            if waiter is None:
                dropped["unknown_id"] += 1
                self._note_refused(sender, "unknown_id")
                continue
            expected, future, _, accept = waiter
            if sender[0] != expected[0] or sender[1] != expected[1]:
                dropped["wrong_address"] += 1
                self._note_refused(sender, "wrong_address")
                continue
            try:
                answer = accept(data)
            except Dropped as refused:
                reason = refused.reason
                dropped[reason if reason in dropped else "internal_error"] += 1
                self._note_refused(sender, reason)
                continue
            except Exception:  # a defect in a check: never out of the event loop's callback
                dropped["internal_error"] += 1
                continue
            del waiters[req_id]
            if not future.done():
                future.set_result(answer)
            if not waiters:
                # Nobody else waits: leave whatever may still be queued to the next
                # wake-up (the selector is level-triggered) rather than pay for a read
                # that would only fail with EAGAIN.
                return

    def _note_refused(self, sender: Any, reason: str) -> None:
        key = (sender[0], sender[1])
        refused = self.refused_from
        counts = refused.get(key)
        if counts is None:
            if len(refused) >= _REFUSED_SENDERS:
                refused.clear()
            counts = refused[key] = {}
        counts[reason] = counts.get(reason, 0) + 1

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(ValueError, RuntimeError):  # the loop may be closed already
            self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for _, future, _, _ in self._waiters.values():
            if not future.done():
                future.set_result(None)
        self._waiters.clear()


_sockets: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, SharedSocket]] = (
    weakref.WeakKeyDictionary()
)
_closed_stats: TransportStats = TransportStats()


def acquire(family: socket.AddressFamily) -> SharedSocket:
    """The running loop's shared socket for `family`, opened on first use; pair with
    `release`. Must be called from a coroutine running on that loop."""
    loop = asyncio.get_running_loop()
    per_loop = _sockets.setdefault(loop, {})
    shared = per_loop.get(family)
    if shared is None or shared.closed:
        shared = per_loop[family] = SharedSocket(loop, family)
    shared.users += 1
    return shared


def release(shared: SharedSocket) -> None:
    """One client is done with the socket; the last one closes it."""
    shared.users -= 1
    if shared.users > 0:
        return
    per_loop = _sockets.get(shared.loop)
    if per_loop is not None and per_loop.get(shared.family) is shared:
        del per_loop[shared.family]
    _closed_stats.add(shared.stats)
    shared.close()


def close_all() -> None:
    """Close the running loop's shared sockets, whoever still holds them (shutdown, tests).
    A client used afterwards opens a fresh one."""
    for shared in list(_sockets.get(asyncio.get_running_loop(), {}).values()):
        shared.users = 1
        release(shared)


def refused_from(host: str, port: int) -> dict[str, int]:
    """Datagrams from host:port the running loop's open sockets refused so far, by reason
    (message.DROP_REASONS: undecodable, unknown_id, a failed security check ...)."""
    total: dict[str, int] = {}
    for shared in _sockets.get(asyncio.get_running_loop(), {}).values():
        for reason, count in shared.refused_from.get((host, port), {}).items():
            total[reason] = total.get(reason, 0) + count
    return total


def transport_stats() -> dict[str, int]:
    """Totals over every shared socket this process has used, open or closed: sent,
    received, send_errors and one count per drop reason (message.DROP_REASONS)."""
    total = TransportStats()
    total.add(_closed_stats)
    for per_loop in list(_sockets.values()):
        for shared in per_loop.values():
            total.add(shared.stats)
    return total.as_dict()
