"""What one probe (a check from one source) found, and the hostile-input rules every check
reads the network by.

Every byte from the network is hostile: a check reads lines and blocks through
`BoundedReader`, which refuses a line longer than `line_bytes`, more than `total` bytes of
greeting or headers, and more lines than allowed; a refusal raises `Refused` with a reason
that the room counts (`tierwatch_service_check_refused_total{kind,reason}`). Time is bounded
by the caller: the whole probe runs under one `asyncio.timeout`, so a server that never
ends its headers (slow loris) costs at most the check's timeout.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from services.tlsinfo import CertInfo


class Refused(Exception):
    """The server's answer broke a bound or the protocol; `reason` is the counter's label."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class CheckFailed(Exception):
    """The server answered within the rules, but not as the check expects."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class ProbeResult:
    ok: bool
    reason: str  # ok | timeout | refused | reset | unreachable | dns | tls | cert | hostname
    #              | status | body | answer | protocol | too_large | garbage | error
    message: str = ""
    started: float = 0.0  # epoch seconds
    duration: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # dns, connect, tls, first_byte
    status_code: int | None = None
    tls_version: str | None = None
    certs: list[CertInfo] = field(default_factory=list)
    answers: tuple[str, ...] = ()
    refusal: str | None = None  # the reason, when the answer was refused as hostile
    redirects: int = 0
    dropped: list[str] = field(default_factory=list)  # reasons of stray answers refused

    def to_json(self, now: float) -> dict[str, Any]:
        return {
            "ok": self.ok, "reason": self.reason, "message": self.message,
            "started": self.started, "duration_s": self.duration,
            "phases_s": dict(self.phases), "status_code": self.status_code,
            "tls_version": self.tls_version, "answers": list(self.answers),
            "redirects": self.redirects,
            "certificates": [c.to_json(now) for c in self.certs],
        }


class BoundedReader:
    """Lines and blocks from a stream, within bounds. `total` counts every byte read
    through `line()` since the last `reset()` (one greeting, one header block)."""

    def __init__(self, reader: asyncio.StreamReader, line_bytes: int, total: int,
                 max_lines: int = 1000) -> None:
        self.reader = reader
        self.line_bytes = line_bytes
        self.total = total
        self.max_lines = max_lines
        self.used = 0
        self.lines = 0

    def reset(self, total: int | None = None, max_lines: int | None = None) -> None:
        self.used = 0
        self.lines = 0
        if total is not None:
            self.total = total
        if max_lines is not None:
            self.max_lines = max_lines

    async def line(self) -> bytes:
        """One line with its ending stripped; Refused when too long, too many, or when the
        peer closes in the middle of it."""
        try:
            raw = await self.reader.readuntil(b"\n")
        except asyncio.LimitOverrunError:
            raise Refused("line_too_long",
                          f"a line longer than {self.line_bytes} bytes") from None
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise Refused("closed", "the server closed the connection") from None
            raise Refused("truncated", "the server closed the connection mid-line") from None
        if len(raw) > self.line_bytes:
            raise Refused("line_too_long", f"a line longer than {self.line_bytes} bytes")
        self.used += len(raw)
        self.lines += 1
        if self.used > self.total:
            raise Refused("too_large", f"more than {self.total} bytes of headers or greeting")
        if self.lines > self.max_lines:
            raise Refused("too_many_lines", f"more than {self.max_lines} lines")
        return raw.rstrip(b"\r\n")

    async def exactly(self, n: int) -> bytes:
        try:
            return await self.reader.readexactly(n)
        except asyncio.IncompleteReadError as exc:
            raise Refused("truncated", f"the body ended after {len(exc.partial)} of {n} "
                                       "bytes") from None

    async def upto(self, n: int) -> bytes:
        """Up to `n` bytes, until the peer closes."""
        chunks, left = [], n
        while left > 0:
            chunk = await self.reader.read(min(left, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)


def text(raw: bytes, limit: int = 200) -> str:
    """A server's bytes for a message: decoded leniently, control characters escaped, cut."""
    shown = raw[:limit].decode("utf-8", "replace")
    shown = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in shown)
    return shown + ("…" if len(raw) > limit else "")
