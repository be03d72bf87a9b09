"""The SIP check: an OPTIONS request (RFC 3261 §11) over UDP or TCP, for the video-conference
endpoints. Alive when a final response (>= 200) with our Call-ID comes back and its code is
in `status` (default 200-299); provisional responses are skipped. A datagram that is not a
SIP response, or not ours, is dropped and counted; the answer's header block is bounded as
HTTP's is (`limits.header_bytes`, `limits.headers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import time

from services.config import DEFAULT_PORTS, CheckConfig, Limits, _host_port
from services.http import read_body, read_headers, resolve
from services.result import BoundedReader, CheckFailed, ProbeResult, Refused, text

_STATUS = re.compile(rb"^SIP/2\.0 ([1-6][0-9]{2})(?: [\x20-\x7e\x80-\xff]*)?$")


def options_request(target: str, local: tuple[str, int], transport: str, call_id: str,
                    branch: str, tag: str) -> bytes:
    host, port = local
    return (f"OPTIONS sip:{target} SIP/2.0\r\n"
            f"Via: SIP/2.0/{transport.upper()} {host}:{port};branch=z9hG4bK{branch};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:tierwatch@{host}>;tag={tag}\r\n"
            f"To: <sip:{target}>\r\n"
            f"Call-ID: {call_id}\r\n"
            "CSeq: 1 OPTIONS\r\n"
            f"Contact: <sip:tierwatch@{host}:{port}>\r\n"
            "Accept: application/sdp\r\n"
            "User-Agent: tierwatch\r\n"
            "Content-Length: 0\r\n\r\n").encode()


def parse_response(data: bytes, limits: Limits) -> tuple[int, dict[str, list[str]]]:
    """A SIP response datagram's code and headers; Refused for anything else."""
    head, sep, _body = data.partition(b"\r\n\r\n")
    if not sep:
        raise Refused("garbage", "a SIP message without the end of its headers")
    if len(head) > limits.header_bytes:
        raise Refused("too_large", f"more than {limits.header_bytes} bytes of SIP headers")
    lines = head.split(b"\r\n")
    if len(lines) > limits.headers + 1:
        raise Refused("too_many_lines", f"more than {limits.headers} SIP headers")
    match = _STATUS.match(lines[0])
    if match is None:
        raise Refused("garbage", f"not a SIP status line: {text(lines[0])}")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name.strip() or b" " in name.strip():
            raise Refused("garbage", f"not a SIP header: {text(line)}")
        key = _COMPACT.get(name.strip().decode("latin-1").lower(),
                           name.strip().decode("latin-1").lower())
        headers.setdefault(key, []).append(value.strip().decode("latin-1"))
    return int(match.group(1)), headers


_COMPACT = {"i": "call-id", "v": "via", "f": "from", "t": "to", "l": "content-length"}


def _judge(check: CheckConfig, code: int, result: ProbeResult) -> None:
    result.status_code = code
    ok = code in check.status if check.status else 200 <= code <= 299
    if not ok:
        raise CheckFailed("status", f"OPTIONS answered {code}")


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=64)
        self.error: Exception | None = None
        self.dropped = 0

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            self.dropped += 1

    def error_received(self, exc: Exception) -> None:
        self.error = exc
        with_error = b""
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(with_error)


async def sip_probe(check: CheckConfig, local: str | None, limits: Limits,
                    ca_file: str | None, result: ProbeResult) -> None:
    """Datagrams dropped on the way (not ours, garbage) are listed in `result.dropped`."""
    host, port = _host_port(check.target, DEFAULT_PORTS["sip"])
    target = check.target if ":" in check.target else f"{host}:{port}"
    mark = time.perf_counter()
    address = await resolve(host, port)
    now = time.perf_counter()
    result.phases["dns"], mark = now - mark, now
    call_id = f"{secrets.token_hex(12)}@tierwatch"
    branch, tag = secrets.token_hex(8), secrets.token_hex(6)
    loop = asyncio.get_running_loop()
    if check.transport == "udp":
        transport, proto = await loop.create_datagram_endpoint(
            _Datagrams, local_addr=(local or "0.0.0.0", 0), remote_addr=(address, port))
        try:
            me = transport.get_extra_info("sockname")
            transport.sendto(options_request(target, (me[0], me[1]), "udp", call_id, branch,
                                             tag))
            while True:
                data = await proto.queue.get()
                if proto.error is not None:
                    raise proto.error
                try:
                    code, headers = parse_response(data[: 65536], limits)
                except Refused as exc:
                    result.dropped.append(exc.reason)
                    continue  # a stray or hostile datagram: dropped, counted, keep waiting
                if headers.get("call-id", [""])[0] != call_id:
                    result.dropped.append("not_ours")
                    continue
                if code < 200:
                    continue
                result.phases["first_byte"] = time.perf_counter() - mark
                _judge(check, code, result)
                return
        finally:
            transport.close()
    reader, writer = await asyncio.open_connection(
        address, port, local_addr=(local, 0) if local else None, limit=limits.line_bytes)
    try:
        now = time.perf_counter()
        result.phases["connect"], mark = now - mark, now
        me = writer.get_extra_info("sockname")
        writer.write(options_request(target, (me[0], me[1]), "tcp", call_id, branch, tag))
        await writer.drain()
        lines = BoundedReader(reader, limits.line_bytes, limits.header_bytes,
                              limits.headers + 1)
        while True:
            lines.reset()
            status = await lines.line()
            match = _STATUS.match(status)
            if match is None:
                raise Refused("garbage", f"not a SIP status line: {text(status)}")
            headers = await read_headers(lines)
            await read_body(lines, {"content-length": headers.get("content-length", ["0"])},
                            limits.body_bytes)
            code = int(match.group(1))
            if code < 200:
                continue
            if headers.get("call-id", [""])[0] != call_id:
                raise Refused("not_ours", "a SIP response to another request")
            result.phases["first_byte"] = time.perf_counter() - mark
            _judge(check, code, result)
            return
    finally:
        writer.close()
