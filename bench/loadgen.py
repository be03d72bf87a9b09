"""A lean HTTP/1.1 keep-alive client for the benches: the load generator that drives
snmp_exporter (as Prometheus would) and scrapes tierwatch's /metrics.

It runs in the bench's own process; the bench reads that process's CPU separately and
never charges it to a peer. One connection per worker, requests back to back.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field


class HttpError(Exception):
    pass


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.header_end = -1
        self.length: int | None = None
        self.chunked = False
        self.status = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        if self.header_end < 0:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            self.header_end = end + 4
            head = bytes(buf[:end]).lower()
            self.status = int(head[9:12])
            at = head.find(b"\ncontent-length:")
            if at >= 0:
                line_end = head.find(b"\r", at + 1)
                self.length = int(head[at + 16 : line_end if line_end > 0 else len(head)])
            else:
                self.chunked = b"transfer-encoding: chunked" in head
        if self.length is not None:
            if len(buf) < self.header_end + self.length:
                return
            body = bytes(buf[self.header_end : self.header_end + self.length])
        elif self.chunked:
            # chunk payloads here are text lines ending in \n, never \r\n: the first
            # "\r\n0\r\n\r\n" is the last chunk
            if not buf.endswith(b"\r\n0\r\n\r\n"):
                return
            body = _dechunk(bytes(buf[self.header_end :]))
        else:
            return  # read until close: not used by the peers
        status = self.status
        self.buffer = bytearray()
        self.header_end, self.length, self.chunked = -1, None, False
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(HttpError(f"connection lost: {exc}"))


def _dechunk(data: bytes) -> bytes:
    out: list[bytes] = []
    pos = 0
    while True:
        eol = data.index(b"\r\n", pos)
        size = int(data[pos:eol].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(data[eol + 2 : eol + 2 + size])
        pos = eol + 2 + size + 2


class Client:
    """One keep-alive connection; `get(path)` -> (status, body)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._conn: _Connection | None = None

    async def get(self, path: str, timeout: float = 60.0) -> tuple[int, bytes]:
        loop = asyncio.get_running_loop()
        if self._conn is None or self._conn.transport is None or \
                self._conn.transport.is_closing():
            _, self._conn = await loop.create_connection(_Connection, self.host, self.port)
        conn = self._conn
        conn.waiter = loop.create_future()
        assert conn.transport is not None
        conn.transport.write(
            f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode())
        try:
            async with asyncio.timeout(timeout):  # (wait_for may swallow a cancellation)
                return await conn.waiter
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._conn is not None and self._conn.transport is not None:
            self._conn.transport.close()
        self._conn = None


@dataclass
class Load:
    """Workers requesting `paths` round robin, back to back, until stopped."""

    host: str
    port: int
    paths: list[str]
    workers: int
    ok: int = 0
    failed: int = 0
    bytes: int = 0
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _cycle: Iterator[str] | None = None

    stopping: bool = False

    def start(self) -> None:
        self._cycle = itertools.cycle(self.paths)
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self.workers)]

    async def _work(self) -> None:
        client = Client(self.host, self.port)
        assert self._cycle is not None
        try:
            while not self.stopping:
                try:
                    status, body = await client.get(next(self._cycle))
                except (HttpError, OSError, TimeoutError):
                    self.failed += 1
                    await asyncio.sleep(0.05)
                    continue
                if status == 200:
                    self.ok += 1
                    self.bytes += len(body)
                else:
                    self.failed += 1
        finally:
            client.close()

    async def stop(self) -> None:
        self.stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
