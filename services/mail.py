"""SMTP and IMAP checks: the greeting, then (with `starttls`) STARTTLS and the certificate.

SMTP (RFC 5321, RFC 3207): read the 220 greeting (multi-line replies `220-...` up to
`220 ...`), `EHLO`, the 250 reply must list STARTTLS when asked for, `STARTTLS`, a 220,
the TLS handshake (verified: chain and name), then `QUIT`. IMAP (RFC 9051): the untagged
`* OK` greeting, `a1 STARTTLS`, the tagged `a1 OK`, the handshake, `a2 LOGOUT`. Every reply
is read through the bounded reader: `limits.banner_bytes` per reply, `limits.line_bytes`
per line; anything that is not a reply of the protocol is refused and counted.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time

from services.config import DEFAULT_PORTS, CheckConfig, Limits, _host_port
from services.http import resolve
from services.result import BoundedReader, CheckFailed, ProbeResult, Refused, text
from services.tlsinfo import (
    CertInfo,
    context,
    peer_cert,
    read_unverified,
    tls_version,
    verify_reason,
)

_SMTP_LINE = re.compile(rb"^([2-5][0-9]{2})([ -])(.*)$")


async def smtp_reply(lines: BoundedReader, banner_bytes: int) -> tuple[int, list[bytes]]:
    """One SMTP reply: its code and the text of each line."""
    lines.reset(total=banner_bytes, max_lines=100)
    texts: list[bytes] = []
    code: bytes | None = None
    while True:
        line = await lines.line()
        match = _SMTP_LINE.match(line)
        if match is None:
            raise Refused("garbage", f"not an SMTP reply: {text(line)}")
        if code is not None and match.group(1) != code:
            raise Refused("garbage", "an SMTP reply whose lines disagree on the code")
        code = match.group(1)
        texts.append(match.group(3))
        if match.group(2) == b" ":
            return int(code), texts


async def _starttls(check: CheckConfig, writer: asyncio.StreamWriter, address: str, port: int,
                    host: str, local: str | None, ca_file: str | None,
                    result: ProbeResult) -> None:
    name = check.server_name or host
    endpoint = f"{name}:{port}"  # the name the certificate is for
    mark = time.perf_counter()
    try:
        await writer.start_tls(context(ca_file, check.tls_min, True), server_hostname=name)
    except ssl.SSLCertVerificationError as exc:
        reason, message = verify_reason(exc)
        # the plain connection is gone with the failed handshake: read the certificate by
        # a fresh STARTTLS would need the dialogue again; the greeting already proved the
        # server, so the certificate is read on a new connection the same way
        cert = await _unverified_after_starttls(check, address, port, name, local, message)
        if cert is not None:
            result.certs.append(cert)
        raise CheckFailed(reason, message) from None
    result.phases["tls"] = time.perf_counter() - mark
    result.tls_version = tls_version(writer)
    cert = peer_cert(writer, endpoint, True)
    if cert is not None:
        result.certs.append(cert)


async def smtp_probe(check: CheckConfig, local: str | None, limits: Limits,
                     ca_file: str | None, result: ProbeResult) -> None:
    host, port = _host_port(check.target, DEFAULT_PORTS["smtp"])
    reader, writer, address = await _connect(host, port, local, limits, result)
    try:
        lines = BoundedReader(reader, limits.line_bytes, limits.banner_bytes)
        await _smtp_dialogue(check, reader, writer, lines, limits)
        if check.starttls:
            await _starttls(check, writer, address, port, host, local, ca_file, result)
            writer.write(b"QUIT\r\n")
            await writer.drain()
        else:
            writer.write(b"QUIT\r\n")
    finally:
        writer.close()


async def _smtp_dialogue(check: CheckConfig, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter, lines: BoundedReader,
                         limits: Limits) -> None:
    """Greeting, EHLO and (with starttls) STARTTLS up to its 220."""
    mark = time.perf_counter()
    code, _ = await smtp_reply(lines, limits.banner_bytes)
    if code != 220:
        raise CheckFailed("banner", f"SMTP greeting {code}, not 220")
    writer.write(b"EHLO tierwatch.invalid\r\n")
    await writer.drain()
    code, ehlo = await smtp_reply(lines, limits.banner_bytes)
    if code != 250:
        raise CheckFailed("protocol", f"EHLO answered {code}")
    if not check.starttls:
        return
    if not any(t.strip().upper() == b"STARTTLS" for t in ehlo[1:]):
        raise CheckFailed("starttls", "the server does not offer STARTTLS")
    writer.write(b"STARTTLS\r\n")
    await writer.drain()
    code, _ = await smtp_reply(lines, limits.banner_bytes)
    if code != 220:
        raise CheckFailed("starttls", f"STARTTLS answered {code}")
    del mark


async def _connect(host: str, port: int, local: str | None, limits: Limits,
                   result: ProbeResult
                   ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, str]:
    mark = time.perf_counter()
    address = await resolve(host, port)
    now = time.perf_counter()
    result.phases["dns"], mark = now - mark, now
    reader, writer = await asyncio.open_connection(
        address, port, local_addr=(local, 0) if local else None, limit=limits.line_bytes)
    result.phases["connect"] = time.perf_counter() - mark
    return reader, writer, address


async def imap_probe(check: CheckConfig, local: str | None, limits: Limits,
                     ca_file: str | None, result: ProbeResult) -> None:
    host, port = _host_port(check.target, DEFAULT_PORTS["imap"])
    reader, writer, address = await _connect(host, port, local, limits, result)
    try:
        lines = BoundedReader(reader, limits.line_bytes, limits.banner_bytes)
        await _imap_dialogue(check, writer, lines)
        if check.starttls:
            await _starttls(check, writer, address, port, host, local, ca_file, result)
        writer.write(b"a2 LOGOUT\r\n")
        await writer.drain()
    finally:
        writer.close()


async def _imap_dialogue(check: CheckConfig, writer: asyncio.StreamWriter,
                         lines: BoundedReader) -> None:
    greeting = await lines.line()
    if greeting.startswith(b"* BYE"):
        raise CheckFailed("banner", f"IMAP server says bye: {text(greeting)}")
    if not greeting.startswith((b"* OK", b"* PREAUTH")):
        raise Refused("garbage", f"not an IMAP greeting: {text(greeting)}")
    if not check.starttls:
        return
    writer.write(b"a1 STARTTLS\r\n")
    await writer.drain()
    while True:  # untagged lines may come first
        line = await lines.line()
        if line.startswith(b"* "):
            continue
        if line.startswith(b"a1 OK"):
            return
        if line.startswith((b"a1 NO", b"a1 BAD")):
            raise CheckFailed("starttls", f"STARTTLS refused: {text(line)}")
        raise Refused("garbage", f"not an IMAP response: {text(line)}")


async def _unverified_after_starttls(check: CheckConfig, address: str, port: int, name: str,
                                     local: str | None, error: str) -> CertInfo | None:
    """The certificate behind a STARTTLS that failed to verify, read again without verifying
    (None when that fails too)."""
    from services.tlsinfo import parse_der

    limits = Limits()
    writer = None
    try:
        reader, writer = await asyncio.open_connection(
            address, port, local_addr=(local, 0) if local else None, limit=limits.line_bytes)
        lines = BoundedReader(reader, limits.line_bytes, limits.banner_bytes)
        if check.kind == "smtp":
            await _smtp_dialogue(check, reader, writer, lines, limits)
        else:
            await _imap_dialogue(check, writer, lines)
        await writer.start_tls(context(None, check.tls_min, False), server_hostname=name)
        obj = writer.get_extra_info("ssl_object")
        der = obj.getpeercert(binary_form=True) if obj is not None else None
        return parse_der(der, f"{check.target}", False, error) if der else None
    except (OSError, ssl.SSLError, EOFError, Refused, CheckFailed, ValueError):
        return None
    finally:
        if writer is not None:
            writer.close()


__all__ = ["imap_probe", "read_unverified", "smtp_probe", "smtp_reply"]
