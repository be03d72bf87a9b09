"""One UDP socket per event loop (and address family), shared by every SNMP client.

Hundreds of devices poll concurrently through it. Each request waits under its own id (the
request-id of v1/v2c, the msgID of v3), drawn from one counter so ids never collide on the
socket. A datagram is handed to its waiter only when its id is outstanding and it comes
from the address the request went to; everything else is dropped and counted in `stats`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import socket
import weakref
from dataclasses import dataclass, fields

from collector.snmp.client import SnmpTransportError
from collector.snmp.message import peek_message_id

_RECV_SIZE = 65535
_RECV_BATCH = 256  # datagrams read per wake-up, so one busy socket cannot starve the loop
_SOCKET_BUFFER = 4 * 1024 * 1024  # the kernel caps this at net.core.[rw]mem_max
_TIMER_SLACK = 0.001  # a timer may fire this early and still count as on time


@dataclass(slots=True)
class TransportStats:
    """What the shared sockets dropped; a monitor exports these as self-metrics."""

    sent: int = 0
    received: int = 0
    unknown_id: int = 0  # no request waits under that id (late, duplicate, or forged)
    wrong_address: int = 0  # the id is outstanding, but the sender is not its agent
    undecodable: int = 0  # not an SNMP message at all
    send_errors: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


Address = tuple[str, int]
# waiter: (expected sender, future answered with the datagram or None, deadline)
_Waiter = tuple[Address, "asyncio.Future[bytes | None]", float]


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
        self.users = 0
        self.closed = False
        self._waiters: dict[int, _Waiter] = {}
        self._sweeper: asyncio.TimerHandle | None = None
        self._sweep_at = math.inf
        self._next_id = random.randrange(1, 2**31 - 1)

    # -- ids and waiting

    def new_id(self) -> int:
        """A fresh id, positive and below 2**31 as INTEGER ids should be."""
        next_id = self._next_id
        while next_id in self._waiters:
            next_id = next_id % (2**31 - 2) + 1
        self._next_id = next_id % (2**31 - 2) + 1
        return next_id

    async def request(
        self, data: bytes, address: Address, req_id: int, timeout: float
    ) -> bytes | None:
        """Send `data` to `address` and wait up to `timeout` for the datagram answering
        `req_id`. None on timeout. Raises SnmpTransportError when the send itself fails."""
        loop = self.loop
        future: asyncio.Future[bytes | None] = loop.create_future()
        deadline = loop.time() + timeout
        self._waiters[req_id] = (address, future, deadline)
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
        for req_id, (_, future, deadline) in list(waiters.items()):
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
        waiters = self._waiters
        for _ in range(_RECV_BATCH):
            try:
                data, sender = sock.recvfrom(_RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. an ICMP error queued on the socket; it names no request
                stats.undecodable += 1
                continue
            stats.received += 1
            req_id = peek_message_id(data)
            if req_id is None:
                stats.undecodable += 1
                continue
            waiter = waiters.get(req_id)
            if waiter is None:
                stats.unknown_id += 1
                continue
            expected, future, _ = waiter
            if sender[0] != expected[0] or sender[1] != expected[1]:
                stats.wrong_address += 1
                continue
            del waiters[req_id]
            if not future.done():
                future.set_result(data)
            if not waiters:
                # Nobody else waits: leave whatever may still be queued to the next
                # wake-up (the selector is level-triggered) rather than pay for a read
                # that would only fail with EAGAIN.
                return

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(ValueError, RuntimeError):  # the loop may be closed already
            self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for _, future, _ in self._waiters.values():
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
    for f in fields(TransportStats):
        setattr(
            _closed_stats, f.name, getattr(_closed_stats, f.name) + getattr(shared.stats, f.name)
        )
    shared.close()


def close_all() -> None:
    """Close the running loop's shared sockets, whoever still holds them (shutdown, tests).
    A client used afterwards opens a fresh one."""
    for shared in list(_sockets.get(asyncio.get_running_loop(), {}).values()):
        shared.users = 1
        release(shared)


def transport_stats() -> dict[str, int]:
    """Totals over every shared socket this process has used, open or closed."""
    total = TransportStats(**_closed_stats.as_dict())
    for per_loop in list(_sockets.values()):
        for shared in per_loop.values():
            for f in fields(TransportStats):
                setattr(total, f.name, getattr(total, f.name) + getattr(shared.stats, f.name))
    return total.as_dict()
