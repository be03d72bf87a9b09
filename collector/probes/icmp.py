"""ICMP echo for asyncio over one shared socket.

Every ICMP probe of the process goes through one `IcmpSocket`: requests carry the socket's
identifier, a sequence number and a random nonce; replies are matched by (identifier,
sequence) and the nonce, so 500 links probed at once need one file descriptor and one
reader callback.

Two kinds of socket, tried in this order by `mode="auto"`:

* unprivileged ("ping socket", SOCK_DGRAM + IPPROTO_ICMP): allowed when the process's group
  is in `net.ipv4.ping_group_range`. The kernel picks the identifier, fills the checksum
  and hands back only our own replies.
* raw (SOCK_RAW): needs root or CAP_NET_RAW. It sees every ICMP packet of the host, so
  replies are filtered by identifier and nonce; it also sees "destination unreachable"
  and "time exceeded" about our requests, which end a probe early.

Round-trip times use the kernel's receive timestamp (SO_TIMESTAMPNS) where the platform
has it, so a busy event loop does not inflate them. IPv4 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import os
import platform
import socket
import struct
import sys
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

ECHO_REPLY, DEST_UNREACHABLE, ECHO_REQUEST, TIME_EXCEEDED = 0, 3, 8, 11
_HEADER = struct.Struct("!BBHHH")  # type, code, checksum, identifier, sequence
_NONCE_BYTES = 8
_PAYLOAD_PAD = b"tierwatch-probe!"  # 16 bytes: 24-byte payload in all

# SO_TIMESTAMPNS is 35 in asm-generic (x86, arm, arm64, riscv, ...); Python has no constant
_SO_TIMESTAMPNS = 35 if (sys.platform == "linux" and platform.machine() in (
    "x86_64", "i686", "aarch64", "armv7l", "riscv64")) else None
_TIMESPEC = struct.Struct("@qq")

# errors from sendto() that mean "no route": the network answers before any packet leaves
UNREACHABLE_ERRNOS = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EHOSTDOWN,
                                errno.ENETDOWN, errno.EADDRNOTAVAIL})


class ProbeFailure(Exception):
    """One probe attempt got no usable answer. `outcome` names why."""

    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome  # timeout | unreachable | dns | error | icmp_unavailable


class IcmpUnavailable(Exception):
    """Neither kind of ICMP socket can be opened here; the message says what to change."""


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


@dataclass
class _Pending:
    address: str
    future: asyncio.Future[float]
    sent: float  # time.time() just before sendto


class IcmpSocket:
    def __init__(self, sock: socket.socket, mode: str) -> None:
        self.sock = sock
        self.mode = mode  # unprivileged | raw
        if mode == "unprivileged":
            self.ident = sock.getsockname()[1]  # the kernel's choice, bound at open
        else:
            self.ident = (os.getpid() ^ int.from_bytes(os.urandom(2), "big")) & 0xFFFF
        self._nonce = os.urandom(_NONCE_BYTES)
        self._seq = int.from_bytes(os.urandom(2), "big")
        self._pending: dict[int, _Pending] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ancbuf = socket.CMSG_SPACE(_TIMESPEC.size) if _SO_TIMESTAMPNS else 0
        # self-metrics
        self.sent = 0
        self.received = 0
        self.unmatched = 0  # replies for no pending request (late, or another process's)

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, mode: str = "auto") -> IcmpSocket:
        """An ICMP socket of the given kind ("auto": unprivileged, else raw)."""
        problems: list[str] = []
        kinds = {"auto": ("unprivileged", "raw"), "unprivileged": ("unprivileged",),
                 "raw": ("raw",)}[mode]
        for kind in kinds:
            try:
                sock = _open(kind)
            except OSError as exc:
                problems.append(f"{kind}: {exc.strerror or exc}")
                continue
            return cls(sock, kind)
        hint = ("add the service's group to net.ipv4.ping_group_range, or give it "
                "CAP_NET_RAW, or run it as root")
        raise IcmpUnavailable(f"cannot open an ICMP socket ({'; '.join(problems)}): {hint}")

    def _attach(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._loop is not None:
                with contextlib.suppress(Exception):
                    self._loop.remove_reader(self.sock.fileno())
            loop.add_reader(self.sock.fileno(), self._on_readable)
            self._loop = loop
        return loop

    def close(self) -> None:
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self.sock.fileno())
            self._loop = None
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(ProbeFailure("error", "ICMP socket closed"))
        self._pending.clear()
        self.sock.close()

    # ------------------------------------------------------------------ echo

    async def echo(self, address: str, timeout: float) -> float:
        """Round-trip time to `address` (an IPv4 literal), or ProbeFailure."""
        loop = self._attach()
        seq = self._next_seq()
        payload = self._nonce + _PAYLOAD_PAD
        header = _HEADER.pack(ECHO_REQUEST, 0, 0, self.ident, seq)
        packet = _HEADER.pack(ECHO_REQUEST, 0, checksum(header + payload), self.ident, seq
                              ) + payload
        future: asyncio.Future[float] = loop.create_future()
        pending = _Pending(address, future, time.time())
        self._pending[seq] = pending
        try:
            try:
                pending.sent = time.time()
                self.sock.sendto(packet, (address, 0))
            except BlockingIOError:
                await loop.sock_sendto(self.sock, packet, (address, 0))
            except OSError as exc:
                if exc.errno in UNREACHABLE_ERRNOS:
                    raise ProbeFailure("unreachable", f"{address}: {exc.strerror}") from None
                raise ProbeFailure("error", f"{address}: {exc.strerror or exc}") from None
            self.sent += 1
            try:
                async with asyncio.timeout(timeout):
                    return await future
            except TimeoutError:
                raise ProbeFailure("timeout", f"no echo reply within {timeout:g}s") from None
        finally:
            if self._pending.get(seq) is pending:
                del self._pending[seq]

    def _next_seq(self) -> int:
        for _ in range(0x10000):
            self._seq = (self._seq + 1) & 0xFFFF
            if self._seq not in self._pending:
                return self._seq
        raise ProbeFailure("error", "65536 echo requests in flight")

    # ------------------------------------------------------------------ replies

    def _on_readable(self) -> None:
        while True:
            try:
                data, ancdata, _flags, addr = self.sock.recvmsg(4096, self._ancbuf)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # an ICMP error queued on the socket: not ours to match
                log.debug("ICMP socket error: %s", exc)
                return
            received = _kernel_time(ancdata) or time.time()
            self._handle(data, addr[0], received)

    def _handle(self, data: bytes, source: str, received: float) -> None:
        if self.mode == "raw":
            if len(data) < 20:
                return
            data = data[(data[0] & 0x0F) * 4:]
        if len(data) < _HEADER.size:
            return
        kind, _code, _sum, ident, seq = _HEADER.unpack_from(data)
        if kind == ECHO_REPLY:
            if self.mode == "raw" and ident != self.ident:
                return  # another process's ping
            pending = self._pending.get(seq)
            nonce = data[_HEADER.size:_HEADER.size + _NONCE_BYTES]
            if pending is None or nonce != self._nonce or pending.future.done():
                self.unmatched += 1
                return
            self.received += 1
            pending.future.set_result(max(0.0, received - pending.sent))
        elif kind in (DEST_UNREACHABLE, TIME_EXCEEDED) and self.mode == "raw":
            self._error(data, source, kind)

    def _error(self, data: bytes, source: str, kind: int) -> None:
        """A router says our request cannot get through: fail that probe now."""
        inner = data[8:]
        if len(inner) < 20:
            return
        inner = inner[(inner[0] & 0x0F) * 4:]
        if len(inner) < _HEADER.size:
            return
        inner_kind, _c, _s, ident, seq = _HEADER.unpack_from(inner)
        pending = self._pending.get(seq)
        if inner_kind != ECHO_REQUEST or ident != self.ident or pending is None:
            return
        if not pending.future.done():
            what = "destination unreachable" if kind == DEST_UNREACHABLE else "time exceeded"
            pending.future.set_exception(ProbeFailure(
                "unreachable", f"{pending.address}: {what} (reported by {source})"))


def _open(kind: str) -> socket.socket:
    sock_type = socket.SOCK_DGRAM if kind == "unprivileged" else socket.SOCK_RAW
    sock = socket.socket(socket.AF_INET, sock_type, socket.IPPROTO_ICMP)
    try:
        sock.setblocking(False)
        if kind == "unprivileged":
            sock.bind(("0.0.0.0", 0))  # fixes the identifier the kernel gives our requests
        with contextlib.suppress(OSError):  # bursts of replies from hundreds of targets
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        if _SO_TIMESTAMPNS is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
    except OSError:
        sock.close()
        raise
    return sock


def _kernel_time(ancdata: list[tuple[int, int, bytes]]) -> float | None:
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            sec, nsec = _TIMESPEC.unpack_from(data)
            return sec + nsec / 1e9
    return None


def is_ipv4(host: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(host), ipaddress.IPv4Address)
    except ValueError:
        return False
