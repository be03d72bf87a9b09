"""The HTTP(S) check: one request, the answer read within bounds, each phase timed.

A small HTTP/1.1 client on asyncio streams rather than httpx: a check must time each phase
(DNS, connect, TLS, first byte), read the certificate even when it does not verify, bound
the status line, every header, their number and total size, and the body, and stop reading
what it does not need; httpx hides the first three and fixes the bounds. The request is
`GET` (or `HEAD`) with `Connection: close`; redirects are followed up to `redirects` hops,
each to an http(s) URL only. The status must be in `status` (default 200-299) and the
body, when `body` is given, must match it within the first `limits.body_bytes`.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin, urlsplit

from services.config import CheckConfig, Limits
from services.result import BoundedReader, CheckFailed, ProbeResult, Refused, text
from services.tlsinfo import context, peer_cert, read_unverified, tls_version, verify_reason

REDIRECTS = frozenset({301, 302, 303, 307, 308})
_STATUS_LINE = re.compile(rb"^HTTP/1\.[01] ([1-9][0-9]{2})(?: [\x20-\x7e\x80-\xff]*)?$")
_HEADER = re.compile(rb"^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([\x20-\x7e\x80-\xff\t]*?)[ \t]*$")
_CHUNK = re.compile(rb"^([0-9a-fA-F]{1,8})(?:;[\x20-\x7e]*)?$")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# Names are resolved on threads of the room's own (getaddrinfo blocks), not on the loop's
# default executor: there a dead resolver's 5 s retries would queue every check by name
# behind each other and behind the store writes the recorder runs with asyncio.to_thread
# (six threads on two cores), and those writes behind them.
RESOLVER_THREADS = 16
_resolver: ThreadPoolExecutor | None = None


def _resolver_pool() -> ThreadPoolExecutor:
    global _resolver
    if _resolver is None:
        _resolver = ThreadPoolExecutor(RESOLVER_THREADS, thread_name_prefix="services-dns")
    return _resolver


async def resolve(host: str, port: int) -> str:
    if _is_ip(host):
        return host
    infos = await asyncio.get_running_loop().run_in_executor(
        _resolver_pool(), functools.partial(socket.getaddrinfo, host, port,
                                            type=socket.SOCK_STREAM))
    if not infos:
        raise socket.gaierror(f"{host}: no address")
    return str(infos[0][4][0])


async def dial(address: str, port: int, local: str | None) -> socket.socket:
    """A TCP connection to address:port (from `local` when given), non-blocking."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        if local:
            sock.bind((local, 0))
        await asyncio.get_running_loop().sock_connect(sock, (address, port))
    except BaseException:
        sock.close()
        raise
    return sock


def expected_status(check: CheckConfig, code: int) -> bool:
    return code in check.status if check.status else 200 <= code <= 299


async def http_probe(check: CheckConfig, local: str | None, limits: Limits,
                     ca_file: str | None, result: ProbeResult) -> None:
    """Fill `result` (so a timeout outside still leaves the phases seen so far)."""
    url = check.target
    first_host = urlsplit(url).hostname
    hops = 0
    while True:
        parts = urlsplit(url)
        https = parts.scheme == "https"
        host = parts.hostname or ""
        port = parts.port or (443 if https else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        name = check.server_name or host
        endpoint = f"{host}:{port}"
        phases = result.phases
        phases.clear()
        mark = time.perf_counter()
        pinned = check.connect_to if (check.connect_to and host == first_host) else None
        address = pinned or await resolve(host, port)
        now = time.perf_counter()
        phases["dns"], mark = now - mark, now
        sock = await dial(address, port, local)
        now = time.perf_counter()
        phases["connect"], mark = now - mark, now
        try:
            # the TLS handshake on the connected socket in one step (cheaper than a plain
            # stream upgraded with start_tls)
            reader, writer = await asyncio.open_connection(
                sock=sock, limit=limits.line_bytes,
                ssl=context(ca_file, check.tls_min, True) if https else None,
                server_hostname=name if https else None)
        except ssl.SSLCertVerificationError as exc:
            sock.close()
            reason, message = verify_reason(exc)
            cert = await read_unverified(address, port, name, local, endpoint, message,
                                         check.tls_min)
            if cert is not None:
                result.certs.append(cert)
            raise CheckFailed(reason, message) from None
        except BaseException:
            sock.close()
            raise
        try:
            if https:
                now = time.perf_counter()
                phases["tls"], mark = now - mark, now
                result.tls_version = tls_version(writer)
                cert = peer_cert(writer, endpoint, True)
                if cert is not None and cert not in result.certs:
                    result.certs.append(cert)
            host_header = host if parts.port is None else f"{host}:{parts.port}"
            if ":" in host and not host.startswith("["):
                host_header = f"[{host}]" + (f":{parts.port}" if parts.port else "")
            writer.write((f"{check.method} {path} HTTP/1.1\r\nHost: {host_header}\r\n"
                          "User-Agent: tierwatch\r\nAccept: */*\r\nConnection: close\r\n\r\n"
                          ).encode("ascii", "strict"))
            await writer.drain()
            lines = BoundedReader(reader, limits.line_bytes, limits.header_bytes,
                                  limits.headers + 1)
            status_line = await lines.line()
            now = time.perf_counter()
            phases["first_byte"], mark = now - mark, now
            match = _STATUS_LINE.match(status_line)
            if match is None:
                raise Refused("garbage", f"not an HTTP status line: {text(status_line)}")
            code = int(match.group(1))
            result.status_code = code
            headers = await read_headers(lines)
            location = headers.get("location")
            if code in REDIRECTS and location is not None and hops < check.redirects:
                target = urljoin(url, location[0])
                if urlsplit(target).scheme not in ("http", "https"):
                    raise CheckFailed("redirect", f"redirected to a non-http(s) URL: "
                                                  f"{text(target.encode())}")
                hops += 1
                result.redirects = hops
                url = target
                continue
            if code in REDIRECTS and location is not None and not expected_status(check, code):
                raise CheckFailed("redirect", f"more than {check.redirects} redirects")
            if not expected_status(check, code):
                raise CheckFailed("status", f"status {code} from {text(url.encode())}")
            if check.body is not None and check.method != "HEAD":
                body = await read_body(lines, headers, limits.body_bytes)
                if re.search(check.body, body.decode("utf-8", "replace")) is None:
                    raise CheckFailed("body", f"the body does not match {check.body!r}")
            phases["transfer"] = time.perf_counter() - mark
            return
        finally:
            writer.close()


async def read_headers(lines: BoundedReader) -> dict[str, list[str]]:
    """Header fields by lower-case name; Refused for anything that is not one."""
    headers: dict[str, list[str]] = {}
    while True:
        line = await lines.line()
        if not line:
            return headers
        match = _HEADER.match(line)
        if match is None:
            raise Refused("garbage", f"not a header field: {text(line)}")
        name = match.group(1).decode("ascii").lower()
        headers.setdefault(name, []).append(match.group(2).decode("latin-1"))


async def read_body(lines: BoundedReader, headers: dict[str, list[str]], limit: int) -> bytes:
    """Up to `limit` bytes of the body (what a body match reads; the rest is left unread)."""
    coding = ",".join(headers.get("transfer-encoding", [])).lower()
    if "chunked" in coding:
        out = bytearray()
        lines.reset(total=limit + 64 * 1024, max_lines=100_000)
        while len(out) < limit:
            size_line = await lines.line()
            match = _CHUNK.match(size_line)
            if match is None:
                raise Refused("garbage", f"not a chunk size: {text(size_line)}")
            size = int(match.group(1), 16)
            if size == 0:
                break
            want = min(size, limit - len(out))
            out += await lines.exactly(want)
            if want < size:
                break
            if await lines.line():
                raise Refused("garbage", "a chunk not followed by CRLF")
        return bytes(out)
    lengths = set(headers.get("content-length", []))
    if lengths:
        if len(lengths) > 1 or not next(iter(lengths)).isdigit():
            raise Refused("garbage", f"bad Content-Length: {sorted(lengths)}")
        return await lines.exactly(min(int(next(iter(lengths))), limit))
    return await lines.upto(limit)
